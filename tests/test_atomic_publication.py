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

import os
import shutil
import threading
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from tests.conftest import SYNTHETIC_BASE
from tests.test_faults import write_version
from whatworks.analysis.derived import DERIVED_GRAPH
from whatworks.core.engine import (
    LIVE,
    VERSION_MARKER,
    engine_folder,
    open_leased_view,
    open_read_only_view,
    read_version_marker,
)
from whatworks.core.namespaces import DATASET, META_GRAPH
from whatworks.core.store import PREVIOUS_FILE, EmbeddedStore, open_store
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
        assert folder.exists() and folder.parent == store.path
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


def folders(store: Path) -> set[str]:
    return {p.name for p in store.iterdir() if p.is_dir() and not p.is_symlink()}


def quads(store: Path) -> set[str]:
    view = open_store(store, read_only=True)
    try:
        return {str(q) for q in view._store}
    finally:
        view.close()


def test_an_ingest_switches_the_store_to_its_staging_copy(tmp_path: Path) -> None:
    """The store folder holds versions and a link to the live one: each ingest that
    changes something makes its staging copy the live version, and keeps the version it
    replaced (for readers still on it) until the next switch. The writer's own handle
    reads the new version; a read-only view opened before keeps reading the old one."""
    a = write_version(tmp_path / "a", "a", 12)
    b = write_version(tmp_path / "b", "b", 8)
    store = open_store(tmp_path / "store")
    assert (store.path / LIVE).is_symlink()
    first = ingest(a, store, base=SYNTHETIC_BASE)
    live_a = engine_folder(store.path)
    assert store.folder == live_a and live_a.parent == store.path
    assert read_version_marker(store.path) == first.version == store.dataset_version()
    old_view = open_read_only_view(store.path)
    second = ingest(b, store, base=SYNTHETIC_BASE)
    live_b = engine_folder(store.path)
    assert live_b != live_a and store.folder == live_b
    assert store.dataset_version() == second.version == read_version_marker(store.path)
    assert (live_b / PREVIOUS_FILE).read_text() == live_a.name
    assert folders(store.path) == {live_a.name, live_b.name}
    # the view opened before the switch still answers, from the version it opened
    assert read(old_view)[0] == first.version
    assert read(open_read_only_view(store.path))[0] == second.version
    del old_view
    third = ingest(a, store, base=SYNTHETIC_BASE)
    assert folders(store.path) == {live_b.name, engine_folder(store.path).name}
    assert read(store._store)[0] == third.version
    # nothing to change: no switch, no new folder
    same = ingest(a, store, base=SYNTHETIC_BASE)
    assert same.version == third.version
    assert folders(store.path) == {live_b.name, engine_folder(store.path).name}
    store.close()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_store_of_the_first_layout_gains_the_link_at_its_first_switch(tmp_path: Path) -> None:
    """A store written before decision 0019 (the engine's files in the store folder itself)
    opens as it is; its first ingest makes it a store of versions, in the same rename; its
    old files stay until the next switch (a reader may be on them), then go."""
    a = write_version(tmp_path / "a", "a", 12)
    b = write_version(tmp_path / "b", "b", 8)
    made = open_store(tmp_path / "made")
    ingest(a, made, base=SYNTHETIC_BASE)
    made.close()
    old = tmp_path / "old"
    shutil.copytree(engine_folder(made.path), old)  # the first layout: no link
    expected = quads(made.path)
    assert quads(old) == expected
    store = open_store(old)
    assert store.folder == old and not (old / LIVE).exists()
    assert read_version_marker(old) == store.dataset_version()
    view = open_read_only_view(old)
    report = ingest(b, store, base=SYNTHETIC_BASE)
    assert (old / LIVE).is_symlink() and store.folder == engine_folder(old)
    assert (store.folder / PREVIOUS_FILE).read_text() == "."
    assert (old / "CURRENT").exists()  # kept for the view opened before
    assert read(view)[0] != report.version
    assert read(open_read_only_view(old))[0] == report.version == read_version_marker(old)
    del view
    ingest(a, store, base=SYNTHETIC_BASE)
    store.close()
    assert [p.name for p in old.iterdir() if p.is_symlink() or not p.is_dir()] == [LIVE]
    assert len(folders(old)) == 2


def test_a_store_copied_with_its_link_followed_is_relinked(tmp_path: Path) -> None:
    """``shutil.copytree`` follows links: ``live`` becomes a folder. A writable opening
    makes it a version folder and the link again; the data is the same."""
    store = open_store(tmp_path / "store")
    ingest(write_version(tmp_path / "a", "a", 8), store, base=SYNTHETIC_BASE)
    store.close()
    copy = tmp_path / "copy"
    shutil.copytree(store.path, copy)
    assert (copy / LIVE).is_dir() and not (copy / LIVE).is_symlink()
    assert quads(copy) == quads(store.path)  # readable as it is
    opened = open_store(copy)
    assert (copy / LIVE).is_symlink() and opened.folder == engine_folder(copy)
    opened.close()
    assert quads(copy) == quads(store.path)
    report = ingest(write_version(tmp_path / "b", "b", 4), open_store(copy), base=SYNTHETIC_BASE)
    assert read_version_marker(copy) == report.version


def test_leftovers_of_a_killed_switch_are_removed_at_the_next_opening(tmp_path: Path) -> None:
    """A killed ingest leaves a version folder that never became live (its staging copy)
    and perhaps a link not yet renamed: the next writable opening removes both, and keeps
    the live version and the one it replaced."""
    a = write_version(tmp_path / "a", "a", 8)
    store = open_store(tmp_path / "store")
    ingest(a, store, base=SYNTHETIC_BASE)
    ingest(write_version(tmp_path / "b", "b", 4), store, base=SYNTHETIC_BASE)
    kept = folders(store.path)
    assert len(kept) == 2
    store._store.backup(str(store.path / "v-20990101T000000000000-deadbeef"))
    (store.path / f"{LIVE}.999999-deadbeef").symlink_to("v-20990101T000000000000-deadbeef")
    store.close()
    expected = quads(store.path)
    EmbeddedStore(store.path).close()
    assert folders(store.path) == kept
    assert {p.name for p in store.path.iterdir() if p.is_symlink()} == {LIVE}
    assert quads(store.path) == expected
    assert (engine_folder(store.path) / VERSION_MARKER).exists()


def test_an_interrupted_relinking_is_finished(tmp_path: Path) -> None:
    """Killed between renaming a copied ``live`` folder and making the link: the next
    writable opening finishes it from the journal."""
    from whatworks.core.store import RELINKING_FILE

    store = open_store(tmp_path / "store")
    ingest(write_version(tmp_path / "a", "a", 8), store, base=SYNTHETIC_BASE)
    store.close()
    expected = quads(store.path)
    copy = tmp_path / "copy"
    shutil.copytree(store.path, copy)
    (copy / RELINKING_FILE).write_text("v-20990101T000000000000-cafecafe")
    (copy / LIVE).rename(copy / "v-20990101T000000000000-cafecafe")  # the kill came here
    EmbeddedStore(copy).close()
    assert os.readlink(copy / LIVE) == "v-20990101T000000000000-cafecafe"
    assert not (copy / RELINKING_FILE).exists()
    assert quads(copy) == expected


def test_a_version_a_reader_holds_a_lease_on_stays_until_released(tmp_path: Path) -> None:
    """The server's query workers hold a lease on the version they have a view of: the
    switches that would remove its folder leave it, the view keeps answering from it
    however many versions later, and the first switch after its release removes it."""
    a = write_version(tmp_path / "a", "a", 8)
    b = write_version(tmp_path / "b", "b", 4)
    store = open_store(tmp_path / "store")
    first = ingest(a, store, base=SYNTHETIC_BASE)
    view, lease = open_leased_view(store.path)
    leased = lease.folder
    assert leased == engine_folder(store.path)
    for files in (b, a, b):
        ingest(files, store, base=SYNTHETIC_BASE)
    assert leased.is_dir() and leased != engine_folder(store.path)
    assert read(view)[0] == first.version
    assert len(folders(store.path)) == 3  # the leased one, the previous, the live one
    del view
    lease.release()
    ingest(a, store, base=SYNTHETIC_BASE)
    assert not leased.exists() and len(folders(store.path)) == 2
    store.close()
