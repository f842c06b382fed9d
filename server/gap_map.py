"""The evidence gap map's matrix: intervention type x outcome x EMMIE dimension, the
studies in each cell, their best EMMIE-Q level and the direction of their findings.

A study is in cell (type, outcome, dimension) when it has an evidence record of that
dimension (an EMMIE coding of it, or a finding for effect, a mechanism, moderator,
implementation factor or economic evidence record) about an intervention of the type or
about the type itself (the rule of ``emmie_coverage_by_type``), on that outcome. A record's
outcome is its own ``emmie:outcome``; when it states none, the outcomes of its study's
findings; failing those, the outcomes the study's scope names. Records with no outcome by
any of these are counted in ``unplaced``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from whatworks.vocab import SCHEMES

from .page_data import code, select

OUTCOMES = ("entry", "re-entry", "reunification")
DIMENSIONS = ("effect", "mechanism", "moderators", "implementation", "economic")
TYPES = tuple(sorted(SCHEMES["intervention-type"]))

RECORDS = """
SELECT DISTINCT ?item ?item_text ?dimension ?study ?study_label ?type ?own_outcome
       ?direction ?rank ?design ?country ?verification ?year
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
  { ?item emmie:aboutIntervention/emmie:interventionType ?type }
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
    studies: dict[str, str] = field(default_factory=dict)  # IRI -> label
    items: list[dict[str, Any]] = field(default_factory=list)
    best_quality: int | None = None
    direction: str = "none"

    @property
    def key(self) -> str:
        return f"{self.type}:{self.outcome}:{self.dimension}"

    def as_json(self) -> dict[str, Any]:
        return {
            "intervention_type": self.type,
            "outcome": self.outcome,
            "dimension": self.dimension,
            "n_studies": len(self.studies),
            "n_records": len(self.items),
            "best_quality": self.best_quality,
            "direction": self.direction,
            "studies": sorted(self.studies),
        }


def summarise(directions: list[str]) -> str:
    """The direction rules of docs/what-works-for-whom.md over finding directions."""
    if not directions:
        return "none"
    readable = {d for d in directions if d in ("favourable", "unfavourable", "no_effect")}
    if not readable:
        return "unclear"
    return "mixed" if len(readable) > 1 else readable.pop()


def matrix(filters: Filters) -> tuple[dict[str, Cell], int]:
    """Every cell of the map (empty ones too), and how many records had no outcome."""
    records = [r for r in select(RECORDS, what="gap map") if filters.keeps(r)]
    by_study: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for row in select(STUDY_OUTCOMES, what="gap map outcomes"):
        by_study[row["study"]][0 if row["from_findings"] else 1].add(code(row["outcome"]))
    cells = {f"{t}:{o}:{d}": Cell(t, o, d) for t in TYPES for o in OUTCOMES for d in DIMENSIONS}
    unplaced: set[str] = set()
    findings: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # type, outcome, study
    for record in records:
        outcomes = (
            {code(record["own_outcome"])}
            if record.get("own_outcome")
            else by_study[record["study"]][0] or by_study[record["study"]][1]
        )
        if not outcomes:
            unplaced.add(record["item"])
            continue
        for outcome in outcomes & set(OUTCOMES):
            cell = cells[f"{code(record['type'])}:{outcome}:{code(record['dimension'])}"]
            cell.studies[record["study"]] = str(record.get("study_label") or code(record["study"]))
            if record["item"] not in {i["item"] for i in cell.items}:
                cell.items.append(record)
            if record.get("rank") is not None:
                cell.best_quality = max(cell.best_quality or 0, int(record["rank"]))
            if record.get("direction") and code(record["dimension"]) == "effect":
                findings[(cell.type, outcome, record["study"])].append(code(record["direction"]))
    for cell in cells.values():
        cell.direction = summarise(
            [d for s in cell.studies for d in findings.get((cell.type, cell.outcome, s), [])]
        )
    return cells, len(unplaced)
