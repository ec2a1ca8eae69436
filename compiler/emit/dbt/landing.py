"""What a landed source (dvc, kafka) tells dbt's docs about where its rows come from (meta.specops.landing)."""

from __future__ import annotations

from typing import Any

from compiler.emit.render import dbt_text
from compiler.spec.ir import Dataset


def landing_meta(ds: Dataset) -> dict[str, Any]:
    """The landing table's origin: the DVC file and version, or the topic and what lands it."""
    src = ds.source
    assert src is not None and src.landing is not None
    if src.dvc is not None:
        out: dict[str, Any] = {"type": "dvc", "path": dbt_text(src.path or "")}
        if src.dvc.repo:
            out.update(repo=dbt_text(src.dvc.repo), rev=dbt_text(src.dvc.rev or ""))
        else:
            out["md5"] = src.dvc.md5
        if src.dvc.remote:
            out["remote"] = src.dvc.remote
        out["landed_by"] = "specops apply (replaced with each new version)"
        return out
    assert src.kafka is not None
    k = src.kafka
    by = (f"KafkaConnector on {k.connect_cluster} (postgres environments)" if k.connect_cluster
          else "specops land (apply, and the landing CronJob)" if k.schedule else "specops land (apply)")
    return {"type": "kafka", "topic": k.topic, "format": k.format, "landed_by": by}
