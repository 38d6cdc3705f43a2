-- One row per week (starting Monday) with email activity: sends, deliveries, opens, clicks,
-- bounces and unsubscribes logged that week, and the leads that engaged. Not in Fivetran's
-- package; the report's and the demo's weekly figures come from here.
with activities as (

  select
    cast({{ dbt.date_trunc('week', 'activity_timestamp') }} as date) as week_start,
    activities.*
  from {{ ref('stg_marketo__email_activities') }} as activities

), stats as (

  {{ marketo_email_stats('activities', 'week_start') }}

), engaged as (

  select
    week_start,
    count(distinct lead_id) as count_leads_engaged
  from activities
  where activity_kind in ('open', 'click')
  group by week_start

)

select
  stats.week_start,
  {{ marketo_email_stat_columns('stats') }},
  coalesce(engaged.count_leads_engaged, 0) as count_leads_engaged
from stats
left join engaged
  on stats.week_start = engaged.week_start
