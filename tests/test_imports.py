"""The package's layering, read from its source: every `import` of a medr1_cli module, at the top of a file
or inside a function (a function-level import still ties the two modules together; it only hides the
tie from the interpreter), must keep the layers top-down and form no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "medr1_cli"
LEAVES = {"medr1_cli.devices", "medr1_cli.errors", "medr1_cli.fsutil", "medr1_cli.layout", "medr1_cli.processes",
          "medr1_cli.recipe", "medr1_cli.suggest", "medr1_cli.yamlio"}
# (importer prefix, imported prefix) pairs that would turn the layers upside down
FORBIDDEN = [
    ("medr1_cli.data", "medr1_cli.evaluate"),
    ("medr1_cli.data", "medr1_cli.train"),
    ("medr1_cli.data", "medr1_cli.grade"),
    ("medr1_cli.evaluate", "medr1_cli.export"),
    ("medr1_cli.evaluate", "medr1_cli.train"),
    ("medr1_cli.", "medr1_cli.cli"),  # only the entry points (`medr1`, python -m medr1_cli) start the CLI
]
ENTRY_POINTS = {"medr1_cli.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported_modules(name: str) -> set[str]:
    """The medr1_cli modules `name` imports anywhere in its file ("from pkg import module" counts as module)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # imports under `if TYPE_CHECKING:` are for annotations only and never run
    typing_only = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node.test)
                   for statement in node.body for inner in ast.walk(statement)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # `import medr1_cli.models.tiny as t` names a module too
                target = target.rpartition(".")[0]
            # importing medr1_cli.models.tiny runs medr1_cli/models/__init__.py first: an edge to that package too
            for module in (target, *_parent_packages(target)):
                if module.startswith("medr1_cli.") and module != name and not name.startswith(f"{module}."):
                    found.add(module)
    return found


def _parent_packages(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(2, len(parts))]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


GRAPH = {name: imported_modules(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_imports_for_annotations_only_are_not_edges(tmp_path, monkeypatch):
    monkeypatch.setitem(MODULES, "medr1_cli.errors", tmp_path / "errors.py")
    (tmp_path / "errors.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from medr1_cli.config "
                                        "import Medr1Config\ndef f():\n    from medr1_cli import yamlio\n")
    assert imported_modules("medr1_cli.errors") == {"medr1_cli.yamlio"}


def test_the_cycle_finder_finds_a_cycle_through_three_modules():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_the_package_imports_itself_back_through_others():
    found = cycles(GRAPH)
    described = ["; ".join(f"{m} -> {', '.join(sorted(GRAPH[m] & set(c)))}" for m in c) for c in found]
    assert not found, "import cycles:\n" + "\n".join(described)


def test_the_layers_read_top_down():
    upside_down = sorted(f"{importer} imports {imported}" for importer, targets in GRAPH.items()
                         for imported in targets for low, high in FORBIDDEN
                         if importer.startswith(low) and imported.startswith(high) and importer not in ENTRY_POINTS)
    assert not upside_down, "\n".join(upside_down)


def test_leaves_import_only_leaves():
    for leaf in LEAVES & MODULES.keys():
        assert GRAPH[leaf] <= LEAVES, f"{leaf} imports {sorted(GRAPH[leaf] - LEAVES)}"
