"""Print the largest set of app packages that import each other in a cycle (docs/adr/0009).

Counts every `import app.x...` and `from app.x... import` in app/, per top-level package or
module of `app`. `python scripts/import_cycles.py [APP_DIR]` prints its size and members (1 means
none).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path


def package_edges(root: Path) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in root.rglob("*.py"):
        source = path.relative_to(root).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "app" and len(parts) > 1 and parts[1] != source:
                    if (root / parts[1]).is_dir() or (root / f"{parts[1]}.py").exists():
                        edges[source].add(parts[1])
    return edges


def largest_cycle(edges: dict[str, set[str]]) -> list[str]:
    """Tarjan's strongly connected components; the largest one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(set(edges) | {n for targets in edges.values() for n in targets}):
        if node not in index:
            visit(node)
    return max(components, key=len)


if __name__ == "__main__":
    app_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "app"
    cycle = largest_cycle(package_edges(app_dir))
    print(len(cycle), " ".join(cycle))
