"""A comma right before a JOIN (`from orders o, join customers c on ...`): every warehouse rejects it, but sqlglot
reads past it as if it were not there, so the analysis finds nothing wrong. Looked for by a pattern first (no
tokenizing unless the text has `, join`), then confirmed on the tokens, where strings and comments are single
tokens."""

from __future__ import annotations

import re

from sqlglot.tokens import TokenType

from compiler.front.sql.tokens import sql_tokens

_PATTERN = re.compile(r",\s*(?:natural\s+)?(?:(?:left|right|full)\s+(?:outer\s+)?|inner\s+|cross\s+)?join\b",
                      re.IGNORECASE)
_JOIN_WORDS = frozenset({TokenType.NATURAL, TokenType.INNER, TokenType.CROSS, TokenType.LEFT, TokenType.RIGHT,
                         TokenType.FULL, TokenType.OUTER})


def comma_before_join(sql: str, dialect: str) -> int | None:
    """The offset in `sql` of a comma that a JOIN follows, or None."""
    if _PATTERN.search(sql) is None:
        return None
    tokens = sql_tokens(sql, dialect)
    if tokens is None:
        return None
    for i, token in enumerate(tokens):
        if token.token_type != TokenType.COMMA:
            continue
        j = i + 1
        while j < len(tokens) and j - i <= 3 and tokens[j].token_type in _JOIN_WORDS:
            j += 1
        if j < len(tokens) and tokens[j].token_type == TokenType.JOIN:
            return token.start
    return None
