"""The README's Quick start is two commands, and CI runs the second one."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)]


def test_quick_start_has_exactly_two_one_line_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert "digestbot" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert quick_start_commands()[1] in ci.splitlines()


def test_quick_start_main_command_prints_a_digest(tmp_path: Path) -> None:
    # The digestbot steps of the first command, in a fresh data directory
    # (the venv and install steps are CI's own).
    steps = [shlex.split(step) for step in quick_start_commands()[0].split(" && ")]
    steps = [step for step in steps if step[0].endswith("/digestbot")]
    assert [step[1] for step in steps] == ["seed", "subscribe", "digest"]
    env = dict(os.environ, DIGESTBOT_DATA_DIR=str(tmp_path / "data"))
    for step in steps:
        result = subprocess.run([sys.executable, "-m", "bot", *step[1:]], capture_output=True,
                                text=True, env=env, cwd=ROOT, timeout=120)
        assert result.returncode == 0, result.stderr
    assert re.match(r"\d+ new papers for mri OR ct · \d{4}-\d\d-\d\d\n", result.stdout)
    assert "matched: mri OR ct" in result.stdout


def test_the_layout_section_names_every_package_of_the_tree() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    layout = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\s*([a-z_]+/)", layout, re.MULTILINE))
    packages = {p.parent.name + "/" for p in (ROOT / "bot").glob("*/__init__.py")}
    tops = {p.name + "/" for p in ROOT.iterdir()
            if p.is_dir() and not p.name.startswith(".") and p.name not in {"build"}
            and not p.name.endswith(".egg-info")}
    assert packages <= named, f"not in the README's Layout: {sorted(packages - named)}"
    assert tops <= named, f"not in the README's Layout: {sorted(tops - named)}"
    assert (ROOT / "docs" / "architecture.md").is_file()
