"""The engine's shape: a package that imports from anywhere, with no import circle."""

import ast
import subprocess
import sys
from pathlib import Path

import checker

ENGINE = Path(checker.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The engine's modules this one imports, at the top or inside a function:
    `from checker.a import b` is checker.a.b where b is a module, else checker.a."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                whole = f"{node.module}.{alias.name}"
                found.add(whole if whole in modules else node.module)
    return found & modules


def engine_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in ENGINE.rglob("*.py")}
    modules = set(paths)
    # A package's __init__ runs before any of its modules: importing checker.a.b imports
    # checker and checker.a too.
    graph = {name: imports(path, modules) for name, path in paths.items()}
    return {name: {d for d in deps if d != name} for name, deps in graph.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_engine_has_no_import_circle():
    found = circles(engine_graph())
    assert not found, "import circles in the engine: " + "; ".join(" ↔ ".join(c) for c in found)


def test_a_circle_is_found():
    # The finder itself can fail: a circle of three, and one through a function-level import.
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = "def later():\n    from checker.x import y\n"
    path = Path(__file__).with_name("_circle_probe.py")
    try:
        path.write_text(source, encoding="utf-8")
        assert imports(path, {"checker.x", "checker.x.y"}) == {"checker.x.y"}
    finally:
        path.unlink()


def test_the_engine_imports_from_any_folder(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import checker.command.cli, checker; print(checker.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == ENGINE / "__init__.py"


def test_every_engine_folder_is_a_package_with_a_docstring():
    for folder in [
        ENGINE,
        *(p for p in ENGINE.iterdir() if p.is_dir() and p.name != "__pycache__"),
    ]:
        init = folder / "__init__.py"
        assert init.is_file(), f"{folder} has no __init__.py"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), (
            f"{init}: no docstring"
        )
