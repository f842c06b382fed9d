"""What works for whom, answered from a per-version table of findings.

The catalogue query ``queries/what_works_for_whom.rq`` is the SPARQL users' question and the
reference; this module answers the same question from a :class:`FindingTable`, read once per
dataset version (five small internal queries, ``queries/internal/what_works_*.rq``, plus the
catalogue query itself run without filters once per outcome, for the columns that do not
depend on the filters: the EMMIE profile, the pooled estimate, mechanisms, moderators,
implementation factors and economic evidence). Filtering, grouping per intervention, counts,
facets, ``empty_because``, ordering, the headline estimate and paging are then Python over
that table: any combination of filters is answered in milliseconds, whatever the query
engine would take to run the whole query again.

Pure Python: the caller reads the store (the server through its bounded workers, tests and
benchmarks through a store) and passes a :data:`Read` function. The rules are the ones of
docs/what-works-for-whom.md; a test holds this answer equal to the .rq's.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import combinations
from typing import Any, overload

from rdflib import Literal
from rdflib.term import Node

from whatworks.analysis.ratings import TIER_LABELS, TIER_ORDER
from whatworks.core.catalogue import NamedQuery, get, internal
from whatworks.core.namespaces import concept, sparql_prologue
from whatworks.core.store import Store

__all__ = [
    "TIER_ORDER",
    "COUNTRY_SYNONYMS",
    "DIRECTION_ORDER",
    "FILTERS",
    "FindingTable",
    "Question",
    "Read",
    "answer",
    "build_table",
    "country_names",
    "facets",
    "study_name",
]

#: Runs a query's text (without prefixes) with its parameters and returns plain rows (IRIs
#: and strings as text, numbers as numbers, booleans as booleans; unbound left out or None).
Read = Callable[[str, Mapping[str, Node]], list[dict[str, Any]]]

QUERY = "what_works_for_whom"
OUTCOMES = ("entry", "re-entry", "reunification")
#: The filter parameters of the question (``outcome`` is the question itself).
FILTERS = (
    "age",
    "need",
    "setting",
    "country",
    "intervention_type",
    "min_quality",
    "design",
    "verified_only",
)
#: Direction summaries from strongest to weakest support for using the intervention.
DIRECTION_ORDER = ("favourable", "mixed", "no_effect", "unclear", "unfavourable")
DIRECTIONS = ("favourable", "unfavourable", "no_effect", "unclear")
#: The .rq's columns, in its order (every API client relies on them).
RQ_COLUMNS = (
    "intervention",
    "intervention_label",
    "intervention_type",
    "direction_summary",
    "n_studies",
    "n_findings",
    "n_favourable",
    "n_unfavourable",
    "n_no_effect",
    "n_unclear",
    "emmie_effect",
    "emmie_effect_quality",
    "emmie_mechanism",
    "emmie_mechanism_quality",
    "emmie_moderators",
    "emmie_moderators_quality",
    "emmie_implementation",
    "emmie_implementation_quality",
    "emmie_economic",
    "emmie_economic_quality",
    "pooled_estimate",
    "pooled_ci_lower",
    "pooled_ci_upper",
    "pooled_statistic",
    "pooled_k",
    "mechanisms",
    "moderators",
    "implementation_factors",
    "economic",
    "studies",
    "dois",
    "verification",
    "any_proxy",
)
#: The columns this module adds.
EXTRA_COLUMNS = (
    "rating",
    "rating_label",
    "rating_rule",
    "headline",
    "headline_text",
    "estimates",
    "study_names",
    "matched_findings",
    "matched_moderators",
)
COLUMNS = (*RQ_COLUMNS, *EXTRA_COLUMNS)

#: Age bands' ranges (the ontology's; the .rq holds the same table).
AGE_BANDS = {
    "early_childhood": (0, 4),
    "middle_childhood": (5, 10),
    "adolescence": (11, 17),
    "young_adulthood": (18, 25),
    "all_ages": (0, 25),
}
AGES = range(0, 26)
QUALITY_LEVELS = range(0, 5)

_UK = ("uk", "united kingdom", "great britain", "britain", "gb")
_UK_NATIONS = ("england", "wales", "scotland", "northern ireland")
_US = ("usa", "us", "united states", "united states of america", "america")
#: A country as asked → the country names it stands for (lower case, whole names). A name
#: not listed stands for itself. The .rq holds the same lists.
COUNTRY_SYNONYMS: dict[str, frozenset[str]] = {
    **{alias: frozenset((*_UK, *_UK_NATIONS)) for alias in _UK},
    **{alias: frozenset(_US) for alias in _US},
}

#: Short names of the statistics for the headline ("OR 1.25 (95% CI 0.77 to 2.05)").
STATISTIC_ABBREVIATIONS = {
    "odds_ratio": "OR",
    "risk_ratio": "RR",
    "hazard_ratio": "HR",
    "smd": "SMD",
    "hedges_g": "g",
    "mean_difference": "MD",
    "risk_difference": "RD",
    "percentage_point_difference": "pp difference",
    "percent_change": "% change",
}
RATIO_STATISTICS = frozenset({"odds_ratio", "risk_ratio", "hazard_ratio"})


def code(iri: object) -> str:
    return str(iri).rstrip("/").rsplit("/", 1)[-1]


def country_names(place: str) -> frozenset[str]:
    """The whole names a stated country answers to: the name and the detail in brackets
    ("USA (Iowa)" → usa, iowa), lower case."""
    text = place.strip().lower()
    if " (" in text:
        name, _, detail = text.partition(" (")
        return frozenset({name.strip(), detail.rstrip(")").strip()})
    return frozenset({text})


def asked_countries(asked: str) -> frozenset[str]:
    text = asked.strip().lower()
    return COUNTRY_SYNONYMS.get(text, frozenset({text}))


def study_name(authors: str | None, year: object, fallback: str) -> str:
    """ "Fonagy et al. 2018", "Fowler and Chavira 2014", "Westat et al. 2002"; without
    authors the study's label (and year)."""
    people = [a.strip() for a in re.split(r";", authors or "") if a.strip() and a.strip() != "..."]
    people = [p for p in people if p.lower() not in ("et al.", "et al")]
    when = f" {year}" if year not in (None, "") else ""
    if not people:
        if when and str(year) in fallback:
            return fallback
        return f"{fallback}{when}" if fallback else f"unnamed study{when}"

    def surname(person: str) -> str:
        parts = person.split()
        if len(parts) > 1 and re.fullmatch(r"[A-Z]{1,3}\.?", parts[-1]):
            return " ".join(parts[:-1])
        return person

    if len(people) == 1 and "et al" not in (authors or ""):
        return f"{surname(people[0])}{when}"
    if len(people) == 2 and "et al" not in (authors or "") and "..." not in (authors or ""):
        return f"{surname(people[0])} and {surname(people[1])}{when}"
    return f"{surname(people[0])} et al.{when}"


# -- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Study:
    iri: str
    name: str
    label: str
    design: str  # code, "" when unknown
    verification: str  # code
    doi: str
    country: str
    effect_quality: int | None


@dataclass(frozen=True)
class Finding:
    iri: str
    outcome: str  # code
    intervention: str
    direction: str  # code
    study: str
    proxy: bool
    measure: str
    statistic: str  # code
    value: float | None
    ci_lower: float | None
    ci_upper: float | None
    ci_level: float | None
    follow_up: float | None
    min_age: int | None
    max_age: int | None
    band: str  # code
    country: str  # the finding's own, else its study's
    needs: frozenset[str]
    settings: frozenset[str]

    def ages(self) -> frozenset[int]:
        """The ages the finding's population covers: stated ages win over the band."""
        return _ages(self.min_age, self.max_age, self.band)


def _ages(min_age: int | None, max_age: int | None, band: str) -> frozenset[int]:
    """The ages a population covers: its stated ages (a missing end is 0 or 25), else its
    band's range, else none."""
    if min_age is not None or max_age is not None:
        low = min_age if min_age is not None else 0
        high = max_age if max_age is not None else 25
        return frozenset(range(low, high + 1))
    if band in AGE_BANDS:
        low, high = AGE_BANDS[band]
        return frozenset(range(low, high + 1))
    return frozenset()


@dataclass(frozen=True)
class Moderator:
    iri: str
    intervention: str
    label: str
    outcomes: frozenset[str]  # codes; empty when about every outcome
    needs: frozenset[str]
    settings: frozenset[str]
    ages: frozenset[int] = frozenset()  # the ages its population covers


@dataclass
class FindingTable:
    """Everything the question needs, for one dataset version."""

    findings: list[Finding]
    studies: dict[str, Study]
    types: dict[str, frozenset[str]]  # intervention → type codes
    moderators: list[Moderator]
    #: (outcome code, intervention) → the unfiltered .rq row (filter-independent columns)
    profiles: dict[tuple[str, str], dict[str, Any]]
    #: (outcome code, intervention) → (tier code, tier label, rule IRI)
    ratings: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)
    #: finding → (SMS level, rule IRI)
    design_ratings: dict[str, tuple[int, str]] = field(default_factory=dict)
    tier_order: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    #: review → the primary studies of the base it includes (emmie:includesStudy)
    includes: dict[str, frozenset[str]] = field(default_factory=dict)

    def by_outcome(self, outcome: str) -> list[Finding]:
        """The findings on ``outcome``, less those of a review whose included study has a
        finding on the same intervention and outcome: one sample is never counted twice."""
        findings = [f for f in self.findings if f.outcome == outcome]
        if not self.includes:
            return findings
        counted = {(f.intervention, f.study) for f in findings}
        return [
            f
            for f in findings
            if not any((f.intervention, s) in counted for s in self.includes.get(f.study, ()))
        ]


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def build_table(read: Read, *, labels: Mapping[str, str] | None = None) -> FindingTable:
    """Read the table of one dataset version with ``read``: the findings, their studies,
    codes and moderators, the unfiltered .rq rows per outcome, and the ratings computed by
    rule in the derived graph (:mod:`whatworks.analysis.ratings`).

    :raises: whatever ``read`` raises (the server's :class:`ApiError`, a store's
        :class:`StoreError`).
    """
    studies: dict[str, Study] = {}
    for row in read(internal("what_works_studies").prepare({}).text, {}):
        iri = str(row["study"])
        if iri in studies:
            continue
        label = str(row.get("study_label") or code(iri))
        year = _integer(row.get("year"))
        studies[iri] = Study(
            iri=iri,
            name=study_name(row.get("authors"), year, label),
            label=label,
            design=code(row["design"]) if row.get("design") else "",
            verification=code(row["verification"]) if row.get("verification") else "",
            doi=str(row.get("doi") or ""),
            country=str(row.get("study_country") or ""),
            effect_quality=_integer(row.get("effect_quality")),
        )
    codes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in read(internal("what_works_codes").prepare({}).text, {}):
        codes[(str(row["subject"]), str(row["kind"]))].add(code(row["code"]))
    findings: dict[str, Finding] = {}
    for row in read(internal("what_works_findings").prepare({}).text, {}):
        iri = str(row["finding"])
        if iri in findings:  # a second population or estimate: the first is kept
            continue
        study = str(row["study"])
        findings[iri] = Finding(
            iri=iri,
            outcome=code(row["outcome"]),
            intervention=str(row["intervention"]),
            direction=code(row["direction"]),
            study=study,
            proxy=row.get("proxy") in (True, "true", "1"),
            measure=str(row.get("measure_label") or ""),
            statistic=code(row["statistic"]) if row.get("statistic") else "",
            value=_number(row.get("value")),
            ci_lower=_number(row.get("ci_lower")),
            ci_upper=_number(row.get("ci_upper")),
            ci_level=_number(row.get("ci_level")),
            follow_up=_number(row.get("follow_up")),
            min_age=_integer(row.get("min_age")),
            max_age=_integer(row.get("max_age")),
            band=code(row["band"]) if row.get("band") else "",
            country=str(
                row.get("finding_country") or (studies[study].country if study in studies else "")
            ),
            needs=frozenset(codes.get((iri, "need"), ())),
            settings=frozenset(codes.get((iri, "setting"), ())),
        )
    types: dict[str, set[str]] = defaultdict(set)
    for row in read(internal("what_works_interventions").prepare({}).text, {}):
        types[str(row["intervention"])].add(code(row["type"]))
    moderators: dict[str, Moderator] = {}
    for row in read(internal("what_works_moderators").prepare({}).text, {}):
        iri = str(row["moderator"])
        outcomes = {code(row["outcome"])} if row.get("outcome") else set()
        ages = _ages(
            _integer(row.get("min_age")),
            _integer(row.get("max_age")),
            code(row["band"]) if row.get("band") else "",
        )
        if iri in moderators:
            kept = moderators[iri]
            moderators[iri] = replace(
                kept, outcomes=kept.outcomes | outcomes, ages=kept.ages | ages
            )
            continue
        moderators[iri] = Moderator(
            iri=iri,
            intervention=str(row["intervention"]),
            label=str(row.get("label") or code(iri)),
            outcomes=frozenset(outcomes),
            needs=frozenset(codes.get((iri, "need"), ())),
            settings=frozenset(codes.get((iri, "setting"), ())),
            ages=ages,
        )
    tiers: dict[tuple[str, str], tuple[str, str, str]] = {}
    sms: dict[str, tuple[int, str]] = {}
    for row in read(internal("what_works_ratings").prepare({}).text, {}):
        level = code(row["level"])
        if row["kind"] == "tier" and row.get("outcome"):
            label = TIER_LABELS.get(level, level)
            tiers[(code(row["outcome"]), str(row["about"]))] = (level, label, str(row["rule"]))
        elif row["kind"] == "sms" and level.isdigit():
            sms[str(row["about"])] = (int(level), str(row["rule"]))
    includes: dict[str, set[str]] = defaultdict(set)
    for row in read(internal("derived_included_studies").prepare({}).text, {}):
        includes[str(row["review"])].add(str(row["included"]))
    named = get(QUERY)
    profiles: dict[tuple[str, str], dict[str, Any]] = {}
    present = {f.outcome for f in findings.values()}
    for outcome in OUTCOMES:
        if outcome not in present:
            continue
        for row in read(named.text, named.bindings({"outcome": outcome})):
            profiles[(outcome, str(row["intervention"]))] = dict(row)
    return FindingTable(
        findings=list(findings.values()),
        studies=studies,
        types={k: frozenset(v) for k, v in types.items()},
        moderators=list(moderators.values()),
        profiles=profiles,
        ratings=tiers,
        design_ratings=sms,
        tier_order=TIER_ORDER,
        labels=dict(labels or {}),
        includes={k: frozenset(v) for k, v in includes.items()},
    )


# -- the question ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One question: an outcome and the filters given (raw text values, as in the URL)."""

    outcome: str
    filters: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, given: Mapping[str, str]) -> Question:
        filters = tuple(
            sorted(
                (k, str(v))
                for k, v in given.items()
                if k in FILTERS
                and v not in (None, "")
                and not (k == "verified_only" and v == "false")
            )
        )
        return cls(str(given.get("outcome", "")), filters)

    def without(self, *names: str) -> Question:
        return replace(self, filters=tuple((k, v) for k, v in self.filters if k not in names))

    def with_(self, name: str, value: str) -> Question:
        return replace(self, filters=tuple(sorted((*self.without(name).filters, (name, value)))))

    def as_params(self) -> dict[str, str]:
        return {"outcome": self.outcome, **dict(self.filters)}


def _moderators_for(table: FindingTable, outcome: str) -> dict[str, list[Moderator]]:
    out: dict[str, list[Moderator]] = defaultdict(list)
    for m in table.moderators:
        if not m.outcomes or outcome in m.outcomes:
            out[m.intervention].append(m)
    return out


def _values(
    table: FindingTable, f: Finding, name: str, moderators: Sequence[Moderator]
) -> frozenset[str]:
    """The values of filter ``name`` that finding ``f`` passes (as text), for the facets
    and for the filters alike."""
    study = table.studies.get(f.study)
    if name == "age":
        return frozenset(str(a) for a in f.ages().union(*(m.ages for m in moderators)))
    if name == "need":
        return f.needs.union(*(m.needs for m in moderators))
    if name == "setting":
        return f.settings.union(*(m.settings for m in moderators))
    if name == "intervention_type":
        return table.types.get(f.intervention, frozenset())
    if name == "design":
        return frozenset({study.design}) if study and study.design else frozenset()
    if name == "min_quality":
        q = study.effect_quality if study else None
        return frozenset(str(level) for level in QUALITY_LEVELS if q is not None and q >= level)
    if name == "verified_only":
        return frozenset({"true"}) if study and study.verification == "yes" else frozenset()
    if name == "country":
        return country_names(f.country) if f.country else frozenset()
    raise KeyError(name)


def _passes(
    table: FindingTable, f: Finding, name: str, value: str, moderators: Sequence[Moderator]
) -> bool:
    if name == "country":
        return bool(asked_countries(value) & _values(table, f, name, moderators))
    return value in _values(table, f, name, moderators)


def _selected(table: FindingTable, question: Question) -> list[Finding]:
    mods = _moderators_for(table, question.outcome)
    return [
        f
        for f in table.by_outcome(question.outcome)
        if all(
            _passes(table, f, name, value, mods.get(f.intervention, ()))
            for name, value in question.filters
        )
    ]


def _format_number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def estimate_text(
    statistic: str, value: float, lower: float | None, upper: float | None, level: float | None
) -> str:
    """ "OR 1.25 (95% CI 0.77 to 2.05)"; "OR 1.13 (interval 0.82 to 1.56)" without a stated
    level; "RR 0.8" without an interval."""
    name = STATISTIC_ABBREVIATIONS.get(statistic, statistic.replace("_", " ") or "estimate")
    if statistic == "percent_change":
        text = f"{_format_number(value)}% change"
    elif statistic == "percentage_point_difference":
        text = f"{_format_number(value)} percentage points"
    else:
        text = f"{name} {_format_number(value)}"
    if lower is not None and upper is not None:
        span = f"{_format_number(lower)} to {_format_number(upper)}"
        text += f" ({round(level * 100)}% CI {span})" if level else f" (interval {span})"
    return text


def _estimate(table: FindingTable, f: Finding) -> dict[str, Any]:
    study = table.studies.get(f.study)
    sms = table.design_ratings.get(f.iri)
    return {
        "finding": f.iri,
        "study": f.study,
        "study_name": study.name if study else code(f.study),
        "design": study.design if study else "",
        "sms_level": sms[0] if sms else None,
        "sms_rule": sms[1] if sms else None,
        "statistic": f.statistic,
        "statistic_label": table.labels.get(str(concept("statistic", f.statistic)), f.statistic)
        if f.statistic
        else "",
        "value": f.value,
        "ci_lower": f.ci_lower,
        "ci_upper": f.ci_upper,
        "ci_level": f.ci_level,
        "follow_up_months": f.follow_up,
        "proxy": f.proxy,
        "direction": f.direction,
        "measure": f.measure,
        "text": estimate_text(f.statistic, f.value, f.ci_lower, f.ci_upper, f.ci_level)
        if f.value is not None
        else "",
    }


def _headline(profile: Mapping[str, Any], estimates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The pooled estimate where one exists, else the estimate of the best-rated study: the
    highest SMS level, then a direct (not proxy) measure, then one with an interval, then
    one with a stated confidence level, then the earliest follow-up (a trial's primary)."""
    pooled = _number(profile.get("pooled_estimate"))
    if pooled is not None:
        statistic = code(profile.get("pooled_statistic") or "")
        return {
            "kind": "pooled",
            "statistic": statistic,
            "value": pooled,
            "ci_lower": _number(profile.get("pooled_ci_lower")),
            "ci_upper": _number(profile.get("pooled_ci_upper")),
            "k": profile.get("pooled_k"),
            "text": estimate_text(
                statistic,
                pooled,
                _number(profile.get("pooled_ci_lower")),
                _number(profile.get("pooled_ci_upper")),
                0.95,
            )
            + f", pooled over {profile.get('pooled_k')} findings",
        }
    with_values = [e for e in estimates if e["value"] is not None]
    if not with_values:
        return None

    def strength(e: dict[str, Any]) -> tuple[Any, ...]:
        return (
            e["sms_level"] if e["sms_level"] is not None else -1,
            not e["proxy"],
            e["ci_lower"] is not None and e["ci_upper"] is not None,
            e["ci_level"] is not None,
            -(e["follow_up_months"] or 0),  # the earlier (primary) follow-up first
        )

    best = max(with_values, key=strength)
    return {
        "kind": "study",
        **{
            k: best[k]
            for k in (
                "finding",
                "study",
                "study_name",
                "statistic",
                "value",
                "ci_lower",
                "ci_upper",
                "ci_level",
                "sms_level",
                "proxy",
            )
        },
        "text": f"{best['text']} ({best['study_name']})",
    }


class Rows(Sequence[dict[str, Any]]):
    """The rows of an answer, in order; each row is built the first time it is read, so
    a page of 50 costs 50 rows however long the answer (the order needs only counts)."""

    def __init__(self, build: Callable[[int], dict[str, Any]], n: int) -> None:
        self._build = build
        self._n = n
        self._made: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._n))]
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError(index)
        row = self._made.get(index)
        if row is None:
            row = self._made[index] = self._build(index)
        return row

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, Rows)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def _rows(table: FindingTable, question: Question, selected: list[Finding]) -> Rows:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in selected:
        groups[f.intervention].append(f)
    order = table.tier_order
    keyed = []
    for intervention, found in groups.items():
        directions = {f.direction for f in found}
        present = [d for d in ("favourable", "unfavourable", "no_effect") if d in directions]
        summary = "unclear" if not present else "mixed" if len(present) > 1 else present[0]
        studies = {f.study for f in found}
        rating = table.ratings.get((question.outcome, intervention))
        label = (table.profiles.get((question.outcome, intervention)) or {}).get(
            "intervention_label"
        )
        key = (
            order.index(rating[0]) if rating and rating[0] in order else len(order),
            len(studies) == 1 and all(f.proxy for f in found),
            DIRECTION_ORDER.index(summary),
            -len(studies),
            -len(found),
            str(label or intervention).lower(),
        )
        keyed.append((key, intervention, found, summary))
    keyed.sort(key=lambda k: k[0])
    mods = _moderators_for(table, question.outcome)
    asked = dict(question.filters)

    def build(index: int) -> dict[str, Any]:
        _, intervention, found, summary = keyed[index]
        return _row(table, question, intervention, found, summary, mods, asked)

    return Rows(build, len(keyed))


def _row(
    table: FindingTable,
    question: Question,
    intervention: str,
    found: list[Finding],
    summary: str,
    mods: Mapping[str, Sequence[Moderator]],
    asked: Mapping[str, str],
) -> dict[str, Any]:
    """One row: the .rq's columns (counts of the filtered findings, the rest from the
    unfiltered .rq row) and the server's (decision 0014)."""
    profile = table.profiles.get((question.outcome, intervention), {})
    counts = Counter(f.direction for f in found)
    study_iris = sorted({f.study for f in found})
    statuses = Counter(table.studies[s].verification for s in study_iris if s in table.studies)
    dois = sorted({table.studies[s].doi for s in study_iris if s in table.studies} - {""})
    found = sorted(found, key=lambda f: (f.study, f.follow_up or 0, f.iri))
    estimates = [_estimate(table, f) for f in found]
    rating = table.ratings.get((question.outcome, intervention))
    headline = _headline(profile, estimates)
    matched_moderators = [
        m.iri
        for m in mods.get(intervention, ())
        if ("need" in asked and asked["need"] in m.needs)
        or ("setting" in asked and asked["setting"] in m.settings)
        or ("age" in asked and asked["age"].isdigit() and int(asked["age"]) in m.ages)
    ]
    row: dict[str, Any] = {c: profile.get(c) for c in RQ_COLUMNS}
    row.update(
        intervention=intervention,
        direction_summary=summary,
        n_studies=len(study_iris),
        n_findings=len(found),
        n_favourable=counts["favourable"],
        n_unfavourable=counts["unfavourable"],
        n_no_effect=counts["no_effect"],
        n_unclear=counts["unclear"],
        studies=" ".join(study_iris),
        dois=" ".join(dois) or None,
        verification=", ".join(
            f"{v}: {statuses[v]}" for v in ("yes", "partial", "no") if statuses[v]
        ),
        any_proxy=any(f.proxy for f in found),
        rating=rating[0] if rating else None,
        rating_label=rating[1] if rating else None,
        rating_rule=rating[2] if rating else None,
        headline=headline,
        headline_text=headline["text"] if headline else None,
        estimates=estimates,
        study_names=[table.studies[s].name if s in table.studies else code(s) for s in study_iris],
        matched_findings=[f.iri for f in found] if asked else [],
        matched_moderators=matched_moderators,
    )
    return row


@dataclass
class Answer:
    question: Question
    rows: Rows
    empty_because: list[dict[str, Any]]


def answer(table: FindingTable, question: Question) -> Answer:
    """Every row of the question (unpaged), and when there is none, which filters to drop."""
    rows = _rows(table, question, _selected(table, question))
    return Answer(question, rows, [] if rows else empty_because(table, question))


def _count(table: FindingTable, question: Question) -> int:
    return len({f.intervention for f in _selected(table, question)})


def empty_because(table: FindingTable, question: Question) -> list[dict[str, Any]]:
    """When the question has no rows: the filters whose removal gives rows, each alone
    first, else each pair; with the number of rows left then. Empty when no such filter
    (or pair) exists, or when the outcome itself has no evidence."""
    names = [k for k, _ in question.filters]
    found = []
    for n in (1, 2):
        for dropped in combinations(names, n):
            count = _count(table, question.without(*dropped))
            if count:
                found.append({"parameters": list(dropped), "n_rows": count})
        if found:
            return found
    return found


def facets(table: FindingTable, question: Question) -> dict[str, list[dict[str, Any]]]:
    """For each filter: the values occurring for the question under the other filters given,
    with the number of interventions each gives (every value listed gives rows)."""
    mods = _moderators_for(table, question.outcome)
    findings = table.by_outcome(question.outcome)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in FILTERS:
        others = question.without(name).filters
        by_value: dict[str, set[str]] = defaultdict(set)
        for f in findings:
            m = mods.get(f.intervention, ())
            if not all(_passes(table, f, k, v, m) for k, v in others):
                continue
            values = _values(table, f, name, m)
            if name == "country" and f.country:
                values = frozenset({f.country.partition(" (")[0].strip()})
            for value in values:
                by_value[value].add(f.intervention)
        if name == "verified_only":
            by_value.pop("false", None)
        listed = [
            {"value": value, "label": _facet_label(table, name, value), "n_interventions": len(s)}
            for value, s in by_value.items()
        ]
        if name in ("age", "min_quality"):
            listed.sort(key=lambda v: int(str(v["value"])))
        else:
            listed.sort(key=lambda v: str(v["label"]).lower())
        out[name] = listed
    return out


_SCHEMES = {
    "need": "need",
    "setting": "setting",
    "intervention_type": "intervention-type",
    "design": "study-design",
}


def _facet_label(table: FindingTable, name: str, value: str) -> str:
    if name in _SCHEMES:
        return table.labels.get(str(concept(_SCHEMES[name], value)), value)
    if name == "min_quality":
        return f"EMMIE-Q {value} or better"
    if name == "age":
        return f"{value} years"
    if name == "verified_only":
        return "fully verified studies"
    return value


def terms_of(question: Question) -> dict[str, Node]:
    """The question as the .rq's parameter terms (for the reference query)."""
    return get(QUERY).bindings(question.as_params())


def reference_query() -> NamedQuery:
    return get(QUERY)


def flat(value: Any) -> Any:
    """A cell as CSV text: lists joined with " | ", estimates and headlines by their text."""
    if isinstance(value, dict):
        if "study_name" in value and "finding" in value and "kind" not in value:
            about = value["text"] or value.get("direction", "").replace("_", " ")
            return f"{value['study_name']}: {about}"
        return value.get("text") or ""
    if isinstance(value, list):
        return " | ".join(str(flat(v)) for v in value if flat(v) not in (None, ""))
    return value


def store_read(store: Store) -> Read:
    """A :data:`Read` over a store opened in this process (tests, benchmarks, the CLI)."""

    def read(text: str, parameters: Mapping[str, Node]) -> list[dict[str, Any]]:
        rows = store.select(sparql_prologue() + text, parameters=parameters)
        return [{k: _plain(v) for k, v in row.items()} for row in rows]

    return read


def _plain(term: Node) -> Any:
    if isinstance(term, Literal):
        value = term.toPython()
        if isinstance(value, Decimal):
            return float(value)
        return value if isinstance(value, (int, float, bool, str)) else str(term)
    return str(term)


__all__ += ["Answer", "COLUMNS", "RQ_COLUMNS", "estimate_text", "flat", "store_read", "terms_of"]
