{% macro marketo_email_stats(activities, group_column, extra_columns=[]) %}
  {#-
    Email engagement counts per `group_column` (lead_id, campaign_id, email_template_id,
    program_id, email_send_id) of the email activities in `activities`, plus any
    `extra_columns` (aggregate expressions). Counted from the activities
    themselves, so an open or click counts even when its send is older than the synced
    history. Unique opens / clicks are distinct sends opened / clicked.
  -#}
  select
    {{ group_column }},
    sum(case when activity_kind = 'send' then 1 else 0 end) as count_sends,
    sum(case when activity_kind = 'delivered' then 1 else 0 end) as count_deliveries,
    sum(case when activity_kind = 'open' then 1 else 0 end) as count_opens,
    sum(case when activity_kind = 'click' then 1 else 0 end) as count_clicks,
    sum(case when activity_kind = 'bounce' then 1 else 0 end) as count_bounces,
    sum(case when activity_kind = 'soft_bounce' then 1 else 0 end) as count_soft_bounces,
    sum(case when activity_kind = 'unsubscribe' then 1 else 0 end) as count_unsubscribes,
    count(distinct case when activity_kind = 'open' then email_send_id end) as count_unique_opens,
    count(distinct case when activity_kind = 'click' then email_send_id end) as count_unique_clicks
    {%- for column in extra_columns %},
    {{ column }}
    {%- endfor %}
  from {{ activities }}
  where {{ group_column }} is not null
  group by {{ group_column }}
{% endmacro %}


{% macro marketo_email_stat_columns(stats) -%}
  {%- for column in ['count_sends', 'count_deliveries', 'count_opens', 'count_clicks',
                     'count_bounces', 'count_soft_bounces', 'count_unsubscribes',
                     'count_unique_opens', 'count_unique_clicks'] %}
  coalesce({{ stats }}.{{ column }}, 0) as {{ column }}{{ ',' if not loop.last }}
  {%- endfor %}
{%- endmacro %}
