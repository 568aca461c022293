"""Package layout rules, checked from the source with `ast` (nothing under affect_live is imported).

Imports between affect_live modules must form no cycle, at import time or later: a cycle makes
the result depend on which module is imported first, and breaks with a half-initialised module
the day someone moves an import. Imports inside functions stay allowed (lazy ones keep start-up
fast) but count like the others; only `if TYPE_CHECKING:` imports, which never run, do not. The
packages form layers (docs/architecture.md): each imports only from its own layer's packages' own
modules or from lower layers.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "affect_live"


def _module_files() -> dict[str, Path]:
    files = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    return files


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: top level, including if/try/with/class
    bodies, but not function bodies or the TYPE_CHECKING branch."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _import_time_nodes(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from _import_time_nodes(node.body)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The affect_live modules an import statement makes Python execute (explicitly named)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        # `from pkg import name` runs pkg.name too when name is a submodule
        names = [source] + [f"{source}.{alias.name}" for alias in node.names]
    found = set()
    for name in names:
        # `import a.b.c` also runs a.b; a module's own ancestors are already being imported
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i])
            if candidate in known and not module.startswith(candidate + "."):
                found.add(candidate)
    found.discard(module)
    return found


def _all_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that may ever run: import time and inside functions, not TYPE_CHECKING."""
    for node in body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _all_imports(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                yield from _all_imports([c for c in children if isinstance(c, ast.AST) and not isinstance(c, ast.expr)])
        if isinstance(node, ast.ExceptHandler):
            yield from _all_imports(node.body)


def import_graph(lazy: bool = False) -> dict[str, set[str]]:
    """Module -> the affect_live modules it imports: at import time, or (`lazy`) ever."""
    files = _module_files()
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in (_all_imports if lazy else _import_time_nodes)(tree.body):
            edges |= _targets(node, module, is_package, known)
        graph[module] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan, then a path inside)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)

    cycles = []
    for component in components:
        start = min(component)
        # breadth-first search back to start, staying inside the component: a shortest cycle
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in previous:
            following = []
            for node in frontier:
                for nxt in sorted(graph[node] & component):
                    if nxt not in previous:
                        previous[nxt] = node
                        following.append(nxt)
            frontier = following
        path = [start]
        while True:
            path.append(previous[path[-1]])
            if path[-1] == start:
                break
        cycles.append(path[::-1])
    return cycles


def test_find_cycles_reports_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_graph_sees_only_import_time_imports() -> None:
    graph = import_graph()
    assert "affect_live.errors" in graph["affect_live.cli.parser"]
    # cli imports the (heavy) commands inside main() only
    assert "affect_live.cli.commands" not in graph["affect_live.cli.parser"]


def test_no_import_cycles_between_modules() -> None:
    cycles = find_cycles(import_graph())
    report = "module-level import cycles:\n" + "\n".join("  " + " -> ".join(cycle) for cycle in cycles)
    if cycles:
        print(report)
    assert not cycles, report


def test_errors_is_a_standard_library_leaf() -> None:
    path = ROOT / PACKAGE / "errors.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):  # anywhere in the file, lazy imports included
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, "errors.py must not import relatively"
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top != PACKAGE, f"affect_live.errors imports {name}"
            assert top in sys.stdlib_module_names or top == "__future__", f"affect_live.errors imports {name}"


def test_nothing_in_the_package_imports_the_cli() -> None:
    """cli is the entry point and imports the commands lazily; an import back, even a lazy one
    inside a function, is the cycle errors.py exists to avoid. (`python -m affect_live` runs
    __main__, the other entry point, which may.)"""
    for module, path in _module_files().items():
        if module == f"{PACKAGE}.__main__" or module.startswith(f"{PACKAGE}.cli"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any(n == f"{PACKAGE}.cli" or n.startswith(f"{PACKAGE}.cli.") for n in names), f"{module} imports {PACKAGE}.cli (line {node.lineno})"
