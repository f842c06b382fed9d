"""Evidence ratings by published rules (whatworks.analysis.ratings, docs/evidence-ratings.md):
the design→SMS table covers the ontology's designs, the tier rule's steps, and the rules as
RDF. The store-level tests (derived graph, pages) are in tests/test_ratings_store.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from whatworks.analysis.ratings import (
    CRITERIA,
    EVIDENCE_TIERS,
    MARYLAND_SMS,
    NOT_CHECKED,
    RULES,
    SMS_BY_DESIGN,
    SMS_LABELS,
    TIER_LABELS,
    TIER_ORDER,
    FindingEvidence,
    evidence_tier,
    rating_label,
    rule_triples,
    sms_concept,
    sms_level,
    tier_concept,
)
from whatworks.core.vocab import EMMIE, SCHEMES

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "evidence-ratings.md"


def F(  # noqa: N802 - reads as a row of a table
    direction: str,
    sms: int | None,
    months: float | None = None,
    *,
    proxy: bool = False,
    study: str = "s1",
    sample: str | None = None,
) -> FindingEvidence:
    return FindingEvidence(direction, sms, months, proxy, study, sample)


# ------------------------------------------------------------------------------ SMS levels


def test_every_design_code_of_the_ontology_has_a_level_or_a_reason() -> None:
    assert set(SMS_BY_DESIGN) == set(SCHEMES["study-design"])
    for code, (level, reason) in SMS_BY_DESIGN.items():
        assert level is None or 1 <= level <= 5, code
        assert len(reason) > 20, code  # a reason in words, not a placeholder


def test_randomised_designs_are_level_5_and_non_effect_designs_have_none() -> None:
    assert {c for c, (lvl, _) in SMS_BY_DESIGN.items() if lvl == 5} == {
        "rct",
        "cluster_rct",
        "rct_follow_up",
    }
    for code in ("qualitative", "survey", "interviews", "trial_protocol", "systematic_review"):
        assert sms_level(code) is None
    assert sms_level("difference_in_differences") == 3
    assert sms_level("before_after") == 2
    with pytest.raises(KeyError):
        sms_level("no_such_design")


def test_every_design_code_has_a_row_in_the_docs_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    text = text.split("## The Maryland Scientific Methods Scale", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (\S[^|]*?) \|", text, flags=re.M))
    assert set(rows) == set(SCHEMES["study-design"])
    for code, cell in rows.items():
        level = sms_level(code)
        assert cell == ("no level" if level is None else str(level)), code


def test_labels_are_the_ontology_concepts_labels() -> None:
    ontology = Graph().parse(ROOT / "ontology" / "emmie.ttl", format="turtle")
    for level, label in SMS_LABELS.items():
        assert ontology.value(sms_concept(level), SKOS.prefLabel) == Literal(label, lang="en")
    assert set(TIER_ORDER) == set(SCHEMES["evidence-tier"]) == set(TIER_LABELS)
    for code in TIER_ORDER:
        assert ontology.value(tier_concept(code), SKOS.prefLabel) == Literal(
            TIER_LABELS[code], lang="en"
        )
    with pytest.raises(ValueError, match="levels are 1 to 5"):
        sms_concept(6)
    with pytest.raises(ValueError, match="tiers are"):
        tier_concept("excellent")


# ---------------------------------------------------------------------------- evidence tiers


def test_no_effect_design_is_not_rated_and_says_what_is_missing() -> None:
    result = evidence_tier([F("favourable", None), F("favourable", None, 12)])
    assert result.code == "not_rated"
    assert result.met == result.not_met == ()
    assert result.missing and "estimates an effect" in result.missing[0]
    assert evidence_tier([]).code == "not_rated"


def test_weak_designs_only_do_not_meet_criteria() -> None:
    result = evidence_tier([F("favourable", 2, 24), F("favourable", 1)])
    assert result.code == "does_not_meet_criteria"
    assert CRITERIA["design"] in result.not_met
    assert any("SMS 3 or above" in m for m in result.missing)


def test_a_favourable_effect_at_sms_3_is_promising() -> None:
    result = evidence_tier([F("favourable", 3), F("no_effect", 3, study="s2")])
    assert result.code == "promising"
    assert CRITERIA["favourable"] in result.met
    assert CRITERIA["sustained"] in result.not_met
    assert result.label == "promising"


def test_a_proxy_alone_does_not_count() -> None:
    result = evidence_tier([F("favourable", 5, 24, proxy=True)])
    assert result.code == "does_not_meet_criteria"
    assert any("proxy" in m for m in result.missing)
    with_care = evidence_tier([F("favourable", 5, 24, proxy=True), F("favourable", 3)])
    assert with_care.code == "promising"


def test_no_effect_or_unfavourable_at_sms_3_does_not_meet_criteria() -> None:
    assert evidence_tier([F("no_effect", 5, 18)]).code == "does_not_meet_criteria"
    harmed = evidence_tier([F("favourable", 5, 18), F("unfavourable", 3, study="s2")])
    assert harmed.code == "does_not_meet_criteria"
    assert CRITERIA["no_harm"] in harmed.not_met
    # an unfavourable finding from a weak design does not count against it
    assert evidence_tier([F("favourable", 3), F("unfavourable", 2)]).code == "promising"


def test_supported_needs_sms_4_and_6_months() -> None:
    assert evidence_tier([F("favourable", 5, 6)]).code == "supported"
    assert evidence_tier([F("favourable", 5, 5.9)]).code == "promising"
    assert evidence_tier([F("favourable", 3, 24)]).code == "promising"
    unknown = evidence_tier([F("favourable", 5, None)])
    assert unknown.code == "promising"
    assert any("follow-up" in m for m in unknown.missing)


def test_well_supported_needs_two_independent_samples_one_at_12_months() -> None:
    two = [
        F("favourable", 5, 12, study="a", sample="A"),
        F("favourable", 5, 6, study="b", sample="B"),
    ]
    result = evidence_tier(two)
    assert result.code == "well_supported"
    assert CRITERIA["replicated"] in result.met
    short = [
        F("favourable", 5, 11, study="a", sample="A"),
        F("favourable", 5, 6, study="b", sample="B"),
    ]
    assert evidence_tier(short).code == "supported"
    same_sample = [
        F("favourable", 5, 12, study="a", sample="A"),
        F("favourable", 5, 12, study="b", sample="A"),
    ]
    assert evidence_tier(same_sample).code == "supported"


def test_samples_not_coded_cannot_make_well_supported_and_it_says_so() -> None:
    result = evidence_tier([F("favourable", 5, 12, study="a"), F("favourable", 5, 12, study="b")])
    assert result.code == "supported"
    assert any("independent" in c for c in result.not_checked)
    assert any("sample" in m for m in result.missing)


def test_every_rating_names_the_criteria_it_cannot_check() -> None:
    for findings in ([F("favourable", None)], [F("no_effect", 5, 12)], [F("favourable", 5, 6)]):
        result = evidence_tier(findings)
        assert set(NOT_CHECKED) <= set(result.not_checked)
        assert any("attrition" in c for c in result.not_checked)
        assert any("baseline equivalence" in c for c in result.not_checked)
        assert any("usual-care setting" in c for c in result.not_checked)


def test_rating_label_says_computed_by_rule() -> None:
    assert rating_label("promising") == "promising (computed by rule)"
    with pytest.raises(KeyError):
        rating_label("excellent")


# ------------------------------------------------------------------------------- the rules


def test_rules_are_minted_under_id_rule_and_described_in_full() -> None:
    assert RULES == {"maryland-sms": MARYLAND_SMS, "evidence-tiers": EVIDENCE_TIERS}
    graph = Graph()
    for triple in rule_triples():
        graph.add(triple)
    for name, rule in RULES.items():
        assert str(rule) == f"https://w3id.org/whatworks/id/rule/{name}"
        assert (rule, RDF.type, EMMIE.RatingRule) in graph
        description = str(graph.value(rule, DCTERMS.description))
        assert "computed by rule" in description.lower() or "Computed by rule" in description
        sources = set(graph.objects(rule, DCTERMS.source))
        assert any(isinstance(s, URIRef) for s in sources)
        assert any(isinstance(s, Literal) for s in sources)
    sms = str(graph.value(MARYLAND_SMS, DCTERMS.description))
    for code in SMS_BY_DESIGN:  # the whole mapping is in the rule's own words
        assert f"{code}: " in sms
    tiers = str(graph.value(EVIDENCE_TIERS, DCTERMS.description))
    for words in ("attrition", "baseline equivalence", "usual-care setting", "proxy"):
        assert words in tiers
