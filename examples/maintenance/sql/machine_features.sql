-- One row per reading with the features the maintenance models read (types as in
-- specs/datasets/machine_features.yaml).
select
    cast(r.reading_id as bigint) as reading_id,
    cast(r.temperature_c as double) as temperature_c,
    cast(r.vibration_mm_s as double) as vibration_mm_s,
    cast(r.pressure_bar as double) as pressure_bar,
    cast(r.age_days / 365.25 as double) as age_years,
    cast(r.failed_within_7d as integer) as failed_within_7d,
    cast(r.hours_to_service as double) as hours_to_service
from {{ input('readings') }} as r
