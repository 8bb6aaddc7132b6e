-- Every event message of every channel; the staging models share one column list, in one order.
{% for channel in ['website', 'email', 'social', 'ads', 'offline'] %}
select * from {{ ref('stg_events__' ~ channel ~ '_messages') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
