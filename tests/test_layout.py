"""The layout a newcomer relies on: parts grouped by domain, each package saying what it owns,
and no import circle (every import counted, including those inside functions)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.config import ROOT

PACKAGES = ("bot", "ivr", "console")  # ivr/ and console/ join when they exist
MAX_LOOSE = 12  # modules directly in bot/ (the bound): the rest live in packages


def modules() -> dict[str, Path]:
    found = {}
    for top in PACKAGES:
        for path in (ROOT / top).rglob("*.py") if (ROOT / top).is_dir() else ():
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _runs(node: ast.AST):
    """Every node that runs when the module is imported or its functions are called: all of
    them but what sits under `if TYPE_CHECKING:` (annotations only)."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
            for other in child.orelse:
                yield from _runs(other)
            continue
        yield from _runs(child)


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports. `from pkg import mod` counts as importing pkg.mod;
    importing a.b.c also runs the __init__ of every package on the way that `name` is not
    itself inside; `importlib.import_module("...")` with a literal name counts too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in _runs(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & set(known)
            targets |= subs
            if len(subs) < len(node.names):
                targets.add(target)
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__")):
            targets.add(node.args[0].value)
    inside = set(_ancestors(name)) | {name}
    out = set()
    for t in targets:
        out |= {m for m in [t, *_ancestors(t)] if m in known and m not in inside}
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_there_is_no_import_circle():
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_the_runtime_builds_reaches_back_into_it():
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    seen, todo = set(), list(graph["bot.runtime"])
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph[m])
    assert "bot.runtime" not in seen


def _unit(module: str) -> str:
    """The package or loose module directly under bot/ that a module belongs to; a top-level
    package (ivr/) is one unit."""
    return ".".join(module.split(".")[:2]) if module.startswith("bot.") else module.split(".")[0]


@pytest.mark.parametrize("package", sorted(
    str(p.parent.relative_to(ROOT)) for p in (ROOT / "bot").glob("*/__init__.py")))
def test_each_package_imports_only_what_its_docstring_allows(package):
    known = modules()
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text("utf-8")))
    allowed_text = doc.split("May import", 1)[1]
    units = {_unit(m) for m in known if m.startswith("bot.")} - {"bot"}
    allowed = {u for u in units if re.search(rf"\b{u.split('.')[1]}\b", allowed_text)}
    own = "bot." + package.split("/")[1]
    used = set()
    for name, path in known.items():
        if name == own or name.startswith(own + "."):
            used |= {_unit(m) for m in imports(name, path, known)}
    used -= {own, "bot"}
    assert used <= allowed, f"{package} imports {sorted(used - allowed)} (its docstring allows " \
                            f"{sorted(allowed)})"


def test_bot_keeps_few_loose_modules():
    loose = sorted(p.name for p in (ROOT / "bot").glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= MAX_LOOSE, loose


@pytest.mark.parametrize("package", sorted(
    str(p.parent.relative_to(ROOT)) for top in PACKAGES if (ROOT / top).is_dir()
    for p in (ROOT / top).rglob("__init__.py") if "migrations" not in p.parts))
def test_every_package_says_what_it_owns_and_may_import(package):
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text("utf-8")))
    assert doc, f"{package}/__init__.py has no docstring"
    if package != "bot":
        assert "May import" in doc, f"{package}/__init__.py does not say what it may import"
