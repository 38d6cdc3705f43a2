-- One row per smart campaign (the campaigns asset stream).
with campaigns as (
  {{ marketo_latest(marketo_select('campaigns', [
      ['id', 'campaign_id', 'bigint'],
      ['name', 'campaign_name', 'text'],
      ['description', 'description', 'text'],
      ['type', 'campaign_type', 'text'],
      ['programId', 'program_id', 'bigint'],
      ['programName', 'program_name', 'text'],
      ['workspaceName', 'workspace_name', 'text'],
      ['active', 'is_active', 'bool'],
      ['createdAt', 'created_timestamp', 'timestamp'],
      ['updatedAt', 'updated_timestamp', 'timestamp'],
    ]), ['campaign_id'], 'updated_timestamp desc nulls last') }}
)

select
  campaign_id, campaign_name, description, campaign_type, program_id, program_name,
  workspace_name, is_active, created_timestamp, updated_timestamp
from campaigns
