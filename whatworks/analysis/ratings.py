"""Evidence ratings computed by published, auditable rules from the coded evidence.

Two rules, each a resource with an IRI under ``https://w3id.org/whatworks/id/rule/`` (so
``/id/rule/...`` dereferences it, in HTML and RDF) and written into the derived graph with
the ratings it makes (``docs/evidence-ratings.md``; decision record 0013):

- :data:`MARYLAND_SMS` rates each **finding** by its study's design on the Maryland
  Scientific Methods Scale, levels 1-5 (:func:`sms_level`, table :data:`SMS_BY_DESIGN`);
- :data:`EVIDENCE_TIERS` rates each **intervention × care outcome** on tiers modelled on the
  Title IV-E Prevention Services Clearinghouse's (:func:`evidence_tier`, best first in
  :data:`TIER_ORDER`).

Both are *computed by rule*: never a curator's judgement, and never shown as one. A
curator's EMMIE-Q level, where coded, stays separate (``emmie:EmmieCoding``). Where the
coded data cannot support a level the rating is ``not_rated`` and names what is missing.

The functions here are pure (plain data in, plain data out); :mod:`whatworks.analysis.derived`
reads the evidence from the store and turns the results into triples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.namespace import DCTERMS
from rdflib.term import Node

from whatworks.core.namespaces import ID, concept
from whatworks.core.vocab import EMMIE

__all__ = [
    "COMPUTED_BY_RULE",
    "CRITERIA",
    "EVIDENCE_TIERS",
    "MARYLAND_SMS",
    "NOT_CHECKED",
    "RULES",
    "SMS_BY_DESIGN",
    "SMS_LABELS",
    "TIER_LABELS",
    "TIER_ORDER",
    "FindingEvidence",
    "TierResult",
    "evidence_tier",
    "rating_label",
    "rule_triples",
    "sms_concept",
    "sms_level",
    "tier_concept",
]

# ------------------------------------------------------------------------------------ rules

#: The rule that rates a finding by its study's design (Maryland Scientific Methods Scale).
MARYLAND_SMS = URIRef(f"{ID}rule/maryland-sms")
#: The rule that rates an intervention × care outcome on evidence tiers.
EVIDENCE_TIERS = URIRef(f"{ID}rule/evidence-tiers")

#: Rule name → IRI.
RULES: dict[str, URIRef] = {"maryland-sms": MARYLAND_SMS, "evidence-tiers": EVIDENCE_TIERS}

# ------------------------------------------------------------------------ Maryland SMS levels

#: SMS level → its label (the concept's prefLabel in the ``maryland-sms`` scheme).
SMS_LABELS: dict[int, str] = {
    1: "SMS 1: correlation at one point in time",
    2: "SMS 2: before and after, no comparable control",
    3: "SMS 3: before and after, with a comparable control group",
    4: "SMS 4: comparison controlling for other influences",
    5: "SMS 5: random assignment",
}

#: Every code of the ``study-design`` scheme → (SMS level or None, the reason in words).
#: None: the design does not estimate an intervention's effect on an outcome, so no level.
SMS_BY_DESIGN: dict[str, tuple[int | None, str]] = {
    "rct": (5, "children or families are allocated at random to the intervention or not"),
    "cluster_rct": (5, "groups such as sites or areas are allocated at random"),
    "rct_follow_up": (5, "a later report of a randomised trial, still comparing random groups"),
    "quasi_experimental": (
        3,
        "an intervention group is compared with a comparison group formed without random "
        "allocation; the coding does not say how the groups were matched, so not level 4",
    ),
    "comparison_cohort": (
        3,
        "a cohort that received the intervention is compared with one that did not, "
        "followed over the same period; matching is not coded, so not level 4",
    ),
    "difference_in_differences": (
        3,
        "the change over time in an exposed group is compared with the change in an "
        "unexposed group",
    ),
    "panel_fixed_effects": (
        3,
        "repeated observations of the same units with fixed effects compare each unit with "
        "itself before and after, against units not yet exposed",
    ),
    "before_after": (2, "outcomes before and after the intervention, with no comparison group"),
    "ecological": (
        1,
        "aggregate data about areas or organisations correlated with the outcome, "
        "without a comparison over time",
    ),
    "secondary_analysis": (
        None,
        "the code says the data were collected for another purpose, not how an effect "
        "was estimated; the design must be coded to say which level applies",
    ),
    "programme_evaluation": (
        None,
        "an evaluation of a programme by one or more methods; the code does not say whether "
        "or how outcomes were compared with a counterfactual",
    ),
    "mixed_methods": (
        None,
        "the code does not say whether the quantitative part compares outcomes with a "
        "counterfactual",
    ),
    "other": (None, "no design the scale can place; the study's design detail says what it is"),
    "trial_protocol": (None, "a plan of a trial, published before any results"),
    "qualitative": (None, "studies experiences, views or processes; estimates no effect"),
    "survey": (None, "collects respondents' answers; compares no outcomes with a counterfactual"),
    "interviews": (None, "based on interviews; estimates no effect"),
    "systematic_review": (
        None,
        "a review: the scale rates primary studies, so each included study is rated on its own",
    ),
    "meta_analysis": (
        None,
        "a review that pools effects: the scale rates primary studies, so each included "
        "study is rated on its own",
    ),
    "scoping_review": (None, "a review mapping evidence; it weighs no effect"),
    "narrative_synthesis": (
        None,
        "a review in words: the scale rates primary studies, not syntheses of them",
    ),
    "programme_synthesis": (
        None,
        "brings together a programme's evaluations: the scale rates each evaluation itself",
    ),
}


def sms_level(design_code: str) -> int | None:
    """The Maryland SMS level (1-5) of a finding from a study of design ``design_code``, or
    None when the design does not estimate an effect (the reason: :data:`SMS_BY_DESIGN`).

    :raises KeyError: ``design_code`` is not a code of the study-design scheme.
    """
    return SMS_BY_DESIGN[design_code][0]


def sms_concept(level: int) -> URIRef:
    """The concept of SMS ``level`` in the ``maryland-sms`` scheme."""
    if level not in SMS_LABELS:
        raise ValueError(f"no Maryland SMS level {level!r}: levels are 1 to 5")
    return concept("maryland-sms", str(level))


# ----------------------------------------------------------------------------- evidence tiers

#: The tier codes of the ``evidence-tier`` scheme, best first.
TIER_ORDER: tuple[str, ...] = (
    "well_supported",
    "supported",
    "promising",
    "does_not_meet_criteria",
    "not_rated",
)

#: Tier code → label (the concept's prefLabel).
TIER_LABELS: dict[str, str] = {
    "well_supported": "well-supported",
    "supported": "supported",
    "promising": "promising",
    "does_not_meet_criteria": "does not currently meet criteria",
    "not_rated": "not rated: the coded evidence cannot support a level",
}


def tier_concept(code: str) -> URIRef:
    """The concept of tier ``code`` in the ``evidence-tier`` scheme."""
    if code not in TIER_LABELS:
        raise ValueError(f"no evidence tier {code!r}: tiers are {', '.join(TIER_ORDER)}")
    return concept("evidence-tier", code)


#: The lowest SMS level whose findings count towards a tier at all (the handbook's
#: "moderate or high" design rating; see docs/evidence-ratings.md for how they differ).
COUNTS_FROM = 3
#: The lowest SMS level for ``supported`` and ``well_supported``.
STRONG_FROM = 4
#: Months of follow-up (from the start, as coded) for ``supported`` / ``well_supported``.
SUSTAINED_MONTHS = 6
WELL_SUSTAINED_MONTHS = 12

#: The criteria of :func:`evidence_tier`, in words (``emmie:criterionMet`` /
#: ``emmie:criterionNotMet`` / ``emmie:criterionNotChecked`` carry these sentences).
CRITERIA: dict[str, str] = {
    "design": f"a finding from a study at Maryland SMS level {COUNTS_FROM} or above",
    "favourable": (
        f"a favourable effect on the care outcome itself (not a proxy measure) from a study "
        f"at SMS {COUNTS_FROM} or above"
    ),
    "no_harm": f"no unfavourable effect on the care outcome from a study at SMS {COUNTS_FROM} "
    "or above",
    "sustained": (
        f"a favourable effect from a study at SMS {STRONG_FROM} or above, measured "
        f"{SUSTAINED_MONTHS} months or more after the start"
    ),
    "replicated": (
        f"favourable effects from 2 or more studies at SMS {STRONG_FROM} or above with "
        f"independent samples, one measured {WELL_SUSTAINED_MONTHS} months or more after the "
        "start"
    ),
}

#: Criteria of the published tiers that the coded data cannot check: every rating names them.
NOT_CHECKED: tuple[str, ...] = (
    "attrition: the coding sheet does not record how many were lost to follow-up",
    "baseline equivalence: the coding sheet does not record whether the groups were alike "
    "at the start",
    "usual-care setting: the coding sheet does not record whether the intervention was "
    "delivered in usual care or practice",
    "sustained beyond the end of treatment: follow-up is coded in months from the start, "
    "so the rule counts months from the start",
)


@dataclass(frozen=True)
class FindingEvidence:
    """What the tier rule reads of one finding about an intervention × care outcome.

    ``direction`` is a code of the direction scheme (favourable, unfavourable, no_effect,
    unclear, mixed); ``sms`` the finding's :func:`sms_level` (None: no effect design);
    ``follow_up_months`` months from the start to measurement (None: not coded); ``proxy``
    True when the measure stands in for the care outcome; ``study`` the study's key or IRI;
    ``sample`` a key naming the sample the study drew on, None when not coded (then the
    study cannot be shown to be independent of another).
    """

    direction: str
    sms: int | None
    follow_up_months: float | None
    proxy: bool
    study: str
    sample: str | None = None


@dataclass(frozen=True)
class TierResult:
    """A tier and why: ``code`` one of :data:`TIER_ORDER`; ``met``, ``not_met`` and
    ``not_checked`` sentences of :data:`CRITERIA` (and :data:`NOT_CHECKED`); ``missing``
    what the coded data lacks for this tier or the next one up."""

    code: str
    met: tuple[str, ...]
    not_met: tuple[str, ...]
    not_checked: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def label(self) -> str:
        return TIER_LABELS[self.code]


def evidence_tier(findings: Iterable[FindingEvidence]) -> TierResult:
    """The tier of an intervention × care outcome with ``findings``.

    The rule (docs/evidence-ratings.md), with *counting* findings those at SMS 3 or above
    that measure the care outcome itself (not a proxy):

    - ``not_rated``: no finding has a design that estimates an effect (no SMS level);
    - ``does_not_meet_criteria``: findings have SMS levels, but no counting finding is
      favourable, or a counting finding is unfavourable;
    - ``promising``: a counting finding is favourable, and none is unfavourable;
    - ``supported``: promising, and a favourable counting finding at SMS 4 or above was
      measured 6 months or more after the start;
    - ``well_supported``: supported, and favourable counting findings at SMS 4 or above
      come from 2 or more independent samples (distinct coded ``sample`` keys), one
      measured 12 months or more after the start.
    """
    rows = list(findings)
    not_checked = list(NOT_CHECKED)
    if not any(f.sms is not None for f in rows):
        return TierResult(
            "not_rated",
            (),
            (),
            tuple(not_checked),
            ("a finding from a study whose design estimates an effect (Maryland SMS 1-5)",),
        )
    counting = [f for f in rows if f.sms is not None and f.sms >= COUNTS_FROM and not f.proxy]
    favourable = [f for f in counting if f.direction == "favourable"]
    harmful = [f for f in counting if f.direction == "unfavourable"]
    met: list[str] = []
    not_met: list[str] = []
    missing: list[str] = []

    def judge(name: str, ok: bool, lacking: str | None = None) -> bool:
        (met if ok else not_met).append(CRITERIA[name])
        if not ok and lacking:
            missing.append(lacking)
        return ok

    has_design = judge(
        "design",
        any(f.sms is not None and f.sms >= COUNTS_FROM for f in rows),
        f"a study at SMS {COUNTS_FROM} or above (a comparison group followed over time, "
        "or random allocation)",
    )
    proxy_only = any(
        f.sms is not None and f.sms >= COUNTS_FROM and f.proxy and f.direction == "favourable"
        for f in rows
    )
    has_favourable = judge(
        "favourable",
        bool(favourable),
        (
            "a favourable effect measured on the care outcome itself (the favourable findings "
            "measure a proxy)"
        )
        if proxy_only and not favourable
        else "a favourable effect on the care outcome",
    )
    no_harm = judge("no_harm", not harmful)
    if not (has_design and has_favourable and no_harm):
        return _result("does_not_meet_criteria", met, not_met, not_checked, missing)
    strong = [f for f in favourable if f.sms is not None and f.sms >= STRONG_FROM]
    sustained = [
        f
        for f in strong
        if f.follow_up_months is not None and f.follow_up_months >= SUSTAINED_MONTHS
    ]
    if not judge("sustained", bool(sustained), _sustained_lack(strong)):
        return _result("promising", met, not_met, not_checked, missing)
    well = [f for f in strong if (f.follow_up_months or 0) >= WELL_SUSTAINED_MONTHS]
    samples = {f.sample for f in strong if f.sample is not None}
    studies = {f.study for f in strong}
    if well and len(samples) >= 2:
        judge("replicated", True)
        return _result("well_supported", met, not_met, not_checked, missing)
    if well and len(studies) >= 2 and len(samples) < 2:
        # Two or more studies, but whether their samples are independent is not coded.
        not_checked.append(
            CRITERIA["replicated"] + ": the studies' samples are not coded, so whether they "
            "are independent cannot be checked"
        )
        missing.append("which sample each study drew on (to show the samples are independent)")
        return _result("supported", met, not_met, not_checked, missing)
    judge(
        "replicated",
        False,
        f"a second study at SMS {STRONG_FROM} or above with a favourable effect"
        if len(studies) < 2
        else f"a favourable effect measured {WELL_SUSTAINED_MONTHS} months or more after the start",
    )
    return _result("supported", met, not_met, not_checked, missing)


def _sustained_lack(strong: Sequence[FindingEvidence]) -> str:
    if not strong:
        return f"a favourable effect from a study at SMS {STRONG_FROM} or above (randomised)"
    if all(f.follow_up_months is None for f in strong):
        return "the follow-up of the favourable findings (not coded)"
    return f"a favourable effect measured {SUSTAINED_MONTHS} months or more after the start"


def _result(
    code: str, met: list[str], not_met: list[str], not_checked: list[str], missing: list[str]
) -> TierResult:
    return TierResult(code, tuple(met), tuple(not_met), tuple(not_checked), tuple(missing))


#: How a computed rating is marked wherever it is shown, so it is never taken for a
#: curator's judgement.
COMPUTED_BY_RULE = "computed by rule"


def rating_label(code: str) -> str:
    """The label of tier ``code`` for a table or an API row, marked as computed by rule:
    ``"promising (computed by rule)"``."""
    return f"{TIER_LABELS[code]} ({COMPUTED_BY_RULE})"


# ------------------------------------------------------------------------- the rules as RDF

#: Where each rule comes from: the published scheme it follows (dcterms:source), by title
#: and publisher, and a URL where one is known for certain.
SOURCES: dict[URIRef, tuple[tuple[str, ...], tuple[str, ...]]] = {
    MARYLAND_SMS: (
        (
            "Farrington DP, Gottfredson DC, Sherman LW, Welsh BC (2002). The Maryland "
            "Scientific Methods Scale. In Sherman LW, Farrington DP, Welsh BC, MacKenzie DL "
            "(eds), Evidence-Based Crime Prevention. London: Routledge.",
            "What Works Centre for Local Economic Growth. Guide to scoring the evidence "
            "(the Maryland Scientific Methods Scale as UK What Works centres use it).",
        ),
        ("https://whatworksgrowth.org/resource-library/guide-to-scoring-the-evidence/",),
    ),
    EVIDENCE_TIERS: (
        (
            "Title IV-E Prevention Services Clearinghouse (Administration for Children and "
            "Families, US Department of Health and Human Services). Handbook of Standards and "
            "Procedures, Version 2.0, chapter 6: Program and Service Ratings.",
        ),
        ("https://preventionservices.acf.hhs.gov/review-process/psr",),
    ),
}

RULE_LABELS: dict[URIRef, str] = {
    MARYLAND_SMS: "Maryland SMS level of a finding, from its study's design (computed by rule)",
    EVIDENCE_TIERS: "Evidence tier of an intervention on a care outcome (computed by rule)",
}


def rule_description(rule: URIRef) -> str:
    """The whole of ``rule`` in words, one step a line: what it rates, every step, and what
    it cannot check."""
    if rule == MARYLAND_SMS:
        rows = "\n".join(
            f"- {code}: {'no level' if level is None else f'level {level}'} ({reason})"
            for code, (level, reason) in SMS_BY_DESIGN.items()
        )
        return (
            "Rates each finding about an intervention on the Maryland Scientific Methods Scale "
            "from the design code of its study. Levels: 1, correlation at one point in time; "
            "2, before and after, no comparable control; 3, before and after with a comparable "
            "control group; 4, as 3, controlling for other influences, or as-good-as-random "
            "variation; 5, random assignment.\n"
            f"Design code → level:\n{rows}\n"
            "The level says what the design can show at best: how well a study carried its "
            "design out (attrition, baseline equivalence) is not coded and not checked.\n"
            "Computed by rule from the coded design, never a curator's rating. Details: "
            "docs/evidence-ratings.md."
        )
    if rule == EVIDENCE_TIERS:
        return (
            "Rates an intervention on one care outcome from its findings, on tiers modelled on "
            "the Title IV-E Prevention Services Clearinghouse's. A finding counts when its "
            f"study is at Maryland SMS {COUNTS_FROM} or above and its measure is the care "
            "outcome itself, not a proxy.\n"
            "- well-supported: supported, and favourable counting findings at SMS "
            f"{STRONG_FROM} or above come from two or more independent samples, one measured "
            f"{WELL_SUSTAINED_MONTHS} months or more after the start.\n"
            f"- supported: promising, and a favourable counting finding at SMS {STRONG_FROM} "
            f"or above was measured {SUSTAINED_MONTHS} months or more after the start.\n"
            "- promising: a counting finding is favourable and none is unfavourable.\n"
            "- does not currently meet criteria: findings have an SMS level, but no counting "
            "finding is favourable, or one is unfavourable.\n"
            "- not rated: no finding comes from a design that estimates an effect (no SMS "
            "level).\n"
            "Not checked, because the coded data cannot show them:\n"
            + "\n".join(f"- {c}" for c in NOT_CHECKED)
            + "\nComputed by rule, never a curator's rating. Details and how this differs "
            "from the Clearinghouse's handbook: docs/evidence-ratings.md."
        )
    raise ValueError(f"no rating rule {rule}")


def rule_triples() -> list[tuple[Node, Node, Node]]:
    """The triples that define both rules (written into the derived graph with the ratings,
    so that a rule is in the store whenever a rating that names it is)."""
    out: list[tuple[Node, Node, Node]] = []
    for rule in RULES.values():
        citations, urls = SOURCES[rule]
        out += [
            (rule, RDF.type, EMMIE.RatingRule),
            (rule, RDFS.label, Literal(RULE_LABELS[rule], lang="en")),
            (rule, DCTERMS.description, Literal(rule_description(rule), lang="en")),
            *((rule, DCTERMS.source, Literal(c, lang="en")) for c in citations),
            *((rule, DCTERMS.source, URIRef(u)) for u in urls),
        ]
    return out
