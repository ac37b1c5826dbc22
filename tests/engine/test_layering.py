"""The engine's layering: ``tiering`` never imports the web app or its framework (Django,
django-ninja), read from its source and checked again in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import tiering

FORBIDDEN = ("django", "tiering_web", "ninja")
PACKAGE = Path(tiering.__file__).parent
DYNAMIC = ("import_module", "__import__")


def _forbidden(name: str | None) -> bool:
    return name is not None and name.split(".", 1)[0] in FORBIDDEN


def forbidden_imports(source: str, filename: str) -> list[str]:
    """``"file:line: imports name"`` for each import of a :data:`FORBIDDEN` package in
    ``source``: ``import``, ``from ... import`` and ``importlib.import_module("...")`` or
    ``__import__("...")`` with the name written out."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                called in DYNAMIC
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                names = [first.value]
        found += [f"{filename}:{node.lineno}: imports {n}" for n in names if _forbidden(n)]
    return found


def engine_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_engine_source_imports_no_web_framework() -> None:
    """Given every module of src/tiering, when its imports are read from the source, then
    none is of django, tiering_web or ninja (each one found is named with file and line)."""
    files = engine_files()
    assert PACKAGE / "rules.py" in files and PACKAGE / "grading" / "pareto.py" in files
    found = []
    for path in files:
        name = path.relative_to(PACKAGE.parent.parent).as_posix()
        found += forbidden_imports(path.read_text(encoding="utf-8"), name)
    assert not found, "the engine must not import the web app:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import django", ["m.py:1: imports django"]),
        ("import os\nimport django.db.models as m", ["m.py:2: imports django.db.models"]),
        ("from ninja import Router", ["m.py:1: imports ninja"]),
        (
            "def f():\n    from tiering_web.customers import models",
            ["m.py:2: imports tiering_web.customers"],
        ),
        (
            "import importlib\nimportlib.import_module('django.conf')",
            ["m.py:2: imports django.conf"],
        ),
        ("__import__('tiering_web')", ["m.py:1: imports tiering_web"]),
        ("import djangoish, ninjas\nfrom . import django\nfrom tiering import web", []),
    ],
)
def test_the_check_finds_each_kind_of_import(source: str, expected: list[str]) -> None:
    """Given a module's source, when checked, then each import of a forbidden package is
    named with its line, and names that only look alike are not."""
    assert forbidden_imports(source, "m.py") == expected


def test_importing_every_engine_module_loads_no_django() -> None:
    """Given a fresh interpreter, when ``tiering`` and every one of its submodules is
    imported (but ``tiering.__main__``, which runs the command line), then neither Django,
    django-ninja nor the web app is in ``sys.modules``."""
    code = f"""
import importlib, pkgutil, sys
import tiering
names = [m.name for m in pkgutil.walk_packages(tiering.__path__, "tiering.")]
for name in names:
    if name.rsplit(".", 1)[-1] != "__main__":
        importlib.import_module(name)
print(len(names))
print(sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    count, loaded = done.stdout.strip().splitlines()
    # every file is a module walked, but tiering/__init__.py: the package imported first
    assert int(count) == len(engine_files()) - 1, "a module was not walked"
    assert loaded == "[]", f"importing the engine loaded {loaded}"
