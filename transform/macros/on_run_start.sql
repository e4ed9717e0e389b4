{#- Session preparation that holds no secret. PostgreSQL: pgcrypto provides hmac() for mask_token. -#}
{% macro cofre_on_run_start() -%}
    {{ return(adapter.dispatch('cofre_on_run_start', 'cofre')()) }}
{%- endmacro %}

{% macro default__cofre_on_run_start() -%}
    select 1
{%- endmacro %}

{% macro postgres__cofre_on_run_start() -%}
    create extension if not exists pgcrypto
{%- endmacro %}
