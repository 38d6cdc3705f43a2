-- One row per email activity (send, delivery, open, click, bounce, soft bounce,
-- unsubscribe), keyed on Marketo's marketoGUID, with the key of the send it belongs to.
-- Marketo links an email's activities by the email (primaryAttributeValueId = the mailing),
-- the campaign, the campaign run and the lead; that is email_send_id (Fivetran's key too).
{%- set columns = [
    ['marketoGUID', 'activity_id', 'text'],
    ['leadId', 'lead_id', 'bigint'],
    ['activityDate', 'activity_timestamp', 'timestamp'],
    ['activityTypeId', 'activity_type_id', 'int'],
    ['campaignId', 'campaign_id', 'bigint'],
    ['primary_attribute_value_id', 'email_template_id', 'bigint'],
    ['primary_attribute_value', 'email_template_name', 'text'],
    ['campaign_run_id', 'campaign_run_id', 'bigint'],
    ['step_id', 'step_id', 'bigint'],
    ['choice_number', 'choice_number', 'bigint'],
] %}
with activities as (
  {{ marketo_union_latest(var('marketo__email_activity_streams').items() | list, columns) }}
)

select
  activity_id,
  stream_label as activity_kind,
  activity_type_id,
  activity_timestamp,
  lead_id,
  campaign_id,
  campaign_run_id,
  step_id,
  choice_number,
  email_template_id,
  email_template_name,
  {{ marketo_key(['email_template_id', 'campaign_id', 'campaign_run_id', 'lead_id']) }} as email_send_id,
  -- When the loader wrote the row; an activity recorded late still counts as new to the
  -- incremental marts. Loaders without metadata columns fall back to the activity's date.
  coalesce(_loaded_at, activity_timestamp) as _loaded_at
from activities
