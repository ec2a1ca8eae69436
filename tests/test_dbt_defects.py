"""Every check type catches its defect, for real, in dbt.

tests/fixtures/dbt_defects is a small spec repository whose seeds break each check type (not_null,
unique single and composite, accepted_values, range, row_count, relationship, freshness, regex,
expression, sql) and each column property (required, unique, accepted_values, primary_key), with
checks of severity warn and thresholds (max_failures, max_failure_percent) that the data exceeds
or stays within. One `dbt build` runs it all, and EXACTLY the tests below fail, warn or pass.

One build is enough because dbt build only skips nodes downstream of a failing test, and the
fixture keeps every failing test on a leaf: orders is read by nothing, customer_stats is a leaf
model, and the checks on customers (the input of customer_stats) only pass or warn. So every
test runs and the assertions are about tests, not about what dbt skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import copy_repository
from dbt_support import DbtRun, compile_repo, dbt, requires_dbt

pytestmark = [pytest.mark.slow, requires_dbt]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "dbt_defects"

# test name -> (status, failures dbt counted). Names are the check names set in the fixture, or
# <dataset>__<column>__<property> / <dataset>__primary_key / <dataset>__freshness_<level>.
EXPECTED: dict[str, tuple[str, int]] = {
    # orders_checks: no threshold, severity error
    "email_present": ("fail", 1),
    "customer_id_present": ("pass", 0),
    "ref_unique": ("fail", 2),  # unique counts rows: both R11 rows
    "one_order_per_customer_time": ("fail", 2),  # composite unique
    "order_ref_unique": ("pass", 0),  # composite unique
    "coupon_line_unique": ("pass", 0),  # composite unique: a row with a null in its key duplicates no row
    "channel_known": ("fail", 1),
    "status_known_incl_lost": ("pass", 0),
    "amount_non_negative": ("fail", 1),
    "amount_plausible": ("pass", 0),
    "enough_orders": ("fail", 1),
    "row_count_sane": ("pass", 0),
    "orders_customer_known": ("fail", 1),
    "orders_recent": ("fail", 1),
    "orders_not_ancient": ("pass", 0),
    "email_format": ("fail", 1),
    "discount_le_amount": ("fail", 1),
    "amount_present": ("pass", 0),
    "no_big_returns": ("fail", 1),  # sql (singular test)
    # max_failures: exceeded / within, severity error / warn
    "note_mostly_present": ("fail", 3),
    "channel_known_within": ("warn", 1),
    "big_returns_within": ("warn", 1),  # sql (singular test)
    "coupon_mostly_present": ("warn", 15),
    "customer_repeat_rows": ("fail", 19),  # 19 rows share 6 customer ids: rows, not ids, count
    "few_big_discounts": ("pass", 0),  # (dbt reports 0 failures for a pass, whatever the row count)
    # max_failure_percent (20 rows: one failing row is 5%)
    "discount_le_amount_percent": ("fail", 1),
    "nothing_lost_percent": ("fail", 1),  # sql (singular test)
    "customer_repeat_percent": ("warn", 19),  # 95% of the rows (6 ids of 20 rows were 30%)
    "email_format_within_percent": ("warn", 1),
    "email_missing_percent_warn": ("warn", 1),
    "email_missing_percent_ok": ("pass", 0),
    # severity warn, no threshold
    "discount_in_range_warn": ("warn", 1),
    # column properties and dataset-level tests of orders
    "orders__order_id__required": ("fail", 1),
    "orders__ref__unique": ("fail", 2),
    "orders__status__accepted_values": ("fail", 1),
    "orders__primary_key": ("fail", 3),  # (1, 1) twice, and row 20's null order_id: a key is not null
    "orders__freshness_warn": ("warn", 1),
    "orders__freshness_error": ("pass", 0),
    # customers: the input of the model; only passes and warnings
    "customer_email_format": ("warn", 1),
    "customer_country_core": ("warn", 1),
    "customers_not_empty": ("pass", 0),
    "customers__customer_id__required": ("pass", 0),
    "customers__customer_id__unique": ("pass", 0),
    "customers__email__required": ("pass", 0),
    "customers__country__required": ("pass", 0),
    "customers__country__accepted_values": ("pass", 0),
    "customers__signup_date__required": ("pass", 0),
    "customers__primary_key": ("pass", 0),
    # customer_stats: the leaf model
    "stats_recent_signups": ("fail", 1),
    "stats_customer_known": ("pass", 0),
    "stats_domain_format": ("pass", 0),
    "customer_stats__customer_id__required": ("pass", 0),
    "customer_stats__customer_id__unique": ("pass", 0),
    "customer_stats__country__required": ("pass", 0),
    "customer_stats__signup_year__required": ("pass", 0),
    "customer_stats__primary_key": ("pass", 0),
}


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> DbtRun:
    root = copy_repository(FIXTURE, tmp_path_factory.mktemp("dbt-defects") / "repo")
    return dbt(root, compile_repo(root), "build")


def _tests(run: DbtRun) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    for result in run.run_results()["results"]:
        kind, _, name = result["unique_id"].split(".")[:3]
        if kind == "test":
            assert name not in found, f"two tests named {name}"
            found[name] = (result["status"], result["failures"])
    return found


def test_seeds_and_model_are_built(build: DbtRun) -> None:
    others = {r["unique_id"]: r["status"] for r in build.run_results()["results"]
              if not r["unique_id"].startswith("test.")}
    assert others == {"seed.dbt_defects.customers": "success", "seed.dbt_defects.orders": "success",
                      "model.dbt_defects.customer_stats": "success"}, build.explain()


def test_exactly_the_expected_tests_fail_warn_and_pass(build: DbtRun) -> None:
    got = _tests(build)
    assert sorted(got) == sorted(EXPECTED), "tests added or missing: " + str(set(got) ^ set(EXPECTED))
    wrong = {name: (got[name], want) for name, want in EXPECTED.items() if got[name] != want}
    assert not wrong, "name: ((status, failures) got, expected): " + repr(wrong)


def test_build_fails_because_of_the_failing_tests_only(build: DbtRun) -> None:
    assert build.returncode == 1
    assert build.warnings() == []  # no dbt warnings or deprecations (test warnings print differently)
    statuses = {status for status, _ in _tests(build).values()}
    assert statuses == {"pass", "warn", "fail"}  # no "error": every test compiled and ran


@pytest.mark.parametrize("check_type", ["not_null", "unique", "accepted_values", "range", "row_count",
                                        "relationship", "freshness", "regex", "expression", "sql"])
def test_fixture_breaks_every_check_type(build: DbtRun, check_type: str) -> None:
    """Guard the fixture itself: each check type has at least one failing and one non-failing check."""
    nodes = build.manifest()["nodes"]
    outcomes = {EXPECTED[n["name"]][0] for n in nodes.values() if n["resource_type"] == "test"
                and n["config"].get("meta", {}).get("specops", {}).get("type") == check_type}
    assert "fail" in outcomes and outcomes - {"fail"}, (check_type, outcomes)
