"""The compiled shapes give pySHACL's report, result for result.

``validate()`` runs the shapes compiled (whatworks.core.compiled_shapes) unless asked for
pySHACL; pySHACL is the reference. The two are compared on every shape's valid and invalid
example, on the bundled evidence and statistics, and on copies of them broken in many
seeded ways (values removed, doubled, retyped, swapped for other nodes), with and without
context and focus nodes. Every comparison is of whole reports: focus node, path, value,
shape, severity and message of every result, in order.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from rdflib import XSD, BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH

from whatworks.core.compiled_shapes import NotCompiled, compile_shapes, run
from whatworks.core.config import bundled_evidence, bundled_statistics
from whatworks.core.store import open_store
from whatworks.core.validation import _shapes, validate
from whatworks.ingest.la_statistics import read_statistics
from whatworks.ingest.pipeline import read_sources, validate_store

EXAMPLES = Path(__file__).resolve().parent / "examples"
ALL_EXAMPLES = sorted(EXAMPLES.glob("*/*.ttl"))
SYNTHETIC = "https://w3id.org/whatworks/synthetic/id/"


def same(data: Graph, **kwargs: object) -> int:
    """Validate both ways, assert the reports are equal; the number of results."""
    compiled = validate(data, engine="compiled", **kwargs)  # type: ignore[arg-type]
    reference = validate(data, engine="pyshacl", **kwargs)  # type: ignore[arg-type]
    assert compiled.results == reference.results, (
        "compiled shapes differ from pySHACL:\n only compiled: "
        + repr(sorted(set(compiled.results) - set(reference.results), key=str)[:5])
        + "\n only pySHACL: "
        + repr(sorted(set(reference.results) - set(compiled.results), key=str)[:5])
    )
    assert compiled.conforms == reference.conforms
    return len(reference.results)


def test_every_shape_is_compiled() -> None:
    """No shape falls back to pySHACL (validate() would, silently, and be slow again)."""
    triples, ids = _shapes()
    compiled = compile_shapes(triples)
    assert {str(s.iri) for s in compiled.shapes} == {str(s) for s in ids}


def test_a_shape_using_what_is_not_compiled_is_refused() -> None:
    triples, _ = _shapes()
    shape = URIRef(f"{SYNTHETIC}shape/or")
    extra = [
        (shape, RDF.type, SH.PropertyShape),
        (shape, SH.targetClass, URIRef(f"{SYNTHETIC}C")),
        (shape, SH.path, URIRef(f"{SYNTHETIC}p")),
        (shape, SH.uniqueLang, Literal(True)),
    ]
    with pytest.raises(NotCompiled, match="uniqueLang"):
        compile_shapes((*triples, *extra))


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_examples_give_pyshacls_report(example: Path) -> None:
    results = same(Graph().parse(example, format="turtle"))
    assert (results == 0) == (example.parent.name == "valid") or example.stem == "WW-STUDY-020"


@lru_cache(maxsize=1)
def bundled() -> tuple[tuple[URIRef, URIRef, object], ...]:
    """The bundled coding sheets' triples and the smallest statistics graphs'."""
    sources = read_sources(bundled_evidence())
    statistics = sorted(read_statistics(bundled_statistics()), key=lambda s: len(s.graph))
    triples = [t for s in sources for t in s.graph]
    triples += [t for s in statistics[:2] for t in s.graph]
    return tuple(triples)  # type: ignore[arg-type]


def test_bundled_evidence_gives_pyshacls_report() -> None:
    graph = Graph()
    for triple in bundled():
        graph.add(triple)  # type: ignore[arg-type]
    same(graph)


def broken(seed: int, changes: int) -> Graph:
    """The bundled triples with ``changes`` seeded faults of every kind."""
    rng = random.Random(seed)
    triples = list(bundled())
    nodes = [t[0] for t in triples]
    graph = Graph()
    for triple in triples:
        graph.add(triple)  # type: ignore[arg-type]
    for s, p, o in rng.sample(triples, changes):
        fault = rng.randrange(7)
        graph.remove((s, p, o))  # type: ignore[arg-type]
        if fault == 0:
            continue  # removed
        if fault == 1:  # doubled: a second value
            graph.add((s, p, o))  # type: ignore[arg-type]
            graph.add((s, p, Literal(f"second {rng.randrange(100)}")))  # type: ignore[arg-type]
        elif fault == 2:  # retyped: a number where text was, or text where a number
            graph.add((s, p, Literal(str(o)) if not isinstance(o, Literal) else Literal(-3)))  # type: ignore[arg-type]
        elif fault == 3:  # another node
            graph.add((s, p, rng.choice(nodes)))  # type: ignore[arg-type]
        elif fault == 4:  # an ill-typed or out-of-range literal
            bad = rng.choice(
                [
                    Literal("not a number", datatype=XSD.decimal),
                    Literal("2.5", datatype=XSD.decimal),
                    Literal("-1", datatype=XSD.integer),
                    Literal("1999-13-40", datatype=XSD.date),
                    Literal("0", datatype=XSD.decimal),
                ]
            )
            graph.add((s, p, bad))  # type: ignore[arg-type]
        elif fault == 5:  # an IRI outside every list
            graph.add((s, p, URIRef(f"{SYNTHETIC}nowhere/{rng.randrange(10)}")))  # type: ignore[arg-type]
        else:  # a type taken away or given
            classes = [t[2] for t in triples if t[1] == RDF.type]
            graph.add((s, p, o))  # type: ignore[arg-type]
            graph.add((rng.choice(nodes), RDF.type, rng.choice(classes)))  # type: ignore[arg-type]
    return graph


def seeds() -> Iterator[int]:
    yield from range(6)


@pytest.mark.parametrize("seed", list(seeds()))
def test_broken_copies_give_pyshacls_report(seed: int) -> None:
    graph = broken(seed, changes=150)
    assert same(graph) > 50  # the faults are found, by both


def test_context_and_focus_nodes_give_pyshacls_report() -> None:
    graph = broken(99, changes=150)
    subjects = sorted({s for s in graph.subjects() if isinstance(s, URIRef)}, key=str)
    rng = random.Random(7)
    context = Graph()
    data = Graph()
    for triple in graph:
        (context if triple[0] in subjects[::3] else data).add(triple)
    assert same(data, context=context) > 10
    focus = rng.sample(subjects, 40)
    # With focus nodes, pySHACL also applies them to the inner shapes of sh:not and
    # sh:qualifiedValueShape, whose value nodes are then never checked: a finding with
    # two legitimate types breaks WW-EVID-013. The compiled shapes give the results of
    # the focus nodes in a whole validation: the reference here.
    whole = validate(graph, engine="pyshacl").results
    expected = tuple(r for r in whole if r.focus_node in focus)
    assert validate(graph, focus_nodes=focus).results == expected
    assert len(expected) > 0


@pytest.mark.parametrize("batch_triples", [10**9, 800])
def test_whole_store_validation_gives_pyshacls_problems(tmp_path: Path, batch_triples: int) -> None:
    """``whatworks validate`` of a store: the compiled path reads the triples without an
    rdflib graph, in batches of graphs with the types of what they link to."""
    graph = broken(3, changes=150)
    graphs: dict[URIRef, list[object]] = {URIRef(f"{SYNTHETIC}graph/{i}"): [] for i in range(3)}
    for triple in graph:
        graphs[URIRef(f"{SYNTHETIC}graph/{zlib.crc32(str(triple[0]).encode()) % 3}")].append(triple)
    store = open_store(tmp_path / "store")
    try:
        store.replace_graphs(graphs)  # type: ignore[arg-type]
        compiled = validate_store(store, batch_triples=batch_triples, engine="compiled")
        reference = validate_store(store, batch_triples=batch_triples, engine="pyshacl")
    finally:
        store.close()
    assert sorted(map(str, compiled[0])) == sorted(map(str, reference[0]))
    assert sorted(map(str, compiled[1])) == sorted(map(str, reference[1]))
    assert len(reference[0]) > 50


def test_blank_node_focus_of_a_sparql_constraint_is_left_to_pyshacl() -> None:
    """A query cannot name a blank node: such data is validated by pySHACL, same report."""
    graph = Graph().parse(EXAMPLES / "invalid" / "WW-STUDY-025.ttl", format="turtle")
    study = next(s for s in graph.subjects(RDF.type, None) if "study/" in str(s))
    blank = BNode()
    for p, o in list(graph.predicate_objects(study)):
        graph.remove((study, p, o))
        graph.add((blank, p, o))
    with pytest.raises(NotCompiled, match="blank node"):
        run(compile_shapes(_shapes()[0]), list(graph))  # type: ignore[arg-type]
    assert same(graph) > 0
