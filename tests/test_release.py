"""Releases (``whatworks export --out DIR``): the dumps, their VoID and DCAT description,
round trips into empty stores, refusing and failing safely; and the same description at
``/void`` and ``/.well-known/void`` of a live server. All on the bundled evidence, except
the failure tests, which break a store wrapper on purpose."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox
import pytest
import requests
from click.testing import CliRunner
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, VOID

from tests.conftest import LiveServer
from whatworks.cli import main
from whatworks.core.engine import engine_folder, from_ox
from whatworks.core.errors import StoreError, WhatworksError
from whatworks.core.namespaces import DATASET, EMMIE_NS, GRAPH, PREFIXES
from whatworks.core.store import open_store
from whatworks.publishing import release

SPDX = Namespace("http://spdx.org/rdf/terms#")
LICENCE = "https://example.org/licence-chosen-by-the-publisher"
ENDPOINT = "https://example.org/whatworks/sparql"
FILES = {
    "data.nq",
    "data.trig",
    "data.ttl",
    "data.nt",
    "data.jsonld",
    "data.rdf",
    "context.jsonld",
    "void.ttl",
    "SHA256SUMS",
}


def export(store: Path, *args: str) -> Any:
    runner = CliRunner()
    return runner.invoke(main, ["--store", str(store), "export", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def folder(bundled_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "release-1"
    done = export(bundled_store, "--out", str(out), "--licence", LICENCE, "--endpoint", ENDPOINT)
    assert done.exit_code == 0, done.output
    assert "release " in done.output
    return out


@pytest.fixture(scope="module")
def original(bundled_store: Path) -> Iterator[ox.Store]:
    store = ox.Store.read_only(str(engine_folder(bundled_store)))
    yield store
    del store


@pytest.fixture(scope="module")
def void(folder: Path) -> Graph:
    graph = Graph()
    # Parsed from the file, so the relative file references resolve to the folder.
    graph.parse(folder / "void.ttl", format="turtle")
    return graph


def quads(store: ox.Store) -> set[ox.Quad]:
    return set(store)


def union(store: ox.Store) -> set[ox.Triple]:
    return {q.triple for q in store}


def test_the_folder_holds_every_file_and_its_checksums(folder: Path) -> None:
    assert {p.name for p in folder.iterdir()} == FILES
    assert not list(folder.parent.glob(".*"))  # no work folder left beside it
    sums: dict[str, str] = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    assert set(sums) == FILES - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_every_file_is_a_distribution_with_its_checksum(folder: Path, void: Graph) -> None:
    distributions = set(void.subjects(RDF.type, DCAT.Distribution))
    described = {}
    for dist in distributions:
        url = void.value(dist, DCAT.downloadURL)
        assert isinstance(url, URIRef) and url.startswith("file://"), url
        path = Path(url.removeprefix("file://"))
        assert path.parent == folder
        checksum = void.value(dist, SPDX.checksum)
        assert void.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        value = void.value(checksum, SPDX.checksumValue)
        assert str(value) == hashlib.sha256(path.read_bytes()).hexdigest(), path.name
        assert int(str(void.value(dist, DCAT.byteSize))) == path.stat().st_size
        media = str(void.value(dist, DCAT.mediaType)).rsplit("/media-types/", 1)[1]
        assert media == next(
            (d.media_type for d in release.DUMPS if d.filename == path.name),
            "application/ld+json",
        )
        assert void.value(dist, DCTERMS.license) == URIRef(LICENCE)
        assert (DATASET, DCAT.distribution, dist) in void
        described[path.name] = dist
    assert set(described) == FILES - {"void.ttl", "SHA256SUMS"}
    dumps = {
        Path(str(u).removeprefix("file://")).name for u in void.objects(DATASET, VOID.dataDump)
    }
    assert dumps == {d.filename for d in release.DUMPS}


def test_counts_version_and_partitions_are_the_real_ones(
    void: Graph, original: ox.Store, bundled_store: Path
) -> None:
    triples = union(original)
    assert int(str(void.value(DATASET, VOID.triples))) == len(triples)
    subsets = list(void.objects(DATASET, VOID.subset))
    assert sum(int(str(void.value(s, VOID.triples))) for s in subsets) == len(original)
    assert {str(s) for s in subsets} == {
        q.graph_name.value for q in original if isinstance(q.graph_name, ox.NamedNode)
    }
    store = open_store(bundled_store, read_only=True)
    try:
        version = store.dataset_version()
    finally:
        store.close()
    assert version and str(void.value(DATASET, URIRef(str(DCAT) + "version"))) == version
    assert void.value(DATASET, DCTERMS.modified) is not None
    assert void.value(DATASET, DCTERMS.license) == URIRef(LICENCE)
    assert void.value(DATASET, VOID.sparqlEndpoint) == URIRef(ENDPOINT)

    classes = {
        void.value(p, VOID["class"]): int(str(void.value(p, VOID.entities)))
        for p in void.objects(DATASET, VOID.classPartition)
    }
    studies = {
        t[0]
        for t in triples
        if t[1] == ox.NamedNode(str(RDF.type)) and t[2] == ox.NamedNode(str(EMMIE_NS.Study))
    }
    assert classes[EMMIE_NS.Study] == len(studies) > 30
    properties = {
        void.value(p, VOID.property): int(str(void.value(p, VOID.triples)))
        for p in void.objects(DATASET, VOID.propertyPartition)
    }
    assert sum(properties.values()) == len(triples)
    assert properties[RDF.type] == sum(1 for t in triples if t[1].value == str(RDF.type))
    examples = set(void.objects(DATASET, VOID.exampleResource))
    assert len(examples) == 3
    for example in examples:
        assert any(True for _ in original.quads_for_pattern(ox.NamedNode(str(example)), None, None))


def test_licences_say_only_what_the_repository_says(void: Graph) -> None:
    ogl = release.OGL_V3
    assert void.value(GRAPH["la-sfr20_cla2012"], DCTERMS.license) == ogl
    assert void.value(GRAPH["la-sfr20_cla2012/provenance"], DCTERMS.license) == ogl
    assert void.value(GRAPH["la-cla_la_panel_2012_2017"], DCTERMS.license) == ogl
    # Built from project pages, not official statistics: no licence claimed.
    assert void.value(GRAPH["la-innovation_programme_las_partial"], DCTERMS.license) is None
    # The coded evidence: the repository states no licence.
    assert void.value(GRAPH["field-findings"], DCTERMS.license) is None
    assert void.value(GRAPH["derived"], DCTERMS.license) is None


def test_without_a_licence_none_is_claimed_for_the_whole(folder: Path) -> None:
    given = Graph().parse(folder / "void.ttl", format="turtle")
    assert given.value(DATASET, DCTERMS.rights) is None  # a licence was given: no rights text
    stats = release.Statistics(
        version="v",
        modified=None,
        triples=0,
        quads=0,
        distinct_subjects=0,
        distinct_objects=0,
        graphs={},
        classes={},
        properties={},
        examples=(),
    )
    bare = release.describe(stats)
    assert bare.value(DATASET, DCTERMS.license) is None
    assert "Open Government Licence" in str(bare.value(DATASET, DCTERMS.rights))
    assert bare.value(DATASET, VOID.sparqlEndpoint) is None


def test_the_context_is_the_prefixes(folder: Path) -> None:
    assert json.loads((folder / "context.jsonld").read_text()) == {"@context": PREFIXES}
    head = json.loads((folder / "data.jsonld").read_text())
    assert head["@context"] == PREFIXES


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("data.nq", ox.RdfFormat.N_QUADS),
        ("data.trig", ox.RdfFormat.TRIG),
        ("data.jsonld", ox.RdfFormat.JSON_LD),
    ],
)
def test_dataset_dumps_round_trip_with_their_graphs(
    folder: Path, original: ox.Store, name: str, fmt: ox.RdfFormat
) -> None:
    loaded = ox.Store()
    loaded.load(path=str(folder / name), format=fmt)
    # No blank nodes anywhere, so isomorphism is equality of the quad sets.
    assert not any(isinstance(t, ox.BlankNode) for q in original for t in (q.subject, q.object))
    assert quads(loaded) == quads(original)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("data.ttl", ox.RdfFormat.TURTLE),
        ("data.nt", ox.RdfFormat.N_TRIPLES),
        ("data.rdf", ox.RdfFormat.RDF_XML),
    ],
)
def test_triple_dumps_round_trip_as_the_union_graph(
    folder: Path, original: ox.Store, name: str, fmt: ox.RdfFormat
) -> None:
    loaded = ox.Store()
    loaded.load(path=str(folder / name), format=fmt, to_graph=ox.DefaultGraph())
    assert {q.triple for q in loaded} == union(original)


@pytest.mark.parametrize(("name", "fmt"), [("data.ttl", "turtle"), ("data.rdf", "xml")])
def test_rdflib_reads_the_triple_dumps_isomorphic(
    folder: Path, original: ox.Store, name: str, fmt: str
) -> None:
    expected = {
        (from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)) for t in union(original)
    }
    # No blank nodes (checked above), so isomorphism is equality of the triple sets.
    assert set(Graph().parse(folder / name, format=fmt)) == expected


# -- refusing, replacing and failing ----------------------------------------------------------


def test_a_non_empty_folder_is_refused_without_force(bundled_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "rel"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    refused = export(bundled_store, "--out", str(out))
    assert refused.exit_code == 2 and "--force" in refused.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    replaced = export(bundled_store, "--out", str(out), "--force")
    assert replaced.exit_code == 0, replaced.output
    assert {p.name for p in out.iterdir()} == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel"]  # nothing left beside it


def test_an_empty_folder_is_used(bundled_store: Path, tmp_path: Path) -> None:
    store = open_store(bundled_store, read_only=True)
    try:
        done = release.write_release(store, tmp_path / "empty-but-there", dumps=release.DUMPS[:1])
    finally:
        store.close()
    assert {p.name for p in done.folder.iterdir()} == {
        "data.nq",
        "context.jsonld",
        "void.ttl",
        "SHA256SUMS",
    }


def test_single_file_export_is_unchanged(bundled_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "base.trig"
    assert export(bundled_store, "--format", "trig", "-o", str(out)).exit_code == 0
    loaded = ox.Store()
    loaded.load(path=str(out), format=ox.RdfFormat.TRIG)
    assert len(loaded) > 0
    nq = tmp_path / "base.nq"
    assert export(bundled_store, "--out", str(nq)).exit_code == 0 and nq.is_file()
    assert export(bundled_store, "--out", str(nq), "--force").exit_code == 2


class Breaking:
    """The bundled store, failing at one step on purpose."""

    def __init__(self, store: Any, at: str):
        self.store = store
        self.at = at
        self.location = store.location

    def export(self, out: BinaryIO, *, format: str = "nquads") -> None:
        if self.at == "export":
            out.write(b"<https://w3id.org/whatworks/synthetic/id/x> ")
            raise StoreError("synthetic failure half-way through the dump")
        self.store.export(out, format=format)

    def select(self, sparql: str, **kwargs: Any) -> Any:
        if self.at == "select":
            raise StoreError("synthetic failure while counting")
        return self.store.select(sparql, **kwargs)

    def dataset_version(self) -> str | None:
        return self.store.dataset_version()  # type: ignore[no-any-return]


@pytest.mark.parametrize("at", ["export", "select"])
def test_a_failure_half_way_leaves_nothing(bundled_store: Path, tmp_path: Path, at: str) -> None:
    store = open_store(bundled_store, read_only=True)
    try:
        with pytest.raises(StoreError, match="synthetic failure"):
            release.write_release(Breaking(store, at), tmp_path / "rel")  # type: ignore[arg-type]
        assert list(tmp_path.iterdir()) == []
        # With --force over an existing release, the old one stays whole.
        old = tmp_path / "old"
        old.mkdir()
        (old / "void.ttl").write_text("previous release")
        with pytest.raises(StoreError):
            release.write_release(Breaking(store, at), old, force=True)  # type: ignore[arg-type]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]
        assert (old / "void.ttl").read_text() == "previous release"
        with pytest.raises(WhatworksError, match="not empty"):
            release.write_release(store, old)
    finally:
        store.close()


# -- the server ---------------------------------------------------------------------------


def _served(server: LiveServer, path: str, **kwargs: Any) -> requests.Response:
    # The test server stops queries after 3 s, and a worker killed at the limit is replaced
    # by a fresh process, which on a loaded machine may take longer than that to start: a
    # 504 then says nothing about the description. Retry, giving the workers time to start;
    # once computed, the description is cached per dataset version.
    deadline = time.monotonic() + 120
    while True:
        response = requests.get(server.url + path, timeout=60, **kwargs)
        if response.status_code != 504 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert response.status_code == 200, response.text
    return response


def _parse(data: bytes, fmt: str) -> Graph:
    if fmt != "json-ld":
        return Graph().parse(data=data, format=fmt)
    # rdflib's JSON-LD parser warns of its own deprecations (errors here): pyoxigraph reads it.
    graph = Graph()
    for quad in ox.parse(data, format=ox.RdfFormat.JSON_LD):
        graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    return graph


def test_the_server_describes_the_same_dataset(
    live_server: LiveServer, void: Graph, original: ox.Store
) -> None:
    expected = int(str(void.value(DATASET, VOID.triples)))
    assert expected == len(union(original))
    cases = [
        ("/void", {}, "text/turtle", "turtle"),
        ("/.well-known/void", {}, "text/turtle", "turtle"),
        ("/void", {"headers": {"Accept": "application/ld+json"}}, "application/ld+json", "json-ld"),
        ("/.well-known/void", {"params": {"format": "nt"}}, "application/n-triples", "nt"),
        ("/void", {"headers": {"Accept": "application/rdf+xml"}}, "application/rdf+xml", "xml"),
    ]
    for path, kwargs, media, fmt in cases:
        response = _served(live_server, path, **kwargs)
        assert response.headers["Content-Type"].startswith(media), path
        graph = _parse(response.content, fmt)
        assert int(str(graph.value(DATASET, VOID.triples))) == expected, (path, media)
        assert graph.value(DATASET, VOID.sparqlEndpoint) == URIRef(live_server.sparql)
        assert graph.value(DATASET, URIRef(str(DCAT) + "version")) == void.value(
            DATASET, URIRef(str(DCAT) + "version")
        )
        partitions = set(graph.objects(DATASET, VOID.propertyPartition))
        assert len(partitions) == len(set(void.objects(DATASET, VOID.propertyPartition)))
        assert graph.value(DATASET, DCTERMS.license) is None  # the server claims none
        assert isinstance(graph.value(DATASET, DCTERMS.rights), Literal)
    again = requests.get(
        live_server.url + "/void",
        headers={"If-None-Match": response.headers["ETag"], "Accept": "application/rdf+xml"},
        timeout=30,
    )
    assert again.status_code == 304
    refused = requests.get(live_server.url + "/void", headers={"Accept": "text/csv"}, timeout=30)
    assert refused.status_code == 406


def test_the_server_publishes_the_context(live_server: LiveServer, folder: Path) -> None:
    response = _served(live_server, "/context.jsonld")
    assert response.headers["Content-Type"].startswith("application/ld+json")
    assert response.content == (folder / "context.jsonld").read_bytes()
