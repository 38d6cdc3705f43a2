{#-
  One row per email sent to a lead, with what became of it. Incremental: a run rebuilds
  only the sends that have an activity the loader wrote since the last run (a new send, or
  a delivery, open, click, bounce or unsubscribe of an older one), from all their activities,
  so an incremental build equals a full refresh.
-#}
{{ config(
    materialized='incremental',
    unique_key='email_send_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with activities as (

  select * from {{ ref('stg_marketo__email_activities') }}

), scoped as (

  select activities.*
  from activities
  {%- if is_incremental() %}
  inner join (
    select distinct email_send_id
    from activities
    where _loaded_at > (
      select coalesce(max(_loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
      from {{ this }})
  ) as touched
    on activities.email_send_id = touched.email_send_id
  {%- endif %}

), sends as (

  -- A send logged twice under one key (a resend in the same campaign run) is one send,
  -- dated by its first activity.
  select *
  from (
    select
      scoped.*,
      row_number() over (
        partition by email_send_id order by activity_timestamp, activity_id) as activity_rank
    from scoped
    where activity_kind = 'send'
  ) as ranked
  where activity_rank = 1

), outcomes as (

  {{ marketo_email_stats('scoped', 'email_send_id', ['max(_loaded_at) as _loaded_at']) }}

), campaigns as (

  select campaign_id, campaign_type, program_id
  from {{ ref('stg_marketo__campaigns') }}

)

select
  sends.email_send_id,
  sends.activity_id,
  sends.activity_timestamp,
  sends.activity_type_id,
  sends.lead_id,
  sends.email_template_id,
  sends.email_template_name,
  sends.campaign_id,
  sends.campaign_run_id,
  sends.step_id,
  sends.choice_number,
  campaigns.campaign_type,
  campaigns.program_id,
  outcomes.count_deliveries,
  outcomes.count_opens,
  outcomes.count_clicks,
  outcomes.count_bounces,
  outcomes.count_soft_bounces,
  outcomes.count_unsubscribes,
  outcomes.count_deliveries > 0 as was_delivered,
  outcomes.count_opens > 0 as was_opened,
  outcomes.count_clicks > 0 as was_clicked,
  outcomes.count_bounces > 0 as was_bounced,
  outcomes.count_unsubscribes > 0 as was_unsubscribed,
  -- The latest load of any of the send's activities: the incremental watermark.
  outcomes._loaded_at
from sends
inner join outcomes
  on sends.email_send_id = outcomes.email_send_id
left join campaigns
  on sends.campaign_id = campaigns.campaign_id
