"""Print where `make demo` left its results: warehouse tables, registered model and alias, compiled output."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(root: Path) -> None:
    import duckdb

    state = json.loads((root / ".specops" / "state" / "dev.json").read_text())
    db = root / ".specops" / "dev.duckdb"
    print(f"\nWarehouse (DuckDB): {db}")
    con = duckdb.connect(str(db), read_only=True)
    for schema, table, kind in con.execute(
        "select table_schema, table_name, table_type from information_schema.tables order by 1, 2"
    ).fetchall():
        rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        print(f"  {schema}.{table:<28} {kind.lower():<10} {rows:>6} rows")
    con.close()
    for name, info in sorted(state.get("models", {}).items()):
        print(f"\nModel {name}: registered as '{info['registered_model']}', version {info['candidate_version']}; "
              f"alias '{info['alias']}' -> version {info['alias_version']}")
        print("  metrics: " + ", ".join(f"{k}={v:.3f}" for k, v in sorted(info["metrics"].items())))
    print("\ndev runs here (DuckDB and SQLite files): its deployment and jobs get no Kubernetes manifests; "
          f"prod's are in {root / 'build' / 'k8s' / 'prod'}")
    print(f"Compiled output (dbt, docker, k8s, README.md with every secret, manifest.json): {root / 'build'}")
    print(f"State: {root / '.specops' / 'state' / 'dev.json'} (serial {state['serial']})")
    print(f"\nOpen the MLflow UI:  .venv/bin/mlflow ui --backend-store-uri sqlite:///{root / '.specops' / 'mlflow.db'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
