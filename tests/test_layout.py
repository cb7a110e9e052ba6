"""The layout a newcomer relies on: parts grouped by domain, each package saying what it owns,
and no import circle (every import counted, including those inside functions)."""
from __future__ import annotations

import ast
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


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports. `from pkg import mod` counts as importing pkg.mod."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & set(known)
            out |= subs
            if len(subs) < len(node.names) and target in known:
                out.add(target)
    out.discard(name)
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
