"""The house rules, checked on the source (docs/conventions.md, "Layout"):

* no function over 60 lines, no module over 400;
* the package root holds at most 8 modules (leaf utilities); everything else lives in a package named
  for its concern;
* no import cycle between modules (imports inside functions included: a cycle hidden in a function
  is still a cycle of responsibilities);
* the results model (repbench.results: run records, seeds, checks, membership) imports nothing of the
  report that renders it, not even through another module;
* no package imports another package that imports it back (training/ and measure/, say): the
  packages stand in layers, as `farm-studio look` draws them;
* no module imports another module's private name (`from x import _helper`). A package may keep a
  private helper module for its own members (`from methods import _fuse`).

`python tests/test_layout.py` prints the longest function and the longest module.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("repbench", "methods")
MAX_FUNCTION_LINES = 60
MAX_ROOT_MODULES = 8
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


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every `from module import name` in the file, relative imports resolved;
    `import module` gives (module, "")."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            out += [(base, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names]
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a name that is a submodule counts as that module)."""
    names = {module_name(p): p for p in modules()}
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        for base, what in imports(path):
            target = f"{base}.{what}" if f"{base}.{what}" in names else base
            if target in names and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_package_root_holds_few_modules() -> None:
    root = sorted(p.name for p in (ROOT / "repbench").glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, f"{len(root)} modules at the package root: {', '.join(root)}"


def test_no_import_cycle() -> None:
    assert not cycles(import_graph()), f"import cycles: {cycles(import_graph())}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def package_of(module: str) -> str:
    """`repbench.report.tables.table2` -> `repbench.report`; a root module is its own package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "repbench" else parts[0]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        graph.setdefault(package_of(module), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(module))
    return graph


def test_the_packages_stand_in_layers() -> None:
    graph = package_graph()
    assert {"repbench.training", "repbench.measure", "repbench.results", "methods"} <= set(graph)
    assert not cycles(graph), f"packages importing each other: {cycles(graph)}"


def test_the_results_model_stands_below_the_report() -> None:
    graph = import_graph()
    results = [m for m in graph if m == "repbench.results" or m.startswith("repbench.results.")]
    assert len(results) >= 5, "the repbench.results modules were not found"
    bad = []
    for start in results:
        seen, todo = {start}, [start]
        while todo:
            for target in graph[todo.pop()] - seen:
                seen.add(target)
                todo.append(target)
        bad += [f"{start} reaches {t}" for t in sorted(seen) if t.startswith("repbench.report")]
    assert not bad, "; ".join(bad)


def test_no_module_imports_a_private_name() -> None:
    names = {module_name(p) for p in modules()}
    bad = []
    for path in modules():
        for base, what in imports(path):
            private = what.startswith("_") and not what.startswith("__")
            own_private_module = f"{base}.{what}" in names and module_name(path).startswith(base + ".")
            if private and base.split(".")[0] in PACKAGES and not own_private_module:
                bad.append(f"{module_name(path)} imports {base}.{what}")
    assert not bad, "; ".join(bad)


if __name__ == "__main__":
    import sys

    top = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    print("longest functions:", *(f"  {n:4d} {name}" for n, name in function_lengths()[:top]), sep="\n")
    print("longest modules:", *(f"  {n:4d} {name}" for n, name in module_lengths()[:top]), sep="\n")
