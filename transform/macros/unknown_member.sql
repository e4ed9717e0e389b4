{#-
  The unknown member of a dimension: the one row that facts point to when the row they reference did
  not arrive (an order whose customer is not in the delivery, an item whose product or seller is
  missing). Its columns are the model's declared contract columns, in their YAML order and types:
  text columns read 'unknown', other types are null, and `overrides` sets any column to another SQL
  expression (e.g. {'state_code': "'??'"}). Use it as a CTE body:

      unknown_member as (
          {{ unknown_member(overrides={'state_code': "'??'"}) }}
      )
-#}
{% macro unknown_member(overrides={}) -%}
    {%- if not execute -%}
        {{ return("select cast('unknown' as varchar) as _parsing") }}
    {%- endif -%}
    {%- set columns = model.columns.values() | list -%}
    {%- if columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "unknown_member: model " ~ model.name ~ " declares no columns; declare its contract in YAML") }}
    {%- endif -%}
    select
    {%- for column in columns %}
        {%- set data_type = column.data_type or 'varchar' %}
        {%- set is_text = data_type | lower in ('varchar', 'text', 'string') or (data_type | lower).startswith('varchar(') %}
        {%- set value = overrides.get(column.name, "'unknown'" if is_text else 'null') %}
        cast({{ value }} as {{ data_type }}) as {{ column.name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
