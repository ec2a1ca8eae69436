"""The embedded MLflow store (`sqlite:///.specops/mlflow.db`, artifacts under `.specops/mlartifacts/`) follows its
repository when the repository is copied or moved.

MLflow records artifact locations as absolute paths (it resolves a relative one when the experiment is
created), so a copy of a repository would go on reading, and writing new runs into, the original's folder.
Before MLflow is used, every location recorded under another folder's `.specops/mlartifacts` is rewritten to
this repository's: experiments, runs, logged models and model versions. Locations specops did not create
(another layout, a remote store) are left alone.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

MARKER = "/.specops/mlartifacts"
# every column of MLflow's schema that holds an artifact location (tables missing from older schemas are skipped)
COLUMNS = (("experiments", "artifact_location"), ("runs", "artifact_uri"), ("logged_models", "artifact_location"),
           ("model_versions", "source"), ("model_versions", "storage_location"))


def artifacts_root(root: Path) -> Path:
    return (root / ".specops" / "mlartifacts").resolve()


def relocate(root: Path, db: Path) -> list[str]:
    """Rewrite artifact locations recorded under another repository's `.specops/mlartifacts` to this one's.

    Returns the folders moved away from (empty when the store is already this repository's).
    """
    if not db.is_file():
        return []
    here = artifacts_root(root)
    con = sqlite3.connect(str(db), timeout=60)
    try:
        tables = {name for (name,) in con.execute("select name from sqlite_master where type = 'table'")}
        if "experiments" not in tables:
            return []
        olds = set()
        for (location,) in con.execute("select artifact_location from experiments where artifact_location like ?",
                                       (f"%{MARKER}/%",)):
            path = location[len("file://"):] if location.startswith("file://") else location
            old = path[:path.index(MARKER) + len(MARKER)]
            if old != str(here):
                olds.add(old)
        for old in sorted(olds):
            for old_form, new_form in ((Path(old).as_uri(), here.as_uri()), (old, str(here))):
                for table, column in COLUMNS:
                    if table not in tables:
                        continue
                    # the exact prefix, then a separator (/x/.specops/mlartifacts2 is another folder); names are fixed
                    con.execute(f"update {table} set {column} = ? || substr({column}, ?) "
                                f"where substr({column}, 1, ?) = ? and substr({column}, ?, 1) in ('/', '')",
                                (new_form, len(old_form) + 1, len(old_form), old_form, len(old_form) + 1))
        con.commit()
        return sorted(olds)
    finally:
        con.close()
