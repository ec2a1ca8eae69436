"""Generate the example's CSV file: sensor readings of factory machines, one row per machine and day.

The data is synthetic and deterministic (fixed seed), so every run writes the same bytes:

    python data/generate.py          # from examples/maintenance/, rewrites data/readings.csv

Whether a machine fails within the week follows a logistic model of its temperature, vibration and age,
plus noise (ROC AUC around 0.9); the hours until its next service fall with wear.
Only the standard library and numpy are needed.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

SEED = 11
N_ROWS = 600
START = dt.date(2026, 5, 1)


def main() -> None:
    rng = np.random.default_rng(SEED)
    out = Path(__file__).resolve().parent / "readings.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["reading_id", "machine_id", "read_on", "temperature_c", "vibration_mm_s", "pressure_bar",
                         "age_days", "failed_within_7d", "hours_to_service"])
        for i in range(N_ROWS):
            temperature = rng.normal(70, 8)
            vibration = abs(rng.normal(4, 1.5))
            pressure = rng.normal(6, 0.7)
            age = int(rng.integers(30, 3000))
            logit = -16.3 + 0.15 * temperature + 1.0 * vibration + 0.0012 * age + rng.normal(0, 0.5)
            failed = int(rng.random() < 1 / (1 + np.exp(-logit)))
            hours = max(1.0, 1300 - 6 * temperature - 40 * vibration - 0.1 * age + rng.normal(0, 25))
            writer.writerow([i + 1, int(rng.integers(1, 41)), (START + dt.timedelta(days=i % 60)).isoformat(),
                             f"{temperature:.2f}", f"{vibration:.3f}", f"{pressure:.2f}", age, failed, f"{hours:.1f}"])


if __name__ == "__main__":
    main()
