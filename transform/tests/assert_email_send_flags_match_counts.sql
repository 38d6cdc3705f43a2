-- Each was_* flag of a send says exactly whether its count is positive.
select email_send_id
from {{ ref('marketo__email_sends') }}
where was_delivered <> (count_deliveries > 0)
   or was_opened <> (count_opens > 0)
   or was_clicked <> (count_clicks > 0)
   or was_bounced <> (count_bounces > 0)
   or was_unsubscribed <> (count_unsubscribes > 0)
