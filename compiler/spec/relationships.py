"""When a relationship check can run: after both of its datasets are built.

A `relationship` check reads two datasets: the one it checks and the one its `to` names. The pipeline DAG
builds each seed and model in its own task (`dbt build --select <node>`, indirect selection `buildable`), which
runs a test only when every dataset it reads is selected or upstream of the selected node. A check between two
datasets neither of which is upstream of the other would run in no task. So the later of the two is made to
depend on the other in the dbt project (a `-- depends_on: {{ ref(...) }}` line in its model's SQL): the checked
dataset, when a transform builds it, else the `to` dataset when a transform builds that. Two seeds cannot be
ordered so (dbt seeds have no SQL): `unordered` lists them (they run only in
`specops apply`, docs/integrations.md). A source is never built (dbt
counts sources as present), so a check involving one source runs with the other dataset's task.

The added order never makes a cycle: an edge is added only between datasets neither of which reaches the
other, checks taken in a fixed order (rule name, then check order), each seeing the edges added before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from compiler.spec.ir import Check, Dataset, QualityRule, Transform


@dataclass(frozen=True)
class RelationshipOrder:
    """build_after: a transform's output dataset -> the datasets its model must also be built after (sorted);
    unordered: the (rule, check) relationship checks between two seeds that no task can run."""

    build_after: Mapping[str, tuple[str, ...]]
    unordered: tuple[tuple[QualityRule, Check], ...]


def relationship_order(datasets: Mapping[str, Dataset], rules: Mapping[str, QualityRule],
                       transforms: Mapping[str, Transform]) -> RelationshipOrder:
    """The extra build order the relationship checks need (module docstring)."""
    built = {t.output for t in transforms.values() if t.output in datasets}
    children: dict[str, set[str]] = {}
    for t in transforms.values():
        for name in t.inputs:
            children.setdefault(name, set()).add(t.output)
    added: dict[str, set[str]] = {}
    unordered: list[tuple[QualityRule, Check]] = []
    for rule_name in sorted(rules):
        rule = rules[rule_name]
        for check in rule.checks:
            child, parent = rule.dataset, check.to_dataset
            if check.type != "relationship" or not parent or parent == child:
                continue
            if child not in datasets or parent not in datasets:
                continue
            if not (_built(datasets[child], built) and _built(datasets[parent], built)):
                continue  # a source is always there: the check runs with the other dataset's task
            if _reaches(children, child, parent) or _reaches(children, parent, child):
                continue
            if child in built:
                later, earlier = child, parent
            elif parent in built:
                later, earlier = parent, child
            else:
                unordered.append((rule, check))
                continue
            added.setdefault(later, set()).add(earlier)
            children.setdefault(earlier, set()).add(later)
    return RelationshipOrder({k: tuple(sorted(v)) for k, v in sorted(added.items())}, tuple(unordered))


def _built(ds: Dataset, built: set[str]) -> bool:
    """Whether a dbt task builds the dataset: a transform's output (a model) or a file dataset (a seed)."""
    return ds.name in built or (ds.source is not None and ds.source.type == "file")


def _reaches(children: dict[str, set[str]], start: str, end: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for nxt in children.get(todo.pop(), ()):
            if nxt == end:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False
