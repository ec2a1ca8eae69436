"""The dependency graph of a spec repository: a small domain class over networkx.

Nodes are resource addresses (`dataset.orders`); edges run from what is read to what reads it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

import networkx as nx


class SpecGraph:
    """Addresses and their dependencies, with deterministic traversal orders."""

    def __init__(self) -> None:
        self._g: nx.DiGraph = nx.DiGraph()
        self._rank: dict[str, int] | None = None  # memo of rank(); cleared by any change

    # --- construction ------------------------------------------------------------------------

    def add_node(self, address: str) -> None:
        self._g.add_node(address)
        self._rank = None

    def add_edge(self, upstream: str, downstream: str) -> None:
        self._g.add_edge(upstream, downstream)
        self._rank = None

    # --- queries -----------------------------------------------------------------------------

    def __contains__(self, address: object) -> bool:
        return address in self._g

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    @property
    def nodes(self) -> list[str]:
        return sorted(self._g.nodes)

    @property
    def edges(self) -> list[tuple[str, str]]:
        return sorted(self._g.edges)

    def parents(self, address: str) -> list[str]:
        return sorted(self._g.predecessors(address))

    def children(self, address: str) -> list[str]:
        return sorted(self._g.successors(address))

    def upstream(self, address: str, depth: int | None = None, free: Callable[[str, str], bool] | None = None
                 ) -> set[str]:
        """Every ancestor (within `depth` hops when given; a hop between two nodes `free` accepts counts 0)."""
        if depth is not None and free is not None:
            return self._weighted(address, self._g.predecessors, depth, free)
        return self._walk(address, self._g.predecessors, depth)

    def downstream(self, address: str, depth: int | None = None, free: Callable[[str, str], bool] | None = None
                   ) -> set[str]:
        """Every descendant (within `depth` hops when given; a hop between two nodes `free` accepts counts 0)."""
        if depth is not None and free is not None:
            return self._weighted(address, self._g.successors, depth, free)
        return self._walk(address, self._g.successors, depth)

    @staticmethod
    def _weighted(start: str, step, depth: int, free: Callable[[str, str], bool]) -> set[str]:
        """The nodes within `depth` of `start`, a hop costing 0 or 1 (a 0-1 breadth-first search)."""
        best = {start: 0}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for other in step(node):
                cost = best[node] + (0 if free(node, other) else 1)
                if cost <= depth and cost < best.get(other, depth + 1):
                    best[other] = cost
                    if cost == best[node]:
                        queue.appendleft(other)
                    else:
                        queue.append(other)
        best.pop(start)
        return set(best)

    def _walk(self, start: str, step, depth: int | None) -> set[str]:
        seen: set[str] = set()
        frontier = [start]
        level = 0
        while frontier and (depth is None or level < depth):
            nxt = []
            for node in frontier:
                for other in step(node):
                    if other not in seen:
                        seen.add(other)
                        nxt.append(other)
            frontier = nxt
            level += 1
        seen.discard(start)
        return seen

    def rank(self) -> dict[str, int]:
        """Each address's place in `topological()` (computed once: a plan sorts by it more than once)."""
        if self._rank is None:
            self._rank = {a: n for n, a in enumerate(self.topological())}
        return self._rank

    def topological(self, subset: Iterable[str] | None = None) -> list[str]:
        """Dependencies first, ties broken by address: the same order on every run."""
        graph = self._g if subset is None else self._g.subgraph(set(subset))
        return list(nx.lexicographical_topological_sort(graph))

    def cycles(self) -> list[list[str]]:
        """One cycle per strongly connected component, each starting at its smallest address."""
        found = []
        for component in sorted(nx.strongly_connected_components(self._g), key=min):
            if len(component) == 1:
                node = next(iter(component))
                if not self._g.has_edge(node, node):
                    continue
            sub = self._g.subgraph(component)
            start = min(component)
            cycle = [u for u, _ in nx.find_cycle(sub, source=start)]
            pivot = cycle.index(min(cycle))
            found.append(cycle[pivot:] + cycle[:pivot])
        return found

    def paths_from(self, start: str, end: str) -> Iterator[list[str]]:
        """Shortest path first (deterministically) from `start` to `end`."""
        if start == end:
            yield [start]
            return
        try:
            yield from sorted(nx.all_shortest_paths(self._g, start, end))
        except nx.NetworkXNoPath:
            return

    def shortest_path(self, start: str, end: str) -> list[str] | None:
        return next(self.paths_from(start, end), None)
