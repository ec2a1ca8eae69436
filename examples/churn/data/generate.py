"""Generate the example's CSV files: customers, subscriptions and support tickets.

The data is synthetic and deterministic (fixed seed), so every run writes the same bytes:

    python data/generate.py          # from examples/churn/, rewrites data/*.csv

It mimics a subscription business observed on AS_OF. Whether a customer churned (has no
active subscription left) follows a logistic model of what the feature transform later
derives from these files -- tenure, average monthly price, number of subscriptions, number
of support tickets and their average satisfaction score -- plus noise, so a simple
classifier learns it well but not perfectly (ROC AUC around 0.8).

Only the standard library and numpy are needed.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

SEED = 42
N_CUSTOMERS = 1500
AS_OF = dt.date(2026, 6, 30)
FIRST_SIGNUP = dt.date(2022, 1, 1)
LAST_SIGNUP = dt.date(2026, 5, 31)


def words(text: str) -> list[str]:
    """The whitespace-separated words of text, to keep long word lists compact."""
    return text.split()


FIRST_NAMES = words(
    "ada alan amara anna ben carla chen dara elif emma felix grace hana ivan jonas julia kofi "
    "lara leo lina marco maya nina noah omar paula ravi rosa sara tom uma yusuf zoe"
)
LAST_NAMES = words(
    "adams berg costa dubois evans fischer garcia hoffmann ito jensen khan lopez martin meyer "
    "novak okafor patel quinn rossi schmidt silva smith tanaka urban vogel wagner walsh young "
    "zhang"
)
COUNTRIES = ["US", "GB", "DE", "FR", "CA"]
COUNTRY_P = [0.40, 0.18, 0.17, 0.13, 0.12]
SEGMENTS = ["consumer", "smb", "enterprise"]
SEGMENT_P = [0.62, 0.28, 0.10]
PLANS = ["basic", "standard", "premium"]
PLAN_PRICE = {"basic": 9.99, "standard": 19.99, "premium": 39.99}
# Plan mix per segment: bigger customers buy bigger plans.
PLAN_P = {
    "consumer": [0.55, 0.35, 0.10],
    "smb": [0.25, 0.50, 0.25],
    "enterprise": [0.05, 0.35, 0.60],
}
PRIORITIES = ["low", "medium", "high", "urgent"]
PRIORITY_P = [0.35, 0.40, 0.18, 0.07]
CATEGORIES = ["billing", "technical", "account", "other"]
CATEGORY_P = [0.30, 0.40, 0.20, 0.10]
# CSV columns, in the order the Dataset specs declare them.
COLUMNS = {
    "customers": words("customer_id email full_name country segment signup_date marketing_opt_in"),
    "subscriptions": words(
        "subscription_id customer_id plan monthly_price status started_at ended_at updated_at"
    ),
    "support_tickets": words(
        "ticket_id customer_id opened_at closed_at priority category satisfaction_score"
    ),
}


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from start to end, as the SQL computes it."""
    return (end.year - start.year) * 12 + (end.month - start.month)


def ts(day: dt.date, seconds: int) -> str:
    """ISO timestamp 'YYYY-MM-DD HH:MM:SS' for a day plus a number of seconds."""
    moment = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=int(seconds))
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def generate(rng: np.random.Generator) -> tuple[list[dict], list[dict], list[dict]]:
    customers: list[dict] = []
    subscriptions: list[dict] = []
    tickets: list[dict] = []
    signup_span = (LAST_SIGNUP - FIRST_SIGNUP).days

    for i in range(N_CUSTOMERS):
        customer_id = 1001 + i
        first = FIRST_NAMES[rng.integers(len(FIRST_NAMES))]
        last = LAST_NAMES[rng.integers(len(LAST_NAMES))]
        segment = SEGMENTS[rng.choice(3, p=SEGMENT_P)]
        signup = FIRST_SIGNUP + dt.timedelta(days=int(rng.integers(signup_span + 1)))
        tenure = months_between(signup, AS_OF)

        # Subscriptions: the first starts at signup; later ones are plan changes.
        n_subs = 1 + int(rng.binomial(2, 0.18 if tenure > 6 else 0.05))
        plans = [PLANS[rng.choice(3, p=PLAN_P[segment])] for _ in range(n_subs)]
        avg_price = float(np.mean([PLAN_PRICE[p] for p in plans]))

        # Support tickets and how happy the customer was with the answers.
        tickets_rate = {"consumer": 0.9, "smb": 1.2, "enterprise": 1.6}[segment]
        n_tickets = int(rng.poisson(tickets_rate))
        mood = float(rng.normal(3.7, 0.9))
        scores = [
            None if rng.random() < 0.2 else int(np.clip(round(mood + rng.normal(0, 0.6)), 1, 5))
            for _ in range(n_tickets)
        ]
        rated = [s for s in scores if s is not None]
        avg_sat = float(np.mean(rated)) if rated else 3.0

        # The churn label: a logistic function of the features plus noise.
        logit = (
            -1.2
            - 0.065 * (tenure - 24)
            + 0.05 * (avg_price - 20)
            - 0.5 * (n_subs - 1)
            + 0.55 * (n_tickets - 1)
            - 0.9 * (avg_sat - 3.5)
            + rng.normal(0, 0.5)
        )
        churned = rng.random() < 1 / (1 + np.exp(-logit))

        customers.append(
            {
                "customer_id": customer_id,
                "email": f"{first}.{last}{customer_id}@example.com",
                "full_name": f"{first.title()} {last.title()}",
                "country": COUNTRIES[rng.choice(5, p=COUNTRY_P)],
                "segment": segment,
                "signup_date": signup.isoformat(),
                "marketing_opt_in": "true" if rng.random() < 0.45 else "false",
            }
        )

        # Lay the subscriptions out on the calendar, each starting after the previous one.
        life_days = (AS_OF - signup).days
        if churned:
            # The customer left some time after signup (at least two weeks in).
            end_day = signup + dt.timedelta(days=int(rng.integers(min(14, life_days), life_days + 1)))
        else:
            end_day = AS_OF
        span = max((end_day - signup).days, n_subs)
        offsets = sorted(rng.choice(np.arange(1, span + 1), size=n_subs - 1, replace=False).tolist())
        starts = [signup] + [signup + dt.timedelta(days=int(o)) for o in offsets]
        for k, (plan, start) in enumerate(zip(plans, starts, strict=True)):
            is_last = k == n_subs - 1
            if is_last and not churned:
                status, ended = "active", None
            elif is_last:
                status, ended = "cancelled", max(end_day, start)
            else:
                status, ended = "cancelled", starts[k + 1]
            changed = ended or start
            subscriptions.append(
                {
                    "customer_id": customer_id,
                    "plan": plan,
                    "monthly_price": f"{PLAN_PRICE[plan]:.2f}",
                    "status": status,
                    "started_at": start.isoformat(),
                    "ended_at": ended.isoformat() if ended else "",
                    "updated_at": ts(changed, rng.integers(8 * 3600, 20 * 3600)),
                }
            )

        # Tickets fall between signup and the day the customer left (or AS_OF).
        active_days = max((end_day - signup).days, 1)
        for score in scores:
            opened_day = signup + dt.timedelta(days=int(rng.integers(active_days)))
            opened_s = int(rng.integers(7 * 3600, 21 * 3600))
            resolution_s = int(rng.exponential(30 * 3600)) + 600
            closed_moment = dt.datetime.combine(opened_day, dt.time()) + dt.timedelta(
                seconds=opened_s + resolution_s
            )
            still_open = closed_moment.date() >= AS_OF
            tickets.append(
                {
                    "customer_id": customer_id,
                    "opened_at": ts(opened_day, opened_s),
                    "closed_at": "" if still_open else ts(opened_day, opened_s + resolution_s),
                    "priority": PRIORITIES[rng.choice(4, p=PRIORITY_P)],
                    "category": CATEGORIES[rng.choice(4, p=CATEGORY_P)],
                    # Only closed tickets get a satisfaction survey.
                    "satisfaction_score": "" if score is None or still_open else score,
                }
            )

    # Number subscriptions and tickets in time order, like an operational database would.
    subscriptions.sort(key=lambda r: (r["started_at"], r["customer_id"]))
    for n, row in enumerate(subscriptions, start=1):
        row["subscription_id"] = n
    tickets.sort(key=lambda r: (r["opened_at"], r["customer_id"]))
    for n, row in enumerate(tickets, start=1):
        row["ticket_id"] = n
    return customers, subscriptions, tickets


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row[c] for c in columns})


def main() -> None:
    out = Path(__file__).resolve().parent
    customers, subscriptions, tickets = generate(np.random.default_rng(SEED))
    for name, rows in (
        ("customers", customers),
        ("subscriptions", subscriptions),
        ("support_tickets", tickets),
    ):
        write_csv(out / f"{name}.csv", rows, COLUMNS[name])
    print(f"wrote {len(customers)} customers, {len(subscriptions)} subscriptions, {len(tickets)} tickets")


if __name__ == "__main__":
    main()
