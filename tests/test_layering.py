"""The architecture's dependency rule, checked on the source (docs/architecture.md).

The package imports are read with :mod:`ast` (imports inside functions count too) and the
test fails on:

* ``sw`` importing ``hw`` or ``sim``, or ``hw`` importing ``sim``;
* a library module (anything but ``sim.cli`` and ``sim.commands``) importing the command line;
* a cycle between the sub-packages of ``sw``, ``hw`` or ``sim`` (``sim.cycle`` and
  ``sim.synth`` importing each other, say), at any depth;
* a cycle between modules through imports at module scope (those run at import time).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOPS = ("sw", "hw", "sim")
CLI = ("sim.cli", "sim.commands")


def _modname(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_modname(p): p for top in TOPS for p in (ROOT / top).rglob("*.py")}


def _targets(mod: str, is_pkg: bool, node: ast.AST, mods) -> list[str]:
    """The project modules an import statement of ``mod`` names (nearest existing module)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = mod.split(".")
            if not is_pkg:
                base = base[:-1]
            base = base[: len(base) - (node.level - 1)]
            head = ".".join(base + ([node.module] if node.module else []))
        else:
            head = node.module or ""
        # ``from P import x`` names the module P.x when there is one, else P itself
        names = [f"{head}.{a.name}" if f"{head}.{a.name}" in mods else head for a in node.names]
    out = []
    for name in names:
        if name.split(".")[0] not in TOPS:
            continue
        while name and name not in mods:
            name = name.rpartition(".")[0]
        if name and name != mod:
            out.append(name)
    return out


def _graph():
    """``(all edges, module-scope edges)`` of the project's import graph."""
    mods = _modules()
    every, toplevel = set(), set()
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                every.update((mod, t) for t in _targets(mod, is_pkg, node, mods))
        for node in tree.body:      # module scope (also under if/try at module scope)
            for sub in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    toplevel.update((mod, t) for t in _targets(mod, is_pkg, sub, mods))
    return every, toplevel


EDGES, TOP_EDGES = _graph()


def _top(m: str) -> str:
    return m.split(".")[0]


def _cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    adj: dict[str, list[str]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, [])
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(adj):
        if root in index:
            continue
        work = [(root, iter(sorted(adj[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
            elif nxt not in index:
                index[nxt] = low[nxt] = counter[0]
                counter[0] += 1
                stack.append(nxt)
                on.add(nxt)
                work.append((nxt, iter(sorted(adj[nxt]))))
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
    return out


def test_graph_is_read():
    # the walk sees the real tree: known edges of the layering are present
    assert len(EDGES) > 100
    assert any(a.startswith("sim.") and b.startswith("sw.") for a, b in EDGES)
    assert any(a.startswith("hw.") and b.startswith("sw.") for a, b in EDGES)


def test_cycle_finder_on_a_known_graph():
    edges = {("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("e", "d"), ("f", "a")}
    assert sorted(_cycles(edges)) == [["a", "b", "c"], ["d", "e"]]
    assert _cycles({("a", "b"), ("b", "c")}) == []


def test_layering():
    bad = sorted(f"{a} imports {b}" for a, b in EDGES
                 if (_top(a) == "sw" and _top(b) in ("hw", "sim")) or (_top(a) == "hw" and _top(b) == "sim"))
    assert not bad, "the dependency goes sw <- hw <- sim only:\n" + "\n".join(bad)


def test_libraries_do_not_import_the_command_line():
    bad = sorted(f"{a} imports {b}" for a, b in EDGES
                 if not a.startswith(CLI) and b.startswith(CLI))
    assert not bad, "engines live in libraries; commands only parse and call:\n" + "\n".join(bad)


def _package(m: str) -> str:
    parts = m.split(".")
    return ".".join(parts[:2])


@pytest.mark.parametrize("top", TOPS)
def test_no_cycle_between_subpackages(top):
    pedges = {(_package(a), _package(b)) for a, b in EDGES
              if _top(a) == _top(b) == top and _package(a) != _package(b)}
    cycles = _cycles(pedges)
    assert not cycles, f"sub-packages of {top} import each other: {cycles}"


def test_no_import_time_cycle_between_modules():
    # a package's __init__ re-exporting its own modules is not a cycle unless a module
    # imports the package back at import time; every other cycle is
    cycles = _cycles(TOP_EDGES)
    assert not cycles, f"modules import each other at import time: {cycles}"
