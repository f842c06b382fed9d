"""Results derived from the evidence in the store: pooled estimates and EMMIE ratings.

:func:`derive` reads the evidence with SPARQL and returns the triples of the derived graph
(:data:`DERIVED_GRAPH`), to be stored beside the sources and recomputed whenever they change:

- an ``emmie:PooledEstimate`` for every intervention × outcome × measure family with
  estimates from two or more studies, by REML and by DerSimonian–Laird
  (:mod:`whatworks.analysis.meta_analysis`; rules in ``docs/meta-analysis.md``);
- an ``emmie:EmmieRating`` for every intervention × outcome × EMMIE dimension (rules in
  ``docs/emmie-ratings.md``);
- an ``emmie:DesignRating`` (Maryland SMS level) for every finding about an intervention,
  and an ``emmie:EvidenceRating`` (evidence tier) for every intervention × outcome with
  findings, computed by the rules of :mod:`whatworks.analysis.ratings`, with the rules
  themselves (``docs/evidence-ratings.md``).

Every derived resource says how it was computed (``prov:wasGeneratedBy`` an activity that
names the method and software), when (``prov:generatedAtTime``) and from what
(``emmie:pools`` / ``prov:wasDerivedFrom``). IRIs are minted under the base of the
intervention they are about, so synthetic evidence gives synthetic results.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from rdflib import RDF, RDFS, XSD, Literal, Namespace, URIRef
from rdflib.term import Node

from whatworks import __version__
from whatworks.analysis import ratings
from whatworks.analysis.meta_analysis import (
    MEASURE_LABELS,
    Estimate,
    MetaAnalysisError,
    PooledResult,
    pool,
)
from whatworks.core.catalogue import Given, internal
from whatworks.core.emmie import DIMENSIONS
from whatworks.core.namespaces import GRAPH, ID, OBO, concept
from whatworks.core.store import Store, Triple
from whatworks.core.vocab import EMMIE, SCHEMES

__all__ = [
    "DERIVED_GRAPH",
    "DerivedChange",
    "PoolingGroup",
    "affected_interventions",
    "derive",
    "derived_change",
    "pooling_groups",
    "restamp",
    "triple_order",
]

#: The named graph the derived results are stored in.
DERIVED_GRAPH = URIRef(f"{GRAPH}derived")

_PROV = Namespace("http://www.w3.org/ns/prov#")


class PROV:
    """The PROV-O terms the derived graph uses, as constants: an rdflib ``Namespace``
    builds a new IRI on every attribute read (3 s of a 1M-triple derive)."""

    Activity = _PROV.Activity
    generatedAtTime = _PROV.generatedAtTime  # noqa: N815 (the term's name)
    used = _PROV.used
    wasDerivedFrom = _PROV.wasDerivedFrom  # noqa: N815
    wasGeneratedBy = _PROV.wasGeneratedBy  # noqa: N815


#: Pooling method code (concept of the pooling-method scheme) → (method, STATO class of the
#: activity, words for labels).
METHODS: dict[str, tuple[str, URIRef, str]] = {
    "reml": ("REML", OBO.STATO_0000155, "restricted maximum likelihood (REML)"),
    "dersimonian_laird": ("DL", OBO.STATO_0000431, "DerSimonian-Laird"),
}

#: The statistic concept of a pooled estimate whose findings use different statistics of one
#: family (smd and hedges_g).
FAMILY_STATISTIC: dict[str, str] = {
    "OR": "odds_ratio",
    "RR": "risk_ratio",
    "HR": "hazard_ratio",
    "SMD": "smd",
    "MD": "mean_difference",
    "RD": "risk_difference",
}


@dataclass(frozen=True)
class PoolingGroup:
    """Estimates that may be pooled: one intervention, one outcome, one measure family, at
    most one finding per study (each estimate's ``source`` is its finding's IRI)."""

    intervention: URIRef
    outcome: URIRef
    measure: str
    intervention_label: str
    statistics: frozenset[URIRef]
    estimates: tuple[Estimate, ...]


def derive(
    store: Store,
    *,
    generated_at: datetime | None = None,
    interventions: Collection[URIRef] | None = None,
) -> list[Triple]:
    """The triples of the derived graph for the evidence in ``store``.

    ``generated_at`` (default: now, in UTC, to the second) is recorded as the
    ``prov:generatedAtTime`` of every result. The triples are sorted, so the same evidence
    and time give the same list.

    ``interventions``, if given, restricts the result to the pooled estimates and ratings
    about those interventions (and the activities and rating rules they name): exactly the
    triples of the whole derived graph whose subject is about one of them, since every
    result is computed from the evidence of one intervention only.

    :raises StoreError: a query failed.
    """
    when = (generated_at or datetime.now(UTC)).replace(microsecond=0)
    triples: set[Triple] = set()
    for group in pooling_groups(store, interventions=interventions):
        triples.update(_pooled_triples(group, when))
    rows = _select(store, "derived_evidence", _evidence_restriction(interventions))
    triples.update(_rating_triples(rows, when))
    restriction = None if interventions is None else sorted(interventions)
    rows = _select(store, "derived_ratings", {"interventions": restriction})
    evidence_ratings = _evidence_rating_triples(rows, when)
    triples.update(evidence_ratings)
    if evidence_ratings:
        triples.update(ratings.rule_triples())
    return sorted(triples, key=triple_order)


def triple_order(triple: Triple) -> tuple[str, ...]:
    """The order :func:`derive` gives its triples: by the text of subject, predicate and
    object (then the kind of object, its datatype and language). Sorting by rdflib's own
    term order compares in Python: 12 s of a 1M-triple derive, against under 1 s."""
    s, p, o = triple
    if isinstance(o, Literal):
        return (str(s), str(p), str(o), "literal", str(o.datatype or ""), o.language or "")
    return (str(s), str(p), str(o), type(o).__name__, "", "")


@lru_cache(maxsize=8)
def _at(when: datetime) -> Literal:
    """The time of the results as one literal, built once (350k literals at 1M)."""
    return Literal(when)


def _select(
    store: Store, query: str, terms: Mapping[str, Given] | None = None
) -> list[dict[str, Node]]:
    """Rows of the internal query ``query`` for ``terms``."""
    prepared = internal(query).prepare(terms)
    return store.select(prepared.sparql(), parameters=prepared.parameters)


def _evidence_restriction(interventions: Collection[URIRef] | None) -> dict[str, Given]:
    """The parameters of ``derived_evidence`` for ``interventions`` only (all, if None).

    For a few interventions each branch of its ``UNION`` is given the items about them
    (``branch_interventions``) instead of one ``VALUES`` before it: Oxigraph 0.5
    evaluates a ``UNION`` whole before joining it with what restricts it (0.15 s at 1M
    triples for any number of interventions; restricted in each branch, 4 ms for 3 and
    0.035 s for 30, but 0.13 s for 60 and more than the whole beyond 100).
    """
    if interventions is None:
        return {}
    ordered = sorted(interventions)
    if len(ordered) <= _RESTRICT_BRANCHES_UP_TO:
        return {"branch_interventions": ordered}
    return {"interventions": ordered}


#: See :func:`_evidence_restriction`.
_RESTRICT_BRANCHES_UP_TO = 30


def pooling_groups(
    store: Store, *, interventions: Collection[URIRef] | None = None
) -> list[PoolingGroup]:
    """Every intervention × outcome × measure family with usable estimates from two or more
    studies, in a stable order.

    A finding is usable when its statistic is poolable (not a percent change or a
    percentage-point difference) and its estimate has a standard error or a complete
    interval that contains it. A study with several usable findings in one group
    contributes its most precise one (smallest standard error).

    A review (a study with ``emmie:includesStudy``) is left out of a group in which one of
    the primary studies it includes has a usable finding, so that no sample counts twice.

    ``interventions``, if given, limits the groups to those interventions.

    :raises StoreError: the query failed.
    """
    Candidate = tuple[str, Estimate, URIRef]
    found: dict[tuple[URIRef, URIRef, str], dict[URIRef, list[Candidate]]] = defaultdict(
        lambda: defaultdict(list)
    )
    labels: dict[URIRef, str] = {}
    seen: set[URIRef] = set()
    restriction = None if interventions is None else sorted(interventions)
    for row in _select(store, "derived_findings", {"interventions": restriction}):
        finding, statistic = row["finding"], row["statistic"]
        intervention, outcome, study = row["intervention"], row["outcome"], row["study"]
        if not all(
            isinstance(term, URIRef) for term in (finding, statistic, intervention, outcome, study)
        ):
            continue
        assert isinstance(finding, URIRef) and isinstance(statistic, URIRef)
        assert isinstance(intervention, URIRef) and isinstance(outcome, URIRef)
        assert isinstance(study, URIRef)
        if finding in seen:
            continue  # a finding with a repeated value is used once (SHACL refuses those)
        seen.add(finding)
        estimate = _estimate(row)
        if estimate is None:
            continue
        labels[intervention] = str(row.get("intervention_label") or _last(intervention))
        found[(intervention, outcome, estimate.measure)][study].append(
            (str(finding), estimate, statistic)
        )
    included = _included_studies(store) if found else {}
    groups = []
    for key in sorted(found):
        by_study = found[key]
        # A review whose included primary studies are in the group would count their
        # samples twice: its finding is left out wherever one of them is pooled.
        for review in [s for s in by_study if included.get(s, set()) & set(by_study)]:
            del by_study[review]
        if len(by_study) < 2:
            continue
        # Each study's most precise finding (then the first by IRI). The standard errors
        # are computed only here, for groups that will be pooled: one derived from an
        # interval needs SciPy, which is then imported anyway.
        candidates = sorted(
            (
                min(options, key=lambda c: (c[1].analysis_se, c[0]))
                for options in found[key].values()
            ),
            key=lambda c: c[0],
        )
        groups.append(
            PoolingGroup(
                intervention=key[0],
                outcome=key[1],
                measure=key[2],
                intervention_label=labels[key[0]],
                statistics=frozenset(c[2] for c in candidates),
                estimates=tuple(c[1] for c in candidates),
            )
        )
    return groups


def _included_studies(store: Store) -> dict[URIRef, set[URIRef]]:
    """Review -> the primary studies of the base it includes."""
    included: dict[URIRef, set[URIRef]] = defaultdict(set)
    for row in _select(store, "derived_included_studies"):
        review, study = row["review"], row["included"]
        if isinstance(review, URIRef) and isinstance(study, URIRef):
            included[review].add(study)
    return included


def _estimate(row: Mapping[str, Node]) -> Estimate | None:
    statistic = row["statistic"]
    code = _last(statistic) if isinstance(statistic, URIRef) else ""
    try:
        return Estimate(
            str(row.get("study_label") or _last(row["finding"])),
            code,
            _number(row["value"]),  # type: ignore[arg-type]
            se=_number(row.get("se")),
            ci_lower=_number(row.get("lower")),
            ci_upper=_number(row.get("upper")),
            ci_level=_number(row.get("level")) or 0.95,
            source=str(row["finding"]),
        )
    except (MetaAnalysisError, TypeError):
        # Not poolable: an unpoolable statistic, no standard error or interval, or values
        # an estimate cannot have. Such findings stay in the graph; they are not pooled.
        return None


def _number(term: Node | None) -> float | None:
    if not isinstance(term, Literal):
        return None
    try:
        value = float(term.toPython())
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _pooled_triples(group: PoolingGroup, when: datetime) -> list[Triple]:
    base, key = _base_and_key(group.intervention)
    outcome_code = _last(group.outcome)
    statistic = (
        next(iter(group.statistics))
        if len(group.statistics) == 1
        else concept("statistic", FAMILY_STATISTIC[group.measure])
    )
    out: list[Triple] = []
    for code, (method, stato_class, method_words) in METHODS.items():
        try:
            result = pool(group.estimates, method=method)  # type: ignore[arg-type]
        except MetaAnalysisError:
            continue  # e.g. the estimator did not converge: no pooled estimate
        iri = URIRef(f"{base}pooled/{key}/{outcome_code}/{group.measure.lower()}/{code}")
        activity = URIRef(f"{base}activity/meta-analysis/{code}")
        label = (
            f"Pooled {MEASURE_LABELS[group.measure]}, {group.intervention_label}, "
            f"{outcome_code}: {method} random effects, k = {result.k}"
        )
        out += [
            (iri, RDF.type, EMMIE.PooledEstimate),
            (iri, RDFS.label, Literal(label)),
            (iri, EMMIE.aboutIntervention, group.intervention),
            (iri, EMMIE.outcome, group.outcome),
            (iri, EMMIE.statistic, statistic),
            (iri, EMMIE.poolingMethod, concept("pooling-method", code)),
            *_result_triples(iri, result),
            *((iri, EMMIE.pools, URIRef(e.source)) for e in group.estimates),
            (iri, PROV.wasGeneratedBy, activity),
            (iri, PROV.generatedAtTime, _at(when)),
            (activity, RDF.type, PROV.Activity),
            (activity, RDF.type, stato_class),
            (
                activity,
                RDFS.label,
                Literal(
                    f"Random-effects meta-analysis, {method_words}, computed with "
                    f"{result.software} by whatworks {__version__}"
                ),
            ),
        ]
    return out


def _result_triples(iri: URIRef, result: PooledResult) -> list[Triple]:
    return [
        (iri, EMMIE.value, _decimal(result.estimate)),
        (iri, EMMIE.standardError, _decimal(result.se)),
        (iri, EMMIE.ciLower, _decimal(result.ci_lower)),
        (iri, EMMIE.ciUpper, _decimal(result.ci_upper)),
        (iri, EMMIE.ciLevel, _decimal(result.level)),
        (iri, EMMIE.predictionLower, _decimal(result.pi_lower)),
        (iri, EMMIE.predictionUpper, _decimal(result.pi_upper)),
        (iri, EMMIE.tau2, _decimal(result.tau2)),
        (iri, EMMIE.i2, _decimal(result.i2)),
        (iri, EMMIE.q, _decimal(result.q)),
        (iri, EMMIE.qPValue, _decimal(result.q_p)),
        (iri, EMMIE.k, Literal(result.k, datatype=XSD.integer)),
    ]


def _decimal(value: float) -> Literal:
    """An xsd:decimal of ``value`` to 12 significant digits (always in plain notation).

    Zero is written ``0`` (never ``-0``), as the store writes it back, so that a result
    read back from the store compares equal to the same result computed again."""
    text = format(value, ".12g")
    return Literal(Decimal("0" if float(text) == 0 else text), datatype=XSD.decimal)


# ------------------------------------------------------------------------------ EMMIE ratings

#: Concept IRI of each EMMIE-Q level → (dimension code, rank 0-4).
_LADDER_LEVELS: dict[URIRef, tuple[str, int]] = {
    iri: (scheme.removeprefix("emmie-q-"), int(code))
    for scheme, codes in SCHEMES.items()
    if scheme.startswith("emmie-q-")
    for code, iri in codes.items()
}


@dataclass
class _Evidence:
    studies: set[URIRef]
    items: set[URIRef]
    best: int | None = None


def _rating_triples(rows: Iterable[Mapping[str, Node]], when: datetime) -> list[Triple]:
    # items[(intervention, dimension code, outcome)] -> list of (item, study, rank). An item
    # that names no outcome is in no rating: no source says which outcome it speaks for (it
    # counts under "any outcome" in the gap map, and its intervention's page lists it).
    Key = tuple[URIRef, str, URIRef]
    items: dict[Key, list[tuple[URIRef, URIRef, int | None]]] = defaultdict(list)
    pairs: set[tuple[URIRef, URIRef]] = set()
    labels: dict[URIRef, str] = {}
    for row in rows:
        item, study = row["item"], row["study"]
        intervention, dimension = row["intervention"], row["dimension"]
        outcome = row.get("outcome")
        if not (
            isinstance(item, URIRef)
            and isinstance(study, URIRef)
            and isinstance(intervention, URIRef)
            and isinstance(dimension, URIRef)
        ):
            continue
        dimension_code = _last(dimension)
        if dimension_code not in DIMENSIONS:
            continue
        labels[intervention] = str(row.get("intervention_label") or _last(intervention))
        level = row.get("level")
        rank = None
        if isinstance(level, URIRef) and level in _LADDER_LEVELS:
            ladder, value = _LADDER_LEVELS[level]
            rank = value if ladder == dimension_code else None
        if isinstance(outcome, URIRef):
            pairs.add((intervention, outcome))
            items[(intervention, dimension_code, outcome)].append((item, study, rank))
    out: list[Triple] = []
    for intervention, outcome in sorted(pairs):
        base, key = _base_and_key(intervention)
        activity = URIRef(f"{base}activity/emmie-rating")
        for dimension_code in DIMENSIONS:
            evidence = _Evidence(set(), set())
            for item, study, rank in items.get((intervention, dimension_code, outcome), ()):
                evidence.items.add(item)
                evidence.studies.add(study)
                if rank is not None and (evidence.best is None or rank > evidence.best):
                    evidence.best = rank
            out += _one_rating(
                base, key, intervention, outcome, dimension_code, evidence, labels, activity, when
            )
        out += [
            (activity, RDF.type, PROV.Activity),
            (
                activity,
                RDFS.label,
                Literal(
                    f"EMMIE ratings derived by whatworks {__version__} "
                    "(rules: docs/emmie-ratings.md)"
                ),
            ),
        ]
    return out


def _one_rating(
    base: str,
    key: str,
    intervention: URIRef,
    outcome: URIRef,
    dimension_code: str,
    evidence: _Evidence,
    labels: Mapping[URIRef, str],
    activity: URIRef,
    when: datetime,
) -> list[Triple]:
    outcome_code = _last(outcome)
    iri = URIRef(f"{base}emmie-rating/{key}/{outcome_code}/{dimension_code}")
    label = f"EMMIE rating, {labels[intervention]}, {outcome_code}: {dimension_code}"
    out: list[Triple] = [
        (iri, RDF.type, EMMIE.EmmieRating),
        (iri, RDFS.label, Literal(label)),
        (iri, EMMIE.aboutIntervention, intervention),
        (iri, EMMIE.outcome, outcome),
        (iri, EMMIE.dimension, concept("emmie-dimension", dimension_code)),
        (iri, EMMIE.evidencePresent, Literal(bool(evidence.studies), datatype=XSD.boolean)),
        (iri, EMMIE.studyCount, Literal(len(evidence.studies), datatype=XSD.integer)),
        (iri, PROV.wasGeneratedBy, activity),
        (iri, PROV.generatedAtTime, _at(when)),
    ]
    if evidence.best is not None:
        level = concept(f"emmie-q-{dimension_code}", str(evidence.best))
        out.append((iri, EMMIE.bestQualityLevel, level))
    out += [(iri, PROV.wasDerivedFrom, item) for item in sorted(evidence.items)]
    return out


# ------------------------------------------------------------- ratings by published rules


@dataclass
class _RatedFinding:
    finding: URIRef
    study: URIRef
    intervention: URIRef
    outcome: URIRef
    design: str | None
    direction: str
    follow_up: float | None
    proxy: bool


def _evidence_rating_triples(rows: Iterable[Mapping[str, Node]], when: datetime) -> list[Triple]:
    """Design ratings of the findings in ``rows`` (``derived_ratings``) and the evidence
    ratings of their interventions × outcomes (:mod:`whatworks.analysis.ratings`)."""
    found: dict[URIRef, _RatedFinding] = {}
    labels: dict[URIRef, str] = {}
    for row in rows:
        finding, study = row["finding"], row["study"]
        intervention, outcome = row["intervention"], row["outcome"]
        if not (
            isinstance(finding, URIRef)
            and isinstance(study, URIRef)
            and isinstance(intervention, URIRef)
            and isinstance(outcome, URIRef)
        ):
            continue
        if finding in found:
            continue  # a finding with a repeated value is used once (SHACL refuses those)
        design, direction = row.get("design"), row.get("direction")
        proxy = row.get("proxy")
        found[finding] = _RatedFinding(
            finding,
            study,
            intervention,
            outcome,
            _last(design) if isinstance(design, URIRef) else None,
            _last(direction) if isinstance(direction, URIRef) else "unclear",
            _number(row.get("follow_up")),
            # Not coded as a measure of care itself: it does not count as one.
            not (isinstance(proxy, Literal) and proxy.toPython() is False),
        )
        labels[intervention] = str(row.get("intervention_label") or _last(intervention))
    out: list[Triple] = []
    by_pair: dict[tuple[URIRef, URIRef], list[tuple[_RatedFinding, int | None]]] = defaultdict(list)
    for item in sorted(found.values(), key=lambda f: f.finding):
        level = _design_level(item.design)
        by_pair[(item.intervention, item.outcome)].append((item, level))
        if item.design is not None:
            out += _design_rating(item, level, when)
    for (intervention, outcome), items in sorted(by_pair.items()):
        out += _evidence_rating(intervention, outcome, items, labels[intervention], when)
    return out


def _design_level(design: str | None) -> int | None:
    if design is None or design not in ratings.SMS_BY_DESIGN:
        return None
    return ratings.sms_level(design)


@lru_cache(maxsize=64)
def _rating_activity(base: str) -> tuple[Triple, ...]:
    """The activity that computes the ratings of ``base``'s records (the same triples for
    each rating: built once)."""
    activity = URIRef(f"{base}activity/evidence-rating")
    return (
        (activity, RDF.type, PROV.Activity),
        (
            activity,
            RDFS.label,
            Literal(
                f"Evidence ratings computed by rule by whatworks {__version__} "
                "(rules: docs/evidence-ratings.md)"
            ),
        ),
        *((activity, PROV.used, rule) for rule in ratings.RULES.values()),
    )


def _design_rating(item: _RatedFinding, level: int | None, when: datetime) -> list[Triple]:
    base, key = _base_and_key(item.finding, "finding")
    iri = URIRef(f"{base}design-rating/{key}")
    activity = URIRef(f"{base}activity/evidence-rating")
    assert item.design is not None
    words = "no level" if level is None else ratings.SMS_LABELS[level]
    out: list[Triple] = [
        (iri, RDF.type, EMMIE.DesignRating),
        (iri, RDFS.label, Literal(f"Design rating (computed by rule): {words}")),
        (iri, EMMIE.aboutFinding, item.finding),
        (iri, EMMIE.aboutIntervention, item.intervention),
        (iri, EMMIE.ratingRule, ratings.MARYLAND_SMS),
        (iri, PROV.wasDerivedFrom, item.finding),
        (iri, PROV.wasDerivedFrom, item.study),
        (iri, PROV.wasDerivedFrom, ratings.MARYLAND_SMS),
        (iri, PROV.wasGeneratedBy, activity),
        (iri, PROV.generatedAtTime, _at(when)),
        *_rating_activity(base),
    ]
    if level is None:
        reason = ratings.SMS_BY_DESIGN[item.design][1]
        out.append(
            (iri, EMMIE.evidenceMissing, Literal(f"no Maryland SMS level: {reason}", lang="en"))
        )
    else:
        out.append((iri, EMMIE.ratingLevel, ratings.sms_concept(level)))
    return out


def _evidence_rating(
    intervention: URIRef,
    outcome: URIRef,
    items: list[tuple[_RatedFinding, int | None]],
    intervention_label: str,
    when: datetime,
) -> list[Triple]:
    base, key = _base_and_key(intervention)
    outcome_code = _last(outcome)
    iri = URIRef(f"{base}evidence-rating/{key}/{outcome_code}")
    activity = URIRef(f"{base}activity/evidence-rating")
    result = ratings.evidence_tier(
        ratings.FindingEvidence(
            direction=item.direction,
            sms=level,
            follow_up_months=item.follow_up,
            proxy=item.proxy,
            study=str(item.study),
        )
        for item, level in items
    )
    label = (
        f"Evidence rating (computed by rule), {intervention_label}, {outcome_code}: {result.label}"
    )
    out: list[Triple] = [
        (iri, RDF.type, EMMIE.EvidenceRating),
        (iri, RDFS.label, Literal(label)),
        (iri, EMMIE.aboutIntervention, intervention),
        (iri, EMMIE.outcome, outcome),
        (iri, EMMIE.ratingLevel, ratings.tier_concept(result.code)),
        (iri, EMMIE.ratingRule, ratings.EVIDENCE_TIERS),
        (iri, PROV.wasDerivedFrom, ratings.EVIDENCE_TIERS),
        (iri, PROV.wasGeneratedBy, activity),
        (iri, PROV.generatedAtTime, _at(when)),
        *((iri, PROV.wasDerivedFrom, item.finding) for item, _ in items),
        *((iri, EMMIE.criterionMet, Literal(c, lang="en")) for c in result.met),
        *((iri, EMMIE.criterionNotMet, Literal(c, lang="en")) for c in result.not_met),
        *((iri, EMMIE.criterionNotChecked, Literal(c, lang="en")) for c in result.not_checked),
        *((iri, EMMIE.evidenceMissing, Literal(c, lang="en")) for c in result.missing),
        *_rating_activity(base),
    ]
    return out


# ------------------------------------------------------------------------------------- IRIs


def _last(iri: Node | str) -> str:
    return str(iri).rstrip("/").rsplit("/", 1)[-1]


def _base_and_key(intervention: URIRef, kind: str = "intervention") -> tuple[str, str]:
    """The IRI base an intervention (or a record of another ``kind``) was minted under,
    and its key.

    ``https://w3id.org/whatworks/synthetic/id/intervention/mst`` gives
    ``("https://w3id.org/whatworks/synthetic/id/", "mst")``. An intervention IRI of another
    shape (loaded from RDF) gives the default base and its last segment.
    """
    text = str(intervention)
    key = _last(text)
    suffix = f"{kind}/{key}"
    if text.endswith(suffix) and len(text) > len(suffix):
        return text[: -len(suffix)], key
    return str(ID), key


# ------------------------------------------------------------------------ keeping it current

_GENERATED_AT = PROV.generatedAtTime
_GENERATED_BY = PROV.wasGeneratedBy

#: Interventions whose derived results may depend on a node: the interventions the node is
#: about, and those of every node linking to it. Derived results read, from an evidence
#: item, the item itself and nodes one link away (its estimate, outcome measure, study and
#: intervention), so a change to any node reaches its results through one link back.
_AFFECTED_QUERIES = ("derived_affected_directly", "derived_affected_by_link")


def affected_interventions(store: Store, nodes: Iterable[URIRef]) -> set[URIRef]:
    """The interventions whose derived results may change when the triples about ``nodes``
    (subjects) change, as the store holds them now (ask before and after a change).

    :raises StoreError: a query failed.
    """
    found: set[URIRef] = set()
    ordered = sorted(set(nodes))
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        for query in _AFFECTED_QUERIES:
            for row in _select(store, query, {"nodes": chunk}):
                intervention = row.get("i")
                if isinstance(intervention, URIRef):
                    found.add(intervention)
    return found


def restamp(new: Iterable[Triple], old: Iterable[Triple]) -> list[Triple]:
    """``new`` derived triples, with the ``prov:generatedAtTime`` of ``old`` kept for every
    resource whose other triples are the same in both: a result is re-dated only when it
    changed. Sorted, as :func:`derive` returns them."""
    new_by, old_by = _by_subject(new), _by_subject(old)
    out: list[Triple] = []
    for subject, triples in new_by.items():
        previous = old_by.get(subject)
        if previous is not None and _undated(previous) == _undated(triples):
            out += previous
        else:
            out += triples
    return sorted(out)


def _by_subject(triples: Iterable[Triple]) -> dict[Node, set[Triple]]:
    out: dict[Node, set[Triple]] = defaultdict(set)
    for triple in triples:
        out[triple[0]].add(triple)
    return out


def _undated(triples: set[Triple]) -> set[Triple]:
    return {t for t in triples if t[1] != _GENERATED_AT}


@dataclass
class DerivedChange:
    """What to remove from and add to the derived graph; ``full`` when it was recomputed
    from all the evidence rather than for some interventions."""

    remove: set[Triple] = field(default_factory=set)
    add: set[Triple] = field(default_factory=set)
    full: bool = True
    interventions: int = 0

    def __bool__(self) -> bool:
        return bool(self.remove or self.add)


def derived_change(
    store: Store,
    *,
    interventions: Collection[URIRef] | None = None,
    generated_at: datetime | None = None,
) -> DerivedChange:
    """The change that brings the stored derived graph up to date with the evidence.

    With ``interventions`` (from :func:`affected_interventions`, before and after the
    evidence changed) only their results are recomputed and compared with what is stored;
    otherwise everything is. Either way, results whose content did not change keep their
    ``prov:generatedAtTime`` (:func:`restamp`), so the derived graph after the change is
    exactly what a full recompute would give. Falls back to a full recompute when the
    stored activities differ from this version's (new software).

    :raises StoreError: a query failed.
    """
    if interventions is not None:
        partial = _partial_change(store, interventions, generated_at)
        if partial is not None:
            return partial
    old = set(store.triples(DERIVED_GRAPH))
    new = set(restamp(derive(store, generated_at=generated_at), old))
    return DerivedChange(remove=old - new, add=new - old, full=True)


def _partial_change(
    store: Store, interventions: Collection[URIRef], generated_at: datetime | None
) -> DerivedChange | None:
    if not interventions:
        return DerivedChange(full=False)
    fresh = derive(store, generated_at=generated_at, interventions=interventions)
    activities = {o for _, p, o in fresh if p == _GENERATED_BY}
    rules = set(ratings.RULES.values())
    new = {t for t in fresh if t[0] not in activities and t[0] not in rules}
    old = _stored_about(store, interventions)
    activities |= {o for _, p, o in old if p == _GENERATED_BY}
    new = set(restamp(new, old))
    change = DerivedChange(
        remove=old - new, add=new - old, full=False, interventions=len(interventions)
    )
    # The rules are shared by every rating, like the activities, and never change but with
    # the software: stored once, and a full recompute if they differ from this version's.
    fresh_rules = _by_subject(t for t in fresh if t[0] in rules)
    for rule, wanted_rule in fresh_rules.items():
        stored_rule = set(_stored_subject(store, rule))
        if stored_rule and stored_rule != wanted_rule:
            return None
        if not stored_rule:
            change.add |= wanted_rule
    fresh_activity = _by_subject(t for t in fresh if t[0] in activities)
    for activity in sorted(activities, key=str):
        stored = set(_stored_subject(store, activity))
        users = _user_count(store, activity)
        users -= len({s for s, p, o in old if p == _GENERATED_BY and o == activity})
        users += len({s for s, p, o in new if p == _GENERATED_BY and o == activity})
        wanted = fresh_activity.get(activity, set())
        if users and stored and wanted and stored != wanted:
            return None  # the activity changed (new software): recompute everything
        if not users:
            change.remove |= stored
        elif not stored:
            change.add |= wanted
    return change


def _stored_about(store: Store, interventions: Collection[URIRef]) -> set[Triple]:
    out: set[Triple] = set()
    ordered = sorted(interventions)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        for row in _select(store, "derived_stored_about", {"interventions": chunk}):
            out.add((row["s"], row["p"], row["o"]))
    return out


def _stored_subject(store: Store, subject: Node) -> Iterable[Triple]:
    for row in _select(store, "derived_stored_subject", {"subject": subject}):
        yield (subject, row["p"], row["o"])


def _user_count(store: Store, activity: Node) -> int:
    rows = _select(store, "derived_activity_users", {"activity": activity})
    return int(str(rows[0]["n"])) if rows else 0
