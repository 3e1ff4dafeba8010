"""Size limits that keep the code readable: no function over 80 lines, no module over 400.

`python tests/test_layout.py` prints the longest function and the longest module.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("repbench", "methods")
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def module_lengths() -> list[tuple[int, str]]:
    return sorted(((len(p.read_text().splitlines()), str(p.relative_to(ROOT))) for p in modules()), reverse=True)


def function_lengths() -> list[tuple[int, str]]:
    out = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(ROOT)}:{node.name}"))
    return sorted(out, reverse=True)


def test_no_function_is_longer_than_the_limit() -> None:
    long = [f"{name} ({n} lines)" for n, name in function_lengths() if n > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"


def test_no_module_is_longer_than_the_limit() -> None:
    long = [f"{name} ({n} lines)" for n, name in module_lengths() if n > MAX_MODULE_LINES]
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {', '.join(long)}"


if __name__ == "__main__":
    import sys

    top = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    print("longest functions:", *(f"  {n:4d} {name}" for n, name in function_lengths()[:top]), sep="\n")
    print("longest modules:", *(f"  {n:4d} {name}" for n, name in module_lengths()[:top]), sep="\n")
