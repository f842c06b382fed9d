"""Every SPARQL text lives in a ``.rq`` file, none is assembled in Python.

The public catalogue is ``queries/*.rq``, the internal queries ``queries/internal/*.rq``;
both are read and bound by :mod:`whatworks.core.catalogue`, so a value reaches a query only
as a bound RDF term. This test reads the source of every module with :mod:`ast` and fails
on a string (plain or f-string) that looks like SPARQL. Exempt: the store backends, which
write ``INSERT DATA``/``DELETE DATA`` updates from terms, and the loader itself, which
writes ``VALUES`` blocks from terms.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("whatworks", "ingest", "server")
EXEMPT = {
    "whatworks/core/store.py",
    "whatworks/core/remote_store.py",
    "whatworks/core/catalogue.py",
}

# Real SPARQL, not prose about it: a query or update form (upper case, as every query
# here is written) with a group after it, a PREFIX declaration, a VALUES block, a GRAPH
# pattern, a parameter read, or a fragment of a query: a triple pattern with a variable
# subject, a FILTER or BIND. Prose such as "for SELECT and ASK queries" has no braces.
_TERM = r"(?:\?\w+|<[^>\s]*>|[A-Za-z][\w-]*:[\w-]*)"
_SPARQL = re.compile(
    r"\b(?:SELECT|CONSTRUCT|ASK|DESCRIBE|INSERT|DELETE|WHERE)\b[^{}]*\{"
    r"|\bPREFIX\s+[A-Za-z][\w-]*\s*:\s*<"
    r"|\bVALUES\s+(?:\?\w+|\([^)]*\))\s*\{"
    r"|\bGRAPH\s+(?:<|\?\w+\s*\{)"
    r"|\bwwfn:param\s*\("
    r"|\b(?:FILTER|BIND)\s*\(.*\?\w"
    r"|\?\w+\s+(?:a|" + _TERM + r")(?:/" + _TERM + r")*\s+" + _TERM
)
#: Stands for an f-string's replacement fields, so text around them still reads as one.
_FIELD = "\x00"


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (prose, never queries)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                found.add(id(body[0].value))
    return found


def sparql_sites(source: str) -> list[int]:
    """Line numbers of the strings of ``source`` that look like SPARQL."""
    tree = ast.parse(source)
    prose = _docstrings(tree)
    in_fstring = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else _FIELD for part in node.values
            )
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in prose
            and id(node) not in in_fstring
        ):
            text = node.value
        else:
            continue
        if _SPARQL.search(text):
            lines.append(node.lineno)
    return sorted(lines)


def _modules() -> list[Path]:
    return sorted(
        path
        for folder in SCANNED
        for path in (ROOT / folder).rglob("*.py")
        if path.relative_to(ROOT).as_posix() not in EXEMPT
    )


def test_no_sparql_text_in_python() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _modules()
        for line in sparql_sites(path.read_text(encoding="utf-8"))
    ]
    assert not found, "SPARQL written in Python (move it to a .rq file):\n" + "\n".join(found)


def test_the_scan_covers_the_packages() -> None:
    scanned = {path.relative_to(ROOT).as_posix() for path in _modules()}
    assert "whatworks/cli.py" in scanned
    assert "server/api.py" in scanned
    assert "ingest/pipeline.py" in scanned
    assert not scanned & EXEMPT


def test_the_detector_finds_sparql() -> None:
    source = """
GRAPHS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"

def rows(store, graph):
    return store.select(f"SELECT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")

PROLOGUE = "PREFIX emmie: <https://w3id.org/whatworks/emmie#>\\n"

def restrict(values):
    return f"VALUES ?intervention {{ {values} }}"

EVERYTHING = ("CONSTRUCT { ?s ?p ?o } "
              "WHERE { ?s ?p ?o }")

def filters(design):
    lines = ['?study emmie:design wwfn:param("design") .'] if design else []
    lines.append("?study emmie:reportedIn/emmie:publicationYear ?year .")
    return lines + ["FILTER(BOUND(?intervention))"]
"""
    assert sparql_sites(source) == [2, 5, 7, 10, 12, 16, 17, 18]


def test_the_detector_lets_prose_be() -> None:
    source = '''
"""Answers SELECT, ASK, CONSTRUCT and DESCRIBE queries; refuses INSERT and DELETE."""

def run(kind):
    """Run a SELECT query; a DESCRIBE of {x} is its triples. PREFIX lines are added."""
    if kind != "SELECT":
        raise ValueError(f"--format turtle is for CONSTRUCT and DESCRIBE, not {kind}")
    return "table/csv/json for SELECT and ASK (json: the same answer as the API)"

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
MESSAGE = "the query {name} is not a SELECT query"
HELP = "Which interventions work? Ask the catalogue, e.g. `whatworks query x`."
PATTERN = re.compile(r"(?im)^\\s*define\\s+[a-z_-]+:[a-z_-]+")
'''
    assert sparql_sites(source) == []
