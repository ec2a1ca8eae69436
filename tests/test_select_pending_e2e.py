"""`specops apply --select` / `--exclude` leaves the work its changes cause outside the selection pending, for real
(dbt + DuckDB): the next plan lists it and the next apply does it, instead of "No changes" over a stale table; the
generated files of what the selection left out stay as last applied, so the next plan still shows their diffs."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import git, ok, state
from dbt_support import requires_dbt

pytest.importorskip("duckdb")

pytestmark = [pytest.mark.slow, requires_dbt]

SPECS = """\
apiVersion: specops/v1
kind: Environment
metadata: {name: dev}
spec: {warehouse: {type: duckdb}}
---
apiVersion: specops/v1
kind: Dataset
metadata: {name: devices, owner: "@iot"}
spec:
  source: {type: file, path: data/devices.csv}
  columns:
    - {name: device_id, type: integer}
    - {name: site, type: string}
---
apiVersion: specops/v1
kind: Dataset
metadata: {name: device_sites, owner: "@iot"}
spec:
  columns:
    - {name: device_id, type: integer}
    - {name: site, type: string}
---
apiVersion: specops/v1
kind: Transform
metadata: {name: build_device_sites, owner: "@iot"}
spec:
  inputs: [devices]
  output: device_sites
  sql: "select cast(device_id as integer) as device_id, cast(upper(site) as varchar) as site from {{ input('devices') }}"
---
apiVersion: specops/v1
kind: Dataset
metadata: {name: site_counts, owner: "@iot"}
spec:
  columns:
    - {name: site, type: string}
    - {name: n, type: integer}
---
apiVersion: specops/v1
kind: Transform
metadata: {name: build_site_counts, owner: "@iot"}
spec:
  inputs: [device_sites]
  output: site_counts
  sql: "select site, cast(count(*) as integer) as n from {{ input('device_sites') }} group by site"
"""


def _applied_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "specops.yaml").write_text("apiVersion: specops/v1\nkind: Project\nmetadata: {name: sel, owner: '@iot'}\n"
                                       "spec: {default_environment: dev}\n")
    (root / "specs" / "all.yaml").write_text(SPECS)
    (root / "data" / "devices.csv").write_text("device_id,site\n1,north\n2,south\n")
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "specops.yaml", "specs", "data")
    git(root, "commit", "--quiet", "-m", "devices")
    ok(root, "apply", "--env", "dev", "--yes")
    return root


def _rows(root: Path, table: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(root / ".specops" / "dev.duckdb"), read_only=True)
    try:
        return con.execute(f"select * from {table} order by 1").fetchall()
    finally:
        con.close()


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    git(root, "commit", "--quiet", "-am", f"edit {rel}")


def test_a_seed_applied_alone_leaves_its_readers_pending_for_the_next_apply(tmp_path):
    root = _applied_repo(tmp_path)
    _edit(root, "data/devices.csv", "2,south", "2,east")
    planned = ok(root, "plan", "--env", "dev", "-s", "devices").output
    assert ("note: 2 impacted item(s) outside the selection will be left pending in the state, for the next apply "
            "to do: rebuild transform.build_device_sites, rebuild transform.build_site_counts") in planned, planned
    ok(root, "apply", "--env", "dev", "-s", "devices", "--yes")
    assert _rows(root, "devices") == [(1, "north"), (2, "east")]
    assert _rows(root, "device_sites") == [(1, "NORTH"), (2, "SOUTH")]  # left out, as selected
    after = ok(root, "plan", "--env", "dev").output
    assert "No changes" not in after, after
    assert "rebuild  transform.build_device_sites" in after and "rebuild  transform.build_site_counts" in after, after
    assert "pending: an earlier apply's selection left it out" in after
    run = ok(root, "apply", "--env", "dev", "--yes")
    assert "-> dbt build --select device_sites site_counts" in run.output, run.output
    assert _rows(root, "device_sites") == [(1, "NORTH"), (2, "EAST")]
    assert _rows(root, "site_counts") == [("EAST", 1), ("NORTH", 1)]
    assert state(root)["pending"] == {}
    assert "No changes" in ok(root, "plan", "--env", "dev").output


def test_an_upstream_sql_change_applied_alone_leaves_the_downstream_rebuild_pending(tmp_path):
    root = _applied_repo(tmp_path)
    _edit(root, "specs/all.yaml", "cast(upper(site) as varchar)", "cast(lower(site) as varchar)")
    ok(root, "apply", "--env", "dev", "--exclude", "site_counts", "--yes")
    assert _rows(root, "device_sites") == [(1, "north"), (2, "south")]
    assert _rows(root, "site_counts") == [("NORTH", 1), ("SOUTH", 1)]  # stale until the next apply
    after = ok(root, "plan", "--env", "dev").output
    assert "rebuild  transform.build_site_counts" in after and "No changes" not in after, after
    ok(root, "apply", "--env", "dev", "--yes")
    assert _rows(root, "site_counts") == [("north", 1), ("south", 1)]
    assert "No changes" in ok(root, "plan", "--env", "dev").output


def test_the_files_of_what_a_selection_leaves_out_stay_as_last_applied(tmp_path):
    root = _applied_repo(tmp_path)
    applied = root / ".specops" / "applied" / "dev" / "dbt" / "models" / "site_counts.sql"
    before = applied.read_text()
    _edit(root, "data/devices.csv", "2,south", "2,east")
    _edit(root, "specs/all.yaml", "group by site", "where site <> 'NORTH' group by site")
    ok(root, "apply", "--env", "dev", "-s", "devices", "--yes")
    assert applied.read_text() == before  # its new SQL was not built
    after = ok(root, "plan", "--env", "dev").output
    assert "~ transform.build_site_counts" in after, after
    files = after.split("Generated files", 1)[-1]
    assert "~ dbt/models/site_counts.sql" in files and "site <> 'NORTH'" in files, after
    assert "dbt/seeds/devices.csv" not in files  # applied: its file is recorded
    ok(root, "apply", "--env", "dev", "--yes")
    assert _rows(root, "site_counts") == [("EAST", 1)]
    assert "site <> 'NORTH'" in applied.read_text()
    assert "No changes" in ok(root, "plan", "--env", "dev").output
