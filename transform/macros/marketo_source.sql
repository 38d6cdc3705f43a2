{#
  Reading tap-marketo-crm's tables whatever loaded them and whichever streams an instance has.

  Loaders name columns differently: target-duckdb lowercases Marketo's names (leadId ->
  leadid), SDK-based targets such as target-postgres snake_case them (leadId -> lead_id).
  Columns are therefore looked up by their Marketo name with case and underscores ignored.
  A table an instance lacks (a custom object, an activity type never used, an asset stream
  not yet selected) and a column it lacks (a custom field) read as typed nulls, so every
  model builds on every instance.
#}

{% macro marketo_relation(table) %}
  {#- The loaded table, or none when this instance has no such stream (or at parse time). -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {{ return(adapter.get_relation(database=target.database, schema=var('marketo_schema'),
                                 identifier=table)) }}
{% endmacro %}


{% macro marketo_normalized(name) -%}
  {{ return(name | lower | replace('_', '')) }}
{%- endmacro %}


{% macro marketo_snake(name) -%}
  {#- leadStatus -> lead_status: mart column names from Marketo field names. -#}
  {{ return(modules.re.sub('(?<=[a-z0-9])(?=[A-Z])', '_', name) | lower) }}
{%- endmacro %}


{% macro marketo_type(kind) -%}
  {%- if kind == 'bigint' -%}{{ dbt.type_bigint() }}
  {%- elif kind == 'int' -%}{{ dbt.type_int() }}
  {%- elif kind == 'text' -%}{{ dbt.type_string() }}
  {%- elif kind == 'timestamp' -%}{{ dbt.type_timestamp() }}
  {%- elif kind == 'bool' -%}{{ dbt.type_boolean() }}
  {%- elif kind == 'float' -%}{{ dbt.type_float() }}
  {%- elif kind == 'date' -%}date
  {%- else -%}{{ exceptions.raise_compiler_error("marketo_type: unknown kind '" ~ kind ~ "'") }}
  {%- endif -%}
{%- endmacro %}


{% macro marketo_select(table, columns) %}
  {#-
    select <columns> from the tap's `table`: each column is [marketo_name, alias, kind].
    Adds the Singer metadata every staging model needs: _sdc_deleted_at (a delete the
    loader kept as a flag) and _loaded_at (when the loader wrote the row: _sdc_batched_at,
    null for loaders without metadata columns).
  -#}
  {%- set relation = marketo_relation(table) -%}
  {%- set found = {} -%}
  {%- if relation is not none -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do found.update({marketo_normalized(column.name): column.name}) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set all_columns = columns + [['_sdc_deleted_at', '_sdc_deleted_at', 'text'],
                                   ['_sdc_batched_at', '_loaded_at', 'timestamp']] %}
  select
  {%- for name, alias, kind in all_columns %}
    {%- set key = marketo_normalized(name) %}
    cast({{ adapter.quote(found[key]) if key in found else 'null' }} as {{ marketo_type(kind) }}) as {{ alias }}
    {%- if not loop.last %},{% endif %}
  {%- endfor %}
  {%- if relation is not none %}
  from {{ relation }}
  {%- else %}
  {#- No such stream here: the same columns, no rows. #}
  where 1 = 0
  {%- endif %}
{% endmacro %}


{% macro marketo_latest(relation_sql, key_columns, order_by) %}
  {#-
    One row per key: the latest version (append-only loaders keep every version a tap
    emitted; an upserting loader already keeps one). A key whose latest version is a
    delete (_sdc_deleted_at set: deleted or merged lead, removed list or role member) is
    dropped: the marts describe what Marketo holds now, whether the loader hard-deletes
    (target-duckdb here) or keeps deletes as flagged rows.
  -#}
  select *
  from (
    select
      versions.*,
      row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by {{ order_by }}, _loaded_at desc nulls last
      ) as _version_rank
    from ({{ relation_sql }}) as versions
  ) as ranked
  where _version_rank = 1
    and _sdc_deleted_at is null
{% endmacro %}


{% macro marketo_key(columns) -%}
  {#- A readable composite key: values joined with '-', nulls as ''. -#}
  {%- set parts = [] -%}
  {%- for column in columns -%}
    {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
    {%- if not loop.last %}{% do parts.append("'-'") %}{% endif -%}
  {%- endfor -%}
  {{ dbt.concat(parts) }}
{%- endmacro %}


{% macro marketo_union_latest(streams, columns) %}
  {#-
    Activity streams of one shape read as one relation, each deduplicated on marketoGUID
    (column activity_id). `streams` is a list of [label, stream]; the label is kept in
    column stream_label.
  -#}
  {%- for label, stream in streams %}
  select '{{ label }}' as stream_label, latest.*
  from ({{ marketo_latest(marketo_select(stream, columns), ['activity_id'],
                          'activity_timestamp desc nulls last') }}) as latest
  {%- if not loop.last %}
  union all
  {%- endif %}
  {%- endfor %}
{% endmacro %}
