{#- The days each profile bought something: an "Order Completed" event, or a closed-won Salesforce opportunity
    or HubSpot deal the profile is a buyer of (int_ml_deals: not every colleague at the account; warehouses
    without event files still get purchases). One row per profile and day, so
    that an order seen both as an event and as a won deal counts once; the amount is the larger of the two. -#}

with orders as (
    select profile_id, cast(occurred_at as date) as purchase_date, sum(coalesce(revenue, 0)) as amount
    from {{ ref('int_touchpoints') }}
    where event_name = 'Order Completed' and profile_id is not null and occurred_at is not null
    group by profile_id, cast(occurred_at as date)
),

won_deals as (
    select profile_id, cast(closed_at as date) as purchase_date, sum(coalesce(amount, 0)) as amount
    from {{ ref('int_ml_deals') }}
    where is_won and closed_at is not null and deal_role = 'buyer'
    group by profile_id, cast(closed_at as date)
),

sources as (
    select profile_id, purchase_date, amount, 1 as from_orders, 0 as from_deals from orders
    union all
    select profile_id, purchase_date, amount, 0, 1 from won_deals
)

select
    profile_id,
    purchase_date,
    max(amount) as purchase_amount,
    max(from_orders) = 1 as has_order_event,
    max(from_deals) = 1 as has_won_deal
from sources
group by profile_id, purchase_date
