-- Billing and support history rolled up to one row per customer.
-- Every column is cast to the type declared in specs/datasets/customer_activity.yaml,
-- whose column list is the enforced contract of this model.
with subscription_rollup as (
    select
        customer_id,
        count(*) as subscription_count,
        sum(case when status = 'active' then 1 else 0 end) as active_subscriptions,
        avg(monthly_price) as avg_monthly_price,
        min(started_at) as first_started_on,
        max(ended_at) as last_ended_on,
        max(updated_at) as updated_at
    from {{ input('subscriptions') }}
    group by customer_id
),

ticket_rollup as (
    select
        customer_id,
        count(*) as support_tickets,
        avg(satisfaction_score) as avg_satisfaction,
        max(coalesce(closed_at, opened_at)) as updated_at
    from {{ input('support_tickets') }}
    group by customer_id
)

select
    cast(s.customer_id as integer) as customer_id,
    cast(s.subscription_count as integer) as subscription_count,
    cast(s.active_subscriptions as integer) as active_subscriptions,
    cast(s.avg_monthly_price as decimal(10,2)) as avg_monthly_price,
    cast(s.first_started_on as date) as first_started_on,
    cast(s.last_ended_on as date) as last_ended_on,
    cast(coalesce(t.support_tickets, 0) as integer) as support_tickets,
    cast(t.avg_satisfaction as double precision) as avg_satisfaction,
    -- The latest change on either side drives the incremental merge.
    cast(
        case when t.updated_at > s.updated_at then t.updated_at else s.updated_at end
        as timestamp
    ) as updated_at
from subscription_rollup as s
left join ticket_rollup as t
    on t.customer_id = s.customer_id
