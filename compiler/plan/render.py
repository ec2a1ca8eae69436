"""Plans for people: text for terminals (colour on a tty only) and markdown for the PR comment."""

from __future__ import annotations

import json
from collections.abc import Callable

from compiler.plan.diff import AttrChange
from compiler.plan.impact import Impact
from compiler.plan.model import SYMBOLS, Plan, ResourceChange
from compiler.plan.spec_paths import spec_path

MARKER = "<!-- specops-plan -->"
MAX_MARKDOWN = 65_000
UNWRAPPED_LINES = 12
MAX_LISTED = 50
MAX_MOVES = 20  # retrains and rollouts listed (with their path) among the decisions
MAX_ERRORS = 10  # errors of an invalid base revision listed
MAX_SECTION = 20_000  # characters of attribute diffs shown before '… and N more'

Style = Callable[..., str]


def _plain(text: str, **_: object) -> str:
    return text


def _value(v: object) -> str:
    text = json.dumps(v, sort_keys=True, default=str, ensure_ascii=False)  # a reviewer reads é, not \u00e9
    return text if len(text) <= 100 else text[:97] + "..."


def _set_fields(value: object) -> object:
    """A mapping without the fields it leaves unset (null, false, empty), as a spec would be written, nor its
    name (the path shows it: spec.columns[name])."""
    if not isinstance(value, dict):
        return value
    return {k: v for k, v in value.items()
            if k != "name" and v is not False and not (v is None or (isinstance(v, str | list | dict) and not v))}


def _baseline(plan: Plan) -> str:
    b = plan.baseline
    if b.kind == "git":
        return f"git {b.ref}" + (f" ({b.sha[:12]})" if b.sha else "")
    if not b.lineage:
        return "nothing applied yet"
    return f"last apply (serial {b.serial})"


def _invalid_base(plan: Plan, item: str = "  {}") -> list[str]:
    """What a plan says when the base revision's specs do not validate (it compared with nothing there): a
    sentence, then the errors' places, each written as `item` says."""
    errors = plan.baseline.errors
    if plan.baseline.no_project:
        return [f"{plan.baseline.ref} has no {plan.baseline.no_project}, so this plan compares with nothing there: "
                "every resource is new (the project is new since that revision, or it was moved: its Project's "
                "repository.path says where it is)."]
    if not errors:
        return []
    more = [item.format(f"… and {len(errors) - MAX_ERRORS} more")] if len(errors) > MAX_ERRORS else []
    return [f"The specs at {plan.baseline.ref} do not validate ({len(errors)} error(s)), so this plan compares "
            "with nothing there: every resource is new. Run `specops validate` at that revision for the messages:",
            *(item.format(e) for e in errors[:MAX_ERRORS]), *more]


def _text_diff(before: str, after: str, indent: str = "    ") -> list[str]:
    """Long or multi-line text (SQL, descriptions) as a short unified diff instead of two cut values (in a
    markdown ```diff block, without `indent`: a diff line must start with its +, - or @)."""
    import difflib

    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), n=1, lineterm=""))[2:]
    more = [f"{indent}... ({len(lines) - 30} more lines)"] if len(lines) > 30 else []
    return [f"{indent}{ln}" for ln in lines[:30]] + more


def list_delta(before: object, after: object) -> str | None:
    """`+ a, - b` for two lists of plain values (None when they are not both such lists)."""
    if not (isinstance(before, list) and isinstance(after, list)):
        return None
    if any(isinstance(v, dict | list) for v in (*before, *after)):
        return None
    gone = [v for v in before if v not in after]
    new = [v for v in after if v not in before]
    if not gone and not new:
        return "(reordered)"
    return ", ".join([*(f"+ {_scalar(v)}" for v in new), *(f"- {_scalar(v)}" for v in gone)])


def _scalar(v: object) -> str:
    return v if isinstance(v, str) and v and v.strip() == v and "," not in v else json.dumps(v, default=str,
                                                                                           ensure_ascii=False)


def _spec_of(change: ResourceChange) -> object:
    return (change.after or change.before or {}).get("spec")


def _attr_summary(change: ResourceChange, c: AttrChange) -> str:
    """One attribute change in a few words: `spec.training.features: + txn_cnt_24h`."""
    path = spec_path(change.kind, c.path, _spec_of(change))
    if c.path.endswith(".content.sha256"):
        return f"{path}: changed (sha256 {str(c.before)[:12]} → {str(c.after)[:12]})"
    if c.reason:
        return f"{path}: {c.reason}"
    delta = list_delta(c.before, c.after)
    if delta is not None:
        return f"{path}: {delta}"
    if c.before is None:
        return f"+ {path}"
    if c.after is None:
        return f"- {path}"
    if isinstance(c.before, str) and isinstance(c.after, str) and len(c.before) + len(c.after) > 60:
        return f"{path}: changed"
    return f"{path}: {_value(c.before)} → {_value(c.after)}"


def _attr_lines(change: ResourceChange) -> list[str]:
    lines = []
    spec = _spec_of(change)
    for c in change.changes:
        mark = "+" if c.before is None else "-" if c.after is None else "~"
        where = spec_path(change.kind, c.path, spec)
        note = "  # forces replacement" if c.forces_replacement else ""
        why = f"  ({c.reason})" if c.reason else ""
        long_text = (isinstance(c.before, str) and isinstance(c.after, str)
                     and ("\n" in c.before + c.after or len(c.before) + len(c.after) > 160))
        delta = list_delta(c.before, c.after)
        if long_text:
            lines.append(f"{mark} {where}: (text changed)  [{c.category}]{why}{note}")
            lines += _text_diff(c.before, c.after)
        elif delta is not None:
            lines.append(f"{mark} {where}: {delta}  [{c.category}]{why}{note}")
        elif isinstance(c.before, dict) != isinstance(c.after, dict) and None in (c.before, c.after):
            # a whole element added or removed (a column, a check): what it says, not `null -> {...}`
            lines.append(f"{mark} {where}: {_value(_set_fields(c.after if c.before is None else c.before))}  "
                         f"[{c.category}]{why}{note}")
        else:
            lines.append(f"{mark} {where}: {_value(c.before)} -> {_value(c.after)}  "
                         f"[{c.category}]{why}{note}")
    return lines


def _cause(plan: Plan, step: str, address: str, category: str) -> str:
    """The first step of an impact chain: the changed resource (and column) with its action and category."""
    action = plan.action_of(address)
    if action is None:
        return f"{step} ({'--full-refresh' if plan.full_refresh else 'pending'})"
    return f"{step} {SYMBOLS[action]} {'new' if action == 'create' else category}"


CHAIN_ENDS = 4  # steps shown at each end of a longer impact chain (the JSON plan has them all)


def _chain(plan: Plan, impact: Impact) -> list[str]:
    """The steps of a chain, from the change to the resource, each with its column or how it reads it; in a
    deep DAG, the middle of a long one is counted instead of listed (the JSON plan has every step)."""
    steps = impact.steps()
    parts = [_cause(plan, steps[0], impact.path[0], impact.category), *steps[1:]]
    if len(parts) > 2 * CHAIN_ENDS + 1:
        parts = [*parts[:CHAIN_ENDS], f"({len(parts) - 2 * CHAIN_ENDS} more)", *parts[-CHAIN_ENDS:]]
    return parts


def _path(plan: Plan, impact: Impact) -> str:
    parts = _chain(plan, impact)
    parts[-1] = f"{parts[-1]} {impact.label}" if len(parts) > 1 else f"{parts[-1]} ({impact.label})"
    return " -> ".join(parts)


def _md_chain(plan: Plan, impact: Impact) -> str:
    """`dataset.a.col ~ breaking → transform.b (filter) → dataset.c → model.d`: from the change to the resource."""
    return " → ".join(_chain(plan, impact))


# what a destroy leaves in place (apply never drops data, nor deletes registered models)
LEFT_IN_PLACE = {
    "Dataset": "apply leaves its table in the warehouse (specops never drops data): drop it once nothing reads it",
    "Transform": "apply leaves the table or view it built in the warehouse (specops never drops data): drop it "
                 "once nothing reads it",
    "Model": "apply leaves its registered versions and aliases in the MLflow registry",
    "Deployment": "apply deletes its Kubernetes objects where the environment has a kube context",
    "Environment": "apply leaves its warehouse, registry and state as they are",
}


def left_in_place(change: ResourceChange) -> str | None:
    """What a destroy leaves in place, or who takes it over; what a transform that takes another's table over
    says of it."""
    if change.action == "delete" and change.taken_over_by:
        output = ((change.before or {}).get("spec") or {}).get("output")
        return (f"{change.taken_over_by} builds its table (dataset.{output}) now: apply leaves nothing behind, "
                "there is nothing to drop")
    if change.action == "delete":
        return change.left or LEFT_IN_PLACE.get(change.kind)
    if change.takes_over and change.renamed:
        return f"renamed from {change.takes_over}: the same query, inputs and output, nothing to rebuild"
    if change.takes_over:
        return f"takes over the table {change.takes_over} built (it is rebuilt by this transform's SQL)"
    return None


def unbuilt_lines(plan: Plan) -> list[str]:
    """What a selected plan reads that no apply built in its environment (Plan.unbuilt_reads), in words."""
    reads: dict[tuple[str, str], list[str]] = {}
    for work, output, dataset in plan.unbuilt_reads:
        reads.setdefault((work, output), []).append(dataset)
    return [f"{work} reads {', '.join(datasets)}, which no apply has built in {plan.environment} and the selection "
            f"leaves out: its dbt build would fail on a missing table (select +{output}, or "
            f"{' '.join(d.split('.', 1)[1] for d in datasets)} too)"
            for (work, output), datasets in sorted(reads.items())]


def left_pending_line(plan: Plan, shown: int = 10) -> str | None:
    """The work outside the selection that the selected changes cause (Plan.left_pending), in words."""
    items = [f"{i.label} {i.address}" for i in plan.left_pending]
    if not items:
        return None
    more = f", and {len(items) - shown} more" if len(items) > shown else ""
    return (f"{len(items)} impacted item(s) outside the selection will be left pending in the state, for the next "
            f"apply to do: {', '.join(items[:shown])}{more} (select them too to do them now)")


def render_text(plan: Plan, color: bool = False) -> str:
    import click

    style: Style = click.style if color else _plain
    colors = {"create": "green", "update": "yellow", "delete": "red", "replace": "magenta"}
    out = [style(f"specops plan · environment {plan.environment or 'all'} · baseline: {_baseline(plan)}", bold=True)]
    if plan.selection:
        out.append(f"(selection: {len(plan.selection)} resources; the plan is partial)")
        if plan.baseline.kind == "state" and not plan.baseline.lineage:  # as apply's runner does
            out.append("(the environment's first apply: it runs the selected work only; what that reads must "
                       "exist already, or be selected too: +name)")
        out += [f"note: {line}" for line in unbuilt_lines(plan)]
        if (line := left_pending_line(plan)) is not None:
            out.append(f"note: {line}")
    out.append("")
    out += [*_invalid_base(plan), ""] if plan.baseline.errors or plan.baseline.no_project else []
    if plan.resource_changes:
        out.append(style("Resource changes", bold=True))
        for c in plan.resource_changes:
            sym = SYMBOLS[c.action]
            head = f"  {sym:>3} {c.address}  [{c.category}]" + (f"  {c.file}" if c.file else "")
            out.append(style(head, fg=colors[c.action]))
            hidden = 0
            for line in _attr_lines(c):
                out.append(f"        {line}")
            if (left := left_in_place(c)) is not None:
                out.append(f"        # {left}")
            if c.action == "update" and c.before and c.after:
                hidden = _count_leaves(c.after) - len(c.changes)
            if hidden > 0:
                out.append(f"        # ({hidden} unchanged attributes hidden)")
        out.append("")
    if plan.impacts:
        out.append(style("Impact across the graph", bold=True))
        for i in plan.impacts:
            where = f"  (in {', '.join(i.environments)})" if i.environments else ""
            out.append(f"  {i.label:<8} {i.address}{where}")
            out.append(f"           {_path(plan, i)}")
            for note in i.notes:
                out.append(style(f"           note: {note}", fg="yellow"))
        out.append("")
    if plan.other_environments:
        out.append(style("Other environments", bold=True))
        for name, action in sorted(plan.other_environments.items()):
            out.append(style(f"  {SYMBOLS[action]:>3} environment.{name}  ({_other_env(plan, name, action)})",
                             fg=colors[action]))
        out.append("")
    if plan.artifact_changes:
        out.append(style("Generated files", bold=True))
        skipped = [a for a in plan.artifact_changes if a.not_diffed]
        for a in plan.artifact_changes:
            sym = SYMBOLS[a.action]
            out.append(style(f"  {sym:>3} {a.key}" + (f"  ({a.owner})" if a.owner else ""), fg=colors[a.action]))
            if a.not_diffed:
                continue
            for line in a.diff.splitlines()[:40]:
                out.append(f"        {line}")
            if len(a.diff.splitlines()) > 40:
                out.append(f"        ... ({len(a.diff.splitlines()) - 40} more lines; see --format json)")
        if skipped:
            out.append(f"  ({len(skipped)} updated files listed without their diff: "
                       f"{skipped[0].diff.strip('()').removeprefix('not diffed: ')})")
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


def _chains(plan: Plan) -> dict[str, Impact]:
    """The longest downstream impact of each directly changed resource (one pass, for big plans)."""
    out: dict[str, Impact] = {}
    for i in plan.impacts:
        if i.address != i.cause and (i.cause not in out or len(i.path) > len(out[i.cause].path)):
            out[i.cause] = i
    return out


def _fence(text: str) -> str:
    """User text inside a fenced block must not close it."""
    return text.replace("```", "'''")


def _cut(text: str, limit: int) -> str:
    """Text cut at a line boundary to fit `limit`, with open code fences and <details> closed."""
    notice = "\n… **plan truncated** (the full plan is in the workflow's plan.json artifact) …\n"
    text = text[: text.rfind("\n", 0, limit - len(notice) - 400) + 1]
    if text.count("```") % 2:
        text += "```\n"
    text += notice
    return text + "\n</details>\n" * max(0, text.count("<details>") - text.count("</details>"))


WORK_ORDER = ("retrain", "evaluate", "rollout", "rebuild", "reload", "rerun")


def _danger(plan: Plan) -> list[ResourceChange]:
    return [c for c in plan.resource_changes if c.category == "breaking" or c.action == "replace" or (
        c.action == "delete" and not (c.taken_over_by and c.category == "metadata"))]  # not a renamed transform


def _decisions(plan: Plan) -> tuple[list[str], set[str], set[str]]:
    """What a reviewer decides on: approvals, breaking changes and destroys (why), retrains and rollouts (each
    with the path that causes it). Also the resource changes and impacts shown, which are not shown again."""
    danger = _danger(plan)[:MAX_LISTED]
    moves = [i for i in plan.impacts if i.work in ("retrain", "evaluate", "rollout")]
    if not (danger or moves or plan.approvals):
        return [], set(), set()
    out = ["> [!WARNING]", "> **Needs a decision**"]
    if plan.approvals:
        out.append("> - **Approval required** in " + ", ".join(f"`{e}`" for e in plan.approvals)
                   + " (protection.required_approval)")
    for c in danger:  # the resource is not in the table below: its other changes are named here too
        why = "; ".join(_attr_summary(c, a) for a in c.changes if a.category == "breaking")
        also = "; ".join(f"{_attr_summary(c, a)} ({a.category})" for a in c.changes
                         if a.category != "breaking" and not a.path.endswith(".content.size"))
        line = f"> - `{SYMBOLS[c.action]} {c.address}` {c.action}, {c.category}"
        line += f": {_fence(_md_escape(_clip(why, 300)))}" if why else ""
        line += f" ({left})" if (left := left_in_place(c)) is not None else ""
        out.append(line + (f"; also {_fence(_md_escape(_clip(also, 300)))}" if also else ""))
    rest = len(_danger(plan)) - len(danger)
    if rest:
        out.append(f"> - … and {rest} more breaking changes or destroys (in the table below)")
    shown: set[str] = set()
    for work in ("retrain", "evaluate", "rollout"):
        items = [i for i in moves if i.work == work]
        for i in items[:MAX_MOVES]:
            out.append(f"> - **{work}** `{i.address}`{_md_where(i)}, via {_md_escape(_clip(_md_chain(plan, i), 400))}")
            shown.add(i.address)
        if len(items) > MAX_MOVES:
            out.append(f"> - … and {len(items) - MAX_MOVES} more to {work} (in the impact below)")
    return [*out, ""], {c.address for c in danger}, shown


def _md_where(impact: Impact) -> str:
    """` in `dev`, `prod``: where the work happens, in a plan of every environment."""
    return " in " + ", ".join(f"`{e}`" for e in impact.environments) if impact.environments else ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_markdown(plan: Plan) -> str:
    """The sticky PR comment: what a reviewer decides on first, then each change once, long sections collapsed.

    Lists stop at MAX_LISTED items and diffs at what fits, so the comment stays under MAX_MARKDOWN
    characters (GitHub refuses comments over 65,536) however big the plan is. Data files of restricted
    datasets and PII columns are summarised by counts and digests (compiler.plan.make), never shown.
    """
    decisions, listed, moved = _decisions(plan)
    head = [MARKER, f"### specops plan · `{plan.environment or 'all environments'}` · baseline: {_baseline(plan)}",
            "", *(["> [!WARNING]", *(f"> {line}" for line in _invalid_base(plan, "- `{}`")), ""]
                  if plan.baseline.errors or plan.baseline.no_project else []),
            f"**{plan.summary_line()}**", "", *decisions]
    body: list[str] = []
    others = [c for c in plan.resource_changes if c.address not in listed]
    if others:
        title = "Other resource changes" if listed else "Resource changes"
        body += [f"#### {title}", "", "| | address | action | category | what changed |", "|---|---|---|---|---|"]
        for c in others[:MAX_LISTED]:
            shown = [a for a in c.changes if not a.path.endswith(".content.size")]  # the digest says it
            changed = "; ".join(_attr_summary(c, a) for a in shown[:4])
            changed += " …" if len(shown) > 4 else ""
            if (left := left_in_place(c)) is not None and c.action != "update":
                changed = f"{changed}; {left}" if changed else left
            body.append(f"| `{SYMBOLS[c.action]}` | `{c.address}` | {c.action} | {c.category} "
                        f"| {_fence(_md_escape(_clip(changed, 400)))} |")
        if len(others) > MAX_LISTED:
            body.append(f"| | … {len(others) - MAX_LISTED} more | | | |")
        body.append("")
    if plan.resource_changes:
        diff_lines: list[str] = []
        size, left = 0, 0
        for c in plan.resource_changes:  # only what the table cannot show: long texts (SQL) as diffs
            texts = [a for a in c.changes if isinstance(a.before, str) and isinstance(a.after, str)
                     and ("\n" in a.before + a.after or len(a.before) + len(a.after) > 160)]
            lines = [f"# {c.address} {spec_path(c.kind, a.path, _spec_of(c))}" + (f" ({a.reason})" if a.reason else "")
                     for a in texts]
            lines = [line for a, title in zip(texts, lines, strict=True)
                     for line in (title, *_text_diff(a.before, a.after, indent=""), "")]
            if size > MAX_SECTION:
                left += bool(lines)
                continue
            size += sum(len(line) + 1 for line in lines)
            diff_lines += [_fence(line) for line in lines]
        if left:
            diff_lines.append(f"# … and {left} more changed texts (see the plan JSON)")
        if diff_lines:
            block = ["```diff", *diff_lines, "```"]
            body += _details("Text changes (SQL, descriptions)", block, force=len(diff_lines) > UNWRAPPED_LINES)
            body.append("")
    work = [i for i in plan.impacts if i.address not in moved]  # retrains and rollouts are above
    if work:
        ordered = sorted(work, key=lambda i: WORK_ORDER.index(i.work) if i.work in WORK_ORDER else 9)
        rows = [f"- **{i.label}** `{i.address}`{_md_where(i)}, via {_md_escape(_md_chain(plan, i))}"
                + "".join(f" _({_md_escape(n)})_" for n in i.notes) for i in ordered[:MAX_LISTED]]
        if len(work) > MAX_LISTED:
            rows.append(f"- … and {len(work) - MAX_LISTED} more")
        title = "Other work across the graph" if moved else "Impact across the graph"
        body += [f"#### {title}", "", *_details(f"{len(work)} downstream actions", rows), ""]
    if plan.other_environments:
        body += ["#### Other environments", "",
                 *(f"- `{SYMBOLS[action]} environment.{name}` ({_other_env(plan, name, action)})"
                   for name, action in sorted(plan.other_environments.items())), ""]
    if plan.artifact_changes:
        rows = [f"- `{SYMBOLS[a.action]} {a.key}`" + (f" ({a.owner})" if a.owner else "")
                for a in plan.artifact_changes[:MAX_LISTED]]
        if len(plan.artifact_changes) > MAX_LISTED:
            rows.append(f"- … and {len(plan.artifact_changes) - MAX_LISTED} more")
        body += ["#### Generated files", "", *_details(f"{len(plan.artifact_changes)} files", rows), ""]
        room = MAX_MARKDOWN - sum(len(line) + 1 for line in head + body) - 1_000
        diffs: list[str] = []
        with_diff = [a for a in plan.artifact_changes if a.diff and not a.not_diffed]
        for n, a in enumerate(with_diff):
            item = [f"**`{a.key}`**", "```diff", _fence(a.diff), "```", ""]
            cost = sum(len(line) + 1 for line in item)
            if cost > room:
                diffs.append(f"… and {len(with_diff) - n} more file diffs (see the plan JSON)")
                break
            room -= cost
            diffs += item
        if diffs:
            body += _details("File diffs", diffs, force=True)
    text = "\n".join(head + body) + "\n"
    return text if len(text) <= MAX_MARKDOWN else _cut(text, MAX_MARKDOWN)


def _other_env(plan: Plan, name: str, action: str) -> str:
    """What a plan of one environment says of another one the change adds, changes or removes."""
    if action == "delete":
        return f"removed: {LEFT_IN_PLACE['Environment']}"
    found = [a for a in plan.other_changes.get(name, []) if a != f"environment.{name}"]
    what = f" ({', '.join(found[:5])}{' …' if len(found) > 5 else ''})" if found and action == "update" else ""
    return f"{'new' if action == 'create' else 'changed'}{what}: its plan is `specops plan --env {name}`"


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=True, default=str) + "\n"
