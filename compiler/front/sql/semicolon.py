"""A `;` in a transform's SQL breaks the dbt model it becomes (specops wraps the SQL in a subquery): at the end,
or between two statements (a model is one query). Judged on the tokens, where comments and strings are not text:
`... -- add channel;` ends with a comment, `select ';'` has no `;`, and `select 1; -- done` ends with a `;`.
Tokenized only when the text has a `;` at all."""

from __future__ import annotations

from typing import NamedTuple

from sqlglot.tokens import TokenType

from compiler.front.sql.tokens import sql_tokens


class Semicolon(NamedTuple):
    offset: int  # of the first `;` in the SQL
    final: bool  # only comments and white space follow it (else another statement does)


def semicolon(sql: str, dialect: str) -> Semicolon | None:
    """The first `;` of `sql` that is no part of a comment or string, or None."""
    if ";" not in sql:
        return None
    tokens = sql_tokens(sql, dialect)
    if tokens is None:
        text = sql.rstrip()  # what cannot be split into tokens is reported by the analysis; judge the text
        return Semicolon(len(text) - 1, True) if text.endswith(";") else None
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.SEMICOLON:
            return Semicolon(token.start, all(t.token_type == TokenType.SEMICOLON for t in tokens[i:]))
    return None

