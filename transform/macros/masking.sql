{#-
  Masking macros. Which column gets which treatment is declared once, in the staging models' YAML:

      columns:
        - name: customer_id
          config:
            meta: {pii: true, masking: token, masked_as: customer_token}

  and `masked_columns('stg_...')` turns that policy into the select list of a silver model.
  The key never appears in SQL: DuckDB sessions hold HMAC pads set by the cofre masking plugin
  (security/dbt_duckdb_masking.py), PostgreSQL sessions hold `cofre.masking_key` set through libpq's
  PGOPTIONS by cofre (orchestration/warehouse/dbt.py). Tokens equal security.masking.mask_token in Python.
-#}

{% macro mask_token(column) -%}
    {{ return(adapter.dispatch('mask_token', 'cofre')(column)) }}
{%- endmacro %}

{% macro duckdb__mask_token(column) -%}
    case
        when getvariable('cofre_mask_ipad') is null
            then cast(error('masking key missing: the cofre masking plugin did not configure this session') as varchar)
        when {{ column }} is null then null
        else lower(sha256(
            getvariable('cofre_mask_opad')
            || unhex(sha256(getvariable('cofre_mask_ipad') || encode(trim({{ column }}))))
        ))
    end
{%- endmacro %}

{% macro postgres__mask_token(column) -%}
    encode(
        hmac(
            convert_to(trim({{ column }}), 'UTF8'),
            convert_to(current_setting('cofre.masking_key'), 'UTF8'),
            'sha256'
        ),
        'hex'
    )
{%- endmacro %}

{#- Zip prefix generalised to its first three digits (a region of several thousand people). -#}
{% macro generalize_zip(column, digits=3) -%}
    left(trim({{ column }}), {{ digits }})
{%- endmacro %}

{#- Coordinates rounded to `places` decimals (2 places: about 1 km). -#}
{% macro round_coordinates(column, places=2) -%}
    cast(round(cast({{ column }} as numeric(12, 6)), {{ places }}) as numeric(9, {{ places }}))
{%- endmacro %}

{#- Free text with e-mail addresses, CPF-like numbers and phone numbers replaced by placeholders.
    The patterns use only the regex subset shared by DuckDB (RE2) and PostgreSQL (ARE). -#}
{% macro redact_text(column) -%}
    regexp_replace(
        regexp_replace(
            regexp_replace(
                {{ column }},
                '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+[.][A-Za-z]{2,}', '[email]', 'g'
            ),
            '[0-9]{3}[.]?[0-9]{3}[.]?[0-9]{3}[-/ ]?[0-9]{2}', '[cpf]', 'g'
        ),
        '([(]?[0-9]{2}[)]?[ -]?)?9?[0-9]{4}[ -]?[0-9]{4}', '[phone]', 'g'
    )
{%- endmacro %}

{#- Apply one column's policy; returns the select expression with its alias, or '' for `drop`. -#}
{% macro apply_masking_policy(column_name, meta) -%}
    {%- set policy = meta.get('masking') -%}
    {%- set alias = meta.get('masked_as', column_name) -%}
    {%- if policy == 'token' -%}
        {{ mask_token(column_name) }} as {{ alias }}
    {%- elif policy == 'generalize_zip' -%}
        {{ generalize_zip(column_name) }} as {{ alias }}
    {%- elif policy == 'round_coordinates' -%}
        {{ round_coordinates(column_name, meta.get('places', 2)) }} as {{ alias }}
    {%- elif policy == 'redact_text' -%}
        {{ redact_text(column_name) }} as {{ alias }}
    {%- elif policy == 'drop' -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "Column " ~ column_name ~ " is tagged pii but has no known masking policy ('" ~ policy
            ~ "'): use token, generalize_zip, round_coordinates, redact_text or drop.") }}
    {%- endif -%}
{%- endmacro %}

{#- The policy of a column, from `config.meta` (dbt >= 1.10) or the older top-level `meta`. -#}
{% macro column_meta(column) -%}
    {%- set meta = {} -%}
    {%- do meta.update(column.get('meta') or {}) -%}
    {%- do meta.update((column.get('config') or {}).get('meta') or {}) -%}
    {{ return(meta) }}
{%- endmacro %}

{#- The select list of a silver model reading `staging_model`: every documented column of the staging
    model, PII columns treated by their policy. Columns not documented in YAML are not selected, so a
    new staging column cannot reach silver without a decision about it. -#}
{% macro masked_columns(staging_model, exclude=[]) -%}
    {%- if not execute -%}
        {{ return('1 as _parsing') }}
    {%- endif -%}
    {%- set nodes = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', staging_model)
        | list -%}
    {%- if nodes | length != 1 -%}
        {{ exceptions.raise_compiler_error("masked_columns: no model named " ~ staging_model) }}
    {%- endif -%}
    {%- set expressions = [] -%}
    {%- for column in nodes[0].columns.values() if column.name not in exclude -%}
        {%- set meta = column_meta(column) -%}
        {%- if meta.get('pii') -%}
            {%- set expression = apply_masking_policy(column.name, meta) | trim -%}
            {%- if expression -%}{%- do expressions.append(expression) -%}{%- endif -%}
        {%- else -%}
            {%- do expressions.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(expressions | join(',\n    ')) }}
{%- endmacro %}
