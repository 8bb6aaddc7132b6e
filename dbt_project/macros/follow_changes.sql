{#- Incremental models over event messages that follow both what dlt loaded and what identity changed.

    Each row carries the _dlt_load_id of its event and _identity_run_at, the newest identity run
    (identity.record_changes.run_at) when the row was built. An incremental run rebuilds the rows of
    messages loaded since the newest load id of their channel in the model, and of records that
    identity.record_changes logs after the model's newest _identity_run_at; a pre-hook deletes those rows
    first, so a message whose record left the map, or whose new version resolves to no record, goes. Both
    marks are read once, at compile time, before the pre-hook runs. A model built before it carried the
    marks is rebuilt whole. -#}

{#- {'loads': {channel: newest load id}, 'identity': newest _identity_run_at} of this model, or none when
    there is nothing to follow (a full build, or a table without the marks). Without `identity`, the model
    follows loads only. -#}
{% macro change_marks(identity=true) -%}
    {%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set built = found_columns(this) -%}
    {%- if '_dlt_load_id' not in built or (identity and '_identity_run_at' not in built) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set marks = {'loads': {}, 'identity': none} -%}
    {%- for row in run_query("select channel, max(_dlt_load_id) from " ~ this ~ " group by channel").rows
        if row[1] is not none -%}
        {%- do marks['loads'].update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- if identity -%}
        {%- set newest = run_query("select cast(max(_identity_run_at) as " ~ dbt.type_string() ~ ") from " ~ this) -%}
        {%- do marks.update({'identity': newest.rows[0][0]}) -%}
    {%- endif -%}
    {{ return(marks) }}
{%- endmacro %}

{#- True for a row whose event was loaded after `marks` saw its channel (or has no load id). -#}
{% macro loaded_after(marks) -%}
    (_dlt_load_id is null
    {%- for name, newest in marks['loads'].items() %}
     or (channel = '{{ name }}' and _dlt_load_id > '{{ newest }}')
    {%- endfor %}
    {%- if marks['loads'] %}
     or channel not in ({% for name in marks['loads'] %}'{{ name }}'{{ ", " if not loop.last }}{% endfor %})
    {%- else %}
     or true
    {%- endif %})
{%- endmacro %}

{#- (source_system, source_record_type, source_id) of the records identity changed after `marks`. -#}
{% macro records_changed_after(marks) -%}
    select source_system, source_record_type, source_id
    from ({{ source_or_empty('identity', 'record_changes', {
        'source_system': 'string', 'source_record_type': 'string', 'source_id': 'string', 'run_at': 'timestamp',
    }) }}) as logged
    {%- if marks['identity'] is not none %}
    where run_at > cast('{{ marks['identity'] }}' as {{ type_timestamptz() }})
    {%- endif %}
{%- endmacro %}

{#- The newest identity run logged: the _identity_run_at of the rows a run builds. -#}
{% macro newest_identity_run() -%}
    (select max(run_at) from ({{ source_or_empty('identity', 'record_changes', {'run_at': 'timestamp'}) }}) as logged)
{%- endmacro %}

{#- True for a row of a message loaded, or of a record (channel, source_record_type, source_id) changed,
    after `marks`; true for every row on a full build. -#}
{% macro changed_after(marks) -%}
    {%- if marks is none -%}
    true
    {%- else -%}
    ({{ loaded_after(marks) }}
     or (channel, source_record_type, source_id) in ({{ records_changed_after(marks) }}))
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: delete the rows an incremental run rebuilds, those of the messages of `events` (a relation with
    channel, message_id and _dlt_load_id) loaded after the marks and of the records changed after them; every
    row when there are no marks. -#}
{% macro forget_changed_rows(events) -%}
    {%- if is_incremental() -%}
    {%- set marks = change_marks() -%}
    delete from {{ this }}
    {%- if marks is not none %}
    where (channel, message_id) in (select channel, message_id from {{ events }} where {{ loaded_after(marks) }})
        or (channel, source_record_type, source_id) in ({{ records_changed_after(marks) }})
    {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of int_touchpoints: the reps' tasks, rebuilt whole on every run. -#}
{% macro forget_task_touches() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where touch_source = 'crm_task'
    {%- endif -%}
{%- endmacro %}
