"""Writes mypy stubs for the installed tensorrt_rtx into .harness-cache/stubs (the L1 proof level type-checks the
adapters against them). Two repairs of stubgen's output, nothing else is changed: a few pybind11 overloads have a
required parameter after defaulted ones, which is not valid Python (those parameters get a default marker); and the
module's own ``bool`` (a ``DataType`` member) shadows the builtin, turning every ``-> bool`` into Any (annotations
say ``builtins.bool``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

OUT = Path(".harness-cache/stubs")


def fix_line(line: str) -> str:
    m = re.match(r"^(\s*def \w+\()(.*)(\) -> .*)$", line)
    if not m or "= ..." not in m.group(2):
        return line
    params, seen_default, out = [p.strip() for p in m.group(2).split(", ")], False, []
    for p in params:
        if "=" in p:
            seen_default = True
        elif seen_default and not p.startswith("*") and p not in ("/",):
            p += " = ..."
        out.append(p)
    return m.group(1) + ", ".join(out) + m.group(3)


def main() -> int:
    subprocess.run([str(Path(sys.executable).with_name("stubgen")), "-q", "-p", "tensorrt_rtx_bindings", "-p", "tensorrt_rtx",
                    "-o", str(OUT)], check=True)
    for pyi in OUT.rglob("*.pyi"):
        lines = [fix_line(ln) for ln in pyi.read_text().splitlines()]
        if any(re.match(r"^\s*bool: ", ln) for ln in lines):
            lines = ["import builtins"] + [re.sub(r"(-> |: |\[|, )bool\b", r"\1builtins.bool", ln)
                                           if not re.match(r"^\s*bool: ", ln) else ln for ln in lines]
        pyi.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
