"""The embedded store: persistence, atomic replacement, clear errors.

Faults (a killed ingest, ingests racing queries, a full disk) are in tests/test_faults.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import RDFS, Graph, Literal, URIRef

from tests.conftest import SYNTHETIC_BASE
from whatworks.core.errors import StoreError
from whatworks.core.namespaces import source_graph
from whatworks.core.store import open_store


def graph_of(*labels: str) -> Graph:
    graph = Graph()
    for i, label in enumerate(labels):
        graph.add(
            (
                URIRef(f"{SYNTHETIC_BASE}thing/{i}"),
                URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
                Literal(label),
            )
        )
    return graph


def labels(store_dir: Path, graph: URIRef) -> list[str]:
    store = open_store(store_dir, read_only=True)
    try:
        return sorted(str(o) for _, p, o in store.triples(graph) if p == RDFS.label)
    finally:
        store.close()


def test_data_survive_reopening(store_dir: Path) -> None:
    g = source_graph("test")
    store = open_store(store_dir)
    version = store.replace_graphs({g: graph_of("a", "b")})
    store.close()
    assert labels(store_dir, g) == ["a", "b"]
    again = open_store(store_dir, read_only=True)
    assert again.dataset_version() == version
    assert again.graph_names() == [g]
    again.close()


def test_replace_is_whole_and_versioned(store_dir: Path) -> None:
    g = source_graph("test")
    store = open_store(store_dir)
    v1 = store.replace_graphs({g: graph_of("a", "b", "c")})
    v2 = store.replace_graphs({g: graph_of("d")})
    assert v1 != v2
    assert sorted(str(o) for _, _, o in store.triples(g)) == ["d"]
    store.replace_graphs({g: Graph()})
    assert list(store.triples(g)) == []
    store.close()


def test_blank_nodes_are_refused(store_dir: Path) -> None:
    from rdflib import BNode

    store = open_store(store_dir)
    graph = graph_of("a")
    graph.add((BNode(), RDFS.label, Literal("anonymous")))
    with pytest.raises(StoreError, match="blank nodes"):
        store.replace_graphs({source_graph("test"): graph})
    assert store.graph_names() == []
    store.close()


def test_replacing_with_the_same_content_keeps_every_triple(store_dir: Path) -> None:
    g = source_graph("test")
    store = open_store(store_dir)
    store.replace_graphs({g: graph_of("a", "b")})
    store.replace_graphs({g: graph_of("a", "b", "c")})
    assert sorted(str(o) for _, _, o in store.triples(g)) == ["a", "b", "c"]
    store.close()


def test_statements_are_spelled_as_statement_spells_them(store_dir: Path) -> None:
    # The ingest compares a file's graph with the stored one through these texts.
    from rdflib.namespace import XSD

    from whatworks.core.store import statement

    g = source_graph("test")
    graph = graph_of(
        "plain", "two\nlines", 'a "quote" and \\', "tab\there", "line\u2028separator", "é ✓"
    )
    thing = URIRef(f"{SYNTHETIC_BASE}thing/0")
    graph.add((thing, RDFS.comment, Literal("en anglais", lang="en")))
    graph.add((thing, RDFS.comment, Literal("0.50", datatype=XSD.decimal)))
    store = open_store(store_dir)
    try:
        store.replace_graphs({g: graph})
        stored = store.statements(g)
        assert stored == {statement(t) for t in store.triples(g)}
        assert len(stored) == len(graph)
        assert store.statements(source_graph("nothing")) == set()
    finally:
        store.close()


def test_missing_store_read_only_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store at"):
        open_store(tmp_path / "nothing", read_only=True)


def test_second_writer_gets_a_clear_error(store_dir: Path) -> None:
    store = open_store(store_dir)
    try:
        code = (
            "import sys; from whatworks.core.store import open_store\n"
            "from whatworks.core.errors import StoreError\n"
            f"try:\n    open_store({str(store_dir)!r})\n"
            "except StoreError as e:\n    print(e); sys.exit(3)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 3, done.stdout + done.stderr
        assert "in use by another" in done.stdout
    finally:
        store.close()


# A killed ingest, ingests racing queries and a full disk: tests/test_faults.py.
