"""Plans for people: text for terminals (colour on a tty only) and markdown for the PR comment."""

from __future__ import annotations

import json
from collections.abc import Callable

from compiler.plan.model import SYMBOLS, Plan, ResourceChange

MARKER = "<!-- specops-plan -->"
MAX_MARKDOWN = 65_000
UNWRAPPED_LINES = 12
MAX_LISTED = 50

Style = Callable[..., str]


def _plain(text: str, **_: object) -> str:
    return text


def _value(v: object) -> str:
    text = json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= 100 else text[:97] + "..."


def _baseline(plan: Plan) -> str:
    b = plan.baseline
    if b.kind == "git":
        return f"git {b.ref}"
    if not b.lineage:
        return "nothing applied yet"
    return f"last apply (serial {b.serial})"


def _attr_lines(change: ResourceChange) -> list[str]:
    lines = []
    for c in change.changes:
        mark = "+" if c.before is None else "-" if c.after is None else "~"
        note = "  # forces replacement" if c.forces_replacement else ""
        lines.append(f"{mark} {c.path}: {_value(c.before)} -> {_value(c.after)}  [{c.category}]{note}")
    return lines


def _path(plan: Plan, impact_path: tuple[str, ...], category: str, work: str) -> str:
    parts = list(impact_path)
    actions = {c.address: c.action for c in plan.resource_changes}
    cause = actions.get(parts[0])
    if cause is None:
        parts[0] = f"{parts[0]} (pending)"
    else:
        parts[0] = f"{parts[0]} {SYMBOLS[cause]} {'new' if cause == 'create' else category}"
    parts[-1] = f"{parts[-1]} {work}" if len(parts) > 1 else f"{parts[-1]} ({work})"
    return " -> ".join(parts)


def render_text(plan: Plan, color: bool = False) -> str:
    import click

    style: Style = click.style if color else _plain
    colors = {"create": "green", "update": "yellow", "delete": "red", "replace": "magenta"}
    out = [style(f"specops plan · environment {plan.environment or 'all'} · baseline: {_baseline(plan)}", bold=True)]
    if plan.selection:
        out.append(f"(selection: {len(plan.selection)} resources; the plan is partial)")
    out.append("")
    if plan.resource_changes:
        out.append(style("Resource changes", bold=True))
        for c in plan.resource_changes:
            sym = SYMBOLS[c.action]
            head = f"  {sym:>3} {c.address}  [{c.category}]" + (f"  {c.file}" if c.file else "")
            out.append(style(head, fg=colors[c.action]))
            hidden = 0
            for line in _attr_lines(c):
                out.append(f"        {line}")
            if c.action == "update" and c.before and c.after:
                hidden = _count_leaves(c.after) - len(c.changes)
            if hidden > 0:
                out.append(f"        # ({hidden} unchanged attributes hidden)")
        out.append("")
    if plan.impacts:
        out.append(style("Impact across the graph", bold=True))
        for i in plan.impacts:
            out.append(f"  {i.work:<8} {i.address}")
            out.append(f"           {_path(plan, i.path, i.category, i.work)}")
            for note in i.notes:
                out.append(style(f"           note: {note}", fg="yellow"))
        out.append("")
    if plan.artifact_changes:
        out.append(style("Generated files", bold=True))
        for a in plan.artifact_changes:
            sym = SYMBOLS[a.action]
            out.append(style(f"  {sym:>3} {a.key}" + (f"  ({a.owner})" if a.owner else ""), fg=colors[a.action]))
            for line in a.diff.splitlines()[:40]:
                out.append(f"        {line}")
            if len(a.diff.splitlines()) > 40:
                out.append(f"        ... ({len(a.diff.splitlines()) - 40} more lines; see --format json)")
        out.append("")
    out.append(style(plan.summary_line(), bold=True))
    return "\n".join(out) + "\n"


def _count_leaves(value: object) -> int:
    if isinstance(value, dict):
        return sum(_count_leaves(v) for v in value.values()) or 1
    if isinstance(value, list):
        return sum(_count_leaves(v) for v in value) or 1
    return 1


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _details(summary: str, body: list[str], force: bool = False) -> list[str]:
    if not force and len(body) <= UNWRAPPED_LINES:
        return body
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>"]


def render_markdown(plan: Plan) -> str:
    """The sticky PR comment: summary and breaking/destroy items first, long sections collapsed."""
    head = [MARKER, f"### specops plan · `{plan.environment or 'all environments'}` · baseline: {_baseline(plan)}",
            "", f"**{plan.summary_line()}**", ""]
    danger = [c for c in plan.resource_changes if c.category == "breaking" or c.action in ("delete", "replace")]
    if danger:
        head.append("> [!WARNING]")
        head.append("> **Breaking changes and destroys**")
        for c in danger:
            reasons = "; ".join(f"`{a.path}`" for a in c.changes if a.category == "breaking")[:300]
            line = f"> - `{SYMBOLS[c.action]} {c.address}` {c.action}, {c.category}"
            head.append(line + (f": {reasons}" if reasons else ""))
            downstream = [i for i in plan.impacts if i.cause == c.address and i.address != c.address]
            if downstream:
                chain = max(downstream, key=lambda i: len(i.path))
                head.append(f">   - impact: {_md_escape(_path(plan, chain.path, chain.category, chain.work))}")
        head.append("")
    body: list[str] = []
    if plan.resource_changes:
        body += ["#### Resource changes", "", "| | address | action | category | changed |", "|---|---|---|---|---|"]
        for c in plan.resource_changes[:MAX_LISTED]:
            changed = ", ".join(f"`{a.path}`" for a in c.changes[:4]) + (" …" if len(c.changes) > 4 else "")
            body.append(f"| `{SYMBOLS[c.action]}` | `{c.address}` | {c.action} | {c.category} "
                        f"| {_md_escape(changed)} |")
        if len(plan.resource_changes) > MAX_LISTED:
            body.append(f"| | … {len(plan.resource_changes) - MAX_LISTED} more | | | |")
        body.append("")
        diff_lines: list[str] = []
        for c in plan.resource_changes:
            lines = _attr_lines(c)
            if lines:
                diff_lines += [f"# {c.address}", *lines, ""]
        if diff_lines:
            block = ["```diff", *diff_lines, "```"]
            body += _details("Attribute changes", block, force=len(diff_lines) > UNWRAPPED_LINES)
            body.append("")
    if plan.impacts:
        rows = [f"- **{i.work}** `{i.address}` ← {_md_escape(_path(plan, i.path, i.category, i.work))}"
                + "".join(f" _({_md_escape(n)})_" for n in i.notes) for i in plan.impacts]
        if len(rows) > MAX_LISTED:
            rows = [*rows[:MAX_LISTED], f"- … and {len(rows) - MAX_LISTED} more"]
        body += ["#### Impact across the graph", "", *_details(f"{len(plan.impacts)} downstream actions", rows), ""]
    if plan.artifact_changes:
        rows = []
        for a in plan.artifact_changes:
            rows.append(f"- `{SYMBOLS[a.action]} {a.key}`" + (f" ({a.owner})" if a.owner else ""))
        body += ["#### Generated files", "", *_details(f"{len(plan.artifact_changes)} files", rows), ""]
        diffs = []
        for a in plan.artifact_changes:
            if a.diff:
                diffs += [f"**`{a.key}`**", "```diff", a.diff.replace("```", "'''"), "```", ""]
        if diffs:
            body += _details("File diffs", diffs, force=True)
    text = "\n".join(head + body) + "\n"
    if len(text) > MAX_MARKDOWN:
        keep = "\n".join(head) + "\n"
        budget = MAX_MARKDOWN - len(keep) - 400
        middle = "\n".join(body)
        text = (keep + middle[: budget // 2] + "\n\n… **plan truncated** (full plan in the workflow's plan.json "
                "artifact) …\n\n" + middle[-budget // 2:] + "\n")
        if text.count("```") % 2:
            text += "```\n"
        text += "</details>\n" * max(0, text.count("<details>") - text.count("</details>"))
    return text


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=True, default=str) + "\n"
