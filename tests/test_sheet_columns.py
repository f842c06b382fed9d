"""The coding-sheet columns for what real studies report: subgroups tied to codes, secondary
and intermediate outcomes, arms and numbers, reviews and variants.

A synthetic coding set that uses every one of them (tests/fixtures/sheet/) validates and
ingests, each lands as the properties the queries and pages read, and a fault in each is
named by file, row and column with nothing written.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from rdflib import URIRef

from tests.conftest import CLI, SYNTHETIC_BASE, write_sheet
from tests.test_ingest import assert_refused, ingest
from whatworks.analysis import what_works as ww
from whatworks.core.store import open_store

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "sheet"
EMMIE = "https://w3id.org/whatworks/emmie#"
CONCEPT = "https://w3id.org/whatworks/concept/"


def rows(cli: CLI, name: str, *params: str) -> list[dict[str, str]]:
    args = [a for p in params for a in ("--param", p)]
    result = cli("query", name, *args, "--format", "csv")
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def sparql(cli: CLI, text: str) -> list[dict[str, str]]:
    result = cli("query", "--format", "csv", "-", input=text)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def iri(kind: str, key: str) -> str:
    return f"{SYNTHETIC_BASE}{kind}/{key}"


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "sheet"
    shutil.copytree(FIXTURE, folder)
    return folder


@pytest.fixture
def ingested(cli: CLI, fixture_copy: Path) -> Path:
    code, out = ingest(cli, *sorted(fixture_copy.glob("*.csv")))
    assert code == 0, out
    assert "warning" not in out, out
    return fixture_copy


def test_a_sheet_with_every_new_column_validates_and_ingests(cli: CLI, fixture_copy: Path) -> None:
    result = cli("validate", *map(str, sorted(fixture_copy.glob("*.csv"))))
    assert result.exit_code == 0, result.output
    code, out = ingest(cli, *sorted(fixture_copy.glob("*.csv")))
    assert code == 0, out
    assert "ingested 5 file(s)" in out


def test_a_moderator_has_the_population_and_context_of_a_finding(cli: CLI, ingested: Path) -> None:
    # The same predicates a finding's population and context use, so the need/age/setting
    # filters can read moderators as they read findings.
    found = sparql(
        cli,
        "SELECT ?need ?band ?lo ?hi ?setting ?country ?effect ?finding WHERE { <"
        + iri("moderator", "d1")
        + "> emmie:population ?p ; emmie:context ?c ; emmie:moderatorEffect ?effect ; "
        "emmie:moderatesFinding ?finding . ?p emmie:need ?need ; emmie:ageBand ?band ; "
        "emmie:minAge ?lo ; emmie:maxAge ?hi . "
        "?c emmie:setting ?setting ; emmie:country ?country }",
    )
    assert found == [
        {
            "need": CONCEPT + "need/neglect",
            "band": CONCEPT + "age-band/adolescence",
            "lo": "11",
            "hi": "17",
            "setting": CONCEPT + "setting/home",
            "country": "England",
            "effect": CONCEPT + "moderator-effect/none_in_subgroup",
            "finding": iri("finding", "f1"),
        }
    ]


def test_moderators_of_intervention_gives_the_subgroup_codes(cli: CLI, ingested: Path) -> None:
    [row] = rows(cli, "moderators_of_intervention")
    assert {k: row[k] for k in ("needs", "age_band", "min_age", "max_age", "settings")} == {
        "needs": CONCEPT + "need/neglect",
        "age_band": CONCEPT + "age-band/adolescence",
        "min_age": "11",
        "max_age": "17",
        "settings": CONCEPT + "setting/home",
    }
    assert (row["country"], row["moderated_finding"]) == ("England", iri("finding", "f1"))


def test_what_works_counts_care_outcomes_only(cli: CLI, ingested: Path) -> None:
    [row] = rows(cli, "what_works_for_whom", "outcome=entry")
    # f1, f2 and the review's fr are on entry; f3 (intermediate) and f4 (secondary) are not;
    # the review r1 includes s1, which has a finding on i1 and entry: fr is left out.
    assert (row["n_findings"], row["n_studies"]) == ("2", "2")
    assert iri("study", "r1") not in row["studies"]
    for name in ("favourable_effects_by_outcome", "evidence_gaps", "conflicting_findings"):
        text = cli("query", name, "--format", "csv").output
        for key in ("f3", "f4"):
            assert iri("finding", key) not in text, name
    refused = cli("query", "what_works_for_whom", "--param", "outcome=family_functioning")
    assert refused.exit_code != 0
    assert "entry, re-entry, reunification" in refused.output


def test_outcome_roles_are_said_for_every_finding(cli: CLI, ingested: Path) -> None:
    found = sparql(
        cli,
        "SELECT ?f ?role WHERE { ?f a emmie:Finding ; emmie:outcomeRole ?role } ORDER BY ?f",
    )
    roles = {r["f"].rsplit("/", 1)[1]: r["role"].rsplit("/", 1)[1] for r in found}
    # f1 and fr leave outcome_role empty: care, from their proxy flag.
    assert roles == {
        "f1": "care",
        "f2": "care",
        "fr": "care",
        "f3": "intermediate",
        "f4": "secondary",
    }


def test_an_intermediate_outcome_is_mechanism_evidence(cli: CLI, ingested: Path) -> None:
    [row] = rows(cli, "mechanisms_of_intervention")
    assert row["mechanism"] == iri("mechanism", "m1")
    assert row["evidence_findings"] == iri("finding", "f3")
    assert row["intermediate_outcomes"] == "family_functioning (favourable)"


def test_mechanisms_of_intervention_answers_as_before_without_evidence(
    cli: CLI, fixture_copy: Path
) -> None:
    findings = fixture_copy / "new.findings.csv"
    kept = [line for line in findings.read_text().splitlines() if not line.startswith("f3,")]
    findings.write_text("\n".join(kept) + "\n")
    code, out = ingest(cli, *sorted(fixture_copy.glob("*.csv")))
    assert code == 0, out
    [row] = rows(cli, "mechanisms_of_intervention")
    assert row["mechanism"] == iri("mechanism", "m1")
    assert (row["evidence_findings"], row["intermediate_outcomes"]) == ("", "")


def pooled_k(cli: CLI) -> set[str]:
    return {r["k"] for r in rows(cli, "pooled_effects")}


def test_pooling_leaves_out_a_review_whose_included_study_is_pooled(
    cli: CLI, ingested: Path
) -> None:
    # s1, s2 and the review r1 (which includes s1) each have an odds ratio on entry: pooling
    # s1 and s2 and r1 would count s1's sample twice.
    assert pooled_k(cli) == {"2"}
    found = sparql(
        cli,
        "SELECT ?study WHERE { ?pooled a emmie:PooledEstimate ; "
        "emmie:poolingMethod <" + CONCEPT + "pooling-method/reml> ; "
        "emmie:pools ?finding . ?finding emmie:fromStudy ?study } ORDER BY ?study",
    )
    assert [r["study"] for r in found] == [iri("study", "s1"), iri("study", "s2")]


def test_without_includes_the_review_is_pooled(cli: CLI, fixture_copy: Path) -> None:
    studies = fixture_copy / "new.studies.csv"
    studies.write_text(studies.read_text().replace(",3,900,s1", ",3,900,"))
    code, out = ingest(cli, *sorted(fixture_copy.glob("*.csv")))
    assert code == 0, out
    assert pooled_k(cli) == {"3"}


def test_arms_units_approximate_numbers_reviews_variants_and_standard_properties(
    cli: CLI, ingested: Path
) -> None:
    found = sparql(
        cli,
        "SELECT ?in ?cn ?ie ?ce WHERE { <" + iri("finding", "f1") + "> emmie:interventionN ?in ; "
        "emmie:comparisonN ?cn ; emmie:interventionEvents ?ie ; emmie:comparisonEvents ?ce }",
    )
    assert found == [{"in": "62", "cn": "58", "ie": "20", "ce": "27"}]
    approximate = sparql(
        cli,
        "SELECT ?f ?p WHERE { ?f emmie:approximateNumber ?p } ORDER BY ?f ?p",
    )
    assert [(r["f"].rsplit("/", 1)[1], r["p"]) for r in approximate] == [
        ("f2", EMMIE + "comparisonGroupValue"),
        ("f2", EMMIE + "interventionGroupValue"),
        ("f3", EMMIE + "value"),
    ]
    unit = sparql(cli, "SELECT ?u WHERE { <" + iri("finding", "f2") + "> emmie:valueUnit ?u }")
    assert unit == [{"u": "rate_per_1000_per_year"}]
    review = sparql(
        cli,
        "SELECT ?design ?k ?n ?included WHERE { <" + iri("study", "r1") + "> emmie:design ?design ;"
        " emmie:includedStudyCount ?k ; emmie:participantCount ?n ;"
        " emmie:includesStudy ?included }",
    )
    assert review == [
        {
            "design": CONCEPT + "study-design/meta_analysis",
            "k": "3",
            "n": "900",
            "included": iri("study", "s1"),
        }
    ]
    variant = sparql(
        cli, "SELECT ?of WHERE { <" + iri("intervention", "i2") + "> emmie:variantOf ?of }"
    )
    assert variant == [{"of": iri("intervention", "i1")}]
    dois = sparql(
        cli,
        "PREFIX bibo: <http://purl.org/ontology/bibo/> SELECT ?ours ?bibo WHERE { <"
        + iri("work", "r1")
        + "> emmie:doi ?ours ; bibo:doi ?bibo }",
    )
    assert dois == [{"ours": "10.5555/synthetic.r1", "bibo": "10.5555/synthetic.r1"}]


def test_the_intervention_page_shows_mechanism_evidence_and_the_family(
    ingested: Path, store_dir: Path
) -> None:
    from flask import render_template

    from whatworks.core.catalogue import internal
    from whatworks.server import create_app
    from whatworks.server.page_data import construct
    from whatworks.server.resource_views import FAMILY, MECHANISM_EVIDENCE, page_model

    app = create_app({"store": str(store_dir), "query_workers": 1})
    with app.app_context():
        parent = URIRef(iri("intervention", "i1"))
        model = page_model(construct(internal("describe").text, {"iri": parent}, what="t"), parent)
        variant = URIRef(iri("intervention", "i2"))
        of_variant = page_model(
            construct(internal("describe").text, {"iri": variant}, what="t"), variant
        )
        with app.test_request_context():
            html = render_template("resource.html", **model)
        mechanism = URIRef(iri("mechanism", "m1"))
        of_mechanism = page_model(
            construct(internal("describe").text, {"iri": mechanism}, what="t"), mechanism
        )
    sections = model["sections"]
    assert [c.iri for c in sections[MECHANISM_EVIDENCE]] == [iri("finding", "f3")]
    assert iri("finding", "f3") not in [c.iri for c in sections["Findings"]]
    assert [c.iri for c in sections[FAMILY]] == [iri("intervention", "i2")]
    headings = list(sections)
    assert headings.index("Mechanisms") < headings.index(MECHANISM_EVIDENCE)
    assert [c.iri for c in of_variant["sections"][FAMILY]] == [iri("intervention", "i1")]
    assert [c.iri for c in of_mechanism["sections"][MECHANISM_EVIDENCE]] == [iri("finding", "f3")]
    # The page itself (synthetic IRIs are not served at /id/, so it is rendered here).
    assert f"{MECHANISM_EVIDENCE} <span" in html and f"{FAMILY} <span" in html
    assert "Synthetic programme variant" in html and "Synthetic intermediate finding." in html


# --- a fault in each new column, named by file, row and column --------------------------


def test_faults_in_the_new_columns_are_named_by_cell(
    cli: CLI, fixture_copy: Path, store_dir: Path
) -> None:
    """What the reader checks: kinds, codes and references, all in one run."""
    assert ingest(cli, *sorted(fixture_copy.glob("*.csv")))[0] == 0
    folder = fixture_copy
    write_sheet(
        folder,
        "bad.studies",
        [
            {"key": "b1", "title": "Synthetic", "verified": "no", "design": "meta_analysis",
             "included_studies": "twenty", "participants": "31,369", "includes": "no such"},
        ],
    )  # fmt: skip
    write_sheet(
        folder,
        "bad.interventions",
        [{"key": "bi", "label": "Synthetic", "variant_of": "nowhere"}],
    )
    base = {"study": "s1", "measure": "m", "proxy": "no", "direction": "favourable",
            "summary": "Synthetic."}  # fmt: skip
    write_sheet(
        folder,
        "bad.findings",
        [
            {**base, "key": "b1", "outcome": "entry", "intervention_n": "many"},
            {**base, "key": "b2", "outcome": "entry", "comparison_n": "1.5"},
            {**base, "key": "b3", "outcome": "entry", "intervention_events": "x"},
            {**base, "key": "b4", "outcome": "entry", "comparison_events": "-"},
            {**base, "key": "b5", "outcome": "entry", "value_unit": "per_100"},
            {**base, "key": "b6", "outcome": "entry", "approximate": "estimate; summary"},
            {**base, "key": "b7", "secondary_outcome": "happiness", "outcome_role": "secondary"},
            {**base, "key": "b8", "outcome": "entry", "outcome_role": "main"},
            {**base, "key": "b9", "outcome": "entry", "mechanism": "no-such-mechanism"},
        ],
    )
    write_sheet(
        folder,
        "bad.moderators",
        [
            {"key": "bm1", "study": "s1", "label": "x", "effect": "vanished"},
            {"key": "bm2", "study": "s1", "label": "x", "effect": "weaker", "age_band": "teens"},
            {"key": "bm3", "study": "s1", "label": "x", "effect": "weaker", "needs": "poverty"},
            {"key": "bm4", "study": "s1", "label": "x", "effect": "weaker", "settings": "moon"},
            {"key": "bm5", "study": "s1", "label": "x", "effect": "weaker", "min_age": "ten"},
            {"key": "bm6", "study": "s1", "label": "x", "effect": "weaker", "max_age": "old"},
        ],
    )
    out = assert_refused(
        cli,
        store_dir,
        sorted(folder.glob("bad.*.csv")),
        "bad.studies.csv, sheet studies, row 2, column included_studies",
        "bad.studies.csv, sheet studies, row 2, column participants",
        "bad.studies.csv, sheet studies, row 2, column includes",
        "bad.findings.csv, sheet findings, row 2, column intervention_n",
        "bad.findings.csv, sheet findings, row 3, column comparison_n",
        "bad.findings.csv, sheet findings, row 4, column intervention_events",
        "bad.findings.csv, sheet findings, row 5, column comparison_events",
        "bad.findings.csv, sheet findings, row 6, column value_unit",
        "bad.findings.csv, sheet findings, row 7, column approximate",
        "bad.findings.csv, sheet findings, row 8, column secondary_outcome",
        "bad.findings.csv, sheet findings, row 9, column outcome_role",
        "bad.moderators.csv, sheet moderators, row 2, column effect",
        "bad.moderators.csv, sheet moderators, row 3, column age_band",
        "bad.moderators.csv, sheet moderators, row 4, column needs",
        "bad.moderators.csv, sheet moderators, row 5, column settings",
        "bad.moderators.csv, sheet moderators, row 6, column min_age",
        "bad.moderators.csv, sheet moderators, row 7, column max_age",
    )
    assert "'per_100'" in out and "rate_per_1000_per_year" in out
    assert "none_in_subgroup" in out and "reversed" in out


def test_references_of_the_new_columns_are_named_by_cell(
    cli: CLI, fixture_copy: Path, store_dir: Path
) -> None:
    assert ingest(cli, *sorted(fixture_copy.glob("*.csv")))[0] == 0
    folder = fixture_copy
    write_sheet(
        folder, "bad.interventions", [{"key": "bi", "label": "Syn", "variant_of": "nowhere"}]
    )
    write_sheet(
        folder,
        "bad.studies",
        [{"key": "b1", "title": "Syn", "verified": "no", "design": "meta_analysis",
          "includes": "nostudy"}],
    )  # fmt: skip
    write_sheet(
        folder,
        "bad.findings",
        [{"key": "b9", "study": "s1", "outcome": "entry", "measure": "m", "proxy": "no",
          "direction": "favourable", "summary": "Syn.", "mechanism": "nomechanism"}],
    )  # fmt: skip
    write_sheet(
        folder,
        "bad.moderators",
        [{"key": "bm6", "study": "s1", "label": "x", "effect": "weaker", "finding": "nofinding"}],
    )
    assert_refused(
        cli,
        store_dir,
        sorted(folder.glob("bad.*.csv")),
        "bad.interventions.csv, sheet interventions, row 2, column variant_of",
        "bad.studies.csv, sheet studies, row 2, column includes",
        "bad.findings.csv, sheet findings, row 2, column mechanism",
        "bad.moderators.csv, sheet moderators, row 2, column finding",
    )


@pytest.mark.parametrize(
    ("sheet", "row", "column"),
    [
        ("findings", {"intervention_n": "10", "intervention_events": "11"}, "intervention_events"),
        ("findings", {"comparison_n": "9", "comparison_events": "12"}, "comparison_events"),
        ("findings", {"intervention_n": "0"}, "intervention_n"),
        ("findings", {"comparison_events": "4"}, "comparison_events"),
        ("findings", {"intervention_events": "4"}, "intervention_events"),
        ("findings", {"n": "100", "intervention_n": "62", "comparison_n": "58"}, "n"),
        ("findings", {"approximate": "comparison_value"}, "approximate"),
        ("findings", {"outcome": ""}, "outcome"),
        ("findings", {"secondary_outcome": "family_functioning"}, "secondary_outcome"),
        ("findings", {"outcome": "", "secondary_outcome": "child_wellbeing"}, "outcome_role"),
        ("findings", {"outcome_role": "proxy"}, "outcome_role"),
        ("findings", {"mechanism": "m1"}, "mechanism"),
        ("studies", {"design": "rct", "included_studies": "4"}, "included_studies"),
        ("studies", {"participants": "0"}, "participants"),
        ("studies", {"design": "systematic_review", "includes": "s9"}, "includes"),
        ("interventions", {"variant_of": "i9"}, "variant_of"),
        ("moderators", {"min_age": "12", "max_age": "10"}, "min_age"),
    ],
)
def test_shape_faults_in_the_new_columns_are_named_by_cell(
    cli: CLI, fixture_copy: Path, store_dir: Path, sheet: str, row: dict[str, str], column: str
) -> None:
    assert ingest(cli, *sorted(fixture_copy.glob("*.csv")))[0] == 0
    base = {
        "findings": {"key": "f9", "study": "s1", "intervention": "i1", "outcome": "entry",
                     "measure": "m", "proxy": "no", "direction": "favourable",
                     "summary": "Synthetic."},
        "studies": {"key": "s9", "title": "Synthetic study nine", "verified": "partial"},
        "interventions": {"key": "i9", "label": "Synthetic nine"},
        "moderators": {"key": "d9", "study": "s1", "label": "x", "effect": "weaker"},
    }[sheet]  # fmt: skip
    path = write_sheet(fixture_copy, f"bad.{sheet}", [{**base, **row}])
    out = assert_refused(
        cli, store_dir, [path], f"bad.{sheet}.csv, sheet {sheet}, row 2, column {column}", "WW-"
    )
    assert "problem" in out


def test_need_finds_an_intervention_through_a_subgroup_coded_on_the_sheet(
    cli: CLI, ingested: Path, store_dir: Path
) -> None:
    """The moderator row d1 codes the need `neglect`; no finding of i1 does. `need=neglect`
    finds i1 through it, in the catalogue's query and in the server's answer, which names
    the moderator that matched."""
    text = (ingested / "new.findings.csv").read_text(encoding="utf-8")
    findings = list(csv.DictReader(io.StringIO(text)))
    assert not any("neglect" in (row.get("needs") or "") for row in findings)
    [row] = rows(cli, "what_works_for_whom", "outcome=entry", "need=neglect")
    assert row["intervention"] == iri("intervention", "i1")
    assert rows(cli, "what_works_for_whom", "outcome=entry", "need=domestic_abuse") == []

    store = open_store(store_dir, read_only=True)
    try:
        table = ww.build_table(ww.store_read(store))
    finally:
        store.close()
    [answered] = ww.answer(table, ww.Question("entry", (("need", "neglect"),))).rows
    assert answered["intervention"] == iri("intervention", "i1")
    assert iri("moderator", "d1") in {str(m) for m in answered["matched_moderators"]}
    assert ww.answer(table, ww.Question("entry", (("need", "domestic_abuse"),))).rows == []


def test_a_review_is_not_counted_beside_a_study_it_includes(
    cli: CLI, ingested: Path, store_dir: Path
) -> None:
    """r1 includes s1, which has a finding on i1 and entry: the review's finding fr is not
    counted on that row by the server's answer either (the .rq: the test above)."""
    store = open_store(store_dir, read_only=True)
    try:
        table = ww.build_table(ww.store_read(store))
    finally:
        store.close()
    [row] = ww.answer(table, ww.Question("entry")).rows
    assert (row["n_findings"], row["n_studies"]) == (2, 2)
    assert iri("study", "r1") not in str(row["studies"])
    table.includes = {}
    [row] = ww.answer(table, ww.Question("entry")).rows
    assert (row["n_findings"], row["n_studies"]) == (3, 3)
