"""What to write instead of the dbt Jinja a dbt user brings to a transform's SQL.

Transform SQL may template only `{{ input('name') }}`: specops writes the dbt model around it (the refs, the
config, the incremental filter). Someone used to dbt writes `{{ ref('x') }}`, `{{ source('s', 't') }}`,
`{{ config(...) }}` or an `is_incremental()` block; the error then says what the spec way is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

_QUOTED = r"""\s*(?P<q{n}>['"])(?P<{name}>[^'"]*)(?P=q{n})\s*"""
_REF_RE = re.compile(r"\{\{\s*ref\((?:" + _QUOTED.format(n=0, name="package") + r",)?"
                     + _QUOTED.format(n=1, name="name") + r"(?:,[^)]*)?\)")
_SOURCE_RE = re.compile(r"\{\{\s*source\(" + _QUOTED.format(n=0, name="schema") + ","
                        + _QUOTED.format(n=1, name="table") + r"\)")
_CONFIG_RE = re.compile(r"\{\{\s*config\(")
_LAYOUT_RE = re.compile(r"\b(?:partition_by|cluster_by|incremental_strategy|on_schema_change|schema|alias)\s*=")
_INCREMENTAL_RE = re.compile(r"is_incremental\(\s*\)|\{\{\s*this\s*\}\}")
_VAR_RE = re.compile(r"\b(?:var|env_var)\s*\(")
_MACRO_RE = re.compile(r"\{\{-?\s*(?P<macro>[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\s*\(")  # dbt_utils.x(, dbt.x(

DEFAULT_HINT = "specops writes the dbt refs itself; remove other Jinja from the SQL"


def jinja_hint(construct: str, inputs: tuple[str, ...], table_dataset: Callable[[str, str], str | None],
               datasets: Collection[str] = ()) -> str:
    """The hint for a templating construct found in a transform's SQL. `inputs` are the transform's declared
    inputs; `table_dataset(schema, table)` names the dataset whose source is that table, if any; `datasets` are
    the project's datasets (a ref naming none of them is a dbt model not declared yet)."""
    if (ref := _REF_RE.match(construct)) is not None:
        name = ref.group("name")
        if datasets and name not in datasets and name not in inputs:
            return (f"write {{{{ input('<dataset>') }}}} instead (specops writes the dbt ref itself); no dataset is "
                    f"named {name}: a dbt model is a Dataset in specops, built by a Transform whose output it is")
        also = "" if name in inputs else f", and add {name} to the transform's inputs"
        return f"write {{{{ input('{name}') }}}} instead (specops writes the dbt ref itself){also}"
    if (source := _SOURCE_RE.match(construct)) is not None:
        schema, table = source.group("schema"), source.group("table")
        found = table_dataset(schema, table)
        if found is None and table in inputs:  # the table's name is a declared input's (a seed, say)
            found = table
        if found is not None:
            also = "" if found in inputs else f", and add {found} to the transform's inputs"
            what = f"dataset.{found} is the table {schema}.{table}" if found != table or table_dataset(
                schema, table) else f"dataset.{found} is that table in specops"
            return f"write {{{{ input('{found}') }}}} instead: {what}{also}"
        return (f"declare the table as a Dataset (source: {{type: table, schema: {schema}, table: {table}}}) "
                "and read it with {{ input('<that dataset>') }}")
    if _CONFIG_RE.match(construct) is not None:
        hint = "set materialization (and incremental) in the Transform's spec: specops writes the dbt config"
        if _LAYOUT_RE.search(construct):
            hint += ("; a model's partitioning, clustering, incremental strategy, schema or alias has no spec field "
                     "(specops writes none of them)")
        return hint
    if _INCREMENTAL_RE.search(construct) is not None:
        return ("set materialization: incremental and incremental: {unique_key, updated_at} in the Transform's "
                "spec: specops writes the incremental filter")
    if _VAR_RE.search(construct) is not None:
        return ("specs are not templated: write the value in the SQL (a value that differs between environments "
                "has no spec equivalent)")
    if (macro := _MACRO_RE.match(construct)) is not None:
        return (f"write the SQL that {macro.group('macro')} makes: transform SQL is plain SQL of the warehouse, "
                "with no dbt macros (see the compiled SQL of your dbt project for what it was)")
    return DEFAULT_HINT
