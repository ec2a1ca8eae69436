"""A `;` that ends a transform's SQL breaks the dbt model it becomes (specops wraps the SQL in a subquery). Judged
on the tokens, where comments are not text: `... -- add channel;` ends with a comment, and `select 1; -- done`
ends with a `;`. Tokenized only when the text has a `;` at all."""

from __future__ import annotations

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from compiler.front.sql.placeholders import substitute


def final_semicolon(sql: str, dialect: str) -> int | None:
    """The offset in `sql` of a `;` after which only comments and white space follow, or None."""
    if ";" not in sql:
        return None
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(substitute(sql))  # substitute keeps every offset
    except (SqlglotError, ValueError):
        text = sql.rstrip()  # what cannot be split into tokens is reported by the analysis; judge the text
        return len(text) - 1 if text.endswith(";") else None
    if tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        return tokens[-1].start
    return None
