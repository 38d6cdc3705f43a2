-- One row per program: its members and successes (program_memberships) and the email
-- engagement of the campaigns it holds.
with programs as (

  select * from {{ ref('stg_marketo__programs') }}

), members as (

  select
    program_id,
    count(*) as count_members,
    sum(case when reached_success then 1 else 0 end) as count_successes
  from {{ ref('stg_marketo__program_memberships') }}
  group by program_id

), program_activities as (

  select activities.*, campaigns.program_id
  from {{ ref('stg_marketo__email_activities') }} as activities
  inner join {{ ref('stg_marketo__campaigns') }} as campaigns
    on activities.campaign_id = campaigns.campaign_id

), stats as (

  {{ marketo_email_stats('program_activities', 'program_id') }}

)

select
  programs.program_id, programs.program_name, programs.description, programs.program_type,
  programs.channel, programs.program_status, programs.workspace, programs.url,
  programs.sfdc_id, programs.sfdc_name, programs.created_timestamp,
  programs.updated_timestamp,
  coalesce(members.count_members, 0) as count_members,
  coalesce(members.count_successes, 0) as count_successes,
  case when coalesce(members.count_members, 0) > 0
    then cast(members.count_successes as {{ dbt.type_float() }}) / members.count_members
  end as success_rate,
  {{ marketo_email_stat_columns('stats') }}
from programs
left join members
  on programs.program_id = members.program_id
left join stats
  on programs.program_id = stats.program_id
