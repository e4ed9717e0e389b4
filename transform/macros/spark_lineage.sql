{#
  The Spark step in the dbt graph (docs lineage, Cosmos, OpenLineage): dbt cannot give a source parents, so
  each Spark job is a model that refs the silver it reads (materialized `spark_job`) and each gold table a
  model that refs its job (materialized `spark_gold`). Neither builds anything: Spark computes gold in the
  `gold` step and `load_gold` loads it (reconciled with silver to the cent) before the marts build.
#}

{% materialization spark_job, default %}
  {#- A Spark job (spark_jobs/<name>.py) runs in the gold step, not here: nothing is created or changed. -#}
  {% call statement('main') -%}
    select 1 as spark_job_recorded
  {%- endcall %}
  {{ return({'relations': []}) }}
{% endmaterialization %}

{% materialization spark_gold, default %}
  {#- A gold table loaded by cofre's load_gold step: checked (it is counted), never written by dbt. Before the
      first gold load (e.g. after `cofre ingest` only) there is nothing to check yet, as with a source. -#}
  {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
  {%- if existing is none -%}
    {{ log("gold table " ~ this ~ " is not loaded yet (cofre run loads it after the Spark jobs)", info=true) }}
    {% call statement('main') -%}
      select 0 as gold_rows
    {%- endcall %}
    {{ return({'relations': []}) }}
  {%- endif -%}
  {% call statement('main') -%}
    select count(*) as gold_rows from {{ existing }}
  {%- endcall %}
  {{ return({'relations': [existing]}) }}
{% endmaterialization %}
