"""Re-ingesting a changed file: only the change is validated and written, and the derived
graph afterwards is exactly what recomputing it from all the evidence gives."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import PROV

from benchmarks.synthetic import SYNTHETIC_ID_BASE, generate
from whatworks.analysis.derived import DERIVED_GRAPH, derive, restamp
from whatworks.core.errors import InputError, ValidationFailed
from whatworks.core.namespaces import source_graph
from whatworks.core.store import EmbeddedStore, Triple, open_store
from whatworks.ingest.pipeline import IngestReport, ingest

Row = dict[str, str]


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sheets")
    generate(folder, size="10k", seed=11)
    return folder


@pytest.fixture
def loaded(tmp_path: Path, sheets: Path) -> Iterator[tuple[EmbeddedStore, Path]]:
    """A store holding the 10k synthetic sheets, and a copy of the sheets to edit."""
    folder = tmp_path / "sheets"
    folder.mkdir()
    for path in sheets.glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    store = open_store(tmp_path / "store")
    report = run(store, *sorted(folder.glob("*.csv")))
    assert report.derived == "full"
    try:
        yield store, folder
    finally:
        store.close()


def run(store: EmbeddedStore, *paths: Path) -> IngestReport:
    return ingest(list(paths), store, base=SYNTHETIC_ID_BASE)


def edit(folder: Path, sheet: str, change: Callable[[list[Row]], list[Row]]) -> Path:
    path = folder / f"synthetic.{sheet}.csv"
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    rows = change(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def stored_derived(store: EmbeddedStore) -> set[Triple]:
    return set(store.triples(DERIVED_GRAPH))


def assert_derived_is_a_full_recompute(store: EmbeddedStore) -> None:
    stored = stored_derived(store)
    full = set(restamp(derive(store), stored))
    assert stored == full, (
        f"{len(stored - full)} stored triples a full recompute does not give, "
        f"{len(full - stored)} it gives that are not stored"
    )


def undated(triples: set[Triple]) -> set[Triple]:
    return {t for t in triples if t[1] != PROV.generatedAtTime}


def test_unchanged_file_writes_nothing(loaded: tuple[EmbeddedStore, Path]) -> None:
    store, folder = loaded
    version = store.dataset_version()
    before = stored_derived(store)
    report = run(store, folder / "synthetic.findings.csv", folder / "synthetic.economic.csv")
    assert report.written == ()
    assert report.derived == "none"
    assert report.version == version == store.dataset_version()
    assert stored_derived(store) == before


def test_one_change_writes_one_row_and_its_results(loaded: tuple[EmbeddedStore, Path]) -> None:
    store, folder = loaded
    before = stored_derived(store)

    # an estimate that is pooled: its pooled estimates and nothing else change
    pooled = {s for s, p, o in before if p == URIRef(f"{EMMIE}pools")}
    finding = sorted(
        {o for s, p, o in before if p == URIRef(f"{EMMIE}pools") and s in pooled}, key=str
    )[0]
    key = str(finding).rsplit("/", 1)[1]

    def lower_estimate(rows: list[Row]) -> list[Row]:
        for row in rows:
            if row["key"] == key:
                row["estimate"] = str(round(float(row["estimate"]) * 0.9, 3))
                if row["ci_lower"] and float(row["ci_lower"]) > float(row["estimate"]):
                    row["ci_lower"] = row["estimate"]
        return rows

    report = run(store, edit(folder, "findings", lower_estimate))
    assert report.derived == "partial"
    graphs = {str(g).rsplit("/", 1)[1]: (gone, came) for g, gone, came in report.written}
    gone, came = graphs["synthetic.findings"]
    assert 1 <= gone <= 2 and gone == came  # the value (and perhaps the lower limit)
    after = stored_derived(store)
    changed = {s for s, _, _ in after ^ before}
    about = {o for s, p, o in after if s in changed and p == URIRef(f"{EMMIE}aboutIntervention")}
    assert len(about) == 1  # only that intervention's results moved
    # results that did not change keep their time
    untouched = {s for s, _, _ in after} - changed
    assert untouched
    assert {t for t in after if t[0] in untouched} == {t for t in before if t[0] in untouched}
    assert_derived_is_a_full_recompute(store)


def test_several_kinds_of_change_keep_the_derived_graph_exact(
    loaded: tuple[EmbeddedStore, Path],
) -> None:
    store, folder = loaded

    def relabel_first_intervention(rows: list[Row]) -> list[Row]:
        rows[0]["label"] = "Synthetic intervention, renamed"
        return rows

    def drop_some_findings(rows: list[Row]) -> list[Row]:
        return [r for i, r in enumerate(rows) if i % 17 != 3]

    def raise_quality(rows: list[Row]) -> list[Row]:
        for row in rows[:5]:
            row["quality"] = "4" if row["quality"] else ""
        return rows

    def relabel_studies(rows: list[Row]) -> list[Row]:
        for row in rows[:3]:
            row["label"] = row["label"] + " (renamed)"
        return rows

    def change_economic_text(rows: list[Row]) -> list[Row]:
        rows[0]["description"] = "Synthetic description, edited."
        return rows

    def move_findings_to_another_intervention(rows: list[Row]) -> list[Row]:
        target = rows[0]["intervention"]
        for row in rows[1:4]:
            if row["intervention"]:
                row["intervention"] = target
        return rows

    for sheet, change in (
        ("interventions", relabel_first_intervention),
        ("findings", drop_some_findings),
        ("emmie", raise_quality),
        ("studies", relabel_studies),
        ("economic", change_economic_text),
        ("findings", move_findings_to_another_intervention),
    ):
        before = undated(stored_derived(store))
        report = run(store, edit(folder, sheet, change))
        assert report.derived == "partial", sheet
        assert_derived_is_a_full_recompute(store)
        if sheet == "economic":  # economic evidence without an outcome: ratings unchanged
            assert undated(stored_derived(store)) == before


@pytest.mark.parametrize(("share", "expected"), [(1, "partial"), (10_000, "full")])
def test_a_large_change_to_a_large_store_is_derived_partially(
    loaded: tuple[EmbeddedStore, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    share: int,
    expected: str,
) -> None:
    """Past PARTIAL_DERIVE_LIMIT changed subjects, a change still goes the partial way when
    it is small beside the derived graph (a share of it): adding a second part of a base,
    as benchmarks/ingest_parts.py does, must not recompute everything already there."""
    import whatworks.ingest.pipeline as pipeline

    store, _ = loaded
    monkeypatch.setattr(pipeline, "PARTIAL_DERIVE_LIMIT", 10)
    monkeypatch.setattr(pipeline, "PARTIAL_DERIVE_SHARE", share)
    part = generate(tmp_path / "part2", size="10k", seed=11, part=2)
    report = run(store, *part.files)
    assert report.derived == expected
    assert_derived_is_a_full_recompute(store)


@pytest.mark.parametrize("count", [3, 35])
def test_results_for_some_interventions_are_theirs_in_all(
    loaded: tuple[EmbeddedStore, Path], count: int
) -> None:
    # derive(interventions=...) asks the store in one of two ways (a few interventions, or
    # more than 30: whatworks.analysis.derived._restricted); both give the full results' triples.
    store, _ = loaded
    when = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    every = derive(store, generated_at=when)
    about = {s: o for s, p, o in every if p == URIRef(f"{EMMIE}aboutIntervention")}
    chosen = sorted(set(about.values()), key=str)[:count]
    assert len(chosen) == count
    results = {s for s, i in about.items() if i in chosen}
    some = derive(store, generated_at=when, interventions=chosen)
    assert {t for t in some if t[0] in results} == {t for t in every if t[0] in results}
    # besides the results, only what they name: their activities and rating rules
    named = {o for _, p, o in every if p in (PROV.wasGeneratedBy, URIRef(f"{EMMIE}ratingRule"))}
    assert {s for s, _, _ in some} - results <= named


def test_a_bad_change_is_still_refused(loaded: tuple[EmbeddedStore, Path]) -> None:
    store, folder = loaded
    version = store.dataset_version()

    def break_interval(rows: list[Row]) -> list[Row]:
        row = next(r for r in rows if r["ci_lower"] and r["estimate"])
        # Above the estimate, not above the upper limit (that would be an inverted
        # interval, refused by the sheet rules before the shapes run).
        row["ci_lower"] = str(float(row["estimate"]) + 1)
        row["ci_upper"] = str(float(row["estimate"]) + 2)
        return rows

    with pytest.raises(ValidationFailed) as failure:
        run(store, edit(folder, "findings", break_interval))
    assert any(p.shape_id == "WW-EST-010" for p in failure.value.problems)

    def dangling_study(rows: list[Row]) -> list[Row]:
        rows[-1]["study"] = "syn-study-nowhere"
        return rows

    with pytest.raises(InputError):
        run(store, edit(folder, "economic", dangling_study))
    assert store.dataset_version() == version


def test_a_fresh_graph_still_gets_everything(tmp_path: Path, sheets: Path) -> None:
    store = open_store(tmp_path / "store")
    try:
        run(store, *sorted(sheets.glob("*.csv")))
        stored = stored_derived(store)
        assert stored
        assert_derived_is_a_full_recompute(store)
        times = {o for _, p, o in stored if p == PROV.generatedAtTime}
        assert len(times) == 1 and isinstance(next(iter(times)), Literal)
    finally:
        store.close()


EMMIE = "https://w3id.org/whatworks/emmie#"


def test_a_run_that_dies_while_deriving_writes_nothing(
    loaded: tuple[EmbeddedStore, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The derived results are computed over a staging copy before anything is written: a
    run that dies there leaves the store as it was, and no staging copy behind."""
    store, folder = loaded
    import whatworks.analysis.derived

    def die(*args: object, **kwargs: object) -> None:
        raise RuntimeError("died while computing the derived graph")

    def lower_estimates(rows: list[Row]) -> list[Row]:
        for row in rows:
            if row["estimate"] and row["ci_lower"] and row["statistic"] == "odds_ratio":
                row["estimate"] = row["ci_lower"]
        return rows

    version = store.dataset_version()
    findings = set(store.triples(source_graph("synthetic.findings")))
    before = stored_derived(store)
    folders = sorted(store.path.iterdir())  # the versions kept; the staging copy must go
    with monkeypatch.context() as patch:
        patch.setattr(whatworks.analysis.derived, "derived_change", die)
        with pytest.raises(RuntimeError):
            run(store, edit(folder, "findings", lower_estimates))
    assert store.dataset_version() == version
    assert set(store.triples(source_graph("synthetic.findings"))) == findings
    assert stored_derived(store) == before
    assert sorted(store.path.iterdir()) == folders
    # the same ingest, run again, writes the evidence and its results together
    report = run(store, folder / "synthetic.findings.csv")
    assert report.derived == "partial" and report.version != version
    assert_derived_is_a_full_recompute(store)


def test_a_mark_left_by_an_earlier_two_transaction_ingest_is_repaired(
    loaded: tuple[EmbeddedStore, Path],
) -> None:
    """A store whose derived graph holds the mark an earlier whatworks wrote with the
    evidence (decision 0009) is recomputed whole by the next ingest, and the mark goes."""
    store, folder = loaded
    from rdflib import RDFS

    from whatworks.ingest.pipeline import _PENDING

    mark = (DERIVED_GRAPH, RDFS.comment, Literal(_PENDING))
    store.update_graphs({DERIVED_GRAPH: ([], [mark])})
    report = run(store, edit(folder, "economic", lambda rows: rows[1:]))
    assert report.derived == "full"
    assert mark not in stored_derived(store)
    assert_derived_is_a_full_recompute(store)
