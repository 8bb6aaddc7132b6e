{#- Features and labels of the predictive models: one row per profile and as-of date (int_ml_snapshots).
    Feature columns only look at what happened before as_of_date; label_* columns only at the days from
    as_of_date on, and stay null until their whole window has passed (always null in the scoring snapshot).
    Training never reads a label_* column as a feature. Lifecycle stage, CRM presence, purchases and deals
    are rebuilt as of the date, not read from today's profile, which would reveal the future; firmographics
    are the latest the person's own events stated before the date (int_ml_trait_statements). CRM-stated
    firmographics and the company match are no feature: the CRM tables keep only today's values. A won deal
    is a purchase of its buyers (int_ml_deals); their colleagues see it in the account_* columns. Churn is
    the account's relationship: its population is everyone who bought or whose account won a deal before the
    date, and an account win in the window (a colleague's renewal) is no churn; wins after the date only ever
    reach label_churn. Purchase labels stay the buyers' own. -#}
{%- set cfg = var('revloop', {}).get('models') or {} -%}
{%- set engagement = cfg.get('engagement') or {} -%}
{%- set tasks = cfg.get('tasks') or {} -%}
{%- set recent = engagement.get('recent_days', 30) | int -%}
{%- set history = engagement.get('history_days', 90) | int -%}
{%- set churn_days = (tasks.get('churn') or {}).get('horizon_days', 90) | int -%}
{%- set churn_min_events = (tasks.get('churn') or {}).get('min_engagement_events', 1) | int -%}
{%- set purchase_days = (tasks.get('purchase') or {}).get('horizon_days', 60) | int -%}
{%- set engagement_days = (tasks.get('engagement') or {}).get('horizon_days', 30) | int -%}
{%- set longest = [churn_days, purchase_days, engagement_days] | max -%}
{%- set channels = ['website', 'email', 'social', 'ads', 'offline'] -%}
{%- set history_counts = {
    'pricing_view_count': 'pricing_views', 'demo_request_count': 'demo_requests',
    'trial_start_count': 'trial_starts', 'email_click_count': 'email_clicks',
    'form_submit_count': 'form_submits', 'support_ticket_count': 'support_tickets',
    'sales_touch_count': 'sales_touches'} -%}

with snapshots as (
    select * from {{ ref('int_ml_snapshots') }}
),

profiles as (
    select profile_id, first_seen_at
    from {{ ref('int_profiles_enriched') }}
    where first_seen_at is not null
),

base as (
    select
        profiles.*,
        snapshots.as_of_date,
        snapshots.snapshot_index,
        snapshots.is_scoring_snapshot,
        snapshots.anchor_date
    from profiles
    inner join snapshots on cast(profiles.first_seen_at as date) < snapshots.as_of_date
),

activity as (
    select
        base.profile_id,
        base.as_of_date,
        {%- for column in ['interaction_count', 'meaningful_count'] + history_counts.keys() | list %}
        daily.{{ column }},
        {%- endfor %}
        {%- for channel in channels %}
        daily.{{ channel }}_count,
        {%- endfor %}
        {{ dbt.datediff('daily.activity_date', 'base.as_of_date', 'day') }} as days_before
    from base
    inner join {{ ref('int_ml_daily_activity') }} as daily
        on daily.profile_id = base.profile_id
        and daily.activity_date < {{ dbt.dateadd('day', longest, 'base.as_of_date') }}
),

activity_features as (
    select
        profile_id,
        as_of_date,
        sum(case when days_before > 0 then interaction_count else 0 end) as interactions_total,
        sum(case when days_before > 0 then meaningful_count else 0 end) as meaningful_total,
        min(case when days_before > 0 and interaction_count > 0 then days_before end)
            as days_since_last_interaction,
        sum(case when days_before between 1 and {{ recent }} then meaningful_count else 0 end) as meaningful_recent,
        sum(case when days_before between {{ recent + 1 }} and {{ 2 * recent }} then meaningful_count else 0 end)
            as meaningful_previous,
        sum(case when days_before between 1 and {{ history }} then meaningful_count else 0 end)
            as meaningful_history,
        sum(case when days_before between {{ history + 1 }} and {{ 2 * history }} then meaningful_count else 0 end)
            as meaningful_prior_history,
        {%- for channel in channels %}
        sum(case when days_before between 1 and {{ recent }} then {{ channel }}_count else 0 end)
            as {{ channel }}_recent,
        sum(case when days_before between {{ recent + 1 }} and {{ 2 * recent }} then {{ channel }}_count else 0 end)
            as {{ channel }}_previous,
        sum(case when days_before between 1 and {{ history }} then {{ channel }}_count else 0 end)
            as {{ channel }}_history,
        {%- endfor %}
        {%- for column, name in history_counts.items() %}
        sum(case when days_before between 1 and {{ history }} then {{ column }} else 0 end) as {{ name }}_history,
        {%- endfor %}
        sum(case when days_before > 0 then support_ticket_count else 0 end) as support_tickets_total,
        -- the future: labels only
        sum(case when days_before <= 0 and days_before > -{{ churn_days }} then meaningful_count else 0 end)
            as future_meaningful_churn,
        sum(case when days_before <= 0 and days_before > -{{ engagement_days }} then meaningful_count else 0 end)
            as future_meaningful_engagement
    from activity
    group by profile_id, as_of_date
),

purchases as (
    select
        base.profile_id,
        base.as_of_date,
        purchase_days.purchase_amount,
        purchase_days.has_order_event,
        purchase_days.has_won_deal,
        {{ dbt.datediff('purchase_days.purchase_date', 'base.as_of_date', 'day') }} as days_before
    from base
    inner join {{ ref('int_ml_purchase_days') }} as purchase_days
        on purchase_days.profile_id = base.profile_id
        and purchase_days.purchase_date < {{ dbt.dateadd('day', longest, 'base.as_of_date') }}
),

purchase_features as (
    select
        profile_id,
        as_of_date,
        sum(case when days_before > 0 then 1 else 0 end) as purchase_count,
        sum(case when days_before > 0 and has_order_event then 1 else 0 end) as order_purchase_count,
        sum(case when days_before > 0 and has_won_deal then 1 else 0 end) as deal_purchase_count,
        sum(case when days_before between 1 and 365 then 1 else 0 end) as purchases_last_year,
        sum(case when days_before > 0 then purchase_amount else 0 end) as purchase_amount_total,
        min(case when days_before > 0 then days_before end) as days_since_last_purchase,
        max(case when days_before > 0 then days_before end) as days_since_first_purchase,
        -- the future: labels only
        sum(case when days_before <= 0 and days_before > -{{ churn_days }} then 1 else 0 end)
            as future_purchases_churn,
        sum(case when days_before <= 0 and days_before > -{{ purchase_days }} then 1 else 0 end)
            as future_purchases_purchase
    from purchases
    group by profile_id, as_of_date
),

deal_features as (
    select
        base.profile_id,
        base.as_of_date,
        -- the profile's own deals (buyer or another contact role), its part in them begun before the date
        sum(case when deals.deal_role <> 'account' and cast(deals.role_linked_at as date) < base.as_of_date
            and (deals.closed_at is null or cast(deals.closed_at as date) >= base.as_of_date) then 1 else 0 end)
            as open_deal_count,
        sum(case when deals.deal_role <> 'account' and cast(deals.role_linked_at as date) < base.as_of_date
            and cast(deals.closed_at as date) < base.as_of_date and not deals.is_won then 1 else 0 end)
            as lost_deal_count,
        -- every deal of the profile's accounts, the profile's own included
        sum(case when deals.closed_at is null or cast(deals.closed_at as date) >= base.as_of_date then 1 else 0 end)
            as account_open_deal_count,
        sum(case when cast(deals.closed_at as date) < base.as_of_date and deals.is_won then 1 else 0 end)
            as account_won_deal_count,
        min(case when cast(deals.closed_at as date) < base.as_of_date and deals.is_won
            then {{ dbt.datediff('cast(deals.closed_at as date)', 'base.as_of_date', 'day') }} end)
            as days_since_account_win
    from base
    inner join {{ ref('int_ml_deals') }} as deals
        on deals.profile_id = base.profile_id and cast(deals.created_at as date) < base.as_of_date
        -- the profile was at the deal's account before the date
        and cast(deals.account_linked_at as date) < base.as_of_date
    group by base.profile_id, base.as_of_date
),

-- the future: labels only. Wins of the profile's accounts in the churn window, whenever the deal was
-- created: a renewal by a colleague is no churn of the account's relationship
account_renewals as (
    select
        base.profile_id,
        base.as_of_date,
        count(*) as future_account_wins_churn
    from base
    inner join {{ ref('int_ml_deals') }} as deals
        on deals.profile_id = base.profile_id
        and deals.is_won
        and cast(deals.closed_at as date) >= base.as_of_date
        and cast(deals.closed_at as date) < {{ dbt.dateadd('day', churn_days, 'base.as_of_date') }}
    group by base.profile_id, base.as_of_date
),

traits as (
    select
        base.profile_id,
        base.as_of_date,
        statements.attribute,
        statements.attribute_value,
        row_number() over (
            partition by base.profile_id, base.as_of_date, statements.attribute
            order by statements.stated_at desc, statements.message_id
        ) as recency
    from base
    inner join {{ ref('int_ml_trait_statements') }} as statements
        on statements.profile_id = base.profile_id and cast(statements.stated_at as date) < base.as_of_date
),

trait_features as (
    select
        profile_id,
        as_of_date,
        max(case when attribute = 'industry' then attribute_value end) as industry,
        max(case when attribute = 'country' then attribute_value end) as country,
        max(case when attribute = 'job_title' then lower(attribute_value) end) as job_title,
        max(case when attribute = 'employee_count' then {{ safe_number('attribute_value', 'float') }} end)
            as employee_count
    from traits
    where recency = 1
    group by profile_id, as_of_date
),

crm_records as (
    select identities.profile_id, 'lead' as record_kind, leads.created_at
    from {{ ref('stg_salesforce__leads') }} as leads
    inner join {{ ref('int_identities_resolved') }} as identities
        on identities.source_system = 'salesforce' and identities.source_id = leads.lead_id
    union all
    select identities.profile_id, 'contact', contacts.created_at
    from {{ ref('stg_salesforce__contacts') }} as contacts
    inner join {{ ref('int_identities_resolved') }} as identities
        on identities.source_system = 'salesforce' and identities.source_id = contacts.contact_id
    union all
    select identities.profile_id, 'contact', contacts.created_at
    from {{ ref('stg_hubspot__contacts') }} as contacts
    inner join {{ ref('int_identities_resolved') }} as identities
        on identities.source_system = 'hubspot' and identities.source_id = contacts.contact_id
),

crm_features as (
    select
        base.profile_id,
        base.as_of_date,
        max(case when crm_records.record_kind = 'lead' then 1 else 0 end) as has_crm_lead,
        max(case when crm_records.record_kind = 'contact' then 1 else 0 end) as has_crm_contact
    from base
    inner join crm_records
        on crm_records.profile_id = base.profile_id and cast(crm_records.created_at as date) < base.as_of_date
    group by base.profile_id, base.as_of_date
),

joined as (
    select
        base.*,
        {{ dbt.datediff('cast(base.first_seen_at as date)', 'base.as_of_date', 'day') }} as days_known,
        coalesce(purchase_features.purchase_count, 0) as purchase_count,
        coalesce(purchase_features.future_purchases_churn, 0) as future_purchases_churn,
        coalesce(purchase_features.future_purchases_purchase, 0) as future_purchases_purchase,
        coalesce(activity_features.future_meaningful_churn, 0) as future_meaningful_churn,
        coalesce(activity_features.future_meaningful_engagement, 0) as future_meaningful_engagement,
        coalesce(account_renewals.future_account_wins_churn, 0) as future_account_wins_churn,
        coalesce(deal_features.open_deal_count, 0) as open_deal_count,
        coalesce(crm_features.has_crm_lead, 0) as has_crm_lead,
        coalesce(crm_features.has_crm_contact, 0) as has_crm_contact,
        activity_features.profile_id is not null as has_activity,
        activity_features.days_since_last_interaction,
        {%- for name in ['interactions_total', 'meaningful_total', 'meaningful_recent', 'meaningful_previous',
            'meaningful_history', 'meaningful_prior_history', 'support_tickets_total'] %}
        coalesce(activity_features.{{ name }}, 0) as {{ name }},
        {%- endfor %}
        {%- for channel in channels %}
        coalesce(activity_features.{{ channel }}_recent, 0) as {{ channel }}_recent,
        coalesce(activity_features.{{ channel }}_previous, 0) as {{ channel }}_previous,
        coalesce(activity_features.{{ channel }}_history, 0) as {{ channel }}_history,
        {%- endfor %}
        {%- for name in history_counts.values() %}
        coalesce(activity_features.{{ name }}_history, 0) as {{ name }}_history,
        {%- endfor %}
        coalesce(purchase_features.order_purchase_count, 0) as order_purchase_count,
        coalesce(purchase_features.deal_purchase_count, 0) as deal_purchase_count,
        coalesce(purchase_features.purchases_last_year, 0) as purchases_last_year,
        coalesce(purchase_features.purchase_amount_total, 0) as purchase_amount_total,
        purchase_features.days_since_last_purchase,
        purchase_features.days_since_first_purchase,
        coalesce(deal_features.lost_deal_count, 0) as lost_deal_count,
        coalesce(deal_features.account_open_deal_count, 0) as account_open_deal_count,
        coalesce(deal_features.account_won_deal_count, 0) as account_won_deal_count,
        deal_features.days_since_account_win,
        trait_features.industry,
        trait_features.country,
        trait_features.job_title,
        trait_features.employee_count
    from base
    left join activity_features
        on activity_features.profile_id = base.profile_id and activity_features.as_of_date = base.as_of_date
    left join purchase_features
        on purchase_features.profile_id = base.profile_id and purchase_features.as_of_date = base.as_of_date
    left join deal_features
        on deal_features.profile_id = base.profile_id and deal_features.as_of_date = base.as_of_date
    left join account_renewals
        on account_renewals.profile_id = base.profile_id and account_renewals.as_of_date = base.as_of_date
    left join crm_features
        on crm_features.profile_id = base.profile_id and crm_features.as_of_date = base.as_of_date
    left join trait_features
        on trait_features.profile_id = base.profile_id and trait_features.as_of_date = base.as_of_date
)

select
    profile_id,
    as_of_date,
    snapshot_index,
    is_scoring_snapshot,
    -- recency, frequency, monetary value
    days_known,
    days_since_last_interaction,
    days_since_last_purchase,
    days_since_first_purchase,
    purchase_count,
    order_purchase_count,
    deal_purchase_count,
    purchases_last_year,
    cast(purchase_amount_total as {{ dbt.type_float() }}) as purchase_amount_total,
    case when purchase_count > 1
        then 1.0 * (days_since_first_purchase - days_since_last_purchase) / (purchase_count - 1)
    end as purchase_interval_days,
    -- how late the next purchase is against the profile's own rhythm (> 1: overdue)
    case when purchase_count > 1 and days_since_first_purchase > days_since_last_purchase
        then 1.0 * days_since_last_purchase * (purchase_count - 1)
            / (days_since_first_purchase - days_since_last_purchase)
    end as purchase_overdue_ratio,
    -- engagement per channel and its trend
    interactions_total,
    meaningful_total,
    meaningful_history,
    meaningful_recent,
    meaningful_previous,
    meaningful_recent - meaningful_previous as meaningful_trend,
    meaningful_prior_history,
    meaningful_history - meaningful_prior_history as meaningful_history_trend,
    -- the last history_days against the profile's own long-run pace (< 1: fading away)
    (meaningful_history + 1.0)
        / (1.0 * meaningful_total * {{ history }} / (case when days_known > {{ history }} then days_known
            else {{ history }} end) + 1.0) as engagement_pace_ratio,
    {%- for channel in channels %}
    {{ channel }}_recent,
    {{ channel }}_history,
    {{ channel }}_recent - {{ channel }}_previous as {{ channel }}_trend,
    {%- endfor %}
    {%- for name in history_counts.values() %}
    {{ name }}_history,
    {%- endfor %}
    support_tickets_total,
    -- pipeline and lifecycle as of the date
    open_deal_count,
    lost_deal_count,
    account_open_deal_count,
    account_won_deal_count,
    days_since_account_win,
    has_crm_lead,
    has_crm_contact,
    -- a customer is who churn scores: they bought, or their account won a deal, before the date
    case
        when purchase_count > 0 or account_won_deal_count > 0 then 'customer'
        when open_deal_count > 0 then 'opportunity'
        when has_crm_lead = 1 or has_crm_contact = 1 then 'lead'
        else 'visitor'
    end as lifecycle_stage,
    -- firmographic fit, as the person's events stated it before the date
    industry,
    country,
    case
        when job_title is null then null
        when job_title like '%chief%' or job_title like '%founder%'
            or job_title like '%president%' and job_title not like '%vice%' then 'c_level'
        when job_title like '%vp%' or job_title like '%vice president%' then 'vp'
        when job_title like '%director%' or job_title like '%head%' then 'director'
        when job_title like '%manager%' or job_title like '%lead%' then 'manager'
        else 'individual'
    end as job_seniority,
    employee_count,
    -- labels: the future of the as-of date, null until its window has passed
    -- churn is the account's: customers are people who bought or whose account won a deal before the date
    -- (ml.tasks.CHURN_POPULATION_COLUMNS); neither they nor their account buying again, nor their own
    -- engagement, in the window is churn
    case
        when purchase_count = 0 and account_won_deal_count = 0 then null
        when {{ dbt.dateadd('day', churn_days, 'as_of_date') }} > anchor_date then null
        when future_purchases_churn = 0 and future_account_wins_churn = 0
            and future_meaningful_churn < {{ churn_min_events }} then 1
        else 0
    end as label_churn,
    case
        when {{ dbt.dateadd('day', purchase_days, 'as_of_date') }} > anchor_date then null
        when future_purchases_purchase > 0 then 1
        else 0
    end as label_purchase,
    case
        when {{ dbt.dateadd('day', engagement_days, 'as_of_date') }} <= anchor_date
            then future_meaningful_engagement
    end as label_engagement_count
from joined
