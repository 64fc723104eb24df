"""The product stands alone: no file of the repository refers to a path outside it, and every command the
README shows runs in the project's environment."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = ("../" + "shared", "../" + "seeds")  # spelled in two parts so this file does not match itself
SKIP_DIRS = {".git", ".venv", ".harness-cache", "out", "__pycache__", ".mypy_cache", ".ruff_cache"}


def _repo_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30)
        return [ROOT / p for p in out.stdout.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an unpacked archive): walk the tree
        return [p for p in ROOT.rglob("*") if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)]


def outside_references(files: list[Path]) -> list[str]:
    hits = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary fixtures
        for n, line in enumerate(text.splitlines(), 1):
            hits += [f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}" for ref in OUTSIDE if ref in line]
    return hits


def test_no_file_refers_outside_the_repository():
    files = _repo_files()
    assert len(files) > 50
    hits = outside_references(files)
    assert not hits, "replace each with an in-repo reference (docs/behaviour.md#anchor):\n" + "\n".join(hits)


def test_the_check_flags_an_outside_reference(tmp_path):
    """Negative control: a file citing the outside path is reported with its line."""
    bad = ROOT / "tests" / f".tmp-outside-{tmp_path.name}.md"
    bad.write_text("ok\nsee " + OUTSIDE[0] + "/spec/x.md\n")
    try:
        hits = outside_references([bad])
    finally:
        bad.unlink()
    assert len(hits) == 1 and hits[0].endswith(":2: see " + OUTSIDE[0] + "/spec/x.md")


def test_readme_commands_use_the_project_environment():
    """Every ``python -m`` / ``pytest`` command in a code span or block of the README names .venv/bin/."""
    readme = (ROOT / "README.md").read_text()
    code = re.findall(r"```\n(.*?)```", readme, flags=re.S) + re.findall(r"`([^`\n]+)`", readme)
    commands = [ln for block in code for ln in block.splitlines()
                if re.search(r"(^|\s)(python3?|pytest)(\s|$)|python -m", ln)]
    assert commands, "no command found in README.md"
    bare = [c for c in commands if re.search(r"(^|[\s(])(python3?|pytest)\b", c) and ".venv/bin/" not in c]
    assert not bare, f"README commands outside .venv: {bare}"
