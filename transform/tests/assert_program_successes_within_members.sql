-- A program cannot have more successes than members.
select program_id, count_members, count_successes
from {{ ref('marketo__programs') }}
where count_successes > count_members
