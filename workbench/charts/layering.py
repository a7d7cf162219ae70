"""Columns for a left-to-right diagram: the longest path from the roots, cycles ignored.

State diagrams (:mod:`workbench.charts.statemachine`) and system maps
(:mod:`workbench.systems.map`) place each node in the column of its longest
path from a root; an edge that closes a cycle (found depth-first from the
roots) does not push its target right.

>>> longest_path_columns(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a")], roots=["a"])
{'a': 0, 'b': 1, 'c': 2}
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["longest_path_columns"]


def longest_path_columns(
    nodes: list[str], edges: Iterable[tuple[str, str]], roots: Iterable[str] = ()
) -> dict[str, int]:
    """Each node's column: its longest path from ``roots`` (then any node), back edges ignored."""
    out: dict[str, list[str]] = {node: [] for node in nodes}
    for source, target in edges:
        if target not in out[source]:
            out[source].append(target)
    back: set[tuple[str, str]] = set()
    seen: set[str] = set()
    on_path: list[str] = []

    def visit(node: str) -> None:  # depth-first, marking the edges that close a cycle
        seen.add(node)
        on_path.append(node)
        for nxt in out[node]:
            if nxt in on_path:
                back.add((node, nxt))
            elif nxt not in seen:
                visit(nxt)
        on_path.pop()

    for root in [*roots, *nodes]:
        if root not in seen:
            visit(root)
    depth = dict.fromkeys(nodes, 0)
    for _ in nodes:  # relax (no cycles left): the longest path
        changed = False
        for source, targets in out.items():
            for target in targets:
                forward = (source, target) not in back and source != target
                if forward and depth[target] < depth[source] + 1:
                    depth[target] = depth[source] + 1
                    changed = True
        if not changed:
            break
    return depth
