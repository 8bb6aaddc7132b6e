{#- Every marketing interaction of every resolved profile (event messages and Salesforce Tasks): a view of
    int_touchpoints' documented columns, which an incremental build keeps current. -#}
{{ config(materialized='view') }}

select
    touchpoint_id,
    profile_id,
    channel,
    touch_source,
    touch_type,
    message_type,
    message_id,
    task_id,
    event_name,
    page_name,
    page_path,
    occurred_at,
    form_id,
    search_query,
    product,
    campaign,
    revenue,
    cost,
    is_interaction
from {{ ref('int_touchpoints') }}
