"""A transform's SQL as the warehouse's tokens, `{{ input('x') }}` placeholders read as names of the same length."""

from __future__ import annotations

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token

from compiler.front.sql.placeholders import substitute


def sql_tokens(sql: str, dialect: str) -> list[Token] | None:
    """The tokens of `sql` (their offsets are the text's: substitute keeps every offset); None when the text cannot
    be split into tokens (the analysis reports that)."""
    try:
        return Dialect.get_or_raise(dialect).tokenize(substitute(sql))
    except (SqlglotError, ValueError):
        return None
