-- One row per (list, lead) membership Marketo holds now. Marketo logs no Remove from List
-- when a whole list is deleted, so the tap cannot flag those members: the join to the
-- lists Marketo still holds drops them here. A removal logged by Remove from List is a
-- delete flag on the membership itself and is left out by marketo_latest. A membership
-- has no updatedAt: the version loaded last is the latest.
with memberships as (
  {{ marketo_latest(marketo_select('list_memberships', [
      ['listId', 'list_id', 'bigint'],
      ['leadId', 'lead_id', 'bigint'],
      ['createdAt', 'created_timestamp', 'timestamp'],
    ]), ['list_id', 'lead_id'], '_loaded_at desc nulls last') }}
)

select
  {{ marketo_key(['memberships.list_id', 'memberships.lead_id']) }} as list_membership_id,
  memberships.list_id, memberships.lead_id, memberships.created_timestamp
from memberships
inner join {{ ref('stg_marketo__static_lists') }} as lists
  on lists.list_id = memberships.list_id
