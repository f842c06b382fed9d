"""The structure holds: layers import downward only, no import cycles, folders are imports.

The import-layer contract lives in pyproject.toml (``[tool.importlinter]``) and is checked
with import-linter, which reads the code's real imports (grimp). Every folder that the
package ``whatworks`` reaches is a real path below ``whatworks/``, so what an import names
is where its file is.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_layer_contract_holds() -> None:
    result = _lint(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def test_the_contract_fails_on_an_upward_import(tmp_path: Path) -> None:
    """The same contract with two layers swapped must break: the check can fail."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    swapped = text.replace(
        '    "whatworks.analysis",\n    "whatworks.core",',
        '    "whatworks.core",\n    "whatworks.analysis",',
    )
    assert swapped != text
    config = tmp_path / "pyproject.toml"
    config.write_text(swapped, encoding="utf-8")
    result = _lint(config)
    assert result.returncode == 1, result.stdout
    assert "whatworks.analysis" in result.stdout and "BROKEN" in result.stdout


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in modules}
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for j in range(i, len(edges[node])):
                nxt = edges[node][j]
                if nxt not in index:
                    work.append((node, j + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
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
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_module_imports_itself_round_a_cycle() -> None:
    graph = grimp.build_graph("whatworks", cache_dir=None)
    modules = {m for m in graph.modules if m == "whatworks" or m.startswith("whatworks.")}
    assert _cycles(graph, modules) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c", "d"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="c")
    graph.add_import(importer="c", imported="a")
    graph.add_import(importer="c", imported="d")
    assert _cycles(graph, {"a", "b", "c", "d"}) == [["a", "b", "c"]]


def test_every_package_is_a_folder_of_the_same_name() -> None:
    """Each package in pyproject.toml is the folder its dotted name says, below the repo;
    the card's top-level folders are reached from ``whatworks/`` by relative links."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert "package-dir" not in setuptools, "a package-dir mapping hides where imports live"
    for package in setuptools["packages"]:
        folder = ROOT.joinpath(*package.split("."))
        assert folder.is_dir(), f"{package}: no folder {folder}"
    for card in ("ingest", "server", "queries", "ontology", "shapes"):
        link = ROOT / "whatworks" / card
        assert (ROOT / card).is_dir() and not (ROOT / card).is_symlink(), card
        assert link.is_symlink() and link.readlink() == Path("..") / card, link
