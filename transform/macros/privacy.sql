{#-
  The privacy policy of what is published (issue 15), applied in the marts. The policy lives in the marts'
  YAML (`config.meta.privacy` of each published model: minimum k, quasi-identifier sets, what a group
  counts; `meta.privacy.treatment` of each treated column) and `var('privacy_min_k')`; these macros apply
  it, and orchestration/warehouse/privacy.py measures the result before every publish (the gate).
  See ../docs/privacy.md.
-#}

{#- Minimum group size of the model being built: its `meta.privacy.k`, else var privacy_min_k (5). -#}
{% macro privacy_k() -%}
    {%- set meta = config.get('meta') or {} -%}
    {%- set policy = meta.get('privacy') or {} -%}
    {{- return(policy.get('k', var('privacy_min_k', 5)) | int) -}}
{%- endmacro %}


{#-
  Generalise the rows of small groups: a `select` of `columns` from `relation` in which, for the rows
  whose group (`group_by`) counts fewer than k distinct `entity` values, each column of `generalized`
  takes its generalised SQL value instead (e.g. {'customer_zip3': 'null'}: the zip3 falls back to the
  state). Nulls in `group_by` form one group (`is not distinct from`), on DuckDB and PostgreSQL alike.
-#}
{% macro generalize_small_groups(relation, columns, group_by, entity, generalized, k=none) -%}
    {%- set k = k or privacy_k() -%}
    select
    {%- for column in columns %}
        {% if column in generalized -%}
        case when _groups._entities >= {{ k }} then {{ relation }}.{{ column }} else {{ generalized[column] }} end as {{ column }}
        {%- else -%}
        {{ relation }}.{{ column }}
        {%- endif %}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ relation }}
    inner join (
        select
            {{ group_by | join(', ') }},
            count(distinct {{ entity }}) as _entities
        from {{ relation }}
        group by {{ group_by | join(', ') }}
    ) as _groups
        on {% for g in group_by %}{{ relation }}.{{ g }} is not distinct from _groups.{{ g }}{{ ' and ' if not loop.last }}{% endfor %}
{%- endmacro %}


{#-
  The finest time grain each record can be published at without singling anyone out (top-down split):
  every record starts as one group per `partition_by` (the location a reader can join), then each group
  is split by year, quarter, month and day in turn. A group is split only if every part that moves on
  counts at least k distinct `entity` values and what stays behind is empty or counts at least k too;
  records in parts too small stay at the parent's grain. Returns `key`, `published_date` (the time
  truncated to the record's grain; null when even the year would single someone out) and `time_grain`
  ('year', 'quarter', 'month', 'day' or 'none').

  `relation` must have the columns `key`, `partition_by`, `entity` and `time_column`.
-#}
{% macro generalize_time(relation, key, partition_by, entity, time_column, grains=('year', 'quarter', 'month', 'day'), k=none) -%}
    {%- set k = k or privacy_k() -%}
    {%- set parts = partition_by | join(', ') -%}
    _time_0 as (
        select
            {{ key }} as _key,
            {{ parts }},
            {{ entity }} as _entity,
            {{ time_column }} as _t,
            cast(null as date) as _value,
            cast('none' as varchar) as _grain,
            true as _open
        from {{ relation }}
    ),
    {%- for grain in grains %}
    {%- set previous = '_time_' ~ (loop.index - 1) %}
    {%- set step = '_time_' ~ loop.index %}
    {{ step }}_child as (
        select
            {{ previous }}.*,
            cast({{ dbt.date_trunc(grain, '_t') }} as date) as _child
        from {{ previous }}
    ),
    {{ step }}_sizes as (
        select {{ parts }}, _value, _child, count(distinct _entity) as _entities
        from {{ step }}_child
        where _open
        group by {{ parts }}, _value, _child
    ),
    {{ step }}_marked as (
        select
            c.*,
            coalesce(s._entities >= {{ k }}, false) as _big
        from {{ step }}_child as c
        left join {{ step }}_sizes as s
            on {% for p in partition_by %}c.{{ p }} is not distinct from s.{{ p }} and {% endfor -%}
            c._value is not distinct from s._value and c._child is not distinct from s._child
            and c._open
    ),
    {{ step }}_left_behind as (
        select {{ parts }}, _value, count(distinct _entity) as _entities
        from {{ step }}_marked
        where _open and not _big
        group by {{ parts }}, _value
    ),
    {{ step }}_decided as (
        select
            m.*,
            m._open and m._big and coalesce(r._entities, 0) not between 1 and {{ k - 1 }} as _moves
        from {{ step }}_marked as m
        left join {{ step }}_left_behind as r
            on {% for p in partition_by %}m.{{ p }} is not distinct from r.{{ p }} and {% endfor -%}
            m._value is not distinct from r._value
            and m._open
    ),
    {{ step }} as (
        select
            _key,
            {{ parts }},
            _entity,
            _t,
            case when _moves then _child else _value end as _value,
            case when _moves then cast('{{ grain }}' as varchar) else _grain end as _grain,
            _moves as _open
        from {{ step }}_decided
    ),
    {%- endfor %}
    _time_final as (
        select
            _key as {{ key }},
            _value as published_date,
            _grain as time_grain
        from _time_{{ grains | length }}
    )
{%- endmacro %}


{#- A timestamp truncated to a record's time grain (a column holding 'day', 'month', …, 'none'). -#}
{% macro truncate_to_grain(column, grain_column) -%}
    case {{ grain_column }}
        when 'day' then cast({{ dbt.date_trunc('day', column) }} as timestamp)
        when 'month' then cast({{ dbt.date_trunc('month', column) }} as timestamp)
        when 'quarter' then cast({{ dbt.date_trunc('quarter', column) }} as timestamp)
        when 'year' then cast({{ dbt.date_trunc('year', column) }} as timestamp)
    end
{%- endmacro %}
