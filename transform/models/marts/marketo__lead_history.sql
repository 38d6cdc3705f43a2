{#-
  One row per lead per day, from the day the lead was created to today, with the value each
  field in var('marketo__lead_history_columns') had at the end of that day.

  Values come from the lead's field-change activities (Change Data Value, Change Score): a
  day holds the new value of the day's last change, or of the last change before it; days
  before the first change hold that change's old value; a field that never changed holds
  the lead's current value throughout. Changes name fields by label (see
  var('marketo__lead_field_labels')).

  Incremental: leads the loader wrote since the last run (the lead or any of its changes)
  are rebuilt for every day; every other lead gets the new days, carrying its last stored
  values (it has no change since). Leads no longer in Marketo lose their rows. An
  incremental build therefore equals a full refresh.
-#}
{{ config(
    materialized='incremental',
    unique_key='lead_history_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="delete from {{ this }} where lead_id not in (select lead_id from "
              ~ "{{ ref('stg_marketo__lead_tracked_values') }})",
) }}

{%- set labels = var('marketo__lead_field_labels') %}
{%- set tracked = [] %}
{%- for field in var('marketo__lead_history_columns') %}
  {%- set label = labels.get(field, field) %}
  {%- do tracked.append({'column': marketo_snake(field),
                         'key': label | lower | replace(' ', '') | replace('_', '')}) %}
{%- endfor %}

{#- The spine starts on the first lead's creation day (read when the staging table exists:
    a plain `dbt compile` on an empty warehouse has none yet). #}
{%- set first_day = 'current_date' %}
{%- set staged = load_relation(ref('stg_marketo__lead_tracked_values')) if execute else none %}
{%- if staged is not none %}
  {%- set found = run_query("select min(cast(created_timestamp as date)) from " ~ staged) %}
  {%- if found.rows and found.rows[0][0] is not none %}
    {%- set first_day = "cast('" ~ found.rows[0][0] ~ "' as date)" %}
  {%- endif %}
{%- endif %}

with leads as (

  select * from {{ ref('stg_marketo__lead_tracked_values') }}

), changes as (

  select
    changes.*,
    lower(replace(replace(field_label, ' ', ''), '_', '')) as field_key
  from {{ ref('stg_marketo__lead_field_changes') }} as changes

), lead_loads as (

  -- When the loader last wrote anything about a lead: its record or one of its changes.
  select
    leads.lead_id,
    case
      when max(changes._loaded_at) is null then max(leads._loaded_at)
      when max(leads._loaded_at) is null then max(changes._loaded_at)
      when max(changes._loaded_at) > max(leads._loaded_at) then max(changes._loaded_at)
      else max(leads._loaded_at)
    end as _loaded_at
  from leads
  left join changes
    on leads.lead_id = changes.lead_id
  group by leads.lead_id

), rebuilt_leads as (

  select lead_loads.lead_id, lead_loads._loaded_at, leads.created_timestamp
  {%- for field in tracked %}
    , leads.{{ field.column }}
  {%- endfor %}
  from lead_loads
  inner join leads
    on lead_loads.lead_id = leads.lead_id
  {%- if is_incremental() %}
  where lead_loads._loaded_at > (
      select coalesce(max(_loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
      from {{ this }})
    or lead_loads.lead_id not in (select lead_id from {{ this }})
  {%- endif %}

), spine as (

  select cast(date_day as date) as date_day
  from ({{ dbt.date_spine('day', first_day, dbt.dateadd('day', 1, 'current_date')) }}) as days

), lead_days as (

  select rebuilt_leads.lead_id, spine.date_day
  from rebuilt_leads
  inner join spine
    on spine.date_day >= cast(rebuilt_leads.created_timestamp as date)

){% for field in tracked %}, changes_{{ field.column }} as (

  select
    changes.lead_id,
    -- A change logged before the lead's creation day (clock skew) counts on that day.
    greatest(cast(changes.activity_timestamp as date),
             cast(rebuilt_leads.created_timestamp as date)) as date_day,
    changes.new_value,
    changes.old_value,
    -- Ranked within the day the change counts on (above), so that two changes from
    -- before the creation day cannot both be that day's last.
    row_number() over (
      partition by changes.lead_id,
                   greatest(cast(changes.activity_timestamp as date),
                            cast(rebuilt_leads.created_timestamp as date))
      order by changes.activity_timestamp desc, changes.activity_id desc) as rank_in_day,
    row_number() over (
      partition by changes.lead_id
      order by changes.activity_timestamp, changes.activity_id) as rank_in_lead
  from changes
  inner join rebuilt_leads
    on changes.lead_id = rebuilt_leads.lead_id
  where changes.field_key = '{{ field.key }}'

){% endfor %}, daily as (

  select
    lead_days.lead_id,
    lead_days.date_day
    {%- for field in tracked %}
    , changed_{{ field.column }}.new_value as {{ field.column }}_new_value
    , count(changed_{{ field.column }}.lead_id) over (
        partition by lead_days.lead_id order by lead_days.date_day
        rows between unbounded preceding and current row) as {{ field.column }}_period
    {%- endfor %}
  from lead_days
  {%- for field in tracked %}
  left join changes_{{ field.column }} as changed_{{ field.column }}
    on lead_days.lead_id = changed_{{ field.column }}.lead_id
    and lead_days.date_day = changed_{{ field.column }}.date_day
    and changed_{{ field.column }}.rank_in_day = 1
  {%- endfor %}

), filled as (

  -- Within a period (the days from one change to the next) only its first day carries a
  -- value: spread it over the period.
  select
    lead_id,
    date_day
    {%- for field in tracked %}
    , {{ field.column }}_period
    , max({{ field.column }}_new_value) over (
        partition by lead_id, {{ field.column }}_period) as {{ field.column }}_value
    {%- endfor %}
  from daily

), rebuilt as (

  select
    {{ marketo_key(['filled.lead_id', 'filled.date_day']) }} as lead_history_id,
    filled.lead_id,
    filled.date_day
    {%- for field in tracked %}
    , case
        when filled.{{ field.column }}_period > 0 then filled.{{ field.column }}_value
        when before_{{ field.column }}.lead_id is not null then before_{{ field.column }}.old_value
        else rebuilt_leads.{{ field.column }}
      end as {{ field.column }}
    {%- endfor %}
    , rebuilt_leads._loaded_at
  from filled
  inner join rebuilt_leads
    on filled.lead_id = rebuilt_leads.lead_id
  {%- for field in tracked %}
  left join changes_{{ field.column }} as before_{{ field.column }}
    on filled.lead_id = before_{{ field.column }}.lead_id
    and before_{{ field.column }}.rank_in_lead = 1
  {%- endfor %}

){% if is_incremental() %}, carried as (

  -- Leads with nothing new keep their last stored values on the days since.
  select
    {{ marketo_key(['stored.lead_id', 'spine.date_day']) }} as lead_history_id,
    stored.lead_id,
    spine.date_day
    {%- for field in tracked %}
    , stored.{{ field.column }}
    {%- endfor %}
    , stored._loaded_at
  from {{ this }} as stored
  inner join spine
    on spine.date_day > stored.date_day
  where stored.date_day = (select max(date_day) from {{ this }})
    and stored.lead_id not in (select lead_id from rebuilt_leads)
    and stored.lead_id in (select lead_id from leads)

){% endif %}

select * from rebuilt
{%- if is_incremental() %}
union all
select * from carried
{%- endif %}
