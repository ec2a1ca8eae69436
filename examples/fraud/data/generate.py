"""Generate the example's CSV files: cards, merchants and card transactions.

The data is synthetic and deterministic (fixed seed), so every run writes the same bytes:

    python data/generate.py          # from examples/fraud/, rewrites data/*.csv

Card transactions over the 28 days before AS_OF. Whether a transaction is fraud follows a
logistic model of what the feature transform later derives -- the amount, the hour of day,
whether the card was present, whether the merchant is abroad and how old the card is -- plus
noise, so a simple classifier separates fraud well but not perfectly (ROC AUC around 0.85).

Only the standard library and numpy are needed.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

SEED = 7
N_CARDS = 600
N_MERCHANTS = 120
N_TRANSACTIONS = 5000
AS_OF = dt.datetime(2026, 6, 30)
DAYS = 28
COUNTRIES = ["US", "GB", "DE", "FR", "CA"]
COUNTRY_P = [0.45, 0.17, 0.16, 0.12, 0.10]
CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "CA": "CAD"}
CATEGORIES = ["grocery", "fuel", "restaurant", "electronics", "travel", "online_services"]
CATEGORY_P = [0.28, 0.14, 0.22, 0.10, 0.08, 0.18]
TYPICAL_AMOUNT = {"grocery": 45, "fuel": 55, "restaurant": 38, "electronics": 260, "travel": 420,
                  "online_services": 25}
COLUMNS = {
    "cards": "card_id card_type country issued_on".split(),
    "merchants": "merchant_id name category country".split(),
    "transactions": "transaction_id card_id merchant_id amount currency channel transacted_at is_fraud".split(),
}


def generate(rng: np.random.Generator) -> tuple[list[dict], list[dict], list[dict]]:
    cards = []
    for i in range(N_CARDS):
        issued = AS_OF.date() - dt.timedelta(days=int(rng.integers(DAYS + 10, 6 * 365)))
        cards.append({"card_id": 50001 + i, "card_type": rng.choice(["debit", "credit"], p=[0.55, 0.45]),
                      "country": COUNTRIES[rng.choice(5, p=COUNTRY_P)], "issued_on": issued.isoformat()})
    merchants = []
    for i in range(N_MERCHANTS):
        category = CATEGORIES[rng.choice(len(CATEGORIES), p=CATEGORY_P)]
        merchants.append({"merchant_id": 9001 + i, "name": f"{category.replace('_', ' ')} shop {i + 1}",
                          "category": category, "country": COUNTRIES[rng.choice(5, p=COUNTRY_P)]})
    transactions = []
    start = AS_OF - dt.timedelta(days=DAYS)
    for _ in range(N_TRANSACTIONS):
        card = cards[rng.integers(N_CARDS)]
        merchant = merchants[rng.integers(N_MERCHANTS)]
        online = merchant["category"] == "online_services" or rng.random() < 0.25
        moment = start + dt.timedelta(seconds=int(rng.integers(DAYS * 86400)))
        amount = float(np.round(rng.lognormal(np.log(TYPICAL_AMOUNT[merchant["category"]]), 0.7), 2))
        foreign = card["country"] != merchant["country"]
        card_age = (moment.date() - dt.date.fromisoformat(card["issued_on"])).days
        night = moment.hour < 6
        logit = (-5.0 + 0.9 * np.log1p(amount / 100) + 1.3 * online + 1.5 * foreign + 1.1 * night
                 - 0.4 * np.log1p(card_age / 30) + rng.normal(0, 0.6))
        transactions.append({
            "card_id": card["card_id"], "merchant_id": merchant["merchant_id"], "amount": f"{amount:.2f}",
            "currency": CURRENCY[merchant["country"]], "channel": "online" if online else "in_store",
            "transacted_at": moment.strftime("%Y-%m-%d %H:%M:%S"),
            "is_fraud": int(rng.random() < 1 / (1 + np.exp(-logit))),
        })
    transactions.sort(key=lambda r: (r["transacted_at"], r["card_id"]))
    for n, row in enumerate(transactions, start=1):
        row["transaction_id"] = 7_000_000 + n
    return cards, merchants, transactions


def write(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    here = Path(__file__).resolve().parent
    cards, merchants, transactions = generate(np.random.default_rng(SEED))
    for name, rows in (("cards", cards), ("merchants", merchants), ("transactions", transactions)):
        write(here / f"{name}.csv", COLUMNS[name], rows)
    frauds = sum(r["is_fraud"] for r in transactions)
    print(f"{len(cards)} cards, {len(merchants)} merchants, {len(transactions)} transactions ({frauds} fraud)")


if __name__ == "__main__":
    main()
