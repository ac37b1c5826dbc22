"""The README's examples run as written.

Given a fresh folder with the demo company in ``demo/`` (as ``make run`` and the README's
first command make it), when every ``tiering`` command and every Python block of the
README is run there, then each succeeds.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Each fenced block (kind, body), dedented: a block inside a list item is indented.
BLOCKS = [
    (kind, textwrap.dedent(body))
    for kind, body in re.findall(r"```(sh|python)\n(.*?)```", README, flags=re.S)
]
TIERING = str(Path(sys.executable).with_name("tiering"))


def _commands() -> list[str]:
    """The README's shell commands that call ``tiering`` (continuation lines joined)."""
    commands = []
    for kind, body in BLOCKS:
        if kind != "sh":
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("tiering "):
                commands.append(line)
    return commands


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", folder / "examples")
    return folder


def test_readme_has_examples():
    """Given the README, then it shows tiering commands and Python code to try."""
    assert len(_commands()) >= 4
    assert any(kind == "python" for kind, _ in BLOCKS)


def test_readme_commands_run(workdir: Path):
    """Given the demo folder, when each README command runs in order, then each exits 0."""
    for command in _commands():
        args = shlex.split(command)
        args[0] = TIERING
        if args[1] == "demo-data":  # the README's demo, kept small for the test
            args += ["--customers", "300"]
        done = subprocess.run(
            args, cwd=workdir, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


def test_readme_python_runs(workdir: Path):
    """Given the demo folder, when each README Python block runs, then it raises nothing."""
    if not (workdir / "demo" / "customers.xlsx").exists():
        test_readme_commands_run(workdir)
    for kind, body in BLOCKS:
        if kind == "python":
            done = subprocess.run(
                [sys.executable, "-c", body], cwd=workdir, capture_output=True, text=True
            )
            assert done.returncode == 0, f"{body}\n{done.stderr}"
