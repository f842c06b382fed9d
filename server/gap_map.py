"""The evidence gap map's matrix: intervention type x outcome x EMMIE dimension, the
studies in each cell, their best EMMIE-Q level and the direction of their findings.

A study is in cell (type, outcome, dimension) when it has an evidence record of that
dimension (an EMMIE coding of it, or a finding for effect, a mechanism, moderator,
implementation factor or economic evidence record) about an intervention of the type or
about the type itself (the rule of ``emmie_coverage_by_type``), on that outcome. A record's
outcome is its own ``emmie:outcome``; when it states none, the outcomes of its study's
findings; failing those, the outcomes the study's scope names. Records with no outcome by
any of these are counted in ``unplaced``.

Each type row expands to one row per intervention of that type: a study is in the
intervention's cell when its record is about that intervention (records about the type
itself count in the type row only).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from whatworks.vocab import SCHEMES

from .page_data import code, select

OUTCOMES = ("entry", "re-entry", "reunification")
DIMENSIONS = ("effect", "mechanism", "moderators", "implementation", "economic")
TYPES = tuple(sorted(SCHEMES["intervention-type"]))

RECORDS = """
SELECT DISTINCT ?item ?item_text ?dimension ?study ?study_label ?type ?intervention
       ?own_outcome ?direction ?rank ?design ?country ?verification ?year
WHERE {
  {
    ?item a emmie:EmmieCoding ; emmie:dimension ?dimension .
    OPTIONAL {
      ?item emmie:qualityLevel ?level .
      BIND(xsd:integer(REPLACE(STR(?level), "^.*/", "")) AS ?rank)
    }
  } UNION {
    VALUES (?record_class ?dimension) {
      (emmie:Finding <https://w3id.org/whatworks/concept/emmie-dimension/effect>)
      (emmie:Mechanism <https://w3id.org/whatworks/concept/emmie-dimension/mechanism>)
      (emmie:Moderator <https://w3id.org/whatworks/concept/emmie-dimension/moderators>)
      (emmie:ImplementationFactor <https://w3id.org/whatworks/concept/emmie-dimension/implementation>)
      (emmie:EconomicEvidence <https://w3id.org/whatworks/concept/emmie-dimension/economic>)
    }
    ?item a ?record_class .
  }
  ?item emmie:fromStudy ?study .
  { ?item emmie:aboutIntervention ?intervention . ?intervention emmie:interventionType ?type }
  UNION
  { ?item emmie:aboutInterventionType ?type }
  OPTIONAL { ?item emmie:outcome ?own_outcome }
  OPTIONAL { ?item emmie:direction ?direction }
  OPTIONAL { ?item emmie:summary|emmie:evidenceSummary|rdfs:label|dcterms:description ?item_text }
  OPTIONAL { ?study rdfs:label ?study_label }
  OPTIONAL { ?study emmie:design ?design }
  OPTIONAL { ?study emmie:country ?country }
  OPTIONAL { ?study emmie:verification ?verification }
  OPTIONAL { ?study emmie:reportedIn/emmie:publicationYear ?year }
}
"""

INTERVENTIONS = """
SELECT DISTINCT ?intervention ?type ?label WHERE {
  ?intervention a emmie:Intervention ; emmie:interventionType ?type .
  OPTIONAL { ?intervention rdfs:label ?label }
}
"""

STUDY_OUTCOMES = """
SELECT DISTINCT ?study ?outcome ?from_findings WHERE {
  { ?finding a emmie:Finding ; emmie:fromStudy ?study ; emmie:outcome ?outcome .
    BIND(true AS ?from_findings) }
  UNION
  { ?study emmie:scopeOutcome ?outcome . BIND(false AS ?from_findings) }
}
"""


@dataclass(frozen=True)
class Filters:
    design: str = ""
    country: str = ""
    verified: bool = False
    year_from: int | None = None
    year_to: int | None = None

    def keeps(self, record: dict[str, Any]) -> bool:
        if self.design and code(record.get("design") or "") != self.design:
            return False
        if self.country and self.country.lower() not in str(record.get("country") or "").lower():
            return False
        if self.verified and code(record.get("verification") or "") != "yes":
            return False
        year = record.get("year")
        if self.year_from is not None and (year is None or int(year) < self.year_from):
            return False
        return not (self.year_to is not None and (year is None or int(year) > self.year_to))


@dataclass
class Cell:
    type: str
    outcome: str
    dimension: str
    intervention: str = ""  # the intervention's code on an intervention row, else ""
    studies: dict[str, str] = field(default_factory=dict)  # IRI -> label
    items: list[dict[str, Any]] = field(default_factory=list)
    best_quality: int | None = None
    direction: str = "none"

    @property
    def row(self) -> str:
        """``type`` on a type row, ``type/intervention`` on an intervention row."""
        return f"{self.type}/{self.intervention}" if self.intervention else self.type

    @property
    def key(self) -> str:
        return f"{self.row}:{self.outcome}:{self.dimension}"

    def as_json(self) -> dict[str, Any]:
        return {
            "level": "intervention" if self.intervention else "type",
            "intervention_type": self.type,
            "intervention": self.intervention or None,
            "outcome": self.outcome,
            "dimension": self.dimension,
            "n_studies": len(self.studies),
            "n_records": len(self.items),
            "best_quality": self.best_quality,
            "direction": self.direction,
            "studies": sorted(self.studies),
        }


@dataclass(frozen=True)
class Intervention:
    iri: str
    type: str
    label: str

    @property
    def row(self) -> str:
        return f"{self.type}/{code(self.iri)}"


@dataclass
class GapMap:
    cells: dict[str, Cell]  # by key: the type rows' cells, then the intervention rows'
    unplaced: int  # records with no outcome
    interventions: dict[str, list[Intervention]]  # by type code, sorted by label
    by_dimension: dict[str, set[str]]  # dimension -> studies with such a record (any outcome)

    def coverage(self) -> dict[str, dict[str, int]]:
        """Per dimension, the number of studies with evidence on it: on each outcome, and
        on any (``all``, which counts records placed on no outcome too)."""
        out: dict[str, dict[str, int]] = {}
        for dimension in DIMENSIONS:
            counts = {"all": len(self.by_dimension.get(dimension, ()))}
            for outcome in OUTCOMES:
                studies = {
                    s for t in TYPES for s in self.cells[f"{t}:{outcome}:{dimension}"].studies
                }
                counts[outcome] = len(studies)
            out[dimension] = counts
        return out


def summarise(directions: list[str]) -> str:
    """The direction rules of docs/what-works-for-whom.md over finding directions."""
    if not directions:
        return "none"
    readable = {d for d in directions if d in ("favourable", "unfavourable", "no_effect")}
    if not readable:
        return "unclear"
    return "mixed" if len(readable) > 1 else readable.pop()


def _interventions() -> dict[str, list[Intervention]]:
    found = [
        Intervention(r["intervention"], code(r["type"]), str(r.get("label") or ""))
        for r in select(INTERVENTIONS, what="gap map interventions")
    ]
    by_type: dict[str, list[Intervention]] = {t: [] for t in TYPES}
    for item in sorted(found, key=lambda i: (i.label or code(i.iri)).lower()):
        if item.type in by_type and item not in by_type[item.type]:
            by_type[item.type].append(item)
    return by_type


def _add(cell: Cell, record: dict[str, Any]) -> None:
    cell.studies[record["study"]] = str(record.get("study_label") or code(record["study"]))
    if record["item"] not in {i["item"] for i in cell.items}:
        cell.items.append(record)
    if record.get("rank") is not None:
        cell.best_quality = max(cell.best_quality or 0, int(record["rank"]))


def matrix(filters: Filters) -> GapMap:
    """Every cell of the map (empty ones too), type rows and intervention rows."""
    records = [r for r in select(RECORDS, what="gap map") if filters.keeps(r)]
    by_study: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for row in select(STUDY_OUTCOMES, what="gap map outcomes"):
        by_study[row["study"]][0 if row["from_findings"] else 1].add(code(row["outcome"]))
    interventions = _interventions()
    rows = [*TYPES, *(i.row for t in TYPES for i in interventions[t])]
    cells = {
        f"{r}:{o}:{d}": Cell(r.split("/")[0], o, d, r.partition("/")[2])
        for r in rows
        for o in OUTCOMES
        for d in DIMENSIONS
    }
    unplaced: set[str] = set()
    by_dimension: dict[str, set[str]] = defaultdict(set)
    findings: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # row, outcome, study
    for record in records:
        dimension = code(record["dimension"])
        by_dimension[dimension].add(record["study"])
        outcomes = (
            {code(record["own_outcome"])}
            if record.get("own_outcome")
            else by_study[record["study"]][0] or by_study[record["study"]][1]
        )
        if not outcomes:
            unplaced.add(record["item"])
            continue
        kind = code(record["type"])
        row_keys = [kind]
        if record.get("intervention"):
            row_keys.append(f"{kind}/{code(record['intervention'])}")
        for outcome in outcomes & set(OUTCOMES):
            for row_key in row_keys:
                cell = cells.get(f"{row_key}:{outcome}:{dimension}")
                if cell is None:
                    continue
                _add(cell, record)
                if record.get("direction") and dimension == "effect":
                    findings[(row_key, outcome, record["study"])].append(code(record["direction"]))
    for cell in cells.values():
        cell.direction = summarise(
            [d for s in cell.studies for d in findings.get((cell.row, cell.outcome, s), [])]
        )
    return GapMap(cells, len(unplaced), interventions, dict(by_dimension))


CSV_FIELDS = (
    "level",
    "intervention_type",
    "intervention",
    "outcome",
    "dimension",
    "n_studies",
    "n_records",
    "best_quality",
    "direction",
    "studies",
)


def as_csv(cells: dict[str, Cell]) -> str:
    """One line per cell, type rows first; ``level`` is ``type`` or ``intervention``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for cell in cells.values():
        row = cell.as_json()
        row["studies"] = " ".join(row["studies"])
        writer.writerow(["" if row[f] is None else row[f] for f in CSV_FIELDS])
    return buffer.getvalue()
