"""The EMMIE ontology: it parses, passes its quality checks, is consistent under HermiT,
matches the model spec's concept schemes, and agrees with the generated whatworks/core/vocab.py.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import owlready2
import pyoxigraph
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

from whatworks.core.reasoner import ReasonerFailed, ReasonerUnavailable, check_consistency
from whatworks.core.vocab import EMMIE, SCHEMES

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY_PATH = ROOT / "ontology" / "emmie.ttl"
CHECKS = sorted((ROOT / "ontology" / "checks").glob("*.rq"))
FIXTURES = Path(__file__).parent / "fixtures" / "ontology"
INCONSISTENT = sorted(FIXTURES.glob("inconsistent_*.ttl"))

ONTOLOGY_IRI = URIRef("https://w3id.org/whatworks/emmie")
EMMIE_NS = "https://w3id.org/whatworks/emmie#"
CONCEPT_NS = "https://w3id.org/whatworks/concept/"
OBO = "http://purl.obolibrary.org/obo/"
FABIO = "http://purl.org/spar/fabio/"
PROV = "http://www.w3.org/ns/prov#"

# The concept schemes and codes the team agreed on (ontology/README.md), written out again
# here on purpose: the ontology must hold exactly these.
LADDER = {"0", "1", "2", "3", "4"}
SPEC_SCHEMES: dict[str, set[str]] = {
    "pooling-method": {"dersimonian_laird", "reml"},
    "observation-status": {"official", "derived", "suppressed"},
    "unit-of-measure": {"children", "per_10000_children", "percent", "score"},
    "ofsted-judgement": {"outstanding", "good", "requires_improvement", "inadequate"},
    "intervention-type": {
        "skills_training", "service_integration", "practice_change", "therapeutic_approach",
        "structure_change", "family_meetings", "family_finances", "mentoring",
    },
    "outcome": {"entry", "re-entry", "reunification"},
    "intervention-level": {"community", "policy", "organisation", "family", "child"},
    "emmie-dimension": {"effect", "mechanism", "moderators", "implementation", "economic"},
    "emmie-q-effect": LADDER,
    "emmie-q-mechanism": LADDER,
    "emmie-q-moderators": LADDER,
    "emmie-q-implementation": LADDER,
    "emmie-q-economic": LADDER,
    "direction": {"favourable", "unfavourable", "no_effect", "unclear", "mixed"},
    "verification": {"yes", "partial", "no"},
    "study-design": {
        "rct", "cluster_rct", "rct_follow_up", "trial_protocol", "quasi_experimental",
        "comparison_cohort", "difference_in_differences", "panel_fixed_effects",
        "before_after", "mixed_methods", "qualitative", "survey", "interviews", "ecological",
        "systematic_review", "scoping_review", "narrative_synthesis", "programme_synthesis",
        "programme_evaluation", "secondary_analysis", "other", "meta_analysis",
    },
    "statistic": {
        "odds_ratio", "risk_ratio", "hazard_ratio", "risk_difference",
        "percentage_point_difference", "percent_change", "smd", "hedges_g", "mean_difference",
    },
    "need": {
        "parental_substance_misuse", "domestic_abuse", "parental_mental_health",
        "maltreatment", "neglect", "antisocial_behaviour", "housing_instability", "low_income",
        "going_missing",
    },
    "age-band": {
        "early_childhood", "middle_childhood", "adolescence", "young_adulthood", "all_ages",
    },
    "setting": {
        "home", "community", "school", "family_court", "children_services", "welfare_system",
        "housing",
    },
    "mechanism-status": {"proposed", "tested_supported", "tested_not_supported", "tested_mixed"},
    "moderator-effect": {
        "stronger", "weaker", "no_difference", "unclear", "none_in_subgroup", "reversed",
    },
    "outcome-role": {"care", "proxy", "intermediate", "secondary"},
    "secondary-outcome": {
        "family_functioning", "maltreatment_recurrence", "placement_stability",
        "child_wellbeing", "social_support", "treatment_completion",
    },
    "factor-role": {"facilitator", "barrier"},
    "economic-kind": {"cost", "saving", "cost_effectiveness", "cost_benefit"},
    "association-direction": {"with_decrease", "with_increase", "none_found"},
    "trend-direction": {"falling", "rising", "stable"},
    # computed evidence ratings (docs/evidence-ratings.md)
    "maryland-sms": {"1", "2", "3", "4", "5"},
    "evidence-tier": {
        "well_supported", "supported", "promising", "does_not_meet_criteria", "not_rated",
    },
}  # fmt: skip

# For each quality check, a term of tests/fixtures/ontology/bad_terms.ttl it must report.
BAD_TERM_FOR_CHECK = {
    "missing_label": EMMIE_NS + "BadNoLabel",
    "missing_definition": EMMIE_NS + "BadNoDefinition",
    "missing_is_defined_by": EMMIE_NS + "BadNotDefinedBy",
    "duplicate_label": EMMIE_NS + "BadTwinOne",
    "property_without_domain_or_range": EMMIE_NS + "badNoRange",
    "undeclared_term": EMMIE_NS + "BadTypo",
    "concept_without_scheme_or_notation": CONCEPT_NS + "bad/orphan",
    "concept_without_pref_label": CONCEPT_NS + "bad/unnamed",
    "concept_iri_mismatch": CONCEPT_NS + "bad/one",
}

# What each inconsistent fixture's explanation must name.
CLASH_NAMED = {
    "inconsistent_study_and_finding": "Study",
    "inconsistent_facilitator_and_barrier": "Facilitator",
    "inconsistent_barrier_with_facilitating_role": "factorRole",
    "inconsistent_two_directions": "direction",
    "inconsistent_literal_outside_range": "sampleSize",
}

# Properties the spec gives as [1], [0..1] or functional.
FUNCTIONAL = {
    "verification", "key", "fromStudy", "aboutIntervention", "aboutInterventionType",
    "interventionType", "outcome", "outcomeMeasure", "direction", "effectEstimate",
    "population", "context", "summary", "measuresOutcome", "isProxy", "statistic", "value",
    "ciLower", "ciUpper", "ageBand", "dimension", "evidenceSummary", "qualityLevel",
    "mechanismStatus", "moderatorEffect", "factorRole", "economicKind", "contextDescription",
    "viaMechanism", "approach", "question", "respondents", "proportion", "factor",
    "associationDirection", "measureDescription", "area", "trendDirection", "referenceYear",
    "unit", "qualityRank", "forDimension",
    # coding sheet: secondary outcomes, arms, reviews
    "secondaryOutcome", "outcomeRole", "interventionN", "comparisonN", "interventionEvents",
    "comparisonEvents", "includedStudyCount", "participantCount",
    # local-authority statistics
    "gssCode", "dfeCode", "inRegion", "refArea", "refYear", "unitOfMeasure",
    "observationStatus", "childrenLookedAfter",
    "childrenLookedAfterRevisedSeries", "childrenStartedCare", "childrenCeasedCare",
    "lookedAfterRateOfficial", "lookedAfterRateDerived", "childPovertyPercent",
    "imdAverageScore", "inspectedAuthority", "inspectionFramework", "inspectionYear",
    "ofstedJudgement", "participant", "successorProgramme", "listCompleteness",
    # computed evidence ratings
    "aboutFinding", "ratingLevel", "ratingRule",
}  # fmt: skip

OWL2_DATATYPES = {XSD.string, XSD.integer, XSD.decimal, XSD.boolean, XSD.dateTime}


@pytest.fixture
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_PATH, format="turtle")


def _parse(path: Path) -> Graph:
    return Graph().parse(path, format="turtle")


def _rows_rdflib(path: Path, query: str) -> list[tuple[str, ...]]:
    return [tuple(str(value) for value in row) for row in _parse(path).query(query)]  # type: ignore[union-attr]


def _rows_oxigraph(path: Path, query: str) -> list[tuple[str, ...]]:
    store = pyoxigraph.Store()
    store.load(path=path, format=pyoxigraph.RdfFormat.TURTLE)
    solutions = store.query(query)
    assert isinstance(solutions, pyoxigraph.QuerySolutions)
    return [tuple(term.value for term in row if term is not None) for row in solutions]


ENGINES: dict[str, Callable[[Path, str], list[tuple[str, ...]]]] = {
    "rdflib": _rows_rdflib,
    "oxigraph": _rows_oxigraph,
}


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_vocab", ROOT / "scripts" / "generate_vocab.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------- parsing


def test_parses_with_rdflib_and_has_the_header(ontology: Graph) -> None:
    header = {p: ontology.value(ONTOLOGY_IRI, p) for p in ontology.predicates(ONTOLOGY_IRI)}
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ontology
    assert header[OWL.versionIRI] == URIRef("https://w3id.org/whatworks/emmie/2026-11-26")
    assert header[OWL.versionInfo] == Literal("2026-11-26")
    assert header[DCTERMS.license] == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert header[DCTERMS.creator] == Literal("whatworks contributors")
    for key in (DCTERMS.title, DCTERMS.description, DCTERMS.created, DCTERMS.modified):
        assert header.get(key), key
    assert not list(ontology.objects(None, OWL.imports)), "no owl:imports: see ADR 0002"


def test_parses_with_pyoxigraph() -> None:
    store = pyoxigraph.Store()
    store.load(path=ONTOLOGY_PATH, format=pyoxigraph.RdfFormat.TURTLE)
    assert len(store) == len(_parse(ONTOLOGY_PATH))


# ---------------------------------------------------------------------------- quality checks


def test_every_check_has_a_bad_example() -> None:
    assert {check.stem for check in CHECKS} == set(BAD_TERM_FOR_CHECK)


@pytest.mark.parametrize("check", CHECKS, ids=lambda path: path.stem)
def test_check_starts_with_a_comment(check: Path) -> None:
    assert check.read_text(encoding="utf-8").startswith("# ")


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("check", CHECKS, ids=lambda path: path.stem)
def test_check_returns_no_rows_on_the_ontology(check: Path, engine: str) -> None:
    rows = ENGINES[engine](ONTOLOGY_PATH, check.read_text(encoding="utf-8"))
    assert rows == [], f"{check.name} found problems:\n" + "\n".join(map(str, rows))


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("check", CHECKS, ids=lambda path: path.stem)
def test_check_reports_its_bad_example(check: Path, engine: str) -> None:
    rows = ENGINES[engine](FIXTURES / "bad_terms.ttl", check.read_text(encoding="utf-8"))
    assert BAD_TERM_FOR_CHECK[check.stem] in {row[0] for row in rows}


# ---------------------------------------------------------------------------- model spec


def test_concept_schemes_have_exactly_the_codes_of_the_spec(ontology: Graph) -> None:
    found: dict[str, set[str]] = {}
    for scheme in ontology.subjects(RDF.type, SKOS.ConceptScheme):
        codes = {
            str(ontology.value(c, SKOS.notation)) for c in ontology.subjects(SKOS.inScheme, scheme)
        }
        found[str(scheme).removeprefix(CONCEPT_NS)] = codes
    assert found == SPEC_SCHEMES
    assert {scheme: set(codes) for scheme, codes in SCHEMES.items()} == SPEC_SCHEMES


def test_concepts_are_top_concepts_with_plain_notations(ontology: Graph) -> None:
    for scheme, codes in SPEC_SCHEMES.items():
        for code in codes:
            concept = URIRef(f"{CONCEPT_NS}{scheme}/{code}")
            assert (concept, SKOS.topConceptOf, URIRef(CONCEPT_NS + scheme)) in ontology
            assert ontology.value(concept, SKOS.notation) == Literal(code)
            assert (concept, RDF.type, OWL.NamedIndividual) in ontology


@pytest.mark.parametrize(
    "dimension", ["effect", "mechanism", "moderators", "implementation", "economic"]
)
def test_ladder_levels_are_neutral_and_ranked(ontology: Graph, dimension: str) -> None:
    for level in range(5):
        concept = URIRef(f"{CONCEPT_NS}emmie-q-{dimension}/{level}")
        label = f"{dimension.capitalize()} evidence quality, level {level}"
        assert ontology.value(concept, SKOS.prefLabel) == Literal(label, lang="en")
        assert ontology.value(concept, EMMIE.qualityRank) == Literal(level)
        dimension_concept = URIRef(f"{CONCEPT_NS}emmie-dimension/{dimension}")
        assert ontology.value(concept, EMMIE.forDimension) == dimension_concept
        assert "for curators to fill in" in str(ontology.value(concept, SKOS.definition))


def test_alignments_are_those_of_the_spec(ontology: Graph) -> None:
    subclass = {
        EMMIE.Work: URIRef(FABIO + "Expression"),
        EMMIE.EffectEstimate: URIRef(OBO + "STATO_0000085"),
        EMMIE.Finding: URIRef(OBO + "SEPIO_0000173"),
        EMMIE.EvidenceItem: URIRef(PROV + "Entity"),
        EMMIE.SourceRow: URIRef(PROV + "Entity"),
        EMMIE.RatingRule: URIRef(PROV + "Plan"),
        EMMIE.DesignRating: URIRef(PROV + "Entity"),
        EMMIE.EvidenceRating: URIRef(PROV + "Entity"),
    }
    for term, parent in subclass.items():
        assert (term, RDFS.subClassOf, parent) in ontology
    pico = URIRef("http://data.cochrane.org/ontologies/pico/interventionGroup")
    assert (EMMIE.Intervention, SKOS.closeMatch, pico) in ontology
    year = URIRef(FABIO + "hasPublicationYear")
    assert (EMMIE.publicationYear, SKOS.closeMatch, year) in ontology
    statistic = SCHEMES["statistic"]
    exact = {code: ontology.value(iri, SKOS.exactMatch) for code, iri in statistic.items()}
    assert exact == {
        "odds_ratio": URIRef(OBO + "STATO_0000182"),
        "risk_ratio": URIRef(OBO + "STATO_0000245"),
        "hazard_ratio": None,
        "risk_difference": URIRef(OBO + "STATO_0000424"),
        "percentage_point_difference": None,
        "percent_change": None,
        "smd": URIRef(OBO + "STATO_0000100"),
        "hedges_g": URIRef(OBO + "STATO_0000319"),
        "mean_difference": URIRef(OBO + "STATO_0000457"),
    }
    broad = ontology.value(statistic["percentage_point_difference"], SKOS.broadMatch)
    assert broad == URIRef(OBO + "STATO_0000424")
    # reviews, arms and standard properties (docs/decisions/0016-...)
    design = SCHEMES["study-design"]
    meta, review = design["meta_analysis"], design["systematic_review"]
    assert (meta, SKOS.closeMatch, URIRef(OBO + "STATO_0000155")) in ontology
    assert (review, SKOS.closeMatch, URIRef(FABIO + "SystematicReview")) in ontology
    comparator = URIRef("http://data.cochrane.org/ontologies/pico/comparatorGroup")
    assert (EMMIE.comparisonN, SKOS.closeMatch, comparator) in ontology
    bibo_doi = URIRef("http://purl.org/ontology/bibo/doi")
    assert (EMMIE.doi, SKOS.exactMatch, bibo_doi) in ontology
    sdmx = "http://purl.org/linked-data/sdmx/2009/dimension#"
    assert (EMMIE.refArea, SKOS.exactMatch, URIRef(sdmx + "refArea")) in ontology


def test_functional_properties_are_those_of_the_spec(ontology: Graph) -> None:
    functional = {
        str(p).removeprefix(EMMIE_NS)
        for p in ontology.subjects(RDF.type, OWL.FunctionalProperty)
        if str(p).startswith(EMMIE_NS)
    }
    assert functional == FUNCTIONAL


def test_datatype_ranges_are_in_the_owl2_datatype_map(ontology: Graph) -> None:
    for prop in ontology.subjects(RDF.type, OWL.DatatypeProperty):
        for datatype in ontology.objects(prop, RDFS.range):
            assert datatype in OWL2_DATATYPES, (prop, datatype)


def test_top_classes_and_evidence_kinds_are_disjoint(ontology: Graph) -> None:
    groups = set()
    for axiom in ontology.subjects(RDF.type, OWL.AllDisjointClasses):
        members = ontology.value(axiom, OWL.members)
        assert members is not None
        groups.add(frozenset(str(m).removeprefix(EMMIE_NS) for m in ontology.items(members)))
    assert groups == {
        frozenset({
            "Study", "Work", "Intervention", "OutcomeMeasure", "EffectEstimate", "Population",
            "Context", "EvidenceItem", "SourceRow",
        }),
        frozenset({
            "Finding", "EmmieCoding", "Mechanism", "Moderator", "ImplementationFactor",
            "EconomicEvidence", "CMOConfiguration", "SurveyProportion", "AreaAssociation",
            "AreaTrend", "ReportedStatistic",
        }),
        frozenset({"Country", "Region", "LocalAuthority"}),
    }  # fmt: skip
    assert (EMMIE.Facilitator, OWL.disjointWith, EMMIE.Barrier) in ontology


# ---------------------------------------------------------------------------- vocab.py


def test_vocab_module_is_the_current_rendering() -> None:
    generator = _load_generator()
    on_disk = (ROOT / "whatworks" / "core" / "vocab.py").read_text(encoding="utf-8")
    assert on_disk == generator.render(), "run: python scripts/generate_vocab.py"


def test_vocab_names_terms_and_rejects_unknown_names() -> None:
    assert EMMIE.Study == URIRef(EMMIE_NS + "Study")
    assert EMMIE.fromStudy == URIRef(EMMIE_NS + "fromStudy")
    assert SCHEMES["emmie-q-effect"]["3"] == URIRef(CONCEPT_NS + "emmie-q-effect/3")
    with pytest.raises(AttributeError):
        EMMIE.NotATerm  # noqa: B018


# ---------------------------------------------------------------------------- HermiT


def test_owlready2_loads_the_ontology(tmp_path: Path) -> None:
    ntriples = tmp_path / "emmie.nt"
    _parse(ONTOLOGY_PATH).serialize(destination=ntriples, format="nt", encoding="utf-8")
    world = owlready2.World()
    try:
        world.get_ontology(ntriples.as_uri()).load()
        assert world[EMMIE_NS + "Study"] is not None
        assert world[CONCEPT_NS + "outcome/re-entry"] is not None
    finally:
        world.close()


@pytest.mark.slow
def test_hermit_finds_the_ontology_consistent(ontology: Graph) -> None:
    report = check_consistency(Graph())
    assert report.consistent, report.message
    assert report.unsatisfiable_classes == ()
    concepts = set(ontology.subjects(RDF.type, SKOS.Concept))
    schemes = set(ontology.subjects(RDF.type, SKOS.ConceptScheme))
    assert report.individuals == len(concepts) + len(schemes)


@pytest.mark.slow
def test_hermit_finds_the_sample_data_consistent() -> None:
    report = check_consistency(_parse(FIXTURES / "sample_data.ttl"))
    assert report.consistent, report.message
    assert report.unsatisfiable_classes == ()
    assert report.seconds > 0


@pytest.mark.slow
@pytest.mark.parametrize("fixture", INCONSISTENT, ids=lambda path: path.stem)
def test_hermit_reports_an_inconsistency_with_its_cause(fixture: Path) -> None:
    report = check_consistency(_parse(fixture))
    assert not report.consistent
    assert report.message.startswith("HermiT: the ontology and the data are inconsistent.")
    assert CLASH_NAMED[fixture.stem] in report.message


@pytest.mark.slow
def test_a_datatype_outside_owl2_is_a_typed_error() -> None:
    with pytest.raises(ReasonerFailed, match="gYear' is not part of the OWL 2 datatype map"):
        check_consistency(_parse(FIXTURES / "unsupported_datatype.ttl"))


def test_every_inconsistent_fixture_names_its_clash() -> None:
    assert {path.stem for path in INCONSISTENT} == set(CLASH_NAMED)


def test_missing_java_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owlready2, "JAVA_EXE", "no-such-java-for-whatworks-tests")
    with pytest.raises(ReasonerUnavailable, match="Java runtime"):
        check_consistency(Graph())
