-- One row per transaction with the features the fraud model reads.
-- Every column is cast to the type declared in specs/datasets/transaction_features.yaml, whose
-- column list is the enforced contract of this model. Incremental: only transactions newer than
-- the latest one already in the table are added.
select
    cast(t.transaction_id as bigint) as transaction_id,
    cast(t.transacted_at as timestamp) as transacted_at,
    cast(t.amount as double) as amount,
    cast(case when extract(hour from t.transacted_at) < 6 then 1 else 0 end as integer) as is_night,
    cast(case when t.channel = 'online' then 1 else 0 end as integer) as is_online,
    cast(case when m.country <> c.country then 1 else 0 end as integer) as is_foreign,
    cast(cast(t.transacted_at as date) - c.issued_on as integer) as card_age_days,
    cast(m.category as varchar) as merchant_category,
    cast(t.is_fraud as integer) as is_fraud
from {{ input('transactions') }} as t
inner join {{ input('cards') }} as c
    on c.card_id = t.card_id
inner join {{ input('merchants') }} as m
    on m.merchant_id = t.merchant_id
