"""The ML core must import without Django so workers, scripts and benchmarks stay light."""

from __future__ import annotations

import ast
from pathlib import Path

ML_DIR = Path(__file__).resolve().parents[2] / "ml"
ALLOWED = {ML_DIR / "registry", ML_DIR / "tasks.py"}  # the Django app and the Celery tasks
FORBIDDEN = {"django", "apps", "rest_framework"}


def forbidden_imports(source: str, filename: str = "<string>") -> list[str]:
    """Top-level package names from FORBIDDEN that `source` imports, incl. import_module()."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    return found


def core_modules() -> list[Path]:
    return [
        path
        for path in sorted(ML_DIR.rglob("*.py"))
        if not any(path == allowed or allowed in path.parents for allowed in ALLOWED)
    ]


def test_checker_catches_django_imports() -> None:
    assert forbidden_imports("import django.conf")
    assert forbidden_imports("from apps.chat import models")
    assert forbidden_imports("def f():\n    from django.db import models\n")
    assert forbidden_imports("import importlib\nimportlib.import_module('django.conf')")
    assert not forbidden_imports("from ml.device import resolve_device\nimport numpy")
    assert not forbidden_imports("from . import apps")


def test_core_has_no_django_imports() -> None:
    modules = core_modules()
    assert ML_DIR / "device.py" in modules and ML_DIR / "embeddings" / "encoder.py" in modules
    assert not any("registry" in p.parts for p in modules)
    offenders = {
        str(path.relative_to(ML_DIR.parent)): hits
        for path in modules
        if (hits := forbidden_imports(path.read_text(encoding="utf-8"), str(path)))
    }
    assert not offenders, f"Django imported outside ml/registry and ml/tasks.py: {offenders}"


def test_nothing_under_ml_imports_the_apps() -> None:
    """Even the registry app and the tasks: the apps build on ml/, never the other way."""
    modules = sorted(ML_DIR.rglob("*.py"))
    assert ML_DIR / "registry" / "serving.py" in modules
    offenders = {
        str(path.relative_to(ML_DIR.parent)): apps_hits
        for path in modules
        if (
            apps_hits := [
                hit
                for hit in forbidden_imports(path.read_text(encoding="utf-8"), str(path))
                if hit.split(": ")[1].split(".")[0] == "apps"
            ]
        )
    }
    assert not offenders, f"ml/ imports the apps: {offenders}"
