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

{#- No silent fallback: an engine without a keyed-hash implementation must not produce unmasked or
    unkeyed values, so the default stops the compilation and says what to add. -#}
{% macro default__mask_token(column) -%}
    {{ exceptions.raise_compiler_error(
        "mask_token has no implementation for the " ~ adapter.type() ~ " adapter: add "
        ~ adapter.type() ~ "__mask_token (HMAC-SHA256 equal to security.masking.mask_token) to macros/masking.sql") }}
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

{#- Free text with personal data replaced by placeholders. Each rule is one regexp_replace, applied in
    this order (earlier rules must not leave pieces later ones miss):

    [url]       http(s)://… and www.…
    [email]     e-mails (a space either side of @ allowed); spelled out: "joao arroba gmail ponto com"
    [perfil]    @handles left after that (social profiles): "me segue no insta @joao_oficial"
    [cnpj]      14 digits as 12.345.678/0001-90, with any or no dots, slash, hyphen or spaces
    [cpf]       11 digits as 123.456.789-09, with any or no dots, hyphen, slash or spaces
    [rg]        after "RG" (any punctuation, optional state), or written 12.345.678-9
    [cep]       8 digits as 01310-100, 01310100, 01.310-100, 01310 100
    [telefone]  phones with or without +55 and DDD, in any punctuation: (11) 98765-4321, 11.98765.4321,
                11 3456 7890, 987654321 …
    [endereco]  rua / r. / av. / avenida / travessa / alameda / estrada / rodovia / praça + name + number
    [nome]      the name after "meu nome é", "me chamo" (up to three words, any case), "sou o/a" and
                "att,"/"ass." (capitalised words only, so "sou a favor" is untouched)

    Digits are bounded by non-digits, captured and put back (\1, \2), because the engines share no word
    boundary (RE2's \b is a backspace in PostgreSQL). The patterns use only what RE2 (DuckDB) and
    PostgreSQL's ARE both read the same way: bracket classes with explicit accented ranges, \s and \S,
    (?:…), bounded repeats, the 'g' and 'i' flags; no look-around, no \b, no lazy quantifiers.
    tests/transform/redaction_corpus.json pins the result on both engines. -#}
{% macro redaction_rules() -%}
    {%- set letter = 'A-Za-zÀ-ÖØ-öø-ÿ' -%}
    {%- set upper = 'A-ZÀ-ÖØ-Þ' -%}
    {%- set lower = 'a-zß-öø-ÿ' -%}
    {%- set digit_before = '(^|[^0-9])' -%}
    {%- set digit_after = '([^0-9]|$)' -%}
    {%- set name_word = '[' ~ upper ~ '][' ~ lower ~ ']+' -%}
    {%- set capitalised_name = name_word ~ '(?:\s+(?:d[aeo]s?\s+)?' ~ name_word ~ ')*' -%}
    {{ return([
        {'pattern': '(?:https?://|www[.])\S+', 'replacement': '[url]', 'flags': 'gi'},
        {'pattern': '[A-Za-z0-9._%+-]+\s?@\s?[A-Za-z0-9_-]+(?:[.][A-Za-z0-9-]+)+', 'replacement': '[email]', 'flags': 'g'},
        {'pattern': '@[A-Za-z0-9_.]+', 'replacement': '[perfil]', 'flags': 'g'},
        {'pattern': '[A-Za-z0-9._%+-]+\s*[(\[]?\s*arroba\s*[)\]]?\s*[A-Za-z0-9_-]+(?:(?:[.]|\s+ponto\s+|\s+dot\s+)[a-z]{2,6})*', 'replacement': '[email]', 'flags': 'gi'},
        {'pattern': digit_before ~ '[0-9]{2}[.\s]?[0-9]{3}[.\s]?[0-9]{3}[/\s]?[0-9]{4}[-.\s]?[0-9]{2}' ~ digit_after, 'replacement': '\\1[cnpj]\\2', 'flags': 'g'},
        {'pattern': digit_before ~ '[0-9]{3}[.\s]?[0-9]{3}[.\s]?[0-9]{3}[-./\s]?[0-9]{2}' ~ digit_after, 'replacement': '\\1[cpf]\\2', 'flags': 'g'},
        {'pattern': '(^|[^' ~ letter ~ '])rg[:.\s]*(?:n[º°o]?[.:]?\s*)?(?:[a-z]{2}[-\s]*)?[0-9][0-9.\s-]{3,14}[0-9x]', 'replacement': '\\1RG [rg]', 'flags': 'gi'},
        {'pattern': digit_before ~ '[0-9]{1,2}[.][0-9]{3}[.][0-9]{3}-[0-9Xx]' ~ digit_after, 'replacement': '\\1[rg]\\2', 'flags': 'g'},
        {'pattern': digit_before ~ '[0-9]{2}[.]?[0-9]{3}[-.\s]?[0-9]{3}' ~ digit_after, 'replacement': '\\1[cep]\\2', 'flags': 'g'},
        {'pattern': digit_before ~ '(?:[+]?55[\s.-]*)?(?:[(]?0?[0-9]{2}[)]?[\s.-]*)?(?:9[\s.-]?)?[0-9]{4}[\s.-]?[0-9]{4}' ~ digit_after, 'replacement': '\\1[telefone]\\2', 'flags': 'g'},
        {'pattern': '(^|[^' ~ letter ~ '])(?:rua|r[.]|av[.]?|avenida|travessa|tv[.]|alameda|al[.]|estrada|rodovia|pra[çc]a)\s+[^\n,;:0-9]{2,40}(?:,\s*|\s+)(?:n[º°o]?[.]?\s*|n[úu]mero\s*)?[0-9]{1,5}(?:\s*[-,]?\s*(?:apartamento|apto?|casa|bloco|bl|sala)[.]?\s*[0-9a-z]{1,5})*', 'replacement': '\\1[endereco]', 'flags': 'gi'},
        {'pattern': '(^|[^' ~ letter ~ '])([Mm]eu [Nn]ome [ÉéEe]|[Mm]eu [Nn]ome:|[Mm]e [Cc]hamo)\s+[' ~ letter ~ ']+(?:\s+(?:d[aeo]s?\s+)?[' ~ letter ~ ']+){0,2}', 'replacement': '\\1\\2 [nome]', 'flags': 'g'},
        {'pattern': '(^|[^' ~ letter ~ '])([Ss]ou [oa]|[Aa]tt[.,:]?|[Aa]ss[.:]|[Aa]tenciosamente,?)\s+' ~ capitalised_name, 'replacement': '\\1\\2 [nome]', 'flags': 'g'},
    ]) }}
{%- endmacro %}

{% macro redact_text(column) -%}
    {%- set text = namespace(sql=column) -%}
    {%- for rule in redaction_rules() -%}
        {%- set text.sql = "regexp_replace(" ~ text.sql ~ ", '" ~ rule.pattern | replace("'", "''") ~ "', '"
            ~ rule.replacement ~ "', '" ~ rule.flags ~ "')" -%}
    {%- endfor -%}
    {{ text.sql }}
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
