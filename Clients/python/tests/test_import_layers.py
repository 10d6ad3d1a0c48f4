"""The package's modules form layers: each imports only modules below it, never one that imports it
back. In particular the session layers are events (bottom), then the session, then chat."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import laboratory_client

PACKAGE_DIR = Path(laboratory_client.__file__).resolve().parent
PACKAGE = "laboratory_client"


def module_names() -> list[str]:
    """Every module of the package, dotted (``laboratory_client.gui.app``), packages included."""
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join([PACKAGE, *parts]))
    return names


def source_path(module: str) -> Path:
    relative = Path(*module.split(".")[1:])
    package_init = PACKAGE_DIR / relative / "__init__.py"
    return package_init if package_init.exists() else (PACKAGE_DIR / relative).with_suffix(".py")


def imports_of(module: str, modules: set[str]) -> set[str]:
    """The package modules ``module`` imports anywhere in its source (top level, functions, and
    ``if TYPE_CHECKING:`` blocks alike: a type-only import is still a dependency)."""
    path = source_path(module)
    is_package = path.name == "__init__.py"
    # The package a relative import is resolved against.
    base = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            anchor = base[: len(base) - (node.level - 1)] if node.level else []
            stem = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from .chat import Chat` names the module chat; `from . import messages` names a module
            # per imported name.
            targets = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in modules and target != module}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = set(module_names())
    graph = {module: imports_of(module, modules) for module in modules}
    # A package's __init__ gathers its submodules for users; that a submodule is loaded through its
    # package is Python's doing, not a dependency of the submodule's, so packages are left out as
    # targets and kept as sources only.
    packages = {module for module in modules if source_path(module).name == "__init__.py"}
    return {module: targets - packages for module, targets in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as the list of modules along it, or ``None``."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return path[path.index(module) :] + [module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph[module]):
            if (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if (cycle := visit(module)) is not None:
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 10, graph  # the walk found the package
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_the_cycle_finder_finds_a_cycle():
    # The check above can fail: a graph with a loop is reported, with the loop.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_events_session_chat_are_layered():
    graph = import_graph()
    events, session, chat = (f"{PACKAGE}.{name}" for name in ("events", "session", "chat"))
    assert not graph[events] & {session, chat}
    assert events in graph[session] and chat not in graph[session]
    assert session in graph[chat] and events in graph[chat]


# Loads one module in a fresh interpreter without running the package's __init__ (which imports
# everything): only what the module itself imports is loaded. Prints the package modules loaded.
ALONE = """
import importlib, json, sys, types
package = types.ModuleType({package!r})
package.__path__ = [{path!r}]
sys.modules[{package!r}] = package
importlib.import_module({module!r})
print(json.dumps(sorted(name for name in sys.modules if name.startswith({package!r} + "."))))
"""


def load_alone(module: str) -> set[str]:
    code = ALONE.format(package=PACKAGE, path=str(PACKAGE_DIR), module=module)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"importing {module} alone failed:\n{run.stderr}"
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", [name for name in module_names() if name != PACKAGE])
def test_each_module_imports_alone_in_a_fresh_interpreter(module):
    loaded = load_alone(module)
    assert module in loaded
    # What loads is what the graph says the module needs, and no more (packages on the way aside).
    graph = import_graph()
    needed, stack = set(), [module]
    while stack:
        for target in graph[stack.pop()] - needed:
            needed.add(target)
            stack.append(target)
    packages = {name for name in loaded if source_path(name).name == "__init__.py"}
    assert loaded - packages - {module} <= needed, loaded


def test_events_alone_loads_neither_the_session_nor_chat():
    loaded = load_alone(f"{PACKAGE}.events")
    assert f"{PACKAGE}.session" not in loaded and f"{PACKAGE}.chat" not in loaded, loaded
    assert f"{PACKAGE}.chat" not in load_alone(f"{PACKAGE}.session")
