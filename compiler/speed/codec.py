"""A file's load outcome as bytes: what the cache keeps and what a worker process sends back.

marshal (plain tuples) instead of pickle: several times faster for parsed YAML. Each document stays
sealed (compiler.front.yamlparse.ParsedDocument.seal) until it is looked at, so decoding an outcome costs
little, and a document whose resource another process built is never decoded here at all. A value
marshal does not know falls back to pickle. `decode_outcome(encode_outcome(o)) == o` for every outcome.
"""

from __future__ import annotations

import marshal
import pickle

from compiler.front.load import Document, FileOutcome, FileResult
from compiler.front.yamlparse import ParsedDocument
from compiler.spec.diagnostics import Diagnostic


def encode_outcome(outcome: FileOutcome) -> bytes:
    """An outcome as marshal data (plain tuples): several times faster to send between processes than pickle."""
    found = outcome.found
    packed_found = None if found is None else (
        tuple((d.file, d.index, d.kind, d.name, d.parsed.line, d.parsed.col, d.parsed.seal())
              for d in found.documents),
        tuple(_diag_fields(d) for d in found.diagnostics), found.invalid, found.unloaded)
    packed = (outcome.rel, tuple(_diag_fields(d) for d in outcome.diagnostics), outcome.unloaded, packed_found,
              outcome.key)
    try:
        return b"m" + marshal.dumps(packed)
    except ValueError:  # a value marshal does not know: pickle keeps it as it is
        return b"p" + pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)


def decode_outcome(data: bytes) -> FileOutcome:
    if data[:1] == b"p":
        outcome = pickle.loads(data[1:])
        if not isinstance(outcome, FileOutcome):
            raise ValueError("not an outcome")
        return outcome
    rel, diags, unloaded, packed_found, key = marshal.loads(data[1:])
    found = None
    if packed_found is not None:
        docs, fdiags, invalid, funloaded = packed_found
        found = FileResult(
            tuple(Document(f, i, k, n, ParsedDocument.from_sealed(line, col, sealed))
                  for f, i, k, n, line, col, sealed in docs),
            tuple(Diagnostic(*d) for d in fdiags), frozenset(invalid), frozenset(funloaded))
    return FileOutcome(rel, tuple(Diagnostic(*d) for d in diags), frozenset(unloaded), found, key)


def _diag_fields(d: Diagnostic) -> tuple:
    return (d.code, d.message, d.file, d.line, d.col, d.address, d.hint, d.severity)
