-- Every event message of every channel; the staging models share one column list, in one order.
-- Incremental: the messages each channel's staging model (re)built since this model last saw its loads.
{{ config(materialized='incremental', unique_key=['channel', 'message_id'], incremental_strategy='delete+insert',
          on_schema_change='sync_all_columns') }}
{%- set marks = change_marks(identity=false) %}
{% for channel in ['website', 'email', 'social', 'ads', 'offline'] %}
select * from {{ ref('stg_events__' ~ channel ~ '_messages') }}
{%- if marks is not none %}
where {{ loaded_after(marks) }}
{%- endif %}
{% if not loop.last %}union all{% endif %}
{% endfor %}
