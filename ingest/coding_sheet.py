"""The coding-sheet format: which sheets there are, their columns, and what each column holds.

This module is the single source of truth for the format. The reference page
``docs/coding-sheet.md`` and the blank template (``whatworks template``) are generated from
it, and the mapper (:mod:`whatworks.ingest.mapping`) reads it to know which RDF property
each column becomes.

A coding sheet is either one XLSX workbook with a sheet per kind of record, or CSV files,
one per kind, whose file name ends with the kind (``studies.csv``, ``my-review.findings.csv``).
Row 1 holds the column names; each later row is one record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

from whatworks.core.vocab import SCHEMES


class Kind(Enum):
    """What a column holds. The reader checks the kind; the SHACL shapes check the rest."""

    KEY = "key"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    YEAR = "year"
    BOOLEAN = "boolean"
    DATE = "date"
    DOI = "doi"
    CONCEPT = "concept"
    CHOICE = "choice"
    REF = "reference"


#: Sub-nodes a column may describe instead of the record itself (IRI suffix of the record).
NODES = ("", "work", "estimate", "measure", "population", "context")

#: Separator of several values in one cell.
LIST_SEPARATOR = ";"

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


@dataclass(frozen=True)
class Column:
    """One column of a sheet."""

    name: str
    kind: Kind
    description: str
    example: str = ""
    required: bool = False
    #: The EMMIE property (local name in the emmie namespace, or a CURIE) the column becomes.
    #: Empty when the mapper treats the column specially (documented in the description).
    prop: str = ""
    #: The sub-node the property sits on ("" = the record itself).
    node: str = ""
    #: For CONCEPT columns: the SKOS scheme the codes come from.
    scheme: str = ""
    #: For CHOICE columns: the allowed values.
    choices: tuple[str, ...] = ()
    #: For REF columns: the sheet whose key this column names.
    target: str = ""
    #: Whether several values may be given, separated by ";".
    multiple: bool = False
    #: Whether the header must name the column even though some rows may leave it empty
    #: (the shapes then say which rows need a value: e.g. a finding's care outcome).
    in_header: bool = False

    def allowed(self) -> tuple[str, ...]:
        """The allowed values of a CONCEPT or CHOICE column, in a stable order."""
        if self.kind is Kind.CONCEPT:
            return tuple(SCHEMES[self.scheme])
        return self.choices

    def type_text(self) -> str:
        """The column's type in words, for the reference page and error messages."""
        text = {
            Kind.KEY: "key (letters, digits, `_` `.` `-`; starts with a letter or digit)",
            Kind.TEXT: "text",
            Kind.INTEGER: "whole number",
            Kind.DECIMAL: "number (decimal point, no % sign or thousands separator)",
            Kind.YEAR: "year (four digits)",
            Kind.BOOLEAN: "`yes` or `no`",
            Kind.DATE: "date (YYYY-MM-DD)",
            Kind.DOI: "DOI (`10.xxxx/...`; a `https://doi.org/` prefix is removed)",
            Kind.CONCEPT: f"code from the `{self.scheme}` scheme",
            Kind.CHOICE: "one of the listed values",
            Kind.REF: f"key of a row in the `{self.target}` sheet",
        }[self.kind]
        return text + (", several separated by `;`" if self.multiple else "")


@dataclass(frozen=True)
class Sheet:
    """One kind of record: a sheet of the workbook, or one CSV file."""

    name: str
    #: Path segment of the records' IRIs: https://w3id.org/whatworks/id/{kind}/{key}.
    kind: str
    #: Local name of the record's class in the emmie namespace.
    rdf_class: str
    description: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def header_required(self) -> tuple[str, ...]:
        """The columns the header must name: the required ones and those ``in_header``."""
        return tuple(c.name for c in self.columns if c.required or c.in_header)

    @cached_property
    def reference_columns(self) -> tuple[Column, ...]:
        """The columns that name records of another sheet (kind REF)."""
        return tuple(c for c in self.columns if c.kind is Kind.REF)


def _key(what: str, example: str) -> Column:
    return Column(
        "key",
        Kind.KEY,
        f"Stable identifier of the {what}; becomes the last part of its IRI. Never reuse one.",
        example,
        required=True,
        prop="key",
    )


def _study(required: bool = True) -> Column:
    return Column(
        "study",
        Kind.REF,
        "The study this evidence comes from.",
        "fonagy2018_start",
        required=required,
        prop="fromStudy",
        target="studies",
    )


def _intervention() -> Column:
    return Column(
        "intervention",
        Kind.REF,
        "The intervention the evidence is about, if it is about one.",
        "mst",
        prop="aboutIntervention",
        target="interventions",
    )


def _intervention_type() -> Column:
    return Column(
        "intervention_type",
        Kind.CONCEPT,
        "The review's intervention type the evidence is about, when it is about a type rather "
        "than (or as well as) one intervention.",
        "service_integration",
        prop="aboutInterventionType",
        scheme="intervention-type",
    )


def _outcome(required: bool = False, description: str = "", *, in_header: bool = False) -> Column:
    return Column(
        "outcome",
        Kind.CONCEPT,
        description
        or "The care outcome: entry to care, re-entry after return home, or reunification.",
        "entry",
        required=required,
        in_header=in_header,
        prop="outcome",
        scheme="outcome",
    )


def _population_and_context(what: str) -> tuple[Column, ...]:
    """The columns of a population and a context (sub-nodes ``population`` and ``context``).

    Findings and moderators share them, so a moderator's subgroup is read with the same
    properties as a finding's population (``emmie:population/emmie:need`` ...).
    """
    return (
        Column(
            "age_band",
            Kind.CONCEPT,
            f"Age band of the children {what}.",
            "adolescence",
            prop="ageBand",
            node="population",
            scheme="age-band",
        ),
        Column(
            "min_age",
            Kind.INTEGER,
            f"Youngest age {what}.",
            "11",
            prop="minAge",
            node="population",
        ),
        Column(
            "max_age",
            Kind.INTEGER,
            f"Oldest age {what}.",
            "17",
            prop="maxAge",
            node="population",
        ),
        Column(
            "needs",
            Kind.CONCEPT,
            f"Needs of the children or families {what}.",
            "antisocial_behaviour",
            prop="need",
            node="population",
            scheme="need",
            multiple=True,
        ),
        Column(
            "population",
            Kind.TEXT,
            f"The population {what}, in words.",
            "adolescents with antisocial behaviour",
            prop="rdfs:label",
            node="population",
        ),
        Column(
            "country",
            Kind.TEXT,
            "Where (country, region).",
            "England",
            prop="country",
            node="context",
        ),
        Column(
            "settings",
            Kind.CONCEPT,
            "Settings of delivery.",
            "home; community",
            prop="setting",
            node="context",
            scheme="setting",
            multiple=True,
        ),
    )


#: The numeric columns of the findings sheet that the `approximate` column may name.
APPROXIMABLE = (
    "estimate",
    "ci_lower",
    "ci_upper",
    "se",
    "p_value",
    "n",
    "intervention_n",
    "comparison_n",
    "intervention_events",
    "comparison_events",
    "intervention_value",
    "comparison_value",
    "follow_up_months",
)


def _tail() -> tuple[Column, ...]:
    return (
        Column(
            "where_read",
            Kind.TEXT,
            "Where the coder read this fact: a URL, page or table. Several separated by `;`.",
            "https://doi.org/10.1016/S2215-0366(18)30001-4",
            prop="whereRead",
            multiple=True,
        ),
        Column("note", Kind.TEXT, "Coder's note.", "", prop="note"),
    )


def _evidence_head(what: str, example_key: str) -> tuple[Column, ...]:
    return (_key(what, example_key), _study(), _intervention(), _intervention_type())


SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "studies",
        "study",
        "Study",
        "One row per study: what was investigated, how, and the work that reports it. "
        "The bibliographic columns describe the work (id/work/{key}).",
        (
            _key("study", "fonagy2018_start"),
            Column(
                "label",
                Kind.TEXT,
                "Short name shown in lists; the title is used when empty.",
                "START trial of MST",
                prop="rdfs:label",
            ),
            Column(
                "title",
                Kind.TEXT,
                "Title of the work that reports the study.",
                "Multisystemic therapy versus management as usual ...",
                required=True,
                prop="dcterms:title",
                node="work",
            ),
            Column(
                "authors",
                Kind.TEXT,
                "Authors as written in the work, in order, separated by `;`.",
                "Fonagy P; Butler S; Cottrell D",
                prop="authors",
                node="work",
            ),
            Column(
                "year", Kind.YEAR, "Publication year.", "2018", prop="publicationYear", node="work"
            ),
            Column(
                "venue",
                Kind.TEXT,
                "Journal (with volume and pages) or publisher.",
                "The Lancet Psychiatry 5(2):119-133",
                prop="venue",
                node="work",
            ),
            Column(
                "doi",
                Kind.DOI,
                "DOI of the work, when it has one.",
                "10.1016/S2215-0366(18)30001-4",
                prop="doi",
                node="work",
            ),
            Column(
                "work_type",
                Kind.CHOICE,
                "Kind of work; becomes a FaBiO class.",
                "journal_article",
                prop="",
                node="work",
                choices=(
                    "journal_article",
                    "report",
                    "web_page",
                    "conference_abstract",
                    "book_chapter",
                    "thesis",
                    "other",
                ),
            ),
            Column(
                "country",
                Kind.TEXT,
                "Country (and region) where the study took place.",
                "England",
                prop="country",
            ),
            Column(
                "design",
                Kind.CONCEPT,
                "Study design category.",
                "rct",
                prop="design",
                scheme="study-design",
            ),
            Column(
                "design_detail",
                Kind.TEXT,
                "Design as the work describes it (sample, registration).",
                "RCT (n=684; 342 v 342), ISRCTN77132214",
                prop="designDetail",
            ),
            Column(
                "interventions",
                Kind.REF,
                "Interventions the study evaluates.",
                "mst",
                prop="evaluates",
                target="interventions",
                multiple=True,
            ),
            Column(
                "scope_intervention_types",
                Kind.CONCEPT,
                "For reviews: the intervention types the review covers.",
                "skills_training; mentoring",
                prop="scopeInterventionType",
                scheme="intervention-type",
                multiple=True,
            ),
            Column(
                "scope_outcomes",
                Kind.CONCEPT,
                "For reviews: the outcomes the review covers.",
                "entry; re-entry; reunification",
                prop="scopeOutcome",
                scheme="outcome",
                multiple=True,
            ),
            Column(
                "included_studies",
                Kind.INTEGER,
                "For reviews and meta-analyses: the number of studies included, as reported.",
                "20",
                prop="includedStudyCount",
            ),
            Column(
                "participants",
                Kind.INTEGER,
                "Number of participants (for a review: across its included studies), as reported.",
                "31369",
                prop="participantCount",
            ),
            Column(
                "includes",
                Kind.REF,
                "For reviews: the keys of included primary studies that are in the base, when "
                "known. Pooling then leaves out the review's finding wherever those studies are "
                "pooled, so that no sample counts twice.",
                "fonagy2018_start",
                prop="includesStudy",
                target="studies",
                multiple=True,
            ),
            Column(
                "verified",
                Kind.CONCEPT,
                "`yes`: full metadata and finding read; `partial`: real work whose metadata was "
                "only partly read; `no`: not checked by a coder (e.g. imported bibliography).",
                "yes",
                required=True,
                prop="verification",
                scheme="verification",
            ),
            _tail()[0],
            Column("coded_by", Kind.TEXT, "Who coded this row.", "whatworks team", prop="codedBy"),
            Column("coded_on", Kind.DATE, "When it was coded.", "2026-11-26", prop="dcterms:date"),
            _tail()[1],
        ),
    ),
    Sheet(
        "interventions",
        "intervention",
        "Intervention",
        "One row per intervention (a programme, service or policy).",
        (
            _key("intervention", "mst"),
            Column(
                "label",
                Kind.TEXT,
                "Name of the intervention.",
                "Multisystemic Therapy (MST)",
                required=True,
                prop="rdfs:label",
            ),
            Column(
                "intervention_type",
                Kind.CONCEPT,
                "The review's intervention type (a curation judgement).",
                "therapeutic_approach",
                prop="interventionType",
                scheme="intervention-type",
            ),
            Column(
                "levels",
                Kind.CONCEPT,
                "Levels at which it acts.",
                "family; child",
                prop="level",
                scheme="intervention-level",
                multiple=True,
            ),
            Column(
                "description",
                Kind.TEXT,
                "What it is, in the coder's words.",
                "Family therapy for adolescents with antisocial behaviour",
                prop="dcterms:description",
            ),
            Column(
                "extends",
                Kind.BOOLEAN,
                "`yes` when this row adds to an intervention of the same key that another "
                "source file defines (e.g. a description for a bundled intervention); the row "
                "then needs only its key. Without it, a key that another source file already "
                "uses is refused, naming both files.",
                "no",
                prop="",
            ),
            Column(
                "variant_of",
                Kind.REF,
                "The intervention (a key of this sheet) that this one is a variant or adaptation "
                "of; its page then shows the family's evidence.",
                "fgc",
                prop="variantOf",
                target="interventions",
            ),
            _tail()[1],
        ),
    ),
    Sheet(
        "findings",
        "finding",
        "Finding",
        "One row per finding: the effect of an intervention (or exposure) on one outcome "
        "measure in one study. Effect columns describe id/finding/{key}/estimate, the measure "
        "id/finding/{key}/measure, population and context their own sub-nodes.",
        (
            *_evidence_head("finding", "fonagy2018_start-placement-18m"),
            _outcome(
                description="The care outcome: entry to care, re-entry after return home, or "
                "reunification. Required, except for a finding on a `secondary_outcome`, which "
                "leaves it empty (what-works answers, pooling and the gap map count care "
                "outcomes only).",
                in_header=True,
            ),
            Column(
                "measure",
                Kind.TEXT,
                "The outcome measure actually used.",
                "out-of-home placement at 18 months",
                required=True,
                prop="rdfs:label",
                node="measure",
            ),
            Column(
                "proxy",
                Kind.BOOLEAN,
                "`yes` when the measure is a proxy for the care outcome (e.g. maltreatment "
                "re-reports standing in for entry to care), `no` when it measures care itself.",
                "no",
                required=True,
                prop="isProxy",
                node="measure",
            ),
            Column(
                "secondary_outcome",
                Kind.CONCEPT,
                "An outcome other than the care outcomes that the finding measures, such as "
                "family functioning (then leave `outcome` empty).",
                "family_functioning",
                prop="secondaryOutcome",
                scheme="secondary-outcome",
            ),
            Column(
                "outcome_role",
                Kind.CONCEPT,
                "`care` (the measure is the care outcome), `proxy` (it stands in for one), "
                "`intermediate` (an outcome on the causal path, evidence about a mechanism) or "
                "`secondary`. Required with a `secondary_outcome`; otherwise, when empty, "
                "`care` or `proxy` as the `proxy` column says.",
                "intermediate",
                prop="outcomeRole",
                scheme="outcome-role",
            ),
            Column(
                "mechanism",
                Kind.REF,
                "For an intermediate outcome: the mechanism (a key of the mechanisms sheet) "
                "whose causal path it lies on; the finding shows as evidence about it.",
                "fdac-problem-solving",
                prop="evidencesMechanism",
                target="mechanisms",
            ),
            Column(
                "direction",
                Kind.CONCEPT,
                "Direction for children and families: favourable, unfavourable, no_effect or "
                "unclear (`mixed` is for summaries, not single findings).",
                "no_effect",
                required=True,
                prop="direction",
                scheme="direction",
            ),
            Column(
                "summary",
                Kind.TEXT,
                "The finding in the coder's own words, with its numbers.",
                "No significant difference in out-of-home placement at 18 months.",
                required=True,
                prop="summary",
            ),
            Column(
                "comparator",
                Kind.TEXT,
                "What the intervention was compared with.",
                "management as usual",
                prop="comparator",
            ),
            Column(
                "statistic",
                Kind.CONCEPT,
                "The effect statistic reported.",
                "odds_ratio",
                prop="statistic",
                node="estimate",
                scheme="statistic",
            ),
            Column(
                "estimate",
                Kind.DECIMAL,
                "Point estimate, on the scale reported (ratios as ratios, not logs).",
                "1.25",
                prop="value",
                node="estimate",
            ),
            Column(
                "ci_lower",
                Kind.DECIMAL,
                "Lower confidence limit.",
                "0.77",
                prop="ciLower",
                node="estimate",
            ),
            Column(
                "ci_upper",
                Kind.DECIMAL,
                "Upper confidence limit.",
                "2.05",
                prop="ciUpper",
                node="estimate",
            ),
            Column(
                "ci_level",
                Kind.DECIMAL,
                "Confidence level of the interval, as a proportion.",
                "0.95",
                prop="ciLevel",
                node="estimate",
            ),
            Column(
                "se",
                Kind.DECIMAL,
                "Standard error, on the analysis scale (log for ratios).",
                "",
                prop="standardError",
                node="estimate",
            ),
            Column("p_value", Kind.DECIMAL, "p-value.", "0.37", prop="pValue", node="estimate"),
            Column("n", Kind.INTEGER, "Number analysed.", "684", prop="sampleSize"),
            Column(
                "intervention_n",
                Kind.INTEGER,
                "Number analysed in the intervention group.",
                "342",
                prop="interventionN",
            ),
            Column(
                "comparison_n",
                Kind.INTEGER,
                "Number analysed in the comparison group.",
                "342",
                prop="comparisonN",
            ),
            Column(
                "intervention_events",
                Kind.INTEGER,
                "Number in the intervention group with the outcome event (e.g. entered care); "
                "at most `intervention_n`.",
                "62",
                prop="interventionEvents",
            ),
            Column(
                "comparison_events",
                Kind.INTEGER,
                "Number in the comparison group with the outcome event; at most `comparison_n`.",
                "58",
                prop="comparisonEvents",
            ),
            Column(
                "intervention_value",
                Kind.DECIMAL,
                "Outcome in the intervention group, in `value_unit`.",
                "36.2",
                prop="interventionGroupValue",
            ),
            Column(
                "comparison_value",
                Kind.DECIMAL,
                "Outcome in the comparison group, in `value_unit`.",
                "44.8",
                prop="comparisonGroupValue",
            ),
            Column(
                "value_unit",
                Kind.CHOICE,
                "Unit of the two group values. A rate per 1,000 or 10,000 children; `_per_year` "
                "only when the source says the rate is per year.",
                "percent",
                prop="valueUnit",
                choices=(
                    "percent",
                    "proportion",
                    "days",
                    "count",
                    "rate_per_1000",
                    "rate_per_10000",
                    "rate_per_1000_per_year",
                    "rate_per_10000_per_year",
                ),
            ),
            Column(
                "follow_up_months",
                Kind.DECIMAL,
                "Months from start to measurement.",
                "18",
                prop="followUpMonths",
            ),
            *_population_and_context("in the finding"),
            Column(
                "approximate",
                Kind.CHOICE,
                "The numbers of this row that the source gives only approximately (e.g. "
                "'about 40%'): names of the columns, separated by `;`.",
                "intervention_value; comparison_value",
                prop="",
                choices=APPROXIMABLE,
                multiple=True,
            ),
            *_tail(),
        ),
    ),
    Sheet(
        "emmie",
        "emmie-coding",
        "EmmieCoding",
        "One row per study and EMMIE dimension: what the evidence says on that dimension "
        "(EMMIE-E) and, where a curator rated it, its quality level 0-4 (EMMIE-Q).",
        (
            *_evidence_head("coding", "fonagy2018_start-effect"),
            _outcome(),
            Column(
                "dimension",
                Kind.CONCEPT,
                "The EMMIE dimension.",
                "effect",
                required=True,
                prop="dimension",
                scheme="emmie-dimension",
            ),
            Column(
                "summary",
                Kind.TEXT,
                "What the evidence says on this dimension (EMMIE-E).",
                "RCT found no effect on placement at 18 months.",
                required=True,
                prop="evidenceSummary",
            ),
            Column(
                "quality",
                Kind.CHOICE,
                "EMMIE-Q level 0-4 on the ladder of this dimension; empty when not rated.",
                "3",
                prop="",
                choices=("0", "1", "2", "3", "4"),
            ),
            Column("coded_by", Kind.TEXT, "Who coded this row.", "whatworks team", prop="codedBy"),
            Column("coded_on", Kind.DATE, "When it was coded.", "2026-11-26", prop="dcterms:date"),
            *_tail(),
        ),
    ),
    Sheet(
        "mechanisms",
        "mechanism",
        "Mechanism",
        "One row per mechanism a study proposes or tests: how the intervention is thought to work.",
        (
            *_evidence_head("mechanism", "westlake2022-devolved-resources"),
            Column(
                "label",
                Kind.TEXT,
                "The mechanism in a few words.",
                "resources reach families directly",
                required=True,
                prop="rdfs:label",
            ),
            Column(
                "status",
                Kind.CONCEPT,
                "Whether the study only proposes it or tested it, and with what result.",
                "proposed",
                required=True,
                prop="mechanismStatus",
                scheme="mechanism-status",
            ),
            Column(
                "description", Kind.TEXT, "The mechanism in full.", "", prop="dcterms:description"
            ),
            *_tail(),
        ),
    ),
    Sheet(
        "moderators",
        "moderator",
        "Moderator",
        "One row per moderator: a context or group in which the intervention works better, "
        "worse or not at all.",
        (
            *_evidence_head("moderator", "eitc-age-16-20"),
            _outcome(),
            Column(
                "finding",
                Kind.REF,
                "The finding (a key of the findings sheet) whose effect the moderator modifies: "
                "names the outcome measure the subgroup was analysed on.",
                "fonagy2018_start-placement-18m",
                prop="moderatesFinding",
                target="findings",
            ),
            Column(
                "label",
                Kind.TEXT,
                "The moderating context or group.",
                "young people aged 16-20",
                required=True,
                prop="rdfs:label",
            ),
            Column(
                "effect",
                Kind.CONCEPT,
                "How the effect differs there: `stronger`, `weaker`, `none_in_subgroup` (no "
                "effect there), `reversed` (the other way there), `no_difference` or `unclear`.",
                "stronger",
                required=True,
                prop="moderatorEffect",
                scheme="moderator-effect",
            ),
            *_population_and_context("in the subgroup"),
            Column("description", Kind.TEXT, "Details.", "", prop="dcterms:description"),
            *_tail(),
        ),
    ),
    Sheet(
        "implementation",
        "implementation-factor",
        "ImplementationFactor",
        "One row per factor that helped (facilitator) or hindered (barrier) delivery.",
        (
            *_evidence_head("factor", "interviews-early-help"),
            Column(
                "label",
                Kind.TEXT,
                "The factor in a few words.",
                "early help",
                required=True,
                prop="rdfs:label",
            ),
            Column(
                "role",
                Kind.CONCEPT,
                "facilitator or barrier.",
                "facilitator",
                required=True,
                prop="factorRole",
                scheme="factor-role",
            ),
            Column(
                "source_kind",
                Kind.CHOICE,
                "`interview` when the factor is a theme named in interviews; otherwise "
                "`implementation` (the default).",
                "interview",
                prop="",
                choices=("implementation", "interview"),
            ),
            Column("description", Kind.TEXT, "Details.", "", prop="dcterms:description"),
            *_tail(),
        ),
    ),
    Sheet(
        "economic",
        "economic-evidence",
        "EconomicEvidence",
        "One row per piece of economic evidence: a cost, a saving, a cost-effectiveness or "
        "cost-benefit result.",
        (
            *_evidence_head("economic evidence", "fsh2017-savings"),
            Column(
                "kind",
                Kind.CONCEPT,
                "What sort of economic evidence.",
                "saving",
                required=True,
                prop="economicKind",
                scheme="economic-kind",
            ),
            Column(
                "amount", Kind.DECIMAL, "The amount, if one is reported.", "2600000", prop="amount"
            ),
            Column(
                "currency",
                Kind.TEXT,
                "ISO 4217 currency code of the amount.",
                "GBP",
                prop="currency",
            ),
            Column("price_year", Kind.YEAR, "Price year of the amount.", "2017", prop="priceYear"),
            Column(
                "description",
                Kind.TEXT,
                "The evidence in the coder's words.",
                "Estimated savings in the first 12 months (uncontrolled).",
                required=True,
                prop="dcterms:description",
            ),
            *_tail(),
        ),
    ),
    Sheet(
        "cmo",
        "cmo",
        "CMOConfiguration",
        "One row per context-mechanism-outcome configuration: in context C, mechanism M "
        "produced outcome O, according to the study.",
        (
            *_evidence_head("configuration", "fdac-cmo-1"),
            Column(
                "context",
                Kind.TEXT,
                "The context C.",
                "parents in care proceedings with substance misuse",
                required=True,
                prop="contextDescription",
            ),
            Column(
                "mechanism",
                Kind.REF,
                "The mechanism M (a key of the mechanisms sheet).",
                "fdac-problem-solving",
                required=True,
                prop="viaMechanism",
                target="mechanisms",
            ),
            _outcome(required=True),
            Column(
                "direction",
                Kind.CONCEPT,
                "Direction of the outcome O.",
                "favourable",
                prop="direction",
                scheme="direction",
            ),
            Column("description", Kind.TEXT, "Details.", "", prop="dcterms:description"),
            *_tail(),
        ),
    ),
    Sheet(
        "survey",
        "survey-proportion",
        "SurveyProportion",
        "One row per survey result: the share of respondents giving an answer.",
        (
            _key("survey result", "la-survey-whole-systems"),
            _study(),
            _intervention_type(),
            Column(
                "approach",
                Kind.TEXT,
                "The approach or answer the share refers to.",
                "whole systems approach",
                required=True,
                prop="approach",
            ),
            Column(
                "question",
                Kind.TEXT,
                "What respondents were asked, in the coder's words.",
                "approaches thought effective in reducing the numbers of children in care",
                required=True,
                prop="question",
            ),
            Column("respondents", Kind.INTEGER, "Number of respondents.", "60", prop="respondents"),
            Column(
                "proportion",
                Kind.DECIMAL,
                "The share, as a proportion between 0 and 1 (81.7% is 0.817).",
                "0.817",
                required=True,
                prop="proportion",
            ),
            *_tail(),
        ),
    ),
    Sheet(
        "associations",
        "area-association",
        "AreaAssociation",
        "One row per area-level association reported by an analysis of local areas.",
        (
            _key("association", "la-analysis-poverty"),
            _study(),
            Column(
                "factor",
                Kind.TEXT,
                "The area-level factor.",
                "a decrease in poverty in the area",
                required=True,
                prop="factor",
            ),
            Column(
                "direction",
                Kind.CONCEPT,
                "Whether the factor went with a decrease or an increase in the measure.",
                "with_decrease",
                required=True,
                prop="associationDirection",
                scheme="association-direction",
            ),
            Column(
                "measure",
                Kind.TEXT,
                "The area-level measure.",
                "rate of children looked after",
                required=True,
                prop="measureDescription",
            ),
            *_tail(),
        ),
    ),
    Sheet(
        "trends",
        "area-trend",
        "AreaTrend",
        "One row per trend over time in an area (a region or group of local authorities).",
        (
            _key("trend", "la-analysis-london"),
            _study(),
            Column("area", Kind.TEXT, "The area.", "London", required=True, prop="area"),
            Column(
                "direction",
                Kind.CONCEPT,
                "falling, rising or stable.",
                "falling",
                required=True,
                prop="trendDirection",
                scheme="trend-direction",
            ),
            Column(
                "measure",
                Kind.TEXT,
                "The measure that moved.",
                "rate of children looked after",
                required=True,
                prop="measureDescription",
            ),
            Column(
                "period_start", Kind.YEAR, "First year of the period.", "2012", prop="periodStart"
            ),
            Column("period_end", Kind.YEAR, "Last year of the period.", "2017", prop="periodEnd"),
            *_tail(),
        ),
    ),
    Sheet(
        "statistics",
        "reported-statistic",
        "ReportedStatistic",
        "One row per statistic a source reports (e.g. a national count).",
        (
            _key("statistic", "seed-cla-1997"),
            _study(),
            Column(
                "measure",
                Kind.TEXT,
                "What is counted or measured.",
                "children looked after in England",
                required=True,
                prop="measureDescription",
            ),
            Column("area", Kind.TEXT, "The area.", "England", required=True, prop="area"),
            Column(
                "year", Kind.YEAR, "Reference year.", "1997", required=True, prop="referenceYear"
            ),
            Column("value", Kind.DECIMAL, "The value.", "50900", required=True, prop="value"),
            Column("unit", Kind.TEXT, "Unit of the value.", "children", required=True, prop="unit"),
            Column(
                "release_note",
                Kind.TEXT,
                "Which release the figure comes from (first release, revised series).",
                "first release, as quoted in the source",
                prop="releaseNote",
            ),
            *_tail(),
        ),
    ),
)

SHEETS_BY_NAME: dict[str, Sheet] = {s.name: s for s in SHEETS}


def sheet_for_file_stem(stem: str) -> Sheet | None:
    """The sheet a CSV file holds, judged by its name: ``studies`` or ``*.studies``/``*-studies``.

    >>> sheet_for_file_stem("my-review.findings").name
    'findings'
    >>> sheet_for_file_stem("notes") is None
    True
    """
    lowered = stem.lower()
    for sheet in sorted(SHEETS, key=lambda s: -len(s.name)):
        if lowered == sheet.name or any(
            lowered.endswith(sep + sheet.name) for sep in (".", "-", "_", " ")
        ):
            return sheet
    return None
