{#- Custom schema names are used verbatim (staging, silver, the marts schema), not prefixed with the
    target's schema, so every engine and every consumer sees the same names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
