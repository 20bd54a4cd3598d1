"""The package's layout: wings that import only from wings below them, no import cycles, small modules and folders.

The order is the one the README's Development section shows. Imports are read with `ast`. For the order, a module-level
import under `if TYPE_CHECKING:` counts too: a type-only import across wings is still a dependency a reader follows.
For cycles it does not: it never runs, and a recursive type needs one (an `ErrorReply`'s delivery holds faults, and the
`http_error` fault answers with an `ErrorReply`: `faults` names `replies` for its annotations only).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import mockserver

PACKAGE = Path(mockserver.__file__).parent

# Bottom first: a wing may import from the wings before it, never from those after it.
WINGS = ("core", "faults", "engine", "render", "state", "checks", "proxy", "wire", "testing")
# The package's own top level: the entry points (`cli`, `pytest_plugin`, `__main__`, `__init__`) and the thin
# re-exports that keep the paths the README documents; these sit above every wing.
TOP_LEVEL = {"__init__", "__main__", "cli", "pytest_plugin", "models", "transport", "contract", "findings"}
TOP_LEVEL |= {"inprocess", "matchers"}
MAX_LINES = 500
MAX_MODULES_PER_FOLDER = 15


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _module_level_imports(name: str, path: Path, *, type_only: bool) -> set[str]:
    """The `mockserver` modules (or packages) that `name` imports outside its functions (`type_only`: with those under
    `if TYPE_CHECKING:`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    statements = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while statements:
        node = statements.pop()
        if isinstance(node, ast.If) and _type_checking(node) and not type_only:
            continue
        if isinstance(node, ast.If | ast.Try):
            statements.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [base] if node.module else [f"{base}.{alias.name}" for alias in node.names]
            found.update(targets)
    return {target for target in found if target == "mockserver" or target.startswith("mockserver.")}


def _wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in WINGS else None


def _import_graph(*, type_only: bool = True) -> dict[str, set[str]]:
    modules = dict(_modules())
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for target in _module_level_imports(name, path, type_only=type_only):
            # `from ..x import y` names a module or a name in one; keep the longest prefix that is a module.
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            if target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def test_every_module_is_in_a_wing_or_a_named_top_level_module() -> None:
    strays = [name for name, _ in _modules() if _wing(name) is None and name.split(".")[-1] not in TOP_LEVEL]
    assert strays in ([], ["mockserver"]), strays


def test_a_wing_imports_only_from_the_wings_below_it() -> None:
    wrong = []
    for name, targets in _import_graph().items():
        wing = _wing(name)
        if wing is None:
            continue
        for target in targets:
            below = _wing(target)
            if below is None or WINGS.index(below) > WINGS.index(wing):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_there_are_no_import_cycles() -> None:
    graph = _import_graph(type_only=False)
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_module_is_longer_than_the_limit() -> None:
    long = {name: lines for name, path in _modules() if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_folder_holds_more_than_the_limit() -> None:
    crowded = {}
    for folder in [PACKAGE, *(path for path in PACKAGE.rglob("*") if path.is_dir())]:
        count = len([path for path in folder.glob("*.py") if path.name != "__init__.py"])
        if count > MAX_MODULES_PER_FOLDER:
            crowded[str(folder.relative_to(PACKAGE.parent))] = count
    assert crowded == {}
