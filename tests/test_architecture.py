"""The layout rules of docs/architecture.md, read from the source: they hold for code not written yet.

- no import cycle between modules of compiler/ (imports at module level; `if TYPE_CHECKING:` blocks are
  annotations only, and an import inside a function is a deliberate late binding, not a cycle of the layout);
- at most 15 top-level modules or packages in compiler/;
- the front end knows no cache: nothing in compiler/front imports compiler.speed;
- no module outside compiler/speed writes into an object's `__dict__` (frozen IR stays frozen);
- no module shadows a standard-library module by name.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

COMPILER = Path(__file__).resolve().parent.parent / "compiler"


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of compiler/."""
    found = {}
    for path in sorted(COMPILER.rglob("*.py")):
        parts = list(path.relative_to(COMPILER.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _top_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported (module body, and inside its if/try blocks)."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                pending += [*node.body, *node.orelse]
        elif isinstance(node, ast.Try):
            pending += [*node.body, *node.orelse, *node.finalbody, *(s for h in node.handlers for s in h.body)]


def import_graph() -> nx.DiGraph:
    mods = modules()

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph = nx.DiGraph()
    for name, path in mods.items():
        graph.add_node(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [owner(a.name) for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                targets = [owner(f"{base}.{a.name}") if f"{base}.{a.name}" in mods else owner(base)
                           for a in node.names]
            graph.add_edges_from((name, t) for t in targets if t and t != name)
    return graph


def test_the_import_graph_sees_the_imports() -> None:  # the checks below must be able to fail
    graph = import_graph()
    assert graph.has_edge("compiler.front.check", "compiler.spec.project")
    assert graph.number_of_edges() > 300


def test_no_import_cycles() -> None:
    cycles = sorted(" -> ".join([*c, c[0]]) for c in nx.simple_cycles(import_graph()))
    assert cycles == []


def test_at_most_15_top_level_modules_or_packages() -> None:
    top = sorted(p.name for p in COMPILER.iterdir() if (p.suffix == ".py" or (p / "__init__.py").exists()))
    assert len(top) <= 15, top


def test_the_front_end_knows_no_cache() -> None:
    graph = import_graph()
    front = [m for m in graph if m.startswith("compiler.front")]
    assert front
    leaks = sorted((m, t) for m in front for t in graph.successors(m) if t.startswith("compiler.speed"))
    assert leaks == []


def test_only_the_speed_package_writes_into_dict() -> None:
    writers = []
    for name, path in modules().items():
        if name.startswith("compiler.speed"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
                target = node.value if isinstance(node, ast.Subscript) else None
                if isinstance(target, ast.Attribute) and target.attr == "__dict__":
                    writers.append(f"{path}:{node.lineno}")
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("__dict__.update"):
                writers.append(f"{path}:{node.lineno}")
    assert writers == []


def test_no_module_shadows_the_standard_library() -> None:
    clashes = sorted(n for n in modules() if n.rpartition(".")[2] in sys.stdlib_module_names and n.count(".") == 1)
    assert clashes == []
