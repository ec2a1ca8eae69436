"""Reading a file source's CSV bytes (a dbt seed): its header, its rows. Pure functions of the bytes: a header
that cannot be read raises Unreadable (why, for validate to say); a table that cannot be read so (not UTF-8, not
CSV, rows of another length than the header) is None, and plans then assume the worst."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator


class Unreadable(ValueError):
    """Why a CSV file's header cannot be read (the message says it to the user)."""


def header(content: bytes, delimiter: str) -> list[str]:
    """The names of the first row, stripped; Unreadable when there is none dbt could load."""
    return [h.strip() for h in written_header(content, delimiter)]


def written_header(content: bytes, delimiter: str) -> list[str]:
    """The names of the first row exactly as written (spaces kept: dbt keeps them); Unreadable when there is none
    dbt could load."""
    if not content.strip():
        raise Unreadable("the file is empty: dbt needs a header row to load a seed")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1
        raise Unreadable(f"byte 0x{content[exc.start]:02x} on line {line} is not UTF-8 (dbt reads seeds as "
                         "UTF-8)") from None
    try:
        row = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    except csv.Error as exc:
        raise Unreadable(f"its header row cannot be read as CSV: {exc}") from None
    if not row or not any(h.strip() for h in row):
        raise Unreadable("its first line is empty: dbt reads the first line as the header")
    return row


def bad_row(content: bytes, delimiter: str, fields: int) -> tuple[int, str, str] | None:
    """The first row that is not `fields` values long, or whose quoting is broken, or a NUL byte, as (its line, why,
    what to do); None when every row is fine (blank lines aside, as dbt skips them). The header is assumed
    readable (written_header)."""
    fix = "give every row the header's fields (quote a value holding the delimiter, double a quote inside one)"
    nul = content.find(b"\0")
    if nul >= 0:  # Postgres cannot store it in text; other readers cut the value there
        line = content.count(b"\n", 0, nul) + 1
        return line, f"line {line} holds a NUL byte (0x00), which no warehouse stores as text", "remove it"
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=delimiter, strict=True)
    end = 0  # the line the previous row ended on: a row starts on the next
    try:
        for row in reader:
            if row and len(row) != fields and end > 0:
                return end + 1, f"the row on line {end + 1} has {len(row)} field{'s' * (len(row) != 1)}; the " \
                                f"header has {fields}", fix
            end = reader.line_num
    except csv.Error as exc:
        return end + 1, f"the row on line {end + 1} cannot be read as CSV ({exc})", fix
    return None


def blank_lines(content: bytes, delimiter: str) -> list[int]:
    """The lines a CSV reader finds empty rows on (DuckDB skips them; agate, dbt-postgres's reader, loads each as a
    row of NULLs); none when the file cannot be read as CSV."""
    rows = csv.reader(io.StringIO(content.decode("utf-8-sig", "replace"), newline=""), delimiter=delimiter)
    try:
        return [rows.line_num for row in rows if not row]
    except csv.Error:
        return []


def matching_values(content: bytes, delimiter: str, columns: list[int], match: Callable[[str], bool],
                    ) -> Iterator[tuple[int, int, str]]:
    """Each value in one of the `columns` (0-based positions) that `match`es, as (the line its row starts on, its
    column position, the value), in file order. The rows are assumed readable (bad_row)."""
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=delimiter)
    start = 1
    for n, row in enumerate(reader):
        if n > 0:
            for i in columns:
                if i < len(row) and match(row[i]):
                    yield start, i, row[i]
        start = reader.line_num + 1


def loadable_csv(content: bytes) -> bytes:
    """The CSV's bytes as a seed is compiled: without a UTF-8 byte order mark (dbt's readers, agate and DuckDB's
    COPY, skip it: the same header) and with LF line endings (lf_line_endings)."""
    return lf_line_endings(content.removeprefix(b"\xef\xbb\xbf"))


def lf_line_endings(content: bytes) -> bytes:
    """The CSV's bytes with every line ending outside a quoted field made LF (CRLF and CR): the same rows and
    values (a line ending inside quotes is data, kept), read the same from a Windows checkout, and loadable by
    DuckDB, whose reader refuses a file that mixes CRLF and LF lines. A `""` inside quotes toggles twice, so the
    parts between quote characters alternate outside, inside, outside..."""
    if b"\r" not in content:
        return content
    parts = content.split(b'"')
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return b'"'.join(parts)


def table(content: bytes, delimiter: str) -> tuple[list[str], list[list[str]]] | None:
    """The header (names folded to lower case, each once) and the rows (each as long as the header; blank lines
    left out), or None."""
    try:
        rows = [r for r in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=delimiter) if r]
    except (UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    head = [h.strip().lower() for h in rows[0]]
    if len(set(head)) != len(head) or any(len(r) != len(head) for r in rows[1:]):
        return None
    return head, rows[1:]
