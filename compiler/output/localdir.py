"""`.specops/`, the repository's local folder: the embedded warehouse, the MLflow registry, apply's state and locks.

It is made on first use with a `.gitignore` holding `*` inside (as pytest and ruff do for their caches), so
that nothing in it can be committed by mistake, whatever the repository's own .gitignore says. A folder that
already exists is left as it is (a team may have set it up on purpose).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath

from compiler.output.write import check_writable_folder
from compiler.spec.project import SpecProject

LOCAL_DIR = ".specops"
GITIGNORE = "# Created by specops: the local warehouse, registry, state and locks. Never commit them.\n*\n"


def local_dir(root: Path) -> Path:
    """`<root>/.specops`, made (with its .gitignore) when missing."""
    folder = root / LOCAL_DIR
    if folder.is_dir():
        return folder
    check_writable_folder(folder, "local folder (the embedded warehouse, registry and state)")
    # built aside, then renamed into place: nobody ever sees the folder without its .gitignore
    draft = root / f"{LOCAL_DIR}-new-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    draft.mkdir()
    try:
        (draft / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        draft.rename(folder)
    except OSError:
        if not folder.is_dir():  # not a race lost to another run: a real problem
            raise
    finally:
        shutil.rmtree(draft, ignore_errors=True)
    return folder


def warehouse_folders(project: SpecProject, make: bool = True) -> list[Path]:
    """Make the folders of the embedded (DuckDB) warehouses, so that plain `dbt build` on the compiled project
    works before any apply (DuckDB creates the file, not its folder). With `make` false, only check that they
    can be made (OutputFolderError naming what is in the way), as compile does before it writes anything."""
    made = []
    for env in project.environments.values():
        if env.warehouse.type != "duckdb":
            continue
        rel = PurePosixPath(str(env.warehouse.get("path")))
        folder = (project.root / rel).parent
        check_writable_folder(folder, f"DuckDB file of environment {env.name}")
        if not make:
            continue
        if rel.parts[:1] == (LOCAL_DIR,):
            local_dir(project.root)
        folder.mkdir(parents=True, exist_ok=True)
        made.append(folder)
    return made
