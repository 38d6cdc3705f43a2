-- One row per current lead: the fields var('marketo__lead_history_columns') tracks, as text
-- (the form Change Data Value activities carry them in).
{%- set tracked = [] %}
{%- for field in var('marketo__lead_history_columns') %}
  {%- do tracked.append([field, marketo_snake(field), 'text']) %}
{%- endfor %}
with leads as (
  {{ marketo_latest(marketo_select('leads', [
      ['id', 'lead_id', 'bigint'],
      ['updatedAt', 'updated_timestamp', 'timestamp'],
      ['createdAt', 'created_timestamp', 'timestamp'],
    ] + tracked), ['lead_id'], 'updated_timestamp desc nulls last') }}
)

select
  lead_id,
  created_timestamp,
  {%- for field, column, kind in tracked %}
  {{ column }},
  {%- endfor %}
  _loaded_at
from leads
