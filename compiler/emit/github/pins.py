"""The one table of third-party GitHub Actions the generated workflows use, pinned to commits.

A tag can be moved; a 40-hex commit cannot, so every `uses:` names a commit and carries the
release it came from as a `# vX.Y.Z` comment (the form Dependabot and Renovate keep up to date).
PyYAML cannot write a comment after a value, so `annotate` adds them to the dumped text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pin:
    action: str  # owner/repo
    sha: str  # the full commit of the release
    version: str  # the release tag, written as the comment

    @property
    def ref(self) -> str:
        return f"{self.action}@{self.sha}"


# Commits checked against the actions' public release tags.
PINS: dict[str, Pin] = {p.action: p for p in (
    Pin("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    Pin("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    Pin("actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    Pin("actions/download-artifact", "d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    # actions/cache's restore and save sub-actions, at the commit of its v4.3.0 release
    Pin("actions/cache/restore", "0057852bfaa89a56745cba8c7296529d2fc39830", "v4.3.0"),
    Pin("actions/cache/save", "0057852bfaa89a56745cba8c7296529d2fc39830", "v4.3.0"),
    # the image job (compiler.emit.github.images): commits of the releases' tags in the actions' repositories
    Pin("docker/setup-buildx-action", "37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"),
    Pin("docker/login-action", "4907a6ddec9925e35a0a9e82d7399ccc52663121", "v4.1.0"),
    Pin("docker/build-push-action", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"),
)}

_SHA = re.compile(r"^[0-9a-f]{40}$")
_VERSION = re.compile(r"^v[0-9]+(\.[0-9]+)*$")
# a `uses:` line as PyYAML writes it: plain scalar, in a mapping or as a list item's first key
_USES_LINE = re.compile(r"^(?P<lead> *(?:- )?uses: )(?P<value>\S+)$")


def uses(action: str) -> str:
    """The `uses:` value for an action of the table (KeyError for any other action)."""
    return PINS[action].ref


def annotate(text: str) -> str:
    """Append `# <version>` to every `uses:` line; fail on a `uses:` that is not a pin of the table.

    Only whole lines of the exact form `uses: owner/repo@<sha>` are touched, so no other value
    (a `run:` script mentioning an action, say) can ever gain a comment.
    """
    by_ref = {p.ref: p for p in PINS.values()}
    out: list[str] = []
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        if stripped.startswith(("uses:", "- uses:")):
            m = _USES_LINE.match(line)
            if m is None or m["value"] not in by_ref:
                raise ValueError(f"`{stripped}` is not one of the pinned actions of compiler.emit.github.pins")
            line = f"{m['lead']}{m['value']} # {by_ref[m['value']].version}"
        out.append(line)
    return "\n".join(out)


def _check_table() -> None:
    for name, pin in PINS.items():
        if name != pin.action or not _SHA.match(pin.sha) or not _VERSION.match(pin.version):
            raise ValueError(f"bad pin for {name}: {pin}")


_check_table()
