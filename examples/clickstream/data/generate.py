"""Deterministic sample data for the clickstream example (run from the example's root).

- data/countries.csv: reference data, tracked by DVC (this script writes the file; `dvc add` versions it).
- data/page_views.jsonl: one JSON object per line, the messages of topic page_views.
- data/signups.jsonl: the messages of topic signups, in Kafka Connect's JsonConverter envelope
  ({"schema": ..., "payload": ...}), which the KafkaConnector of prod needs and specops' landing also reads.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

COUNTRIES = [
    ("FR", "France", "EMEA"), ("DE", "Germany", "EMEA"), ("GB", "United Kingdom", "EMEA"), ("ES", "Spain", "EMEA"),
    ("US", "United States", "AMER"), ("CA", "Canada", "AMER"), ("BR", "Brazil", "AMER"), ("JP", "Japan", "APAC"),
    ("IN", "India", "APAC"), ("AU", "Australia", "APAC"),
]
PAGES = ["/", "/pricing", "/docs", "/blog", "/signup", "/docs/start"]
SIGNUP_SCHEMA = {"type": "struct", "optional": False, "fields": [
    {"field": "user_id", "type": "string", "optional": False},
    {"field": "plan", "type": "string", "optional": False},
    {"field": "signed_up_at", "type": "string", "optional": False},
]}


def main(root: Path) -> None:
    rng = random.Random(17)
    lines = ["code,name,region"] + [",".join(c) for c in COUNTRIES]
    (root / "data" / "countries.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    start = dt.datetime(2024, 6, 1)
    views = []
    for i in range(240):
        at = start + dt.timedelta(minutes=37 * i + rng.randint(0, 30))
        views.append({"view_id": f"v{i:05d}", "user_id": f"u{rng.randint(1, 60):03d}", "url": rng.choice(PAGES),
                      "country": rng.choice(COUNTRIES)[0], "viewed_at": at.isoformat(timespec="seconds"),
                      "duration_ms": rng.randint(200, 90000)})
    (root / "data" / "page_views.jsonl").write_text("".join(json.dumps(v) + "\n" for v in views), encoding="utf-8")
    signups = []
    for i in range(30):
        at = start + dt.timedelta(hours=5 * i + rng.randint(0, 4))
        payload = {"user_id": f"u{i * 2 + 1:03d}", "plan": rng.choice(["free", "team", "enterprise"]),
                   "signed_up_at": at.isoformat(timespec="seconds")}
        signups.append({"schema": SIGNUP_SCHEMA, "payload": payload})
    (root / "data" / "signups.jsonl").write_text("".join(json.dumps(s) + "\n" for s in signups), encoding="utf-8")


if __name__ == "__main__":
    main(Path(__file__).resolve().parent.parent)
