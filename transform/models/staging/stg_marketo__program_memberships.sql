-- One row per program member (program_id, lead_id) as Marketo holds it now.
with members as (
  {{ marketo_latest(marketo_select('program_memberships', [
      ['programId', 'program_id', 'bigint'],
      ['leadId', 'lead_id', 'bigint'],
      ['statusName', 'status_name', 'text'],
      ['reachedSuccess', 'reached_success', 'bool'],
      ['reachedSuccessDate', 'reached_success_timestamp', 'timestamp'],
      ['membershipDate', 'membership_timestamp', 'timestamp'],
      ['acquiredBy', 'is_acquired_by', 'bool'],
      ['isExhausted', 'is_exhausted', 'bool'],
      ['createdAt', 'created_timestamp', 'timestamp'],
      ['updatedAt', 'updated_timestamp', 'timestamp'],
    ]), ['program_id', 'lead_id'], 'updated_timestamp desc nulls last') }}
)

select
  {{ marketo_key(['program_id', 'lead_id']) }} as program_membership_id,
  program_id, lead_id, status_name, coalesce(reached_success, false) as reached_success,
  reached_success_timestamp, membership_timestamp, is_acquired_by, is_exhausted,
  created_timestamp, updated_timestamp
from members
