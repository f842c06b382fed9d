"""What works for whom from the per-version finding table (whatworks/analysis/what_works.py):
the same interventions and counts as the catalogue's .rq on the bundled base and on a
synthetic base with filters (and with population-coded moderators inserted under the
synthetic namespace); estimates, headline, country synonyms, facets, empty_because and
ordering."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from rdflib import RDF, RDFS, Literal, URIRef

from benchmarks.synthetic import generate
from tests.conftest import ingest_synthetic, run_command
from whatworks.analysis import what_works as ww
from whatworks.core.catalogue import get
from whatworks.core.namespaces import EMMIE_NS, concept
from whatworks.core.store import EmbeddedStore, open_store

SYN = "https://w3id.org/whatworks/synthetic/id/"


def e(term: str) -> URIRef:
    return URIRef(EMMIE_NS[term])


def reference(store: EmbeddedStore, question: ww.Question) -> dict[str, dict[str, Any]]:
    """The .rq's answer, keyed by intervention, with the columns both must agree on."""
    named = get("what_works_for_whom")
    rows = ww.store_read(store)(named.text, named.bindings(question.as_params()))
    return {str(r["intervention"]): _comparable(r) for r in rows}


def ours(table: ww.FindingTable, question: ww.Question) -> dict[str, dict[str, Any]]:
    return {r["intervention"]: _comparable(r) for r in ww.answer(table, question).rows}


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("direction_summary", "n_studies", "n_findings", "n_favourable", "n_unfavourable")
    keys += ("n_no_effect", "n_unclear", "verification", "any_proxy", "intervention_label")
    out = {k: row.get(k) for k in keys}
    out["studies"] = set(str(row.get("studies") or "").split())
    out["dois"] = set(str(row.get("dois") or "").split())
    out["verification"] = row.get("verification") or ""
    return out


def questions(table: ww.FindingTable) -> Iterator[ww.Question]:
    """Every outcome unfiltered, with each value each facet lists, and some pairs."""
    for outcome in ww.OUTCOMES:
        base = ww.Question(outcome)
        yield base
        listed = ww.facets(table, base)
        for name, values in listed.items():
            for value in values[:6]:
                yield base.with_(name, value["value"])
        pairs = [("need", "setting"), ("design", "country"), ("age", "verified_only")]
        for a, b in pairs:
            if listed[a] and listed[b]:
                yield base.with_(a, listed[a][0]["value"]).with_(b, listed[b][-1]["value"])
        yield base.with_("country", "UK")
        yield base.with_("country", "us")
        yield base.with_("country", "Narnia")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    folder = tmp_path_factory.mktemp("what-works") / "store"
    done = run_command(folder, "load", "-q")
    assert done.returncode == 0, done.stderr
    store = open_store(folder, read_only=True)
    yield store
    store.close()


@pytest.fixture(scope="module")
def table(bundled: EmbeddedStore) -> ww.FindingTable:
    return ww.build_table(ww.store_read(bundled))


def test_agrees_with_the_catalogue_query_on_the_bundled_base(
    bundled: EmbeddedStore, table: ww.FindingTable
) -> None:
    asked = list(questions(table))
    assert len(asked) > 30
    for question in asked:
        assert ours(table, question) == reference(bundled, question), question


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """A 10k synthetic base, plus moderators with a coded population and context."""
    folder = tmp_path_factory.mktemp("what-works-synthetic")
    summary = generate(folder / "sheets", size="10k", seed=5)
    path = folder / "store"
    ingest_synthetic(path, summary.files)
    store = open_store(path)
    read = ww.store_read(store)
    table = ww.build_table(read)
    # three interventions get a subgroup moderator: for a need, a setting, an age band
    entry = [f for f in table.findings if f.outcome == "entry"]
    first, second, third = sorted({f.intervention for f in entry})[:3]
    graph = URIRef(SYN + "graph/test-moderators")
    triples = []
    for n, (intervention, kind, value) in enumerate(
        [
            (first, "need", "going_missing"),
            (second, "setting", "family_court"),
            (third, "ageBand", "early_childhood"),
        ]
    ):
        moderator = URIRef(f"{SYN}moderator/test-{n}")
        where = "context" if kind == "setting" else "population"
        holder = URIRef(f"{moderator}/{where}")
        scheme = "age-band" if kind == "ageBand" else kind
        triples += [
            (moderator, RDF.type, e("Moderator")),
            (moderator, e("aboutIntervention"), URIRef(intervention)),
            (moderator, RDFS.label, Literal(f"synthetic subgroup {n}")),
            (moderator, e(where), holder),
            (holder, e(kind), URIRef(concept(scheme, value))),
        ]
    store.replace_graphs({graph: triples})
    yield store
    store.close()


def test_agrees_with_the_catalogue_query_on_a_synthetic_base(synthetic: EmbeddedStore) -> None:
    table = ww.build_table(ww.store_read(synthetic))
    asked = list(questions(table))
    for question in asked:
        assert ours(table, question) == reference(synthetic, question), question
    # the moderators' codes are facet values and match their interventions
    entry = sorted({f.intervention for f in table.findings if f.outcome == "entry"})
    for intervention, name, value in (
        (entry[0], "need", "going_missing"),
        (entry[1], "setting", "family_court"),
        (entry[2], "age", "3"),
    ):
        got = ww.answer(table, ww.Question("entry").with_(name, value))
        [row] = [r for r in got.rows if r["intervention"] == intervention]
        assert row["matched_moderators"], (name, value)
        assert ours(table, got.question) == reference(synthetic, got.question)
        assert value in {v["value"] for v in ww.facets(table, ww.Question("entry"))[name]}


def test_every_facet_value_gives_rows(table: ww.FindingTable) -> None:
    for outcome in ww.OUTCOMES:
        base = ww.Question(outcome, (("verified_only", "true"),))
        for question in (ww.Question(outcome), base):
            for name, values in ww.facets(table, question).items():
                for value in values:
                    got = ww.answer(table, question.with_(name, value["value"]))
                    assert len(got.rows) == value["n_interventions"] > 0, (name, value)


def test_mst_on_entry_carries_the_start_trial_estimate(table: ww.FindingTable) -> None:
    rows = ww.answer(table, ww.Question("entry")).rows
    [mst] = [r for r in rows if r["intervention"].endswith("/intervention/mst")]
    assert "OR 1.25 (95% CI 0.77 to 2.05)" in mst["headline_text"]
    start = next(x for x in mst["estimates"] if x["value"] == 1.25)
    assert (start["ci_lower"], start["ci_upper"], start["ci_level"]) == (0.77, 2.05, 0.95)
    assert start["statistic"] == "odds_ratio" and start["follow_up_months"] == 18
    assert start["study_name"] == "Fonagy et al. 2018" and start["proxy"] is False
    assert "Fonagy et al. 2018" in mst["study_names"]
    assert not any("_" in name for name in mst["study_names"])


def test_country_synonyms_and_whole_names(table: ww.FindingTable) -> None:
    england = ww.answer(table, ww.Question("entry", (("country", "England"),))).rows
    assert england
    for asked in ("UK", "united kingdom", "Britain"):
        uk = ww.answer(table, ww.Question("entry", (("country", asked),))).rows
        assert {r["intervention"] for r in uk} == {r["intervention"] for r in england}
    usa = {
        r["intervention"]
        for r in ww.answer(table, ww.Question("entry", (("country", "USA"),))).rows
    }
    assert usa
    for asked in ("US", "united states", "America"):
        rows = ww.answer(table, ww.Question("entry", (("country", asked),))).rows
        assert {r["intervention"] for r in rows} == usa
    assert ww.asked_countries("us") & ww.country_names("Russia") == frozenset()
    assert ww.country_names("USA (Iowa)") == {"usa", "iowa"}


def test_an_empty_answer_names_the_filter_that_emptied_it(table: ww.FindingTable) -> None:
    got = ww.answer(table, ww.Question("entry", (("country", "Narnia"), ("design", "rct"))))
    assert got.rows == []
    assert got.empty_because == [
        {
            "parameters": ["country"],
            "n_rows": ww._count(table, ww.Question("entry", (("design", "rct"),))),
        }
    ]
    assert ww.answer(table, ww.Question("entry")).empty_because == []


def _table(rows: list[tuple[str, str, bool, str]], ratings: dict[str, str]) -> ww.FindingTable:
    """A table built in code: (intervention, direction, proxy, study) findings on entry,
    and the tiers of ``ratings`` (best first: a, b, c)."""
    findings, studies = [], {}
    for n, (intervention, direction, proxy, study) in enumerate(rows):
        iri = f"{SYN}study/{study}"
        studies[iri] = ww.Study(iri, study, study, "rct", "yes", "", "England", None)
        findings.append(
            ww.Finding(
                f"{SYN}finding/{n}",
                "entry",
                f"{SYN}intervention/{intervention}",
                direction,
                iri,
                proxy,
                "",
                "odds_ratio",
                0.8,
                0.6,
                1.1,
                0.95,
                12.0,
                None,
                None,
                "",
                "England",
                frozenset(),
                frozenset(),
            )
        )
    return ww.FindingTable(
        findings=findings,
        studies=studies,
        types={},
        moderators=[],
        profiles={},
        ratings={
            ("entry", f"{SYN}intervention/{i}"): (t, t, f"{SYN}rule") for i, t in ratings.items()
        },
        tier_order=("a", "b", "c"),
    )


def test_rows_are_ordered_by_rating_then_direction_then_studies() -> None:
    table = _table(
        [
            ("proxy_one", "favourable", True, "p1"),
            ("null_trials", "no_effect", False, "t1"),
            ("null_trials", "no_effect", False, "t2"),
            ("good", "favourable", False, "g1"),
            ("good_more", "favourable", False, "g2"),
            ("good_more", "favourable", False, "g3"),
            ("unrated", "favourable", False, "u1"),
        ],
        {"null_trials": "b", "good": "a", "good_more": "a", "proxy_one": "b"},
    )
    order = [ww.code(r["intervention"]) for r in ww.answer(table, ww.Question("entry")).rows]
    assert order == ["good_more", "good", "null_trials", "proxy_one", "unrated"]


def test_a_single_proxy_study_never_outranks_rated_trials_even_unrated() -> None:
    table = _table(
        [("proxy_one", "favourable", True, "p1"), ("trials", "no_effect", False, "t1")],
        {},
    )
    order = [ww.code(r["intervention"]) for r in ww.answer(table, ww.Question("entry")).rows]
    assert order == ["trials", "proxy_one"]


def test_on_the_bundled_base_no_single_proxy_study_outranks_a_rated_trial(
    table: ww.FindingTable,
) -> None:
    for outcome in ww.OUTCOMES:
        rows = ww.answer(table, ww.Question(outcome)).rows
        order = ww.TIER_ORDER
        for a, row in enumerate(rows):
            if row["n_studies"] != 1 or not all(e["proxy"] for e in row["estimates"]):
                continue
            for later in rows[a + 1 :]:
                trial = any(
                    (e["sms_level"] or 0) >= 4 and not e["proxy"] for e in later["estimates"]
                )
                as_good = order.index(later["rating"]) <= order.index(row["rating"])
                assert not (trial and as_good), (
                    outcome,
                    row["intervention"],
                    later["intervention"],
                )


def test_the_readme_examples_return_rows(bundled: EmbeddedStore) -> None:
    """Every what_works_for_whom example of the README (CLI and curl) has rows."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    asked = []
    for line in readme.splitlines():
        if "query what_works_for_whom" in line:
            asked.append(dict(re.findall(r"--param (\w+)=(\S+)", line)))
        for query in re.findall(r"/api/queries/what_works_for_whom\?([^'\s`]+)", line):
            asked.append(dict(parse_qsl(query)))
    assert len(asked) >= 2
    for params in asked:
        assert reference(bundled, ww.Question.of(params)), params
