"""GX's `{batch}` in an unexpected-rows query, written so that every warehouse accepts what GX makes of it.

GX 1.x fills `{batch}` with the batch's SELECT in parentheses. A query without the keyword JOIN gets each one
aliased (`(SELECT ...) AS subselect`); a query with a JOIN gets none, its author being left to alias them
(great_expectations/expectations/metrics/query_metric_provider.py). PostgreSQL before 16 rejects a subquery in
FROM without an alias, and every warehouse rejects a second alias. So, after a JOIN, each `{batch}` is given
an alias where it has none (`from {batch} where ...` inside a unique check's join, the row count of a
percent threshold); a query without a JOIN whose `{batch}` has an alias of its own (a sql check's
`from {{ dataset }} as o`) is wrapped in a join with one row, which makes it one of the former.
"""

from __future__ import annotations

import re

BATCH = "{batch}"
# what GX leaves out when it looks for JOIN: quoted strings and names, and comments
_QUOTED_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|--[^\n]*|/\*.*?\*/", re.DOTALL)
_JOIN = re.compile(r"\bjoin\b", re.IGNORECASE)
_AFTER = re.compile(r"\s*(\"(?:[^\"]|\"\")*\"|[A-Za-z_][A-Za-z0-9_$]*)?")
# words that may follow a FROM item and are no alias of it
_NOT_ALIASES = frozenset({
    "where", "group", "order", "limit", "having", "union", "intersect", "except", "minus", "join", "inner", "left",
    "right", "full", "cross", "natural", "on", "using", "window", "qualify", "offset", "fetch", "lateral",
    "tablesample", "for", "and", "or", "then", "else", "end", "when", "semi", "anti", "asof", "positional",
})


def has_join(query: str) -> bool:
    """Whether GX reads the query as a join (the word JOIN outside quotes and comments)."""
    return _JOIN.search(_QUOTED_OR_COMMENT.sub(" ", query)) is not None


def _aliased(query: str, end: int) -> bool:
    """Whether the `{batch}` ending at `end` has an alias after it (`as x`, or a name that is no keyword)."""
    word = _AFTER.match(query, end)
    name = word.group(1) if word else None
    return name is not None and (name.startswith('"') or name.lower() == "as" or name.lower() not in _NOT_ALIASES)


def for_gx(query: str) -> str:
    """The query with its `{batch}` places as GX needs them (see the module's doc)."""
    ends = [m.end() for m in re.finditer(re.escape(BATCH), query)]
    if not ends:
        return query
    if not has_join(query):
        if not any(_aliased(query, end) for end in ends):
            return query  # GX aliases each one itself
        query = (f"select specops_query.* from ({query}\n) as specops_query "
                 "cross join (select 1 as specops_one) as specops_one_row")
        ends = [m.end() for m in re.finditer(re.escape(BATCH), query)]
    out: list[str] = []
    last = 0
    for n, end in enumerate(ends, 1):
        out.append(query[last:end])
        if not _aliased(query, end):
            out.append(f" as specops_batch_{n}")
        last = end
    out.append(query[last:])
    return "".join(out)
