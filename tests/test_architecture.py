"""Architecture checks: no import cycle in ``mailviz``, small modules, short functions.

Rules (issue 16, "one concept, one module"):

* **No import cycle.** Every ``import`` / ``from … import`` of a ``mailviz`` module counts —
  top-level *and* function-level (lazy) ones, since a lazy import still means the two modules
  need each other. Only imports under ``if TYPE_CHECKING:`` are left out: they never run and exist
  for annotations. ``from pkg import sub`` counts as an import of ``pkg.sub`` when ``sub`` is a
  module. A submodule's implicit dependency on its package's ``__init__`` is not an edge (Python
  imports the package first by design; an ``__init__`` that re-exports its submodules is fine).
* **Modules ≤ 400 lines** (``MAX_MODULE_LINES``).
* **Functions ≤ 80 lines** (``MAX_FUNCTION_LINES``), counted from ``def`` (decorators included)
  to the last line, *without* the docstring: the docstrings carry the papers' equations and are
  meant to be long. A longer function needs a ``# long: <reason>`` comment on its ``def`` line or
  on one of the two lines after it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mailviz"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
LONG_MARK = re.compile(r"#\s*long:\s*\S")


# ------------------------------------------------------------------------------------------------
# The checkers (pure functions, so the tests below can feed them synthetic input)
# ------------------------------------------------------------------------------------------------


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` file under ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterable[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree``, at any depth, except under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                stack.extend(child.orelse)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child
            stack.append(child)


def import_graph(sources: Mapping[str, str], root: str = "mailviz") -> dict[str, set[str]]:
    """Module → the modules of ``root`` it imports (see the module docstring for the rules).

    ``sources`` maps dotted module names (a package under its own name) to their source text.
    """
    packages = {m for m in sources if any(o.startswith(m + ".") for o in sources)}
    graph: dict[str, set[str]] = {}
    for name, text in sources.items():
        deps: set[str] = set()
        for node in _imports(ast.parse(text)):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = name.split(".")
                    if name not in packages:
                        base = base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                targets = [
                    f"{module}.{a.name}" if f"{module}.{a.name}" in sources else module
                    for a in node.names
                ]
            for target in targets:
                if not (target == root or target.startswith(root + ".")):
                    continue
                while target not in sources and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in sources and target != name:
                    deps.add(target)
        graph[name] = deps
    return graph


def import_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
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
                    cycles.append(sorted(component))
    return cycles


def oversized_module(text: str, limit: int = MAX_MODULE_LINES) -> int | None:
    """The line count of ``text`` when it exceeds ``limit``, else ``None``."""
    n = len(text.splitlines())
    return n if n > limit else None


def long_functions(text: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int, int]]:
    """``(name, line, length)`` of every function longer than ``limit`` without a ``# long:``."""
    lines = text.splitlines()
    out = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        start = min([d.lineno for d in node.decorator_list] + [node.lineno])
        length = node.end_lineno - start + 1
        first = node.body[0]
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):  # fmt: skip
            length -= first.end_lineno - first.lineno + 1
        if length <= limit:
            continue
        head = lines[node.lineno - 1 : node.lineno + 2]
        if any(LONG_MARK.search(line) for line in head):
            continue
        out.append((node.name, node.lineno, length))
    return out


# ------------------------------------------------------------------------------------------------
# The package obeys them
# ------------------------------------------------------------------------------------------------

SOURCES = {name: path.read_text(encoding="utf-8") for name, path in module_files().items()}


def test_no_import_cycle_in_mailviz() -> None:
    cycles = import_cycles(import_graph(SOURCES))
    assert not cycles, f"import cycles (break them, see README 'Layers'): {cycles}"


def test_modules_are_at_most_400_lines() -> None:
    found = {m: n for m, text in sorted(SOURCES.items()) if (n := oversized_module(text))}
    assert not found, f"modules over {MAX_MODULE_LINES} lines (split them by concept): {found}"


def test_functions_are_short_or_say_why() -> None:
    found = [
        f"{module}.{name} (line {line}: {length} lines)"
        for module, text in sorted(SOURCES.items())
        for name, line, length in long_functions(text)
    ]
    assert not found, (
        f"functions over {MAX_FUNCTION_LINES} lines (docstring excluded) without a "
        f"'# long: <reason>' comment: {found}"
    )


# ------------------------------------------------------------------------------------------------
# The checkers can fail
# ------------------------------------------------------------------------------------------------


def test_cycle_checker_finds_a_cycle_through_a_lazy_import() -> None:
    sources = {
        "mailviz": "",
        "mailviz.a": "from mailviz import b\n",
        "mailviz.b": "def f():\n    from mailviz.c import g\n",
        "mailviz.c": "from . import a\n",
        "mailviz.d": "import mailviz.a\n",
    }
    assert import_cycles(import_graph(sources)) == [["mailviz.a", "mailviz.b", "mailviz.c"]]


def test_cycle_checker_ignores_type_checking_imports_and_outside_packages() -> None:
    sources = {
        "mailviz": "",
        "mailviz.a": "import numpy\nfrom mailviz.b import x\n",
        "mailviz.b": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mailviz.a import y\n"
        ),
    }
    graph = import_graph(sources)
    assert graph["mailviz.a"] == {"mailviz.b"} and graph["mailviz.b"] == set()
    assert import_cycles(graph) == []


def test_cycle_checker_resolves_relative_imports_in_packages() -> None:
    sources = {
        "mailviz": "",
        "mailviz.pkg": "from .mod import f\n",
        "mailviz.pkg.mod": "from .. import other\n",
        "mailviz.other": "from mailviz.pkg import f\n",
    }
    assert import_graph(sources)["mailviz.pkg.mod"] == {"mailviz.other"}
    assert import_cycles(import_graph(sources)) == [
        ["mailviz.other", "mailviz.pkg", "mailviz.pkg.mod"]
    ]


def test_size_checks_flag_a_long_module_and_an_unmarked_long_function() -> None:
    assert oversized_module("x = 1\n" * 401) == 401
    assert oversized_module("x = 1\n" * 400) is None
    body = "".join(f"    x{i} = {i}\n" for i in range(85))
    long_fn = 'def f():\n    """Doc.\n\n    More doc.\n    """\n' + body
    assert long_functions(long_fn) == [("f", 1, 86)]
    assert long_functions("def f():  # long: a flat table of checks\n" + body) == []
    short = 'def g():\n    """' + "doc\n" * 100 + '    """\n    return 1\n'
    assert long_functions(short) == []


def test_every_module_says_what_it_holds() -> None:
    missing = [m for m, text in sorted(SOURCES.items()) if not ast.get_docstring(ast.parse(text))]
    assert not missing, f"modules without a docstring: {missing}"
