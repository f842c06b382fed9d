"""The query catalogue answers the competency questions on the bundled base.

Every expected answer is computed here from the coding sheets in data/evidence (the facts
as coded), never copied from a query's output, so a test fails when a query and the data
part ways. Queries run the way the API runs them: ``NamedQuery.bindings`` then
``Store.select`` over a store loaded by the CLI.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.namespace import SKOS

from tests.conftest import CLI, synthetic_finding, synthetic_study, write_sheet
from whatworks.cli import main
from whatworks.core import catalogue
from whatworks.core.catalogue import PARAM_TYPES, BadParameter
from whatworks.core.namespaces import CONCEPT, EMMIE_NS, concept
from whatworks.core.store import EmbeddedStore, open_store
from whatworks.core.vocab import EMMIE, SCHEMES

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "data" / "evidence"
ID = "https://w3id.org/whatworks/id/"
SYN = "https://w3id.org/whatworks/synthetic/id/"
DIRECTIONS = ("favourable", "unfavourable", "no_effect")
#: Competency questions the catalogue must answer (11-13 are the area-level questions).
QUESTIONS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15}


# -- the facts as coded -----------------------------------------------------------------------


def sheet(kind: str) -> list[dict[str, str]]:
    """Every row of every bundled sheet of ``kind`` (field- and seed- files)."""
    rows: list[dict[str, str]] = []
    for path in sorted(EVIDENCE.glob(f"*-{kind}.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def iri(kind: str, key: str) -> str:
    return f"{ID}{kind}/{key}"


def code(term: str) -> str:
    return term.rsplit("/", 1)[-1]


STUDIES = {r["key"]: r for r in sheet("studies")}
INTERVENTIONS = {r["key"]: r for r in sheet("interventions")}
FINDINGS = sheet("findings")


def type_of(row: dict[str, str]) -> str:
    """The intervention type an evidence row is about (its own, or its intervention's)."""
    if row.get("intervention_type"):
        return row["intervention_type"]
    return INTERVENTIONS.get(row.get("intervention", ""), {}).get("intervention_type", "")


def band_ranges() -> dict[str, tuple[int, int]]:
    """The age bands' ranges as the ontology defines them (all_ages: any age, 0-25)."""
    ontology = Graph().parse(ROOT / "ontology" / "emmie.ttl")
    ranges = {}
    for name, band in SCHEMES["age-band"].items():
        low, high = ontology.value(band, EMMIE.minAge), ontology.value(band, EMMIE.maxAge)
        ranges[name] = (int(low), int(high)) if low is not None else (0, 25)
    return ranges


BANDS = band_ranges()


def covers_age(finding: dict[str, str], age: int) -> bool:
    """Stated ages win over the band; a band counts only when no age is stated."""
    low, high = finding["min_age"], finding["max_age"]
    if low or high:
        return int(low or 0) <= age <= int(high or 25)
    if finding["age_band"]:
        band_low, band_high = BANDS[finding["age_band"]]
        return band_low <= age <= band_high
    return False


UK = {"uk", "united kingdom", "great britain", "britain", "gb"}
USA = {"usa", "us", "united states", "united states of america", "america"}


def country_matches(asked: str, place: str) -> bool:
    """The docs' country rule: the whole name or the place in brackets, ignoring case; UK
    and its synonyms stand for the four nations, USA and its synonyms for each other."""
    name, _, detail = place.lower().partition(" (")
    names = {name.strip(), detail.rstrip(")").strip()} - {""}
    wanted = asked.lower()
    if wanted in UK:
        return bool(names & (UK | {"england", "wales", "scotland", "northern ireland"}))
    if wanted in USA:
        return bool(names & USA)
    return wanted in names


def expected_what_works(
    outcome: str,
    *,
    age: int | None = None,
    need: str | None = None,
    setting: str | None = None,
    country: str | None = None,
    intervention_type: str | None = None,
    min_quality: int | None = None,
    design: str | None = None,
    verified_only: bool = False,
) -> dict[str, dict[str, Any]]:
    """what_works_for_whom computed from the sheets, by the rules of the docs page."""
    rated: dict[str, int] = {}
    for row in sheet("emmie"):
        if row["dimension"] == "effect" and row["quality"]:
            rated[row["study"]] = max(rated.get(row["study"], 0), int(row["quality"]))
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for f in FINDINGS:
        study = STUDIES[f["study"]]
        if f["outcome"] != outcome or not f["intervention"]:
            continue
        if need and need not in split(f["needs"]):
            continue
        if setting and setting not in split(f["settings"]):
            continue
        if country and not country_matches(country, f["country"] or study["country"]):
            continue
        if age is not None and not covers_age(f, age):
            continue
        if intervention_type and INTERVENTIONS[f["intervention"]]["intervention_type"] != (
            intervention_type
        ):
            continue
        if min_quality is not None and rated.get(f["study"], -1) < min_quality:
            continue
        if design and study["design"] != design:
            continue
        if verified_only and study["verified"] != "yes":
            continue
        groups[f["intervention"]].append(f)
    answer = {}
    for key, found in groups.items():
        counts = Counter(f["direction"] for f in found)
        present = [d for d in DIRECTIONS if counts[d]]
        summary = "unclear" if not present else "mixed" if len(present) > 1 else present[0]
        studies = {f["study"] for f in found}
        status = Counter(STUDIES[s]["verified"] for s in studies)
        answer[iri("intervention", key)] = {
            "direction_summary": summary,
            "n_studies": str(len(studies)),
            "n_findings": str(len(found)),
            "n_favourable": str(counts["favourable"]),
            "n_unfavourable": str(counts["unfavourable"]),
            "n_no_effect": str(counts["no_effect"]),
            "n_unclear": str(counts["unclear"]),
            "verification": ", ".join(
                f"{v}: {status[v]}" for v in ("yes", "partial", "no") if status[v]
            ),
            "any_proxy": "true" if any(f["proxy"] == "yes" for f in found) else "false",
            "studies": {iri("study", s) for s in studies},
            "dois": {STUDIES[s]["doi"] for s in studies if STUDIES[s]["doi"]},
        }
    return answer


# -- the store --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedStore, datetime]]:
    """The bundled base, loaded by the CLI into a store of this module (read only here)."""
    folder = tmp_path_factory.mktemp("catalogue") / "store"
    started = datetime.now(UTC)
    result = CliRunner().invoke(main, ["--store", str(folder), "load", "-q"])
    assert result.exit_code == 0, result.output
    store = open_store(folder, read_only=True)
    yield store, started
    store.close()


@pytest.fixture(scope="module")
def store(loaded: tuple[EmbeddedStore, datetime]) -> EmbeddedStore:
    return loaded[0]


def ask(store: EmbeddedStore, name: str, **params: object) -> list[dict[str, str]]:
    """Run catalogue query ``name`` with raw parameter values, as the API would."""
    query = catalogue.get(name)
    raw = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
    rows = store.select(query.sparql(), parameters=query.bindings(raw))
    return [{k: str(v) for k, v in row.items()} for row in rows]


def column(rows: list[dict[str, str]], name: str) -> set[str]:
    return {r[name] for r in rows if name in r}


# -- the catalogue itself ---------------------------------------------------------------------


def test_every_query_file_parses() -> None:
    names = {p.stem for p in (ROOT / "queries").glob("*.rq")}
    assert set(catalogue.catalogue()) == names
    assert len(names) >= 12


def test_every_competency_question_has_a_query() -> None:
    answered = set()
    for query in catalogue.catalogue().values():
        for found in re.findall(r"[Cc]ompetency questions? ([\d ,and]+)", query.description):
            answered |= {int(n) for n in re.findall(r"\d+", found)}
    assert answered >= QUESTIONS


@pytest.mark.parametrize("name", sorted(catalogue.catalogue()))
def test_every_parameter_is_typed_and_described(name: str) -> None:
    query = catalogue.get(name)
    assert query.summary and query.description and query.tags
    for param in query.params:
        assert param.type in PARAM_TYPES and param.description, param.name
        if param.type == "concept":
            assert param.scheme in SCHEMES
        if param.type == "integer":
            assert param.minimum is not None and param.maximum is not None, param.name
        if param.default is not None:  # a default must be a value of its own parameter
            default = param.default
            param.bind(str(default).lower() if isinstance(default, bool) else str(default))


def test_a_bad_value_is_refused_with_the_allowed_values() -> None:
    query = catalogue.get("what_works_for_whom")
    with pytest.raises(BadParameter) as refused:
        query.bindings({"outcome": "adoption"})
    assert refused.value.allowed == ["entry", "re-entry", "reunification"]
    assert "entry, re-entry, reunification" in str(refused.value)
    with pytest.raises(BadParameter, match="outcome is required"):
        query.bindings({})
    with pytest.raises(BadParameter, match="between 0 and 25"):
        query.bindings({"outcome": "entry", "age": "30"})
    with pytest.raises(BadParameter, match="whole number"):
        query.bindings({"outcome": "entry", "min_quality": "high"})
    with pytest.raises(BadParameter) as unknown:
        query.bindings({"outcome": "entry", "region": "London"})
    assert "need" in unknown.value.allowed
    with pytest.raises(BadParameter) as kind:
        catalogue.get("implementation_factors").bindings({"source_kind": "survey"})
    assert kind.value.allowed == ["implementation", "interview"]


def test_concepts_written_in_queries_are_the_ontologys() -> None:
    """The ontology is not in the store, so queries spell concepts (and band ranges, type
    labels) out; they must not drift from it."""
    ontology = Graph().parse(ROOT / "ontology" / "emmie.ttl")
    known = {str(c) for codes in SCHEMES.values() for c in codes.values()}
    for path in sorted((ROOT / "queries").glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        for term in re.findall(rf"<({re.escape(str(CONCEPT))}[^>]+)>", text):
            assert term in known, f"{path.name}: {term}"
        for band, low, high in re.findall(r"<([^>]+/age-band/[^>]+)> (\d+) (\d+)\)", text):
            assert BANDS[code(band)] == (int(low), int(high)), f"{path.name}: {band}"
        for term, label in re.findall(
            r'\(<([^>]+/(?:intervention-type|outcome)/[^>]+)> "([^"]+)"\)', text
        ):
            assert str(ontology.value(URIRef(term), SKOS.prefLabel)) == label, path.name


def test_readme_lists_every_query() -> None:
    readme = (ROOT / "queries" / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| \[`?([a-z_]+)`?\]\(\1\.rq\)", readme, re.MULTILINE))
    assert listed == set(catalogue.catalogue())


# -- CQ1: favourable effects on reunification -------------------------------------------------


def test_cq1_favourable_effects_on_reunification(store: EmbeddedStore) -> None:
    rows = ask(store, "favourable_effects_by_outcome", outcome="reunification")
    wanted = [
        f
        for f in FINDINGS
        if f["outcome"] == "reunification" and f["direction"] == "favourable" and f["intervention"]
    ]
    assert column(rows, "finding") == {iri("finding", f["key"]) for f in wanted}
    interventions = column(rows, "intervention")
    assert {
        iri("intervention", "iowa_parent_partner"),
        iri("intervention", "fdac"),
    } <= interventions
    for row in rows:
        study = STUDIES[code(row["study"])]
        assert code(row["verification"]) == study["verified"]
        assert code(row["design"]) == study["design"]
        assert "effect_quality" not in row  # no EMMIE-Q level is rated in the bundled base
    without_proxies = ask(store, "favourable_effects_by_outcome", include_proxy=False)
    assert column(without_proxies, "finding") == {
        iri("finding", f["key"]) for f in wanted if f["proxy"] == "no"
    }


# -- CQ2: for whom -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"need": "parental_substance_misuse"},
        {"age": 16},
        {"age": 15},
        {"age": 3},
        {"need": "antisocial_behaviour", "direction": "no_effect"},
    ],
)
def test_cq2_effects_on_entry_for_an_age_or_need(
    store: EmbeddedStore, params: dict[str, Any]
) -> None:
    rows = ask(store, "effects_for_population", outcome="entry", **params)
    direction = params.get("direction", "favourable")
    wanted = {
        iri("finding", f["key"])
        for f in FINDINGS
        if f["outcome"] == "entry"
        and f["direction"] == direction
        and ("need" not in params or params["need"] in split(f["needs"]))
        and ("age" not in params or covers_age(f, params["age"]))
    }
    assert column(rows, "finding") == wanted


def test_cq2_parental_substance_misuse_points_to_parents_under_pressure(
    store: EmbeddedStore,
) -> None:
    rows = ask(store, "effects_for_population", outcome="entry", need="parental_substance_misuse")
    assert column(rows, "intervention") == {iri("intervention", "pup")}
    assert column(rows, "is_proxy") == {"true"}  # child abuse potential, not care itself


# -- CQ3: EMMIE coverage per intervention type -------------------------------------------------


def test_cq3_emmie_coverage_by_type(store: EmbeddedStore) -> None:
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    records = {
        "findings": "effect",
        "mechanisms": "mechanism",
        "moderators": "moderators",
        "implementation": "implementation",
        "economic": "economic",
    }
    for kind, dimension in records.items():
        for row in sheet(kind):
            if type_of(row):
                expected[(type_of(row), dimension)].add(row["study"])
    for row in sheet("emmie"):
        if type_of(row):
            expected[(type_of(row), row["dimension"])].add(row["study"])
    rows = ask(store, "emmie_coverage_by_type")
    assert len(rows) == 8 * 5
    for row in rows:
        cell = (code(row["intervention_type"]), code(row["dimension"]))
        assert int(row["n_studies"]) == len(expected[cell]), cell
        assert set(row.get("studies", "").split()) == {iri("study", s) for s in expected[cell]}
    finances = ask(store, "emmie_coverage_by_type", intervention_type="family_finances")
    assert {code(r["dimension"]): r["n_studies"] for r in finances} == {
        "effect": "5",
        "mechanism": "1",
        "moderators": "2",
        "implementation": "1",
        "economic": "0",
    }


# -- CQ4: gaps ---------------------------------------------------------------------------------


def filled_cells(*, count_proxy: bool) -> set[tuple[str, str]]:
    cells = {
        (type_of(f), f["outcome"])
        for f in FINDINGS
        if type_of(f) and (count_proxy or f["proxy"] == "no")
    }
    if count_proxy:
        cells |= {
            (type_of(r), r["outcome"])
            for r in sheet("emmie")
            if r["dimension"] == "effect" and r["outcome"] and type_of(r)
        }
    return cells


@pytest.mark.parametrize("count_proxy", [True, False])
def test_cq4_evidence_gaps(store: EmbeddedStore, count_proxy: bool) -> None:
    every = {(t, o) for t in SCHEMES["intervention-type"] for o in SCHEMES["outcome"]}
    gaps = every - filled_cells(count_proxy=count_proxy)
    rows = ask(store, "evidence_gaps", count_proxy=count_proxy)
    assert {(code(r["intervention_type"]), code(r["outcome"])) for r in rows} == gaps


def test_cq4_mentoring_has_no_evidence_on_entry(store: EmbeddedStore) -> None:
    """The Iowa Parent Partner programme is the only mentoring intervention, and its
    findings are on reunification and re-entry only."""
    mentoring = [k for k, r in INTERVENTIONS.items() if r["intervention_type"] == "mentoring"]
    assert mentoring == ["iowa_parent_partner"]
    rows = ask(store, "evidence_gaps", intervention_type="mentoring")
    assert [(code(r["outcome"]), r["interventions_of_type"]) for r in rows] == [("entry", "1")]
    # Signs of Safety's entry findings are all proxies: a gap once proxies do not count.
    strict = ask(
        store,
        "evidence_gaps",
        intervention_type="practice_change",
        outcome="entry",
        count_proxy=False,
    )
    assert [r["proxy_findings"] for r in strict] == ["3"]


# -- CQ5: conflicting findings -----------------------------------------------------------------


def conflicts(*, across_studies: bool) -> set[tuple[str, str]]:
    groups: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for f in FINDINGS:
        if f["intervention"] and f["direction"] in DIRECTIONS:
            groups[(f["intervention"], f["outcome"])].append(f)
    found = set()
    for cell, rows in groups.items():
        pairs = [(a, b) for a in rows for b in rows if a["direction"] != b["direction"]]
        if across_studies:
            pairs = [(a, b) for a, b in pairs if a["study"] != b["study"]]
        if pairs:
            found.add(cell)
    return found


@pytest.mark.parametrize("across", [False, True])
def test_cq5_conflicting_findings(store: EmbeddedStore, across: bool) -> None:
    expected = conflicts(across_studies=across)
    rows = ask(store, "conflicting_findings", across_studies_only=across)
    assert {(code(r["intervention"]), code(r["outcome"])) for r in rows} == expected
    assert column(rows, "finding") == {
        iri("finding", f["key"]) for f in FINDINGS if (f["intervention"], f["outcome"]) in expected
    }
    if not across:
        assert ("iowa_parent_partner", "re-entry") in expected
        assert {r["directions"] for r in rows} == {"favourable no_effect"}
        assert all("country" in r for r in rows)  # the context of each side


# -- CQ6-9: moderators, mechanisms, implementation, economic -----------------------------------


def test_cq6_moderators(store: EmbeddedStore) -> None:
    rows = ask(store, "moderators_of_intervention")
    assert {(code(r["moderator"]), code(r["effect"])) for r in rows} == {
        (m["key"], m["effect"]) for m in sheet("moderators")
    }
    eitc = ask(
        store,
        "moderators_of_intervention",
        intervention=iri("intervention", "eitc_expansion"),
        outcome="entry",
    )
    assert column(eitc, "moderator_label") == {"children aged 11-15", "young people aged 16-20"}
    assert column(eitc, "effect") == {str(concept("moderator-effect", "stronger"))}
    assert all(r["emmie_summary"] for r in eitc)


def test_cq7_mechanisms_and_whether_tested(store: EmbeddedStore) -> None:
    rows = ask(store, "mechanisms_of_intervention")
    coded = sheet("mechanisms")
    assert {code(r["mechanism"]): r["tested"] for r in rows} == {
        m["key"]: str(m["status"] != "proposed").lower() for m in coded
    }
    assert column(rows, "mechanism_label") == {
        "resources pathway",
        "worker-family relationship pathway",
    }
    tested = ask(store, "mechanisms_of_intervention", tested_only=True)
    assert len(tested) == sum(m["status"] != "proposed" for m in coded)


def test_cq8_implementation_factors_include_the_interviews(store: EmbeddedStore) -> None:
    coded = sheet("implementation")
    rows = ask(store, "implementation_factors")
    assert {(code(r["factor"]), code(r["role"]), r["source_kind"]) for r in rows} == {
        (f["key"], f["role"], f["source_kind"] or "implementation") for f in coded
    }
    barriers = ask(store, "implementation_factors", source_kind="interview", role="barrier")
    assert column(barriers, "factor_label") == {
        f["label"] for f in coded if f["source_kind"] == "interview" and f["role"] == "barrier"
    }
    facilitators = ask(store, "implementation_factors", source_kind="interview", role="facilitator")
    assert "early help" in column(facilitators, "factor_label") and len(facilitators) == 6
    devolved = ask(
        store, "implementation_factors", intervention=iri("intervention", "devolved_budgets")
    )
    assert {code(r["factor"]) for r in devolved} == {
        f["key"] for f in coded if f["intervention"] == "devolved_budgets"
    }


def test_cq9_economic_evidence(store: EmbeddedStore) -> None:
    coded = {e["key"]: e for e in sheet("economic")}
    rows = ask(store, "economic_evidence")
    assert {code(r["item"]) for r in rows} == set(coded)
    for row in rows:
        item = coded[code(row["item"])]
        assert code(row["kind"]) == item["kind"]
        assert (
            float(row["amount"]) == float(item["amount"])
            if item["amount"]
            else ("amount" not in row)
        )
        assert code(row["verification"]) == STUDIES[item["study"]]["verified"]
    savings = ask(store, "economic_evidence", kind="saving")
    assert {code(r["item"]) for r in savings} == {
        k for k, e in coded.items() if e["kind"] == "saving"
    }


# -- CQ10: pooled effects ----------------------------------------------------------------------


FAMILIES = {
    "odds_ratio": "OR",
    "risk_ratio": "RR",
    "hazard_ratio": "HR",
    "smd": "SMD",
    "hedges_g": "SMD",
    "mean_difference": "MD",
    "risk_difference": "RD",
}


def usable(finding: dict[str, str]) -> bool:
    """An estimate the meta-analysis can use: a standard error, or limits around it."""
    if finding["se"]:
        return True
    if not (finding["ci_lower"] and finding["ci_upper"]):
        return False
    return float(finding["ci_lower"]) <= float(finding["estimate"]) <= float(finding["ci_upper"])


def test_cq10_comparable_estimates_of_the_bundled_base(store: EmbeddedStore) -> None:
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for f in FINDINGS:
        if f["intervention"] and f["statistic"] in FAMILIES and f["estimate"]:
            groups[(f["intervention"], f["outcome"], FAMILIES[f["statistic"]])].append(f)
    expected = {
        cell: (len(found), len({f["study"] for f in found if usable(f)}))
        for cell, found in groups.items()
        if len(found) >= 2
    }
    rows = ask(store, "comparable_estimates")
    assert {
        (code(r["intervention"]), code(r["outcome"]), r["measure_family"]): (
            int(r["n_estimates"]),
            int(r["n_usable_studies"]),
        )
        for r in rows
    } == expected
    # MST's two odds ratios: the 5-year one has no interval of stated level, and measures a
    # proxy. No group of the bundled base can be pooled, so there is no pooled effect.
    assert ("mst", "entry", "OR") in expected
    assert all(usable_studies < 2 for _, usable_studies in expected.values())
    assert ask(store, "comparable_estimates", poolable_only=True) == []
    assert ask(store, "pooled_effects") == []


# -- CQ12 after 2017: official rates by region (data/la, LAIT) --------------------------------

LA_DATA = ROOT / "data" / "la"
GEO = "http://statistics.data.gov.uk/id/statistical-geography/"
#: LAIT's area numbers of England and the regions, as the DfE publishes them.
LAIT_AGGREGATES = {
    "970": "E92000001",
    "980": "E12000001",
    "981": "E12000002",
    "982": "E12000003",
    "983": "E12000004",
    "984": "E12000005",
    "985": "E12000006",
    "986": "E12000007",
    "987": "E13000001",
    "988": "E13000002",
    "989": "E12000008",
    "990": "E12000009",
}


def lait_rates() -> dict[str, dict[int, float]]:
    """GSS code → year → official rate, from the LAIT file, for England, the regions and the
    panel's authorities (GSS codes as they are now: Gateshead and Northumberland changed)."""
    with (LA_DATA / "cla_la_panel_2012_2017.csv").open(encoding="utf-8-sig") as handle:
        panel = {r["la_code_old"]: r["gss_code"] for r in csv.DictReader(handle)}
    panel = {
        k: {"E08000020": "E08000037", "E06000048": "E06000057"}.get(v, v) for k, v in panel.items()
    }
    rates: dict[str, dict[int, float]] = defaultdict(dict)
    with (LA_DATA / "lait_selected_measures_2015_2025_long.csv").open(encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            gss = LAIT_AGGREGATES.get(r["la_number"]) or panel.get(r["la_number"])
            if r["measure_code"] == "LAC" and gss and r["value"] != "-":
                rates[gss][int(r["year"])] = round(float(r["value"]), 1)
    return rates


def test_cq12_rates_after_2017_london_down_north_up(store: EmbeddedStore) -> None:
    rates = lait_rates()
    rows = ask(store, "looked_after_rate_change_by_region", level="all")
    got = {
        code(r["area"]): (float(r["rate_from"]), float(r["rate_to"]), float(r["change"]))
        for r in rows
    }
    expected = {
        gss: (by_year[2017], by_year[2025], round(by_year[2025] - by_year[2017], 1))
        for gss, by_year in rates.items()
        if 2017 in by_year and 2025 in by_year
    }
    assert {k: (a, b, round(c, 1)) for k, (a, b, c) in got.items()} == expected
    regions = {code(r["area"]): r for r in ask(store, "looked_after_rate_change_by_region")}
    assert len(regions) == 11  # nine regions, and Inner and Outer London
    # "London down, North up", 2017 to 2025, as the DfE's file has it
    london, north = rates["E12000007"], [rates[f"E1200000{n}"] for n in (1, 2, 3)]
    assert london[2025] < london[2017] and all(r[2025] > r[2017] for r in north)
    assert regions["E12000007"]["direction"] == "falling"
    assert regions["E12000007"]["seed_group"] == "london"
    for n in (1, 2, 3):
        assert regions[f"E1200000{n}"]["direction"] == "rising"
        assert regions[f"E1200000{n}"]["seed_group"] == "north"
    assert "seed_group" not in regions["E12000009"]  # South West: neither
    # another pair of years
    earlier = ask(
        store, "looked_after_rate_change_by_region", level="england", from_year=2015, to_year=2020
    )
    assert [(float(r["rate_from"]), float(r["rate_to"])) for r in earlier] == [
        (rates["E92000001"][2015], rates["E92000001"][2020])
    ]


# -- CQ14: provenance --------------------------------------------------------------------------


def test_cq14_provenance_of_a_finding(loaded: tuple[EmbeddedStore, datetime]) -> None:
    store, started = loaded
    key = "chambers2019_parent_partner-return-home"
    path = EVIDENCE / "field-findings.csv"
    row_number = [f["key"] for f in sheet("findings")].index(key) + 2  # the header is row 1
    finding = next(f for f in FINDINGS if f["key"] == key)
    for claim in (iri("finding", key), iri("finding", "fonagy2018_start-placement-18m/estimate")):
        assert len(ask(store, "provenance_of_claim", claim=claim)) == 1
    [row] = ask(store, "provenance_of_claim", claim=iri("finding", key))
    assert row["record"] == iri("finding", key)
    assert row["file_name"] == path.name
    assert row["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (row["sheet"], int(row["row_number"])) == ("findings", row_number)
    assert datetime.fromisoformat(row["loaded_at"]) >= started
    assert set(row["where_read"].split(" ; ")) == set(split(finding["where_read"]))
    assert row["coded_by"] == STUDIES[finding["study"]]["coded_by"]
    assert row["study"] == iri("study", finding["study"])


def test_cq14_provenance_of_an_interview_theme(store: EmbeddedStore) -> None:
    [row] = ask(
        store, "provenance_of_claim", claim=iri("implementation-factor", "la-interviews-early-help")
    )
    assert row["file_name"] == "seed-implementation.csv" and row["row_number"] == "2"
    assert "wwcsc-reducing-need-for-care-summary.txt" in row["where_read"]
    [intervention] = ask(store, "provenance_of_claim", claim=iri("intervention", "fdac"))
    assert intervention["file_name"] == "field-interventions.csv"
    assert "study" not in intervention and "coded_by" not in intervention
    assert ask(store, "provenance_of_claim", claim=iri("finding", "no-such-finding")) == []


# -- CQ15: partly verified, or proxy -----------------------------------------------------------


def test_cq15_partly_verified_studies_and_proxy_findings(store: EmbeddedStore) -> None:
    partial = {k for k, s in STUDIES.items() if s["verified"] != "yes"}
    proxies: dict[str, set[str]] = defaultdict(set)
    for f in FINDINGS:
        if f["proxy"] == "yes":
            proxies[f["study"]].add(iri("finding", f["key"]))
    rows = ask(store, "partly_verified_or_proxy")
    assert {code(r["study"]) for r in rows} == partial | set(proxies)
    for row in rows:
        key = code(row["study"])
        assert row["partly_verified"] == str(key in partial).lower()
        assert set(row.get("proxy_findings", "").split()) == proxies.get(key, set())
    only_proxy = ask(store, "partly_verified_or_proxy", reason="proxy")
    assert {code(r["study"]) for r in only_proxy} == set(proxies)
    assert "chaffin2012_safecare" in set(proxies) - partial  # verified, yet a proxy
    only_partial = ask(store, "partly_verified_or_proxy", reason="partial")
    assert {code(r["study"]) for r in only_partial} == partial


# -- what works for whom -----------------------------------------------------------------------

RANK = {"favourable": 1, "mixed": 2, "no_effect": 3, "unfavourable": 4, "unclear": 5}


def check_what_works(rows: list[dict[str, str]], expected: dict[str, dict[str, Any]]) -> None:
    assert column(rows, "intervention") == set(expected)
    for row in rows:
        want = expected[row["intervention"]]
        for name in (
            "direction_summary",
            "n_studies",
            "n_findings",
            "n_favourable",
            "n_unfavourable",
            "n_no_effect",
            "n_unclear",
            "verification",
            "any_proxy",
        ):
            assert row[name] == want[name], (row["intervention"], name)
        assert set(row["studies"].split()) == want["studies"]
        assert set(row.get("dois", "").split()) == want["dois"]
    ranks = [RANK[r["direction_summary"]] for r in rows]
    assert ranks == sorted(ranks)


def emmie_profile(intervention: str, outcome: str) -> dict[str, bool]:
    """The dimensions with a coding or record about the intervention that names the outcome
    (one naming no outcome counts under "any outcome" only; the mechanisms, implementation
    and economic sheets have no outcome column, so theirs never count on an outcome)."""

    def on(row: dict[str, str]) -> bool:
        return row["intervention"] == intervention and row.get("outcome") == outcome

    dims = {r["dimension"] for r in sheet("emmie") if on(r)}
    for kind, dimension in (
        ("mechanisms", "mechanism"),
        ("moderators", "moderators"),
        ("implementation", "implementation"),
        ("economic", "economic"),
    ):
        if any(on(r) for r in sheet(kind)):
            dims.add(dimension)
    return {d: d in dims for d in SCHEMES["emmie-dimension"]}


def test_what_works_for_whom_on_reunification(store: EmbeddedStore) -> None:
    rows = ask(store, "what_works_for_whom", outcome="reunification")
    check_what_works(rows, expected_what_works("reunification"))
    by_key = {code(r["intervention"]): r for r in rows}
    assert by_key["fdac"]["direction_summary"] == "favourable"
    assert by_key["iowa_parent_partner"]["direction_summary"] == "mixed"
    profiles = {key: emmie_profile(key, "reunification") for key in by_key}
    for key, row in by_key.items():
        for dimension, has in profiles[key].items():
            assert row[f"emmie_{dimension}"] == str(has).lower(), (key, dimension)
            assert f"emmie_{dimension}_quality" not in row  # nothing rated
        assert "pooled_estimate" not in row
    # The comparison can fail both ways: some rows have a dimension on the outcome, and
    # the bundled base has codings that name no outcome (counted on none of the rows).
    assert any(any(p.values()) for p in profiles.values())
    assert any(not r["outcome"] for r in sheet("emmie") if r["intervention"] in by_key)
    # FDAC's economic evidence names no outcome: it is not on its reunification row.
    assert by_key["fdac"]["emmie_economic"] == "false"
    assert "economic" not in by_key["fdac"]


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"need": "parental_substance_misuse"},
        {"age": 16},
        {"age": 15},
        {"age": 3},
        {"country": "usa"},
        {"country": "England", "setting": "children_services"},
        {"setting": "school"},
        {"intervention_type": "family_finances"},
        {"design": "rct", "verified_only": True},
        {"country": "USA", "verified_only": True},
        {"country": "UK"},
        {"country": "us"},
        {"country": "Iowa"},
        {"min_quality": 0},
    ],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "no-filter",
)
def test_what_works_for_whom_on_entry_with_filters(
    store: EmbeddedStore, filters: dict[str, Any]
) -> None:
    rows = ask(store, "what_works_for_whom", outcome="entry", **filters)
    check_what_works(rows, expected_what_works("entry", **filters))


def test_what_works_for_whom_entry_details(store: EmbeddedStore) -> None:
    by_key = {
        code(r["intervention"]): r for r in ask(store, "what_works_for_whom", outcome="entry")
    }
    assert set(by_key["eitc_expansion"]["moderators"].split(" | ")) == {
        f"{m['label']} ({m['effect']})"
        for m in sheet("moderators")
        if m["intervention"] == "eitc_expansion"
    }
    assert by_key["mst"]["direction_summary"] == "no_effect"
    assert by_key["signs_of_safety"]["any_proxy"] == "true"
    # Nothing is rated on the EMMIE-Q ladders yet, so any minimum quality excludes all.
    assert ask(store, "what_works_for_whom", outcome="entry", min_quality=0) == []


# -- with synthetic ratings and a synthetic pooled estimate (fresh store per test) -------------


@pytest.fixture
def synthetic(tmp_path: Path, cli: CLI) -> Path:
    """Two synthetic studies of one synthetic intervention, one of them rated EMMIE-Q 3."""
    folder = tmp_path / "synthetic-sheets"
    folder.mkdir()
    write_sheet(
        folder,
        "syn.studies",
        [
            synthetic_study("s1", interventions="i1"),
            synthetic_study(
                "s2", interventions="i1", verified="partial", design="quasi_experimental"
            ),
        ],
    )
    write_sheet(
        folder,
        "syn.interventions",
        [{"key": "i1", "label": "Synthetic intervention", "intervention_type": "mentoring"}],
    )
    write_sheet(
        folder,
        "syn.findings",
        [
            synthetic_finding("f1", "s1", intervention="i1", age_band="all_ages"),
            synthetic_finding(
                "f2",
                "s2",
                intervention="i1",
                direction="no_effect",
                min_age="5",
                max_age="9",
                estimate="1.1",
                ci_lower="0.7",
                ci_upper="1.6",
            ),
        ],
    )
    write_sheet(
        folder,
        "syn.emmie",
        [
            {
                "key": "e1",
                "study": "s1",
                "intervention": "i1",
                "outcome": "entry",
                "dimension": "effect",
                "summary": "Synthetic effect coding.",
                "quality": "3",
            },
            {
                "key": "e2",
                "study": "s2",
                "intervention": "i1",
                "outcome": "entry",
                "dimension": "effect",
                "summary": "Synthetic effect coding, unrated.",
            },
            {
                "key": "e3",
                "study": "s2",
                "intervention": "i1",
                "dimension": "economic",
                "summary": "Synthetic economic coding.",
                "quality": "1",
            },
        ],
    )
    write_sheet(
        folder,
        "syn.mechanisms",
        [
            {
                "key": "m1",
                "study": "s1",
                "intervention": "i1",
                "label": "Synthetic pathway",
                "status": "tested_supported",
            },
            {
                "key": "m2",
                "study": "s2",
                "intervention_type": "mentoring",
                "label": "Synthetic type-level pathway",
                "status": "proposed",
            },
        ],
    )
    write_sheet(
        folder,
        "syn.moderators",
        [
            {
                "key": "mod-entry",
                "study": "s1",
                "intervention": "i1",
                "outcome": "entry",
                "label": "Synthetic subgroup on entry",
                "effect": "stronger",
            },
            {
                "key": "mod-none",
                "study": "s2",
                "intervention": "i1",
                "label": "Synthetic subgroup on no outcome",
                "effect": "weaker",
            },
        ],
    )
    result = cli("ingest", "--id-base", SYN, "-q", *sorted(str(p) for p in folder.iterdir()))
    assert result.exit_code == 0, result.output
    return folder


def test_a_moderator_on_no_outcome_is_on_no_outcome(synthetic: Path, store_dir: Path) -> None:
    """A moderator that names no outcome is listed without an outcome asked, and counted
    under "any outcome" only: not by moderators_of_intervention on entry, not on the entry
    row of what works for whom."""
    store = open_store(store_dir, read_only=True)
    try:
        everything = ask(store, "moderators_of_intervention")
        assert {code(r["moderator"]) for r in everything} == {"mod-entry", "mod-none"}
        on_entry = ask(store, "moderators_of_intervention", outcome="entry")
        assert {code(r["moderator"]) for r in on_entry} == {"mod-entry"}
        assert ask(store, "moderators_of_intervention", outcome="re-entry") == []
        [row] = ask(store, "what_works_for_whom", outcome="entry")
        assert row["moderators"] == "Synthetic subgroup on entry (stronger)"
        assert row["emmie_moderators"] == "true"
    finally:
        store.close()


def test_min_quality_and_best_quality(synthetic: Path, store_dir: Path) -> None:
    store = open_store(store_dir, read_only=True)
    try:
        [rated] = ask(store, "what_works_for_whom", outcome="entry", min_quality=3)
        assert (rated["n_findings"], rated["direction_summary"]) == ("1", "favourable")
        assert rated["emmie_effect_quality"] == "3"
        # The economic coding (level 1) names no outcome: not on the entry row, whose
        # profile is of the codings on entry; the coverage by type ("any outcome") has it.
        assert "emmie_economic_quality" not in rated and rated["emmie_economic"] == "false"
        assert ask(store, "what_works_for_whom", outcome="entry", min_quality=4) == []
        [both] = ask(store, "what_works_for_whom", outcome="entry")
        assert (both["direction_summary"], both["verification"]) == ("mixed", "yes: 1, partial: 1")
        [young] = ask(store, "what_works_for_whom", outcome="entry", age=7)
        assert young["n_findings"] == "2"  # all_ages covers 7, and so does 5-9
        [older] = ask(store, "what_works_for_whom", outcome="entry", age=12)
        assert older["n_findings"] == "1"
        [good] = ask(store, "favourable_effects_by_outcome", outcome="entry")
        assert good["effect_quality"] == "3"
        mechanisms = {code(r["mechanism"]): r for r in ask(store, "mechanisms_of_intervention")}
        assert set(mechanisms) == {"m1", "m2"}  # one about an intervention, one about a type
        assert (mechanisms["m1"]["tested"], mechanisms["m2"]["tested"]) == ("true", "false")
        assert mechanisms["m1"]["intervention_has_tested_mechanism"] == "true"
        assert mechanisms["m2"]["intervention_has_tested_mechanism"] == "false"
        assert code(mechanisms["m2"]["intervention_type"]) == "mentoring"
        [row] = ask(store, "what_works_for_whom", outcome="entry")
        # m1 names no outcome: listed by mechanisms_of_intervention, not on the entry row.
        assert "mechanisms" not in row and row["emmie_mechanism"] == "false"
        cells = ask(store, "emmie_coverage_by_type", intervention_type="mentoring")
        best = {code(r["dimension"]): r.get("best_quality") for r in cells}
        assert best == {
            "effect": "3",
            "mechanism": None,
            "moderators": None,
            "implementation": None,
            "economic": "1",
        }
    finally:
        store.close()


def test_pooled_estimates_are_read_from_the_derived_graph(synthetic: Path, store_dir: Path) -> None:
    """The meta-analysis writes emmie:PooledEstimate nodes; the queries read them back:
    first what the ingest derived from the two synthetic odds ratios, then a derived graph
    with known values."""
    intervention = URIRef(SYN + "intervention/i1")
    store = open_store(store_dir, read_only=True)
    try:
        computed = ask(store, "pooled_effects", outcome="entry")
        assert {code(r["method"]) for r in computed} == {"reml", "dersimonian_laird"}
        assert {(r["k"], code(r["statistic"])) for r in computed} == {("2", "odds_ratio")}
        [reml_row] = [r for r in computed if code(r["method"]) == "reml"]
        [row] = ask(store, "what_works_for_whom", outcome="entry")
        assert (row["pooled_estimate"], row["pooled_k"]) == (reml_row["estimate"], "2")
    finally:
        store.close()
    derived: list[tuple[URIRef, URIRef, URIRef | Literal]] = []
    for method, value, k in (("reml", "0.75", 2), ("dersimonian_laird", "0.74", 2)):
        node = URIRef(f"{SYN}pooled-estimate/i1-entry-{method}")
        derived += [
            (node, RDF.type, EMMIE_NS.PooledEstimate),
            (node, EMMIE_NS.aboutIntervention, intervention),
            (node, EMMIE_NS.outcome, concept("outcome", "entry")),
            (node, EMMIE_NS.statistic, concept("statistic", "odds_ratio")),
            (node, EMMIE_NS.poolingMethod, URIRef(f"{CONCEPT}pooling-method/{method}")),
            (node, EMMIE_NS.value, Literal(value, datatype=XSD.decimal)),
            (node, EMMIE_NS.ciLower, Literal("0.6", datatype=XSD.decimal)),
            (node, EMMIE_NS.ciUpper, Literal("0.93", datatype=XSD.decimal)),
            (node, EMMIE_NS.tau2, Literal("0", datatype=XSD.decimal)),
            (node, EMMIE_NS.k, Literal(k, datatype=XSD.integer)),
            (node, EMMIE_NS.pools, URIRef(SYN + "finding/f1")),
            (node, EMMIE_NS.pools, URIRef(SYN + "finding/f2")),
        ]
    writer = open_store(store_dir)
    writer.replace_graphs({URIRef("https://w3id.org/whatworks/graph/derived"): derived})
    writer.close()
    store = open_store(store_dir, read_only=True)
    try:
        pooled = ask(store, "pooled_effects", intervention=str(intervention))
        assert {code(r["method"]) for r in pooled} == {"reml", "dersimonian_laird"}
        [reml] = ask(store, "pooled_effects", method="reml", outcome="entry")
        assert code(reml["method"]) == "reml"
        assert (float(reml["estimate"]), reml["k"]) == (0.75, "2")
        assert set(reml["studies"].split()) == {SYN + "study/s1", SYN + "study/s2"}
        [row] = ask(store, "what_works_for_whom", outcome="entry")
        assert (float(row["pooled_estimate"]), row["pooled_k"]) == (0.75, "2")
        assert (float(row["pooled_ci_lower"]), float(row["pooled_ci_upper"])) == (0.6, 0.93)
        assert code(row["pooled_statistic"]) == "odds_ratio"
        assert ask(store, "pooled_effects", outcome="reunification") == []
    finally:
        store.close()
