"""An ingest publishes a new version in one step: readers polling while ingests change the
derived results never see evidence of one version with derived results of another.

Each read is ONE query (one snapshot of the store) asking how many findings the evidence
holds, how many of them no EMMIE rating is derived from, how many findings the ratings
and pooled estimates name that the evidence no longer holds (they also name studies and
rules, which are not counted), and the dataset version. In
a whole version the middle two are 0; an ingest that wrote the evidence and the derived
results apart would show either in between (docs/decisions/0015-one-transaction-staged.md).
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from tests.conftest import SYNTHETIC_BASE
from tests.test_faults import write_version
from whatworks.analysis.derived import DERIVED_GRAPH
from whatworks.core.engine import open_read_only_view, read_version_marker
from whatworks.core.namespaces import DATASET, META_GRAPH
from whatworks.core.store import EmbeddedStore, open_store
from whatworks.ingest.pipeline import ingest

CONSISTENCY = f"""
PREFIX emmie: <https://w3id.org/whatworks/emmie#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT ?version ?findings ?underived ?dangling ?pooled WHERE {{
  {{ SELECT (COUNT(DISTINCT ?f) AS ?findings) WHERE {{ ?f a emmie:Finding }} }}
  {{ SELECT (COUNT(DISTINCT ?f) AS ?underived) WHERE {{
      ?f a emmie:Finding .
      FILTER NOT EXISTS {{ GRAPH <{DERIVED_GRAPH}> {{ ?r prov:wasDerivedFrom ?f }} }} }} }}
  {{ SELECT (COUNT(DISTINCT ?f) AS ?dangling) WHERE {{
      GRAPH <{DERIVED_GRAPH}> {{ {{ ?r prov:wasDerivedFrom ?f }} UNION {{ ?r emmie:pools ?f }} }}
      # the findings a result names (it also names studies and the rules it applied)
      FILTER(CONTAINS(STR(?f), "/finding/"))
      FILTER NOT EXISTS {{ ?f a emmie:Finding }} }} }}
  {{ SELECT (COUNT(DISTINCT ?f) AS ?pooled) WHERE {{
      GRAPH <{DERIVED_GRAPH}> {{ ?r emmie:pools ?f }} }} }}
  OPTIONAL {{ GRAPH <{META_GRAPH}> {{ <{DATASET}> owl:versionInfo ?version }} }}
}}
"""

READERS = 4
MIN_READS = 1_000
MIN_INGESTS = 4
MAX_INGESTS = 40

Read = tuple[str, int, int, int, int]


def read(engine: ox.Store) -> Read:
    result = engine.query(CONSISTENCY, use_default_graph_as_union=True)
    assert isinstance(result, ox.QuerySolutions)
    (row,) = list(result)
    version = row["version"]
    numbers = [int(row[name].value) for name in ("findings", "underived", "dangling", "pooled")]
    return (version.value if version is not None else "", *numbers)  # type: ignore[return-value]


@pytest.mark.slow
def test_readers_during_ingests_never_see_a_mixed_version(tmp_path: Path) -> None:
    """Four reader threads (two on the writing store's own handle, two on read-only views
    reopened whenever the version marker changes, as the server's query workers do) poll
    while ingests switch the store between two versions whose derived results differ."""
    a = write_version(tmp_path / "a", "a", 60)
    b = write_version(tmp_path / "b", "b", 45)
    store = open_store(tmp_path / "store")
    ingest(a, store, base=SYNTHETIC_BASE)
    stop = threading.Event()
    reads: list[list[Read]] = [[] for _ in range(READERS)]
    errors: list[str] = []

    def on_writer(out: list[Read]) -> None:
        while not stop.is_set():
            out.append(read(store._store))

    def on_view(out: list[Read]) -> None:
        marker, view = "", None
        while not stop.is_set():
            now = read_version_marker(store.path)
            if view is None or now != marker:
                marker, view = now, open_read_only_view(store.path)
            out.append(read(view))

    def guarded(target: object, out: list[Read]) -> None:
        try:
            target(out)  # type: ignore[operator]
        except Exception as exc:  # reported below, failing the test
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=guarded, args=(on_writer if n < 2 else on_view, reads[n]))
        for n in range(READERS)
    ]
    version_of: dict[str, str] = {str(store.dataset_version()): "a"}
    ingests = 0
    try:
        for thread in threads:
            thread.start()
        while ingests < MAX_INGESTS and (ingests < MIN_INGESTS or sum(map(len, reads)) < MIN_READS):
            name = "b" if ingests % 2 == 0 else "a"
            report = ingest(b if name == "b" else a, store, base=SYNTHETIC_BASE)
            assert report.derived != "none"
            version_of[str(report.version)] = name
            ingests += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        store.close()
    assert not errors, errors[:5]
    every = [r for out in reads for r in out]
    assert len(every) >= MIN_READS, len(every)
    mixed = [r for r in every if r[2] or r[3]]
    assert not mixed, f"{len(mixed)} of {len(every)} reads saw a mixed version: {mixed[:3]}"
    # Each version is seen with one state of the evidence and the derived graph, and that
    # state is the one its ingest published.
    states: dict[str, set[tuple[int, int]]] = {}
    for version, findings, _, _, pooled in every:
        states.setdefault(version, set()).add((findings, pooled))
    assert all(len(seen) == 1 for seen in states.values()), states
    assert set(states) <= set(version_of), set(states) - set(version_of)
    by_name: dict[str, set[tuple[int, int]]] = {}
    for version, seen in states.items():
        by_name.setdefault(version_of[version], set()).update(seen)
    assert set(by_name) == {"a", "b"} and all(len(s) == 1 for s in by_name.values()), by_name
    assert by_name["a"] != by_name["b"]
    seen_per_reader = [len(out) for out in reads]
    assert all(seen_per_reader), seen_per_reader
    print(
        "READERS:",
        {
            "ingests": ingests,
            "reads": len(every),
            "per_reader": seen_per_reader,
            "versions": dict(Counter(version_of[r[0]] for r in every)),
        },
    )


def test_a_staging_copy_is_private_and_removed(tmp_path: Path) -> None:
    """What is written to a staging copy is not in the store, and the copy's folder goes."""
    from rdflib import Literal, URIRef

    store = open_store(tmp_path / "store")
    graph = URIRef(f"{SYNTHETIC_BASE}graph/g")
    triple = (URIRef(f"{SYNTHETIC_BASE}s"), URIRef(f"{SYNTHETIC_BASE}p"), Literal("old"))
    version = store.update_graphs({graph: ([], [triple])})
    staged_triple = (triple[0], triple[1], Literal("staged"))
    with store.staging_copy() as copy:
        assert set(copy.triples(graph)) == {triple}
        copy.update_graphs({graph: ([triple], [staged_triple])})
        assert set(copy.triples(graph)) == {staged_triple}
        assert set(store.triples(graph)) == {triple}
        folder = copy.path
        assert folder.exists() and folder.parent == store.path.parent
    assert not folder.exists()
    assert store.dataset_version() == version
    store.close()


def test_a_leftover_staging_copy_is_removed_at_the_next_opening(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    leftover = tmp_path / ".store.staging-999999-deadbeef"
    store._store.backup(str(leftover))  # what a killed ingest leaves
    store.close()
    del store
    assert leftover.exists()
    EmbeddedStore(tmp_path / "store").close()
    assert not leftover.exists()
