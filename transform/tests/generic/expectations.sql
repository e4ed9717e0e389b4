{#-
  Generic tests with the names and arguments of dbt-expectations (calogica/metaplane), written here
  because the dbt package hub cannot be reached from cofre's build machines. Each returns the failing
  rows, so `dbt build` reports how many rows broke the rule.
-#}

{% test expect_column_values_to_be_between(model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false) %}
{%- set gt = '>' if strictly else '>=' -%}
{%- set lt = '<' if strictly else '<=' -%}
select *
from {{ model }}
where {{ column_name }} is not null
  {% if row_condition %}and ({{ row_condition }}){% endif %}
  and not (
      1 = 1
      {% if min_value is not none %}and {{ column_name }} {{ gt }} {{ min_value }}{% endif %}
      {% if max_value is not none %}and {{ column_name }} {{ lt }} {{ max_value }}{% endif %}
  )
{% endtest %}


{% test expect_column_values_to_match_regex(model, column_name, regex, row_condition=none, is_raw=false, flags="") %}
select *
from {{ model }}
where {{ column_name }} is not null
  {% if row_condition %}and ({{ row_condition }}){% endif %}
  and not {{ cofre.regex_matches(column_name, regex) }}
{% endtest %}


{% test expect_column_values_to_be_in_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
select *
from {{ model }}
where {{ column_name }} is not null
  {% if row_condition %}and ({{ row_condition }}){% endif %}
  and {{ column_name }} not in (
      {%- for value in value_set -%}
          {%- if quote_values -%}'{{ value }}'{%- else -%}{{ value }}{%- endif -%}
          {%- if not loop.last %}, {% endif -%}
      {%- endfor -%}
  )
{% endtest %}


{% test expect_column_values_to_not_be_in_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
select *
from {{ model }}
where {{ column_name }} in (
      {%- for value in value_set -%}
          {%- if quote_values -%}'{{ value }}'{%- else -%}{{ value }}{%- endif -%}
          {%- if not loop.last %}, {% endif -%}
      {%- endfor -%}
  )
  {% if row_condition %}and ({{ row_condition }}){% endif %}
{% endtest %}


{% test expect_table_row_count_to_be_between(model, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false) %}
{%- set gt = '>' if strictly else '>=' -%}
{%- set lt = '<' if strictly else '<=' -%}
with counted as (
    select
        {% if group_by %}{{ group_by | join(', ') }},{% endif %}
        count(*) as row_count
    from {{ model }}
    {% if row_condition %}where {{ row_condition }}{% endif %}
    {% if group_by %}group by {{ group_by | join(', ') }}{% endif %}
)
select *
from counted
where not (
    1 = 1
    {% if min_value is not none %}and row_count {{ gt }} {{ min_value }}{% endif %}
    {% if max_value is not none %}and row_count {{ lt }} {{ max_value }}{% endif %}
)
{% endtest %}


{% test expect_column_pair_values_A_to_be_greater_than_B(model, column_A, column_B, or_equal=false, row_condition=none) %}
{%- set op = '>=' if or_equal else '>' -%}
select *
from {{ model }}
where {{ column_A }} is not null
  and {{ column_B }} is not null
  {% if row_condition %}and ({{ row_condition }}){% endif %}
  and not ({{ column_A }} {{ op }} {{ column_B }})
{% endtest %}


{% test expect_row_values_to_have_recent_data(model, column_name, datepart, interval, row_condition=none) %}
with latest as (
    select max({{ column_name }}) as latest_value
    from {{ model }}
    {% if row_condition %}where {{ row_condition }}{% endif %}
)
select *
from latest
where latest_value is null
   or cast(latest_value as timestamp) < {{ dbt.dateadd(datepart, -1 * (interval | int), dbt.current_timestamp()) }}
{% endtest %}


{% test expect_compound_columns_to_be_unique(model, column_list, quote_columns=false, ignore_row_if="all_values_are_missing", row_condition=none) %}
{%- set columns = column_list if not quote_columns else column_list | map('tojson') | list -%}
{%- set missing = ' and ' if ignore_row_if == 'all_values_are_missing' else ' or ' -%}
with rows_considered as (
    select {{ columns | join(', ') }}
    from {{ model }}
    where 1 = 1
      {% if row_condition %}and ({{ row_condition }}){% endif %}
      {% if ignore_row_if in ('all_values_are_missing', 'any_value_is_missing') %}
      and not (
          {%- for column in columns %}{{ column }} is null{% if not loop.last %}{{ missing }}{% endif %}{% endfor -%}
      )
      {% endif %}
)
select
    {{ columns | join(', ') }},
    count(*) as duplicates
from rows_considered
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
