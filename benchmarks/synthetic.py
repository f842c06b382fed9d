"""Synthetic EMMIE evidence for benchmarks: coding sheets shaped like the bundled base.

Writes the CSV files of one coding sheet (studies, interventions, findings, emmie,
mechanisms, moderators, implementation, economic) to a folder, sized so that ingesting
them gives about a target number of triples: the sheets' own graphs plus their provenance
graphs. Graphs the store derives from the evidence (pooled estimates, EMMIE ratings) come
on top of the target.

Everything is synthetic and says so: keys start with ``syn-``, titles and labels with
"Synthetic", authors are "Synthetic Author NNNN", DOIs use the 10.5555 test prefix and
"where read" points at example.org. Ingest the files with
``--id-base https://w3id.org/whatworks/synthetic/id/`` so their IRIs never mix with real
evidence::

    python benchmarks/synthetic.py --size 100k --out /tmp/syn-100k
    whatworks --store /tmp/bench-store ingest --id-base https://w3id.org/whatworks/synthetic/id/ \
        /tmp/syn-100k/*.csv

The same seed and size always give byte-identical files.

A larger base can be built in *parts*, each ingested by a call of its own (one call holds a
whole part in memory): ``--part K`` (K >= 1) writes ``synthetic.partK.{sheet}.csv``, whose
graphs (``synthetic.partK.*``), keys (``syn-pK-…``), DOIs and "where read" addresses are
the part's own, and whose rows refer only to the part's own studies and interventions, so
parts load side by side into one store, in any order::

    for k in 1 2 3 4 5; do
        python benchmarks/synthetic.py --size 1m --part $k --out /tmp/syn-5x1m/part$k
        whatworks --store /tmp/bench-store ingest \
            --id-base https://w3id.org/whatworks/synthetic/id/ /tmp/syn-5x1m/part$k/*.csv
    done

The same seed, size and part always give byte-identical files; without ``--part`` the
files are those of earlier versions of this generator.

Proportions follow the bundled base (data/evidence/field-*.csv: per study about 1.2
findings, 0.9 EMMIE codings, 0.7 interventions), made a little richer in mechanisms,
moderators, implementation and economic evidence so that every kind of record occurs at
every size; about a third of the findings carry an effect estimate, most of those with a
95 % interval.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

#: Base under which the synthetic records' IRIs are minted (pass it to ``--id-base``).
SYNTHETIC_ID_BASE = "https://w3id.org/whatworks/synthetic/id/"

#: Named sizes, in triples the sheets become in the store (their graphs and provenance).
SIZES: dict[str, int] = {
    "10k": 10_000,
    "100k": 100_000,
    "1m": 1_000_000,
    "5m": 5_000_000,
}

#: The CSV files written, in the order a reader would fill them in; each name ends with the
#: sheet it holds, as the ingest expects (``synthetic.findings.csv``).
SHEET_ORDER = (
    "interventions",
    "studies",
    "findings",
    "emmie",
    "mechanisms",
    "moderators",
    "implementation",
    "economic",
)

#: Prefix of every file the generator writes.
FILE_PREFIX = "synthetic"

INTERVENTION_TYPES = (
    "family_finances",
    "family_meetings",
    "mentoring",
    "practice_change",
    "service_integration",
    "skills_training",
    "structure_change",
    "therapeutic_approach",
)
LEVELS = ("child", "community", "family", "organisation", "policy")
OUTCOMES = (("entry", 0.6), ("reunification", 0.25), ("re-entry", 0.15))
DIRECTIONS = (("favourable", 0.4), ("no_effect", 0.35), ("unfavourable", 0.1), ("unclear", 0.15))
DESIGNS = (
    ("rct", 0.18),
    ("cluster_rct", 0.05),
    ("quasi_experimental", 0.15),
    ("comparison_cohort", 0.12),
    ("difference_in_differences", 0.06),
    ("before_after", 0.1),
    ("programme_evaluation", 0.1),
    ("mixed_methods", 0.07),
    ("qualitative", 0.06),
    ("systematic_review", 0.04),
    ("scoping_review", 0.02),
    ("secondary_analysis", 0.05),
)
REVIEW_DESIGNS = frozenset({"systematic_review", "scoping_review"})
WORK_TYPES = (
    ("journal_article", 0.5),
    ("report", 0.4),
    ("web_page", 0.04),
    ("conference_abstract", 0.03),
    ("thesis", 0.02),
    ("other", 0.01),
)
COUNTRIES = ("England", "Wales", "Scotland", "Northern Ireland", "United States", "Australia")
STATISTICS = (
    ("odds_ratio", 0.35),
    ("risk_ratio", 0.2),
    ("hazard_ratio", 0.1),
    ("smd", 0.15),
    ("risk_difference", 0.1),
    ("percentage_point_difference", 0.1),
)
RATIO_STATISTICS = frozenset({"odds_ratio", "risk_ratio", "hazard_ratio"})
AGE_BANDS = (
    ("early_childhood", 0, 5),
    ("middle_childhood", 6, 11),
    ("adolescence", 12, 17),
    ("young_adulthood", 18, 25),
    ("all_ages", 0, 17),
)
NEEDS = (
    "antisocial_behaviour",
    "domestic_abuse",
    "going_missing",
    "housing_instability",
    "low_income",
    "maltreatment",
    "neglect",
    "parental_mental_health",
    "parental_substance_misuse",
)
SETTINGS = (
    "children_services",
    "community",
    "family_court",
    "home",
    "housing",
    "school",
    "welfare_system",
)
DIMENSIONS = (
    ("effect", 0.55),
    ("implementation", 0.15),
    ("mechanism", 0.12),
    ("moderators", 0.1),
    ("economic", 0.08),
)
MECHANISM_STATUS = ("proposed", "tested_supported", "tested_mixed", "tested_not_supported")
MODERATOR_EFFECTS = ("stronger", "weaker", "no_difference", "unclear")
ECONOMIC_KINDS = ("cost", "saving", "cost_effectiveness", "cost_benefit")
VALUE_UNITS = ("percent", "proportion", "days", "count", "rate_per_10000")

#: Mean number of each kind of record per study.
PER_STUDY = {
    "findings": 1.5,
    "emmie": 1.3,
    "mechanisms": 0.3,
    "moderators": 0.3,
    "implementation": 0.4,
    "economic": 0.15,
}
#: Interventions per study (the pool the studies draw from).
INTERVENTIONS_PER_STUDY = 0.5

#: Provenance triples per record and per file, and the dataset's own bookkeeping triples
#: (see ingest/provenance.py and whatworks/core/store.py); used to size the output.
PROVENANCE_PER_RECORD = 5
PROVENANCE_PER_FILE = 17
META_TRIPLES = 2


@dataclass(frozen=True)
class Summary:
    """What :func:`generate` wrote."""

    folder: Path
    files: tuple[Path, ...]
    studies: int
    records: dict[str, int]
    #: The triple count the generator aimed at (data + provenance, as stored).
    estimated_triples: int


def parse_size(text: str) -> int:
    """A size name (``10k``, ``100k``, ``1m``, ``5m``) or a plain number of triples.

    >>> parse_size("100k"), parse_size("1M"), parse_size("25000")
    (100000, 1000000, 25000)
    """
    lowered = text.strip().lower()
    if lowered in SIZES:
        return SIZES[lowered]
    multiplier = 1
    if lowered.endswith("k"):
        multiplier, lowered = 1_000, lowered[:-1]
    elif lowered.endswith("m"):
        multiplier, lowered = 1_000_000, lowered[:-1]
    try:
        value = int(float(lowered) * multiplier)
    except ValueError as exc:
        raise ValueError(f"not a size: {text!r} (use 10k, 100k, 1m, 5m or a number)") from exc
    if value < 1_000:
        raise ValueError(f"size {text!r} is too small: at least 1000 triples")
    return value


def _choice(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    point = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        point -= weight
        if point < 0:
            return value
    return weighted[-1][0]


def _count(rng: random.Random, mean: float) -> int:
    """A small Poisson-distributed count (Knuth), deterministic for the generator's rng."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _decimal(value: float, places: int = 2) -> str:
    return f"{value:.{places}f}"


def part_tag(part: int | None) -> str:
    """What sets part ``part``'s keys and names apart ("" for a sheet that is not a part).

    >>> part_tag(None), part_tag(3)
    ('', 'p3')
    """
    if part is None:
        return ""
    if part < 1:
        raise ValueError(f"part {part} is not a part number: parts are numbered from 1")
    return f"p{part}"


def file_prefix(part: int | None) -> str:
    """The prefix of the files (and so of the graphs) of a part: ``synthetic.part3``.

    >>> file_prefix(None), file_prefix(3)
    ('synthetic', 'synthetic.part3')
    """
    return FILE_PREFIX if part is None else f"{FILE_PREFIX}.part{part_tag(part)[1:]}"


class _Generator:
    """Rows of every sheet for ``studies`` studies, from one seeded random stream.

    With ``part``, keys, DOIs, addresses and labels carry the part's tag (``syn-p3-…``) and
    the random stream is the part's own, so that parts of one seed differ and never share
    a key; without it, the rows are those of earlier versions of the generator.
    """

    def __init__(self, studies: int, seed: int, part: int | None = None):
        self.studies = studies
        self.tag = part_tag(part)
        # A str seed is hashed with SHA-512 (not Python's salted hash): stable across runs.
        self.rng = random.Random(seed if part is None else f"{seed}/part/{part}")
        #: Key prefix: "syn-" alone, or with the part's tag ("syn-p3-").
        self.prefix = f"syn-{self.tag}-" if self.tag else "syn-"
        self.n_interventions = max(8, round(studies * INTERVENTIONS_PER_STUDY))
        self.digits = max(5, len(str(max(studies, self.n_interventions))))
        # Every study and intervention key is known up front so that references resolve.
        self.intervention_types = [
            INTERVENTION_TYPES[i % len(INTERVENTION_TYPES)] for i in range(self.n_interventions)
        ]
        self.rows: dict[str, list[dict[str, str]]] = {name: [] for name in SHEET_ORDER}

    def _study_key(self, i: int) -> str:
        return f"{self.prefix}study-{i:0{self.digits}d}"

    def _intervention_key(self, i: int) -> str:
        return f"{self.prefix}intv-{i:0{self.digits}d}"

    def _number(self, i: int) -> str:
        """Record ``i``'s number in labels and titles: ``17``, or ``p3-17`` in part 3."""
        return f"{self.tag}-{i}" if self.tag else str(i)

    def _address(self, path: str) -> str:
        """A "where read" address under example.org, in the part's own folder."""
        folder = f"synthetic/{self.tag}" if self.tag else "synthetic"
        return f"https://example.org/{folder}/{path}"

    def build(self) -> dict[str, list[dict[str, str]]]:
        for i in range(1, self.n_interventions + 1):
            self.rows["interventions"].append(self._intervention(i))
        for i in range(1, self.studies + 1):
            self._study(i)
        return self.rows

    def _intervention(self, i: int) -> dict[str, str]:
        rng = self.rng
        kind = self.intervention_types[i - 1]
        levels = rng.sample(LEVELS, rng.choice((0, 1, 1, 2)))
        return {
            "key": self._intervention_key(i),
            "label": f"Synthetic intervention {self._number(i)} ({kind.replace('_', ' ')})",
            "intervention_type": kind,
            "levels": "; ".join(sorted(levels)),
            "description": f"Synthetic {kind.replace('_', ' ')} programme number "
            f"{self._number(i)}, "
            "generated for benchmarks; not a real service.",
            "note": "" if rng.random() < 0.8 else "Synthetic note.",
        }

    def _study(self, i: int) -> None:
        rng = self.rng
        key = self._study_key(i)
        design = _choice(rng, DESIGNS)
        intervention = rng.randrange(1, self.n_interventions + 1)
        evaluated = [intervention]
        if rng.random() < 0.1:
            evaluated.append(rng.randrange(1, self.n_interventions + 1))
        evaluated = sorted(set(evaluated))
        review = design in REVIEW_DESIGNS
        year = rng.randint(1995, 2025)
        coded_on = date(2026, 1, 1) + timedelta(days=rng.randrange(330))
        authors = "; ".join(
            f"Synthetic Author {rng.randrange(1, 10_000):04d}" for _ in range(rng.randint(1, 6))
        )
        self.rows["studies"].append(
            {
                "key": key,
                "label": f"Synthetic study {self._number(i)}" if rng.random() < 0.8 else "",
                "title": f"Synthetic evaluation {self._number(i)} of synthetic intervention "
                f"{self._number(intervention)}",
                "authors": authors if rng.random() < 0.85 else "",
                "year": str(year) if rng.random() < 0.95 else "",
                "venue": f"Synthetic Journal of Evidence {rng.randint(1, 40)}"
                f"({rng.randint(1, 12)}):{rng.randint(1, 300)}-{rng.randint(301, 400)}"
                if rng.random() < 0.8
                else "",
                "doi": f"10.5555/whatworks.synthetic.{self.tag + '.' if self.tag else ''}{i}"
                if rng.random() < 0.4
                else "",
                "work_type": _choice(rng, WORK_TYPES),
                "country": rng.choice(COUNTRIES),
                "design": design,
                "design_detail": "Synthetic "
                + design.replace("_", " ")
                + f" (n={rng.randint(20, 5000)})",
                "interventions": ""
                if review
                else "; ".join(map(self._intervention_key, evaluated)),
                "scope_intervention_types": "; ".join(
                    sorted(rng.sample(INTERVENTION_TYPES, rng.randint(2, 8)))
                )
                if review
                else "",
                "scope_outcomes": "entry; re-entry; reunification" if review else "",
                "verified": _choice(rng, (("yes", 0.6), ("partial", 0.3), ("no", 0.1))),
                "where_read": self._address(f"study/{i}"),
                "coded_by": "synthetic generator",
                "coded_on": coded_on.isoformat(),
                "note": "" if rng.random() < 0.7 else "Synthetic coder's note.",
            }
        )
        about = "" if review else self._intervention_key(intervention)
        about_type = self.intervention_types[intervention - 1] if review else ""
        for n in range(1, _count(rng, PER_STUDY["findings"]) + 1):
            self.rows["findings"].append(self._finding(key, n, about, about_type))
        dimensions = {_choice(rng, DIMENSIONS) for _ in range(_count(rng, PER_STUDY["emmie"]))}
        for dimension in sorted(dimensions):
            self.rows["emmie"].append(self._emmie(key, dimension, about, about_type, coded_on))
        for n in range(1, _count(rng, PER_STUDY["mechanisms"]) + 1):
            self.rows["mechanisms"].append(
                {
                    "key": f"{key}-mech-{n}",
                    "study": key,
                    "intervention": about,
                    "intervention_type": about_type,
                    "label": f"synthetic mechanism {n} of study {self._number(i)}",
                    "status": rng.choice(MECHANISM_STATUS),
                    "description": "A synthetic pathway from the intervention to the outcome.",
                    "where_read": self._address(f"study/{i}#mechanisms"),
                    "note": "",
                }
            )
        for n in range(1, _count(rng, PER_STUDY["moderators"]) + 1):
            self.rows["moderators"].append(
                {
                    "key": f"{key}-mod-{n}",
                    "study": key,
                    "intervention": about,
                    "intervention_type": about_type,
                    "outcome": _choice(rng, OUTCOMES) if rng.random() < 0.8 else "",
                    "label": f"synthetic subgroup {n} of study {self._number(i)}",
                    "effect": rng.choice(MODERATOR_EFFECTS),
                    "description": "A synthetic subgroup in which the effect differs.",
                    "where_read": self._address(f"study/{i}#moderators"),
                    "note": "",
                }
            )
        for n in range(1, _count(rng, PER_STUDY["implementation"]) + 1):
            self.rows["implementation"].append(
                {
                    "key": f"{key}-impl-{n}",
                    "study": key,
                    "intervention": about,
                    "intervention_type": about_type,
                    "label": f"synthetic implementation factor {n} of study {self._number(i)}",
                    "role": rng.choice(("facilitator", "barrier")),
                    "source_kind": "interview" if rng.random() < 0.3 else "implementation",
                    "description": "A synthetic factor that helped or hindered delivery.",
                    "where_read": self._address(f"study/{i}#implementation"),
                    "note": "",
                }
            )
        for n in range(1, _count(rng, PER_STUDY["economic"]) + 1):
            has_amount = rng.random() < 0.6
            self.rows["economic"].append(
                {
                    "key": f"{key}-econ-{n}",
                    "study": key,
                    "intervention": about,
                    "intervention_type": about_type,
                    "kind": rng.choice(ECONOMIC_KINDS),
                    "amount": str(rng.randrange(1_000, 5_000_000, 100)) if has_amount else "",
                    "currency": "GBP" if has_amount else "",
                    "price_year": str(rng.randint(2000, 2025)) if has_amount else "",
                    "description": "Synthetic economic evidence.",
                    "where_read": self._address(f"study/{i}#economic"),
                    "note": "",
                }
            )

    def _finding(self, study: str, n: int, about: str, about_type: str) -> dict[str, str]:
        rng = self.rng
        outcome = _choice(rng, OUTCOMES)
        row = {
            "key": f"{study}-find-{n}",
            "study": study,
            "intervention": about,
            "intervention_type": about_type,
            "outcome": outcome,
            "measure": f"synthetic measure of {outcome} at {rng.choice((6, 12, 18, 24))} months",
            "proxy": "yes" if rng.random() < 0.2 else "no",
            "direction": _choice(rng, DIRECTIONS),
            "summary": f"Synthetic finding {n} of {study} on {outcome}.",
            "comparator": "synthetic usual services" if rng.random() < 0.7 else "",
        }
        if rng.random() < 0.35:
            statistic = _choice(rng, STATISTICS)
            if statistic in RATIO_STATISTICS:
                estimate = math.exp(rng.gauss(-0.15, 0.35))
                spread = math.exp(abs(rng.gauss(0.35, 0.15)) + 0.01)
                lower, upper = estimate / spread, estimate * spread
            else:
                estimate = rng.gauss(-0.1, 0.3)
                half = abs(rng.gauss(0.2, 0.08)) + 0.01
                lower, upper = estimate - half, estimate + half
            row["statistic"] = statistic
            row["estimate"] = _decimal(estimate, 3)
            if rng.random() < 0.8:
                # Round outward so that lower <= estimate <= upper holds after rounding.
                row["ci_lower"] = _decimal(math.floor(lower * 1000) / 1000, 3)
                row["ci_upper"] = _decimal(math.ceil(upper * 1000) / 1000, 3)
                row["ci_level"] = "0.95"
            if rng.random() < 0.5:
                row["p_value"] = _decimal(rng.random(), 3)
            if rng.random() < 0.2:
                row["se"] = _decimal(abs(rng.gauss(0.2, 0.05)) + 0.001, 3)
        if rng.random() < 0.6:
            row["n"] = str(rng.randint(20, 5000))
        if rng.random() < 0.4:
            row["intervention_value"] = _decimal(rng.uniform(5, 60), 1)
            row["comparison_value"] = _decimal(rng.uniform(5, 60), 1)
            row["value_unit"] = rng.choice(VALUE_UNITS)
        if rng.random() < 0.6:
            row["follow_up_months"] = str(rng.choice((6, 12, 18, 24, 36, 60)))
        if rng.random() < 0.85:
            band, youngest, oldest = rng.choice(AGE_BANDS)
            row["age_band"] = band
            if rng.random() < 0.4:
                row["min_age"], row["max_age"] = str(youngest), str(oldest)
            row["needs"] = "; ".join(sorted(rng.sample(NEEDS, rng.choice((1, 1, 2)))))
            row["population"] = f"synthetic population of {band.replace('_', ' ')}"
        if rng.random() < 0.9:
            row["country"] = rng.choice(COUNTRIES)
            row["settings"] = "; ".join(sorted(rng.sample(SETTINGS, rng.choice((1, 1, 2)))))
        row["where_read"] = self._address(f"{study}#finding-{n}")
        return row

    def _emmie(
        self, study: str, dimension: str, about: str, about_type: str, coded_on: date
    ) -> dict[str, str]:
        rng = self.rng
        return {
            "key": f"{study}-{dimension}",
            "study": study,
            "intervention": about,
            "intervention_type": about_type,
            "outcome": _choice(rng, OUTCOMES) if rng.random() < 0.6 else "",
            "dimension": dimension,
            "summary": f"Synthetic EMMIE-E summary of {study} on {dimension}.",
            "quality": str(rng.randint(0, 4)) if rng.random() < 0.5 else "",
            "coded_by": "synthetic generator",
            "coded_on": coded_on.isoformat(),
            "where_read": self._address(f"study/{study}"),
        }


def _columns(sheet: str) -> list[str]:
    from whatworks.ingest.coding_sheet import SHEETS_BY_NAME

    return [c.name for c in SHEETS_BY_NAME[sheet].columns]


def write_rows(
    folder: Path, rows: dict[str, list[dict[str, str]]], *, prefix: str = FILE_PREFIX
) -> list[Path]:
    """Write each sheet's rows to ``{folder}/{prefix}.{sheet}.csv`` (all columns, UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for sheet in SHEET_ORDER:
        path = folder / f"{prefix}.{sheet}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=_columns(sheet), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows[sheet])
        paths.append(path)
    return paths


def _data_triples(folder: Path, paths: list[Path]) -> tuple[int, int]:
    """(data triples, records) the ingest maps these files to, using the project's mapper."""
    from whatworks.ingest.pipeline import read_sources

    sources = read_sources(paths, base=SYNTHETIC_ID_BASE)
    return sum(len(s.graph) for s in sources), sum(len(s.records) for s in sources)


@dataclass(frozen=True)
class Calibration:
    triples_per_study: float
    overhead: int


def calibrate(seed: int, pilot_studies: int = 400, *, part: int | None = None) -> Calibration:
    """Triples per study (data and provenance) measured by mapping a pilot with the project's
    own reader and mapper, so that sizing follows the mapping if it changes."""
    with tempfile.TemporaryDirectory(prefix="whatworks-synthetic-pilot-") as tmp:
        folder = Path(tmp)
        paths = write_rows(folder, _Generator(pilot_studies, seed, part).build())
        data, records = _data_triples(folder, paths)
    overhead = PROVENANCE_PER_FILE * len(SHEET_ORDER) + META_TRIPLES
    per_study = (data + PROVENANCE_PER_RECORD * records) / pilot_studies
    return Calibration(per_study, overhead)


def studies_for(target: int, calibration: Calibration) -> int:
    return max(10, round((target - calibration.overhead) / calibration.triples_per_study))


def generate(
    out: Path, *, size: int | str, seed: int = 20261126, part: int | None = None
) -> Summary:
    """Write a synthetic coding sheet of about ``size`` triples (as stored) to ``out``.

    With ``part`` (1, 2, ...), the sheet is that part of a larger base: its files, graphs,
    keys and addresses are the part's own (see the module's description).

    :raises ValueError: ``size`` is not a size, or ``part`` is below 1.
    """
    target = parse_size(size) if isinstance(size, str) else size
    part_tag(part)  # reject a bad part before any work
    calibration = calibrate(seed, part=part)
    studies = studies_for(target, calibration)
    rows = _Generator(studies, seed, part).build()
    paths = write_rows(out, rows, prefix=file_prefix(part))
    return Summary(
        folder=out,
        files=tuple(paths),
        studies=studies,
        records={sheet: len(rows[sheet]) for sheet in SHEET_ORDER},
        estimated_triples=round(calibration.overhead + studies * calibration.triples_per_study),
    )


def iter_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a synthetic EMMIE coding sheet (CSV files) for benchmarks."
    )
    parser.add_argument(
        "--size", default="10k", help="target triples: 10k, 100k, 1m, 5m or a number"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write the CSVs to")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument(
        "--part",
        type=int,
        default=None,
        metavar="K",
        help="write part K (1, 2, ...) of a larger base: files synthetic.partK.*.csv and keys "
        "syn-pK-..., disjoint from every other part, so parts ingest side by side",
    )
    args = parser.parse_args(argv)
    try:
        summary = generate(args.out, size=args.size, seed=args.seed, part=args.part)
    except ValueError as exc:
        parser.error(str(exc))
    records = ", ".join(f"{n} {sheet}" for sheet, n in summary.records.items())
    print(
        f"wrote {len(summary.files)} files to {summary.folder}: {summary.studies} studies "
        f"({records}); about {summary.estimated_triples} triples once ingested",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
