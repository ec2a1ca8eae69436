"""The project's column lineage: every transform's SQL analysed, with the checks and models that read columns."""

from __future__ import annotations

from collections.abc import Mapping

from compiler.front.sql import SqlJob, SqlWork, dialect_for
from compiler.spec.ir import Dataset, Environment, Model, Project, QualityRule, Transform
from compiler.spec.lineage import Lineage, Reader, Ref, merge_readers
from compiler.spec.project import default_environment
from compiler.spec.sqltext import DATASET_RE


def project_dialect(project: Project, environments: Mapping[str, Environment]) -> str:
    """The SQL dialect transforms are read in: the default environment's warehouse (DuckDB without one)."""
    name = default_environment(project, environments)
    env = environments.get(name) if name else None
    return dialect_for(env.warehouse.type if env is not None else None)


def sql_job(t: Transform, datasets: Mapping[str, Dataset], dialect: str,
            columns: dict[str, tuple[str, ...]] | None = None) -> SqlJob:
    """What analysing `t` takes; `columns` (dataset -> its column names) saves making them for every job."""
    columns = {} if columns is None else columns
    schema = []
    for name in dict.fromkeys(t.inputs):
        if name in datasets:
            if name not in columns:
                columns[name] = datasets[name].column_names
            schema.append((name, columns[name]))
    return (t.sql, dialect, tuple(schema))


def check_query(sql: str, dataset: Dataset, dialect: str) -> SqlJob:
    """What analysing a `sql` check takes: its `{{ dataset }}` read as the one input, the checked dataset."""
    text = DATASET_RE.sub(lambda _: "{{ input('" + dataset.name + "') }}", sql)
    return (text, dialect, ((dataset.name, dataset.column_names),))


def build_lineage(project: Project, environments: Mapping[str, Environment], datasets: Mapping[str, Dataset],
                  transforms: Mapping[str, Transform], rules: Mapping[str, QualityRule], models: Mapping[str, Model],
                  work: SqlWork) -> Lineage:
    dialect = project_dialect(project, environments)
    names = [n for n, t in transforms.items() if t.sql.strip()]
    texts = sorted({c.expression for r in rules.values() for c in r.checks if c.expression})
    queries = sorted({(r.dataset, c.sql) for r in rules.values() for c in r.checks
                      if c.sql and r.dataset in datasets})
    columns: dict[str, tuple[str, ...]] = {}
    made = work([*(sql_job(transforms[n], datasets, dialect, columns) for n in names),
                 *((x, dialect, None) for x in texts),
                 *(check_query(sql, datasets[ds], dialect) for ds, sql in queries)])
    analyses = made[:len(names)]
    expressions = dict(zip(texts, made[len(names):len(names) + len(texts)], strict=True))
    check_queries = dict(zip(queries, made[len(names) + len(texts):], strict=True))
    readers: list[tuple[Ref, Reader]] = []
    for r in rules.values():
        ds = datasets.get(r.dataset)
        for c in r.checks:
            reader = Reader(r.address, f"check {c.name}")
            for col in (c.column, *c.columns):
                if col:
                    readers.append(((r.dataset, col), reader))
            if c.to_dataset and c.to_column:
                readers.append(((c.to_dataset, c.to_column), reader))
            if c.expression:
                for col in expressions[c.expression].columns:
                    readers.append(((r.dataset, col.name), reader))
            if c.sql and ds is not None:  # a free SQL check: assumed to read every column
                readers += [((r.dataset, col), reader) for col in ds.column_names]
    for m in models.values():
        tr = m.training
        if tr is None:
            continue
        readers += [((tr.dataset, f), Reader(m.address, "feature")) for f in tr.features]
        readers.append(((tr.dataset, tr.target), Reader(m.address, "target")))
        if tr.split_strategy.column:  # which rows are held out: the trained model depends on its values too
            readers.append(((tr.dataset, tr.split_strategy.column), Reader(m.address, "split")))
    return Lineage(
        sql=dict(zip(names, analyses, strict=True)),
        outputs={n: t.output for n, t in transforms.items()},
        other_readers=merge_readers(readers),
        declared_pii={n: frozenset(d.pii_columns) for n, d in datasets.items() if d.pii_columns},
        masked={n: frozenset(c.name for c in d.columns if c.masked) for n, d in datasets.items()
                if any(c.masked for c in d.columns)},
        dataset_order=_dataset_order(transforms),
        dialect=dialect,
        expressions=expressions,
        check_queries=check_queries,
    )


def _dataset_order(transforms: Mapping[str, Transform]) -> tuple[str, ...]:
    """Produced datasets, each after the datasets its transform reads (a cycle's members last)."""
    needs = {t.output: set(t.inputs) for t in transforms.values()}
    done: list[str] = []
    seen: set[str] = set()
    for start in sorted(needs):
        stack = [(start, iter(sorted(needs.get(start, ()))))]
        if start in seen:
            continue
        seen.add(start)
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                if node in needs:
                    done.append(node)
            elif nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(sorted(needs.get(nxt, ())))))
    return tuple(done)
