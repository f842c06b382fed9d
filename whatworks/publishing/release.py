"""Releases: the whole store as a folder of dumps with a VoID and DCAT description.

``whatworks export --out DIR`` calls :func:`write_release`; the server's ``/void`` calls
:func:`statistics` and :func:`describe` with its own bounded query path. Everything here
talks to the :class:`~whatworks.core.store.Store` protocol only (``export``, ``select``,
``dataset_version``), so it works the same with a remote store.

Streaming: the store writes N-Quads once (:meth:`Store.export`); every other dump is made
by parsing that file lazily with pyoxigraph and serializing the stream, one quad at a time,
so no dump holds the graph in memory. The statistics (counts, partitions) are SPARQL
aggregates computed by the store. What cannot stream (compacting JSON-LD) is not done:
see docs/releases.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, RDFS, VOID, XSD
from rdflib.term import Node

from whatworks.core.catalogue import Given, internal
from whatworks.core.config import bundled_statistics
from whatworks.core.errors import StoreError, WhatworksError
from whatworks.core.namespaces import DATASET, EMMIE_NS, ID, META_GRAPH, PREFIXES
from whatworks.core.store import Store

SPDX = Namespace("http://spdx.org/rdf/terms#")
#: dcat:version (DCAT 3; not in rdflib's closed DCAT namespace)
DCAT_VERSION = URIRef(str(DCAT) + "version")
IANA = "https://www.iana.org/assignments/media-types/"

#: Open Government Licence v3.0, which data/la/README.md states for the LA statistics.
OGL_V3 = URIRef("http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")

#: Bundled statistics files that are not official statistics, so the OGL statement of
#: data/la/README.md is not applied to their graphs: the Innovation Programme list was
#: built by hand from project pages; the name crosswalk is the project's own.
NOT_OFFICIAL = frozenset({"innovation_programme_las_partial.csv", "ofsted_name_crosswalk.csv"})

#: What the description says about rights when no ``--licence`` is given (the default):
#: only what the repository says, nothing more.
RIGHTS = (
    "No licence is stated for the dataset as a whole: the repository states none for the "
    "coded evidence (the data/evidence coding sheets and the graphs built from them). Those "
    "records paraphrase findings of published studies, each linked to where it was read; the "
    "studies keep their own copyright and licences. The local-authority statistics graphs "
    "(void:subset with dcterms:license) are official statistics from the Department for "
    "Education, ONS, Ofsted and MHCLG under the Open Government Licence v3.0, as "
    "data/la/README.md states; the Innovation Programme list (built from project pages) "
    "carries no licence statement."
)

#: Placeholder base of the release folder: the description's file references are written
#: relative to it (``<data.nq>``), so they resolve wherever the folder is published.
RELEASE_BASE = "http://release.invalid/"

#: Classes whose first instance (by IRI) is given as a void:exampleResource.
EXAMPLE_CLASSES = (EMMIE_NS.Study, EMMIE_NS.Intervention, EMMIE_NS.Finding)

Row = dict[str, Node]
Select = Callable[[str], list[Row]]


@dataclass(frozen=True)
class Dump:
    """One file of a release."""

    key: str
    filename: str
    media_type: str
    title: str
    #: rdflib / pyoxigraph format names
    rdflib_format: str
    quads: bool


DUMPS: tuple[Dump, ...] = (
    Dump("nquads", "data.nq", "application/n-quads", "N-Quads (named graphs kept)", "nquads", True),
    Dump("trig", "data.trig", "application/trig", "TriG (named graphs kept)", "trig", True),
    Dump("turtle", "data.ttl", "text/turtle", "Turtle (union of the graphs)", "turtle", False),
    Dump(
        "ntriples",
        "data.nt",
        "application/n-triples",
        "N-Triples (union of the graphs)",
        "nt",
        False,
    ),
    Dump(
        "jsonld",
        "data.jsonld",
        "application/ld+json",
        "JSON-LD, expanded, with the context inline (named graphs kept)",
        "json-ld",
        True,
    ),
    Dump(
        "rdfxml", "data.rdf", "application/rdf+xml", "RDF/XML (union of the graphs)", "xml", False
    ),
)
CONTEXT_FILE = "context.jsonld"
VOID_FILE = "void.ttl"
SUMS_FILE = "SHA256SUMS"

_OX_FORMATS = {
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


# -- the JSON-LD context ---------------------------------------------------------------------


def context() -> dict[str, Any]:
    """The JSON-LD context of the release: every prefix of :data:`PREFIXES`."""
    return {"@context": dict(PREFIXES)}


def context_bytes() -> bytes:
    return (json.dumps(context(), indent=2) + "\n").encode("utf-8")


# -- statistics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistics:
    """What the description says about the data, computed by the store."""

    version: str | None
    modified: Literal | None
    #: distinct triples of the union of all graphs (what the SPARQL endpoint's default
    #: graph holds and what the triple dumps load as)
    triples: int
    #: statements across named graphs (a triple in two graphs counts twice)
    quads: int
    distinct_subjects: int
    distinct_objects: int
    graphs: dict[str, int]
    classes: dict[str, int]
    properties: dict[str, int]
    examples: tuple[str, ...]
    #: graphs built from files that data/la/README.md puts under the OGL
    ogl_graphs: frozenset[str] = field(default_factory=frozenset)


def _query(name: str, terms: Mapping[str, Given] | None = None) -> str:
    """The text of the internal query ``name``, its terms written in by the loader (a
    :data:`Select` takes text only, so the statistics' queries take lists of terms)."""
    prepared = internal(name).prepare(terms)
    assert not prepared.parameters, f"{name}: a Select cannot bind {list(prepared.parameters)}"
    return prepared.sparql()


@cache
def official_statistics_hashes() -> tuple[str, ...]:
    """sha256 of every bundled statistics file that data/la/README.md puts under the OGL."""
    folder = bundled_statistics()
    hashes = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".csv", ".txt") and path.name not in NOT_OFFICIAL:
            hashes.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return tuple(hashes)


def _count(row: Row, name: str) -> int:
    term = row.get(name)
    return int(str(term)) if isinstance(term, Literal) else 0


def statistics(select: Select) -> Statistics:
    """Counts and partitions of the data, by SPARQL aggregates through ``select``.

    :raises StoreError: the store failed (or whatever ``select`` raises).
    """
    version: str | None = None
    modified: Literal | None = None
    for row in select(_query("release_version")):
        version = str(row["version"])
        found = row.get("modified")
        modified = found if isinstance(found, Literal) else None
    graphs = {str(r["g"]): _count(r, "n") for r in select(_query("graph_sizes")) if "g" in r}
    properties: dict[str, int] = {}
    for row in select(_query("release_properties")):
        if isinstance(row.get("p"), URIRef):
            prop = str(row["p"])
            properties[prop] = _count(row, "n")
            if _count(row, "graphs") > 1:  # the same triple may be in several graphs
                triples = _query("release_property_triples", {"property": [row["p"]]})
                properties[prop] = sum(_count(r, "n") for r in select(triples))
    classes = {
        str(r["c"]): _count(r, "n")
        for r in select(_query("release_classes"))
        if isinstance(r.get("c"), URIRef)
    }
    distinct = select(_query("release_distinct"))
    examples_query = _query("release_examples", {"classes": EXAMPLE_CLASSES})
    examples = tuple(sorted(str(r["e"]) for r in select(examples_query) if "e" in r))
    hashes = [Literal(h) for h in official_statistics_hashes()]
    ogl_query = _query("release_ogl_graphs", {"hashes": hashes}) if hashes else ""
    ogl = frozenset(str(r["g"]) for r in select(ogl_query)) if hashes else frozenset()
    return Statistics(
        version=version,
        modified=modified,
        triples=sum(properties.values()),
        quads=sum(graphs.values()),
        distinct_subjects=_count(distinct[0], "subjects") if distinct else 0,
        distinct_objects=_count(distinct[0], "objects") if distinct else 0,
        graphs=graphs,
        classes=classes,
        properties=properties,
        examples=examples,
        ogl_graphs=ogl,
    )


# -- the description --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileInfo:
    """A file of the release: name, size, checksum."""

    filename: str
    media_type: str
    title: str
    byte_size: int
    sha256: str


def describe(
    stats: Statistics,
    *,
    licence: str | None = None,
    endpoint: str | None = None,
    files: tuple[FileInfo, ...] = (),
    base: str = RELEASE_BASE,
    issued: datetime | None = None,
) -> Graph:
    """The VoID and DCAT description of the dataset (and of ``files``, relative to ``base``).

    ``licence`` is stated as the dataset's dcterms:license (and each file's); without it no
    licence is claimed for the whole and :data:`RIGHTS` says what is known.
    """
    graph = Graph()
    for prefix, ns in (("void", VOID), ("dcat", DCAT), ("dcterms", DCTERMS), ("spdx", SPDX)):
        graph.bind(prefix, ns)
    for prefix in ("emmie", "owl", "xsd", "rdfs", "graph", "wwid", "prov"):
        graph.bind(prefix, PREFIXES[prefix])
    add = graph.add
    ds = DATASET
    add((ds, RDF.type, VOID.Dataset))
    add((ds, RDF.type, DCAT.Dataset))
    add((ds, DCTERMS.title, Literal("whatworks: evidence on children's social care", lang="en")))
    add(
        (
            ds,
            DCTERMS.description,
            Literal(
                "EMMIE-coded research on what safely reduces the need for children to enter "
                "care, to re-enter care, and what helps children return home, with local-"
                "authority statistics for England: one named graph per source file, with its "
                "PROV-O provenance beside it.",
                lang="en",
            ),
        )
    )
    if stats.version:
        add((ds, DCAT_VERSION, Literal(stats.version)))
        add((ds, OWL.versionInfo, Literal(stats.version)))
    if stats.modified is not None:
        add((ds, DCTERMS.modified, stats.modified))
    if issued is not None:
        add((ds, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.dateTime)))
    if licence:
        add((ds, DCTERMS.license, URIRef(licence)))
    else:
        add((ds, DCTERMS.rights, Literal(RIGHTS, lang="en")))
    add((ds, VOID.triples, Literal(stats.triples)))
    add((ds, VOID.distinctSubjects, Literal(stats.distinct_subjects)))
    add((ds, VOID.distinctObjects, Literal(stats.distinct_objects)))
    add((ds, VOID.properties, Literal(len(stats.properties))))
    add((ds, VOID.classes, Literal(len(stats.classes))))
    add((ds, VOID.uriSpace, Literal(str(ID))))
    for vocab in ("emmie", "prov", "dcterms", "skos", "qb", "fabio", "cito"):
        add((ds, VOID.vocabulary, URIRef(PREFIXES[vocab])))
    add((ds, VOID.feature, URIRef("http://www.w3.org/ns/formats/N-Quads")))
    for example in stats.examples:
        add((ds, VOID.exampleResource, URIRef(example)))
    if endpoint:
        service = URIRef(endpoint)
        add((ds, VOID.sparqlEndpoint, service))
        add((service, RDF.type, DCAT.DataService))
        add((service, DCAT.endpointURL, service))
        add((service, DCAT.servesDataset, ds))
        add((service, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/")))
        add((service, DCTERMS.title, Literal("whatworks SPARQL endpoint (read-only)", lang="en")))
    for cls, entities in sorted(stats.classes.items()):
        node = BNode()
        add((ds, VOID.classPartition, node))
        add((node, VOID["class"], URIRef(cls)))
        add((node, VOID.entities, Literal(entities)))
    for prop, triples in sorted(stats.properties.items()):
        node = BNode()
        add((ds, VOID.propertyPartition, node))
        add((node, VOID.property, URIRef(prop)))
        add((node, VOID.triples, Literal(triples)))
    for name, triples in sorted(stats.graphs.items()):
        subset = URIRef(name)
        add((ds, VOID.subset, subset))
        add((subset, RDF.type, VOID.Dataset))
        add((subset, VOID.triples, Literal(triples)))
        if name == str(META_GRAPH):
            add((subset, RDFS.comment, Literal("the dataset's version and modification time")))
        if name in stats.ogl_graphs or name.removesuffix("/provenance") in stats.ogl_graphs:
            add((subset, DCTERMS.license, OGL_V3))
    for info in files:
        dist = URIRef(f"{base}{VOID_FILE}#{info.filename}")
        url = URIRef(base + info.filename)
        add((ds, DCAT.distribution, dist))
        if info.filename != CONTEXT_FILE:
            add((ds, VOID.dataDump, url))
        add((dist, RDF.type, DCAT.Distribution))
        add((dist, DCTERMS.title, Literal(info.title, lang="en")))
        add((dist, DCAT.downloadURL, url))
        add((dist, DCAT.accessURL, url))
        add((dist, DCAT.mediaType, URIRef(IANA + info.media_type)))
        add((dist, DCAT.byteSize, Literal(info.byte_size, datatype=XSD.nonNegativeInteger)))
        checksum = BNode()
        add((dist, SPDX.checksum, checksum))
        add((checksum, RDF.type, SPDX.Checksum))
        add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        add((checksum, SPDX.checksumValue, Literal(info.sha256, datatype=XSD.hexBinary)))
        if licence:
            add((dist, DCTERMS.license, URIRef(licence)))
    return graph


def void_turtle(graph: Graph, *, base: str = RELEASE_BASE) -> bytes:
    """``graph`` as Turtle, the release's files written relative to the folder."""
    text = graph.serialize(format="turtle")
    return text.replace(f"<{base}", "<").encode("utf-8")


# -- writing a release ------------------------------------------------------------------------


@dataclass
class Release:
    folder: Path
    version: str | None
    stats: Statistics
    files: list[FileInfo]
    seconds: dict[str, float]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _quads(path: Path) -> Iterator[ox.Quad]:
    return ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS)


def _triples(path: Path) -> Iterator[ox.Triple]:
    return (q.triple for q in _quads(path))


def _write_dump(dump: Dump, source: Path, target: Path) -> None:
    """Write ``dump`` from the N-Quads file ``source``, streaming."""
    fmt = _OX_FORMATS[dump.key]
    stream: Iterator[Any] = _quads(source) if dump.quads else _triples(source)
    with target.open("wb") as out:
        if dump.key == "jsonld":
            # The expanded body is what pyoxigraph streams; the context is inline (the same
            # as context.jsonld), so the file parses offline and compacts with it.
            head = json.dumps(context()["@context"], indent=1)
            out.write(b'{"@context": ' + head.encode("utf-8") + b',\n"@graph": ')
            ox.serialize(stream, out, fmt)
            out.write(b"}\n")
        elif dump.key in ("turtle", "trig", "rdfxml"):
            ox.serialize(stream, out, fmt, prefixes=dict(PREFIXES))
        else:
            ox.serialize(stream, out, fmt)


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise WhatworksError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise WhatworksError(f"{out} is not empty: give --force to replace it")


def write_release(
    store: Store,
    out: Path,
    *,
    force: bool = False,
    licence: str | None = None,
    endpoint: str | None = None,
    dumps: tuple[Dump, ...] = DUMPS,
) -> Release:
    """Write the release folder ``out``: every dump, context.jsonld, void.ttl, SHA256SUMS.

    Written into a hidden sibling folder first and renamed at the end, so a failed export
    leaves nothing behind (and an existing ``out`` untouched).

    :raises WhatworksError: ``out`` is a file, or a non-empty folder without ``force``.
    :raises StoreError: the store failed, or changed while the release was written.
    :raises OSError: the folder could not be written.
    """
    out = out.expanduser().absolute()
    _check_target(out, force)
    before = store.dataset_version()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.with_name(f".{out.name}.part-{uuid.uuid4().hex[:8]}")
    work.mkdir()
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        source = work / DUMPS[0].filename
        with source.open("wb") as handle:
            store.export(handle, format="nquads")
        seconds["nquads"] = time.perf_counter() - started
        for dump in dumps:
            if dump.key == "nquads":
                continue
            started = time.perf_counter()
            _write_dump(dump, source, work / dump.filename)
            seconds[dump.key] = time.perf_counter() - started
        if not any(d.key == "nquads" for d in dumps):
            source.unlink()
        (work / CONTEXT_FILE).write_bytes(context_bytes())

        started = time.perf_counter()
        stats = statistics(store_select(store))
        if store.dataset_version() != before or stats.version != before:
            raise StoreError("the store changed while the release was written; run it again")
        seconds["statistics"] = time.perf_counter() - started

        started = time.perf_counter()
        files = [
            FileInfo(
                d.filename,
                d.media_type,
                d.title,
                (work / d.filename).stat().st_size,
                _sha256(work / d.filename),
            )
            for d in dumps
        ]
        files.append(
            FileInfo(
                CONTEXT_FILE,
                "application/ld+json",
                "JSON-LD context: the project's prefixes",
                (work / CONTEXT_FILE).stat().st_size,
                _sha256(work / CONTEXT_FILE),
            )
        )
        seconds["checksums"] = time.perf_counter() - started
        description = describe(
            stats,
            licence=licence,
            endpoint=endpoint,
            files=tuple(files),
            issued=datetime.now(UTC).replace(microsecond=0),
        )
        (work / VOID_FILE).write_bytes(void_turtle(description))
        sums = [(f.sha256, f.filename) for f in files]
        sums.append((_sha256(work / VOID_FILE), VOID_FILE))
        (work / SUMS_FILE).write_text(
            "".join(f"{digest}  {name}\n" for digest, name in sorted(sums, key=lambda s: s[1])),
            encoding="utf-8",
        )
        _install(work, out, force=force)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Release(out, before, stats, files, seconds)


def _install(work: Path, out: Path, *, force: bool) -> None:
    """Move the finished ``work`` folder to ``out`` (replacing it, if it exists)."""
    if out.is_dir() and any(out.iterdir()):
        _check_target(out, force)  # it may have filled up while the release was written
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out, old)
        try:
            os.replace(work, out)
        except OSError:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            out.rmdir()  # an empty folder: rename(2) may also replace it, but not everywhere
        os.replace(work, out)


def store_select(store: Store) -> Select:
    """``store.select`` as a :data:`Select`."""

    def run(query: str) -> list[Row]:
        return store.select(query)

    return run


def rows_from_json(results: Mapping[str, Any]) -> list[Row]:
    """SPARQL JSON results as rows of rdflib terms."""
    rows: list[Row] = []
    for binding in results.get("results", {}).get("bindings", []):
        row: Row = {}
        for name, cell in binding.items():
            kind, value = cell.get("type"), cell.get("value", "")
            if kind == "uri":
                row[name] = URIRef(value)
            elif kind == "bnode":
                row[name] = BNode(value)
            elif "xml:lang" in cell:
                row[name] = Literal(value, lang=cell["xml:lang"])
            elif "datatype" in cell:
                row[name] = Literal(value, datatype=URIRef(cell["datatype"]))
            else:
                row[name] = Literal(value)
        rows.append(row)
    return rows
