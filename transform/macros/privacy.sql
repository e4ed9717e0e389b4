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
  The smallest group a column's treatment keeps a value for: its `meta.privacy.min_group` in the model's
  YAML (e.g. a zip3 kept only where enough people share it to keep their dates fine), else the model's k.
-#}
{% macro privacy_min_group(column_name) -%}
    {%- set column = model.columns.get(column_name) if execute else none -%}
    {%- set column_config = (column.config if column is not none and column.config is mapping else {}) -%}
    {%- set meta = (column_config.get('meta') or (column.meta if column is not none else {}) or {}) -%}
    {%- set policy = meta.get('privacy') or {} -%}
    {{- return(policy.get('min_group', privacy_k()) | int) -}}
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
  is split by quarter, month and day in turn (no year level by default: Olist's first and last years are
  a few months each, and what stays behind from them would hold back a whole year). A part moves on to
  the finer grain when it counts at least k distinct `entity` values; the parts too small stay behind at
  the parent's grain, and when they would count fewer than k, the largest part lends them the people
  they lack (if it keeps k itself; else the whole group stays). Returns `key`, `published_date` (the time truncated to the record's grain;
  null when even the coarsest grain would single someone out) and `time_grain` ('quarter', 'month',
  'day' or 'none'; 'year' when asked for).

  `relation` must have the columns `key`, `partition_by`, `entity` and `time_column`.
-#}
{% macro generalize_time(relation, key, partition_by, entity, time_column, grains=('quarter', 'month', 'day'), k=none) -%}
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
            coalesce(s._entities >= {{ k }}, false) as _big,
            dense_rank() over (
                partition by c._open, {% for p in partition_by %}c.{{ p }}, {% endfor %}c._value, c._child
                order by c._entity nulls last
            ) as _person_rank
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
    -- Parts big enough move on. When the small parts left behind hold fewer than k people, the largest
    -- part lends them the people they lack (the first by token: arbitrary, but the same every run), if
    -- it keeps k itself; otherwise nothing of the group moves on.
    {{ step }}_donor as (
        select
            {{ parts }},
            _value,
            _child as _donor_child,
            _entities as _donor_size,
            row_number() over (
                partition by {{ parts }}, _value order by _entities desc, _child
            ) as _donor_rank
        from {{ step }}_sizes
        where _entities >= {{ k }}
    ),
    {{ step }}_plan as (
        select
            r.*,
            d._donor_child,
            {{ k }} - r._entities as _need,
            coalesce(d._donor_size - ({{ k }} - r._entities) >= {{ k }}, false) as _lends
        from {{ step }}_left_behind as r
        left join {{ step }}_donor as d
            on {% for p in partition_by %}r.{{ p }} is not distinct from d.{{ p }} and {% endfor -%}
            r._value is not distinct from d._value
            and d._donor_rank = 1
        where r._entities between 1 and {{ k - 1 }}
    ),
    {{ step }}_decided as (
        select
            m.*,
            m._open and m._big
            and (
                q._need is null
                or (
                    q._lends
                    and not (m._child is not distinct from q._donor_child and m._person_rank <= q._need)
                )
            ) as _moves
        from {{ step }}_marked as m
        left join {{ step }}_plan as q
            on {% for p in partition_by %}m.{{ p }} is not distinct from q.{{ p }} and {% endfor -%}
            m._value is not distinct from q._value
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
    -- Last resort (suppression), as a reader groups the result (by the date's value, whatever its grain):
    -- a date whose group still holds fewer than k people is not published; if the rows left without a
    -- date then form a group of fewer than k people, no date of that partition is published, so the
    -- undated rows hide among the whole partition.
    _time_sizes as (
        select {{ parts }}, _value, count(distinct _entity) as _entities
        from _time_{{ grains | length }}
        group by {{ parts }}, _value
    ),
    _time_kept as (
        select
            t._key,
            {% for p in partition_by %}t.{{ p }}, {% endfor %}
            t._entity,
            case when s._entities >= {{ k }} then t._value end as _value,
            case when s._entities >= {{ k }} then t._grain else cast('none' as varchar) end as _grain
        from _time_{{ grains | length }} as t
        left join _time_sizes as s
            on {% for p in partition_by %}t.{{ p }} is not distinct from s.{{ p }} and {% endfor -%}
            t._value is not distinct from s._value
    ),
    _time_undated as (
        select {{ parts }}, count(distinct _entity) as _entities
        from _time_kept
        where _value is null
        group by {{ parts }}
    ),
    _time_final as (
        select
            t._key as {{ key }},
            case when u._entities < {{ k }} then null else t._value end as published_date,
            case when u._entities < {{ k }} then cast('none' as varchar) else t._grain end as time_grain
        from _time_kept as t
        left join _time_undated as u
            on {% for p in partition_by %}t.{{ p }} is not distinct from u.{{ p }}{% if not loop.last %} and {% endif %}{% endfor %}
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
