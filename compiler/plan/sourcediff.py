"""Categories of changes to the sources specops lands itself (dvc, kafka), by attribute path.

What is landed is the contract: another topic, another message format or another landing table is breaking
(the landing table starts over; dbt reads another relation); a new DVC version (its md5, or another rev of a
data registry) is new data, non-breaking, like a file source's new bytes; how and when landing runs (brokers,
consumer settings, credentials, batch size, schedule, Kafka Connect, the DVC remote) is metadata: the same
data arrives, only the landing job or connector changes (the plan lists those files).
"""

from __future__ import annotations

# (path prefix, category, forces replacement); the first match wins
_RULES: tuple[tuple[str, str, bool], ...] = (
    ("spec.source.kafka.topic", "breaking", True),
    ("spec.source.kafka.format", "breaking", False),
    ("spec.source.landing", "breaking", True),
    ("spec.source.kafka", "metadata", False),
    ("spec.source.dvc.remote", "metadata", False),
    ("spec.source.dvc", "non-breaking", False),
)

# changes that mean new data rather than another source: shown as `(data)` on an impact's path
DATA_VERSION_PATHS = ("spec.source.content", "spec.source.dvc.md5", "spec.source.dvc.size",
                      "spec.source.dvc.hash", "spec.source.dvc.rev")


def landed_category(path: str) -> tuple[str, bool] | None:
    """(category, forces replacement) of a change at `path` of a landed source, or None if not one of theirs."""
    for prefix, category, replace in _RULES:
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return category, replace
    return None
