-- One row per static list Marketo holds now (the static_lists stream; a deleted list's
-- latest version is its delete flag, so it is left out).
with lists as (
  {{ marketo_latest(marketo_select('static_lists', [
      ['id', 'list_id', 'bigint'],
      ['name', 'list_name', 'text'],
      ['description', 'description', 'text'],
      ['programName', 'program_name', 'text'],
      ['workspaceName', 'workspace_name', 'text'],
      ['createdAt', 'created_timestamp', 'timestamp'],
      ['updatedAt', 'updated_timestamp', 'timestamp'],
    ]), ['list_id'], 'updated_timestamp desc nulls last') }}
)

select
  list_id, list_name, description, program_name, workspace_name, created_timestamp,
  updated_timestamp
from lists
