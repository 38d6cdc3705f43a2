-- One row per email (Marketo's "mailing"), as seen in email activities and, when the
-- warehouse has an `emails` asset stream, described by it.
with activities as (

  select * from {{ ref('stg_marketo__email_activities') }}

), seen as (

  -- The name an email had in its latest activity (emails can be renamed).
  select email_template_id, email_template_name, first_activity_timestamp,
         last_activity_timestamp
  from (
    select
      email_template_id,
      email_template_name,
      min(activity_timestamp) over (partition by email_template_id) as first_activity_timestamp,
      max(activity_timestamp) over (partition by email_template_id) as last_activity_timestamp,
      row_number() over (
        partition by email_template_id order by activity_timestamp desc, activity_id desc
      ) as name_rank
    from activities
    where email_template_id is not null
  ) as named
  where name_rank = 1

), assets as (

  select * from {{ ref('stg_marketo__emails') }}

), templates as (

  select
    coalesce(assets.email_template_id, seen.email_template_id) as email_template_id,
    coalesce(assets.email_template_name, seen.email_template_name) as email_template_name,
    assets.description, assets.email_template_status, assets.email_template_url,
    assets.parent_template_id, assets.workspace_name, assets.is_operational,
    assets.is_text_only, assets.has_web_view_enabled, assets.publish_to_msi,
    assets.version_type, assets.created_timestamp, assets.updated_timestamp,
    seen.first_activity_timestamp, seen.last_activity_timestamp
  from seen
  full outer join assets
    on seen.email_template_id = assets.email_template_id

), stats as (

  {{ marketo_email_stats('activities', 'email_template_id') }}

)

select
  templates.*,
  {{ marketo_email_stat_columns('stats') }}
from templates
left join stats
  on templates.email_template_id = stats.email_template_id
