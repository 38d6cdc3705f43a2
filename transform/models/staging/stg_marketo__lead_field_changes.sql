-- One row per lead field change (Change Data Value, Change Score), with the field's label
-- as Marketo logs it and its old and new values as text.
{%- set columns = [
    ['marketoGUID', 'activity_id', 'text'],
    ['leadId', 'lead_id', 'bigint'],
    ['activityDate', 'activity_timestamp', 'timestamp'],
    ['activityTypeId', 'activity_type_id', 'int'],
    ['primary_attribute_value_id', 'field_id', 'bigint'],
    ['primary_attribute_value', 'field_label', 'text'],
    ['new_value', 'new_value', 'text'],
    ['old_value', 'old_value', 'text'],
] %}
{%- set streams = [] %}
{%- for stream in var('marketo__change_activity_streams') %}
  {%- do streams.append([stream, stream]) %}
{%- endfor %}
with changes as (
  {{ marketo_union_latest(streams, columns) }}
)

select
  activity_id,
  activity_type_id,
  activity_timestamp,
  lead_id,
  field_id,
  field_label,
  new_value,
  old_value,
  coalesce(_loaded_at, activity_timestamp) as _loaded_at
from changes
