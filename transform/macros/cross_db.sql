{#- Small helpers where DuckDB and PostgreSQL differ. Each dispatched macro has a `default__` in
    standard SQL (what another adapter gets) and overrides for the engines cofre runs on. -#}

{#- A dlt load id (epoch seconds as text, e.g. '1795787421.85') as a naive UTC timestamp. -#}
{% macro epoch_text_to_timestamp(column) -%}
    {{ return(adapter.dispatch('epoch_text_to_timestamp', 'cofre')(column)) }}
{%- endmacro %}

{% macro default__epoch_text_to_timestamp(column) -%}
    {{ dbt.dateadd('second', 'cast(' ~ column ~ ' as double precision)', "cast('1970-01-01 00:00:00' as timestamp)") }}
{%- endmacro %}

{% macro duckdb__epoch_text_to_timestamp(column) -%}
    make_timestamp(cast(cast({{ column }} as double) * 1000000 as bigint))
{%- endmacro %}

{% macro postgres__epoch_text_to_timestamp(column) -%}
    (to_timestamp(cast({{ column }} as double precision)) at time zone 'UTC')
{%- endmacro %}

{#- Lower case without accents and surrounding/double spaces: "São  Paulo " -> "sao paulo". -#}
{% macro normalize_city(column) -%}
    trim(regexp_replace(
        translate(lower(trim({{ column }})), 'áàâãäéèêëíìîïóòôõöúùûüçñ''', 'aaaaaeeeeiiiiooooouuuucn '),
        '[ ]+', ' ', 'g'
    ))
{%- endmacro %}

{#- Empty or blank text as null. -#}
{% macro blank_as_null(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- Whole days between two timestamps (b - a), on both engines. -#}
{% macro days_between(a, b) -%}
    {{ return(adapter.dispatch('days_between', 'cofre')(a, b)) }}
{%- endmacro %}

{% macro default__days_between(a, b) -%}
    {{ dbt.datediff('cast(' ~ a ~ ' as date)', 'cast(' ~ b ~ ' as date)', 'day') }}
{%- endmacro %}

{% macro duckdb__days_between(a, b) -%}
    datediff('day', cast({{ a }} as date), cast({{ b }} as date))
{%- endmacro %}

{% macro postgres__days_between(a, b) -%}
    (cast({{ b }} as date) - cast({{ a }} as date))
{%- endmacro %}

{#- Regex match, for the expectation tests. -#}
{% macro regex_matches(column, regex) -%}
    {{ return(adapter.dispatch('regex_matches', 'cofre')(column, regex)) }}
{%- endmacro %}

{% macro default__regex_matches(column, regex) -%}
    regexp_like({{ column }}, '{{ regex }}')
{%- endmacro %}

{% macro duckdb__regex_matches(column, regex) -%}
    regexp_matches({{ column }}, '{{ regex }}')
{%- endmacro %}

{% macro postgres__regex_matches(column, regex) -%}
    ({{ column }} ~ '{{ regex }}')
{%- endmacro %}
