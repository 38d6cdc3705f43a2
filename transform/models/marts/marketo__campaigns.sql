-- One row per smart campaign, with the email engagement of the emails it sent.
with campaigns as (

  select * from {{ ref('stg_marketo__campaigns') }}

), stats as (

  {{ marketo_email_stats(ref('stg_marketo__email_activities'), 'campaign_id') }}

)

select
  campaigns.campaign_id, campaigns.campaign_name, campaigns.campaign_type,
  campaigns.description, campaigns.is_active, campaigns.program_id, campaigns.program_name,
  campaigns.workspace_name, campaigns.created_timestamp, campaigns.updated_timestamp,
  {{ marketo_email_stat_columns('stats') }}
from campaigns
left join stats
  on campaigns.campaign_id = stats.campaign_id
