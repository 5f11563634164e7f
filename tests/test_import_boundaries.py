"""The layering holds: ml/ knows no app, apps know only apps.core and ml, no module cycles.

Every module under apps/, ml/ and config/ is parsed with `ast`, imports inside functions
included (a lazy import is still a dependency, it only hides the cycle until run time). Each
checker is run once on a synthetic tree that breaks its rule, so a broken checker fails here
instead of passing everything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("apps", "ml", "config")
# Only ml/registry (a Django app) and ml/tasks.py (Celery) may know the frameworks; the rest
# of ml/ (embeddings, index, training, serving, ...) takes and returns plain values.
ML_DJANGO_AWARE = ("ml.registry", "ml.tasks")
FRAMEWORKS = {"django", "rest_framework", "channels", "celery"}
SHARED_APPS = ("apps.core",)

# Import edges left out of the cycle check for now, each naming the change that removes it. The
# integrator deletes an entry once that change lands; the test then holds the boundary for good.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()  # none: every cycle is a failure


@dataclass(frozen=True)
class Import:
    """One import statement (or import_module call) of a module, resolved to a dotted name."""

    target: str  # the module imported, or `package.name` for `from package import name`
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_files(root: Path, top_packages: Iterable[str] = SCANNED) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under the given top-level packages."""
    return {
        module_name(path, root): path
        for top in top_packages
        for path in sorted((root / top).rglob("*.py"))
        if "migrations" not in path.parts
    }


def imports_of(
    source: str, module: str, is_package: bool, filename: str = "<string>"
) -> list[Import]:
    """Every import in `source`, at any depth, relative ones made absolute.

    `from pkg import name` yields `pkg.name`; whether that is a module or an attribute of
    `pkg` is decided against the module list by `resolve`.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found += [Import(f"{base}.{alias.name}", node.lineno) for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Import(node.args[0].value, node.lineno))
    return found


def resolve(target: str, modules: Iterable[str]) -> str | None:
    """The scanned module that importing `target` executes: the longest module prefix.

    `apps.chat.services.entry_create` (a re-export) resolves to the package
    `apps.chat.services`; `apps.chat.services.knowledge` to that submodule.
    """
    known = set(modules)
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def import_graph(root: Path, top_packages: Iterable[str] = SCANNED) -> dict[str, dict[str, int]]:
    """Module -> {imported scanned module: first line}; parents are not implied edges."""
    files = module_files(root, top_packages)
    graph: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        edges: dict[str, int] = {}
        source = path.read_text(encoding="utf-8")
        for imp in imports_of(source, name, path.name == "__init__.py", str(path)):
            target = resolve(imp.target, files)
            if target and target != name:
                edges.setdefault(target, imp.line)
        graph[name] = edges
    return graph


def raw_imports(root: Path, top_packages: Iterable[str] = SCANNED) -> dict[str, list[Import]]:
    files = module_files(root, top_packages)
    return {
        name: imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
        for name, path in files.items()
    }


def _within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def ml_app_imports(root: Path) -> list[str]:
    """`ml/` module: line: target, for every import of `apps` under ml/."""
    return [
        f"{module}:{imp.line}: {imp.target}"
        for module, found in raw_imports(root, ["ml"]).items()
        for imp in found
        if _within(imp.target, ["apps"])
    ]


def ml_framework_imports(root: Path) -> list[str]:
    """Framework imports (django, DRF, channels, celery) in the framework-free ml packages."""
    return [
        f"{module}:{imp.line}: {imp.target}"
        for module, found in raw_imports(root, ["ml"]).items()
        if not _within(module, ML_DJANGO_AWARE)
        for imp in found
        if imp.target.split(".")[0] in FRAMEWORKS
    ]


def cross_app_imports(root: Path) -> list[str]:
    """An app importing another app (anything but itself, the shared apps and ml)."""
    offences = []
    for module, found in raw_imports(root, ["apps"]).items():
        own_app = ".".join(module.split(".")[:2])
        allowed = (own_app, *SHARED_APPS)
        offences += [
            f"{module}:{imp.line}: {imp.target}"
            for imp in found
            if _within(imp.target, ["apps"]) and not _within(imp.target, allowed)
        ]
    return offences


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        # Iterative Tarjan: (node, iterator over its successors) frames on an explicit stack.
        work = [(node, iter(sorted(graph.get(node, {}))))]
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        while work:
            current, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, {})))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[current] = min(low[current], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def describe_cycle(component: list[str], graph: dict[str, dict[str, int]]) -> str:
    """One concrete loop through the component, with the line of each import."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    while True:
        here = path[-1]
        nexts = sorted(t for t in graph[here] if t in members)
        back = start if start in nexts and len(path) > 1 else None
        step = back or next((t for t in nexts if t not in seen), None) or nexts[0]
        path.append(step)
        if step in seen:
            break
        seen.add(step)
    loop = path[path.index(path[-1]) :]
    steps = [f"{a} (line {graph[a][b]})" for a, b in zip(loop, loop[1:], strict=False)]
    return " -> ".join([*steps, loop[-1]])


# --- the checkers fail on a tree that breaks each rule ----------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        {
            "apps/__init__.py": "",
            "apps/core/__init__.py": "",
            "apps/core/util.py": "import ml.device\n",
            "apps/shop/__init__.py": "",
            "apps/shop/models.py": "from apps.core import util\nfrom . import views\n",
            "apps/shop/views.py": "def f():\n    from apps.blog.models import Post\n",
            "apps/blog/__init__.py": "",
            "apps/blog/models.py": "from ..blog import api\n",
            "apps/blog/api.py": "from apps.blog.services import entry_create\n",
            "apps/blog/services/__init__.py": "from .writes import entry_create\n",
            "apps/blog/services/writes.py": "def f():\n    from apps.blog import api\n",
            "ml/__init__.py": "",
            "ml/device.py": "import torch\n",
            "ml/serving/__init__.py": "",
            "ml/serving/cache.py": "def f():\n    import django.conf\n",
            "ml/registry/__init__.py": "",
            "ml/registry/admin.py": "from django.contrib import admin\n",
            "ml/registry/services.py": "def f():\n    from ml import tasks\n",
            "ml/tasks.py": "import importlib\nimportlib.import_module('apps.shop.models')\n"
            "from ml.registry.services import f\n",
            "config/__init__.py": "",
        },
    )
    return tmp_path


def test_checkers_catch_a_tree_that_breaks_every_rule(bad_tree: Path) -> None:
    assert ml_app_imports(bad_tree) == ["ml.tasks:2: apps.shop.models"]
    assert ml_framework_imports(bad_tree) == ["ml.serving.cache:2: django.conf"]
    assert cross_app_imports(bad_tree) == ["apps.shop.views:2: apps.blog.models.Post"]
    graph = import_graph(bad_tree)
    assert graph["apps.blog.models"] == {"apps.blog.api": 1}  # relative import resolved
    assert graph["apps.shop.models"] == {"apps.core.util": 1, "apps.shop.views": 2}
    # a lazy import closes the loop through a package's re-export; `from ml import tasks`
    # names the module ml.tasks, not the package ml
    assert import_cycles(graph) == [
        ["apps.blog.api", "apps.blog.services", "apps.blog.services.writes"],
        ["ml.registry.services", "ml.tasks"],
    ]
    assert describe_cycle(["ml.registry.services", "ml.tasks"], graph) == (
        "ml.registry.services (line 2) -> ml.tasks (line 3) -> ml.registry.services"
    )


def test_checkers_pass_a_clean_tree(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "apps/__init__.py": "",
            "apps/core/__init__.py": "",
            "apps/shop/__init__.py": "",
            "apps/shop/models.py": "from apps.core import x\nimport ml.device\n",
            "ml/__init__.py": "",
            "ml/device.py": "import numpy\nfrom . import errors\n",
            "ml/errors.py": "",
            "ml/tasks.py": "from celery import shared_task\n",
        },
    )
    assert not ml_app_imports(tmp_path)
    assert not ml_framework_imports(tmp_path)
    assert not cross_app_imports(tmp_path)
    assert import_cycles(import_graph(tmp_path)) == []


# --- the rules on the real tree ---------------------------------------------------------------


def test_the_scan_sees_the_whole_tree() -> None:
    graph = import_graph(ROOT)
    for module in ("ml.embeddings.encoder", "ml.tasks", "apps.chat.services", "config.settings"):
        assert module in graph
    assert "apps.chat.kb_index" in graph["apps.chat.services.knowledge"]


def test_nothing_under_ml_imports_the_apps() -> None:
    """Even the registry app and the tasks: the apps build on ml/, never the other way."""
    offences = ml_app_imports(ROOT)
    assert not offences, f"ml/ imports the apps: {offences}"


def test_ml_core_imports_no_framework() -> None:
    """Workers, scripts and benchmarks load the core without Django or Celery."""
    offences = ml_framework_imports(ROOT)
    assert not offences, f"framework imported outside ml/registry and ml/tasks.py: {offences}"


def test_apps_import_only_themselves_the_core_apps_and_ml() -> None:
    offences = cross_app_imports(ROOT)
    assert not offences, f"an app imports another app: {offences}"


def test_no_import_cycles_even_through_lazy_imports() -> None:
    graph = import_graph(ROOT)
    for importer, imported in KNOWN_CYCLE_EDGES:
        graph.get(importer, {}).pop(imported, None)
    cycles = import_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(describe_cycle(c, graph) for c in cycles)
