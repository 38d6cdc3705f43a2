-- One row per program (the programs asset stream).
with programs as (
  {{ marketo_latest(marketo_select('programs', [
      ['id', 'program_id', 'bigint'],
      ['name', 'program_name', 'text'],
      ['description', 'description', 'text'],
      ['type', 'program_type', 'text'],
      ['channel', 'channel', 'text'],
      ['status', 'program_status', 'text'],
      ['workspace', 'workspace', 'text'],
      ['url', 'url', 'text'],
      ['sfdcId', 'sfdc_id', 'text'],
      ['sfdcName', 'sfdc_name', 'text'],
      ['createdAt', 'created_timestamp', 'timestamp'],
      ['updatedAt', 'updated_timestamp', 'timestamp'],
    ]), ['program_id'], 'updated_timestamp desc nulls last') }}
)

select
  program_id, program_name, description, program_type, channel, program_status, workspace,
  url, sfdc_id, sfdc_name, created_timestamp, updated_timestamp
from programs
