"""The evidence gap map's matrix: intervention type x outcome x EMMIE dimension, the
number of studies and records in each cell, their best EMMIE-Q level and the direction of
their findings.

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

The counts are aggregated by the store (``GROUP BY`` over the placement rule), so what
crosses to the server is one row per non-empty cell, whatever the size of the base; the
list of a cell's studies and records is read only for the cell a reader opens. Results are
kept per dataset version (:class:`SummaryCache`).
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask
from rdflib import Literal, URIRef
from rdflib.term import Node

from whatworks.core.namespaces import concept
from whatworks.core.vocab import SCHEMES

from .errors import ApiError
from .page_data import code, dataset_version, select
from .state import server_state

OUTCOMES = ("entry", "re-entry", "reunification")
DIMENSIONS = ("effect", "mechanism", "moderators", "implementation", "economic")
TYPES = tuple(sorted(SCHEMES["intervention-type"]))
EFFECT = "https://w3id.org/whatworks/concept/emmie-dimension/effect"

#: With more interventions than this in the base, the page draws the interventions of the
#: expanded types only (expanding then reloads); with fewer, every row is in the page.
INLINE_INTERVENTIONS = 300
#: On a large base, the most interventions an expanded type shows on the page: those with
#: the most studies in a cell (the downloads hold them all).
PAGE_INTERVENTIONS = 100
#: The most studies a selected cell lists on the page (the JSON and CSV list them all).
CELL_STUDY_LIMIT = 500

#: The records of each dimension, with their study and what they are about. ``{restrict}``
#: takes a ``VALUES ?type`` line, ``{filters}`` the study filters.
_CORE = """
  {restrict}
  {filters}
  {{
    ?item a emmie:EmmieCoding ; emmie:dimension ?dimension .
    OPTIONAL {{
      ?item emmie:qualityLevel ?level .
      BIND(xsd:integer(REPLACE(STR(?level), "^.*/", "")) AS ?rank)
    }}
  }} UNION {{
    VALUES (?record_class ?dimension) {{
      (emmie:Finding <https://w3id.org/whatworks/concept/emmie-dimension/effect>)
      (emmie:Mechanism <https://w3id.org/whatworks/concept/emmie-dimension/mechanism>)
      (emmie:Moderator <https://w3id.org/whatworks/concept/emmie-dimension/moderators>)
      (emmie:ImplementationFactor <https://w3id.org/whatworks/concept/emmie-dimension/implementation>)
      (emmie:EconomicEvidence <https://w3id.org/whatworks/concept/emmie-dimension/economic>)
    }}
    ?item a ?record_class .
  }}
  ?item emmie:fromStudy ?study .
  {{ ?item emmie:aboutIntervention ?intervention . ?intervention emmie:interventionType ?type }}
  UNION
  {{ ?item emmie:aboutInterventionType ?type }}
"""
#: ... placed on an outcome by the rule above (``?outcome`` unbound: placed on none).
_PLACED = (
    _CORE
    + """
  OPTIONAL {{ ?item emmie:outcome ?own_outcome }}
  OPTIONAL {{
    {{ SELECT DISTINCT ?study ?findings_outcome WHERE {{
      ?finding a emmie:Finding ; emmie:fromStudy ?study ; emmie:outcome ?findings_outcome
    }} }}
    FILTER(!BOUND(?own_outcome))
  }}
  OPTIONAL {{
    ?study emmie:scopeOutcome ?scope_outcome .
    FILTER(!BOUND(?own_outcome) && !BOUND(?findings_outcome))
  }}
  BIND(COALESCE(?own_outcome, ?findings_outcome, ?scope_outcome) AS ?outcome)
"""
)

#: One row per non-empty cell: studies, records, best level, and the directions of the
#: effect findings, on the row and outcome, of the cell's studies. ``{row}`` is ``?type``
#: or ``?type ?intervention``. (An unbound value makes an aggregate unbound, hence the
#: COALESCEs: -1 is "unrated", "" no direction.)
_CELLS = """
SELECT {row} ?outcome ?dimension (COUNT(DISTINCT ?study) AS ?studies)
       (COUNT(DISTINCT ?item) AS ?records) (MAX(COALESCE(?rank, -1)) AS ?best)
       (GROUP_CONCAT(DISTINCT COALESCE(?direction_code, ""); separator=" ") AS ?directions){lists}
WHERE {{
  {{ SELECT DISTINCT {row} ?outcome ?dimension ?study ?item ?rank WHERE {{ {placed} {bound} }} }}
  OPTIONAL {{ {{ SELECT DISTINCT {row} ?outcome ?study ?direction_code WHERE {{
    {placed} {bound}
    FILTER(?dimension = <{effect}>)
    ?item emmie:direction ?direction .
    BIND(REPLACE(STR(?direction), "^.*/", "") AS ?direction_code)
  }} }} }}
  FILTER(BOUND(?outcome))
}}
GROUP BY {row} ?outcome ?dimension
"""

#: Studies per dimension and outcome (over every type; ``?outcome`` unbound: records placed
#: on no outcome), and the records placed on none.
_COVERAGE = """
SELECT ?dimension ?outcome (COUNT(DISTINCT ?study) AS ?studies)
       (COUNT(DISTINCT ?item) AS ?records)
WHERE {{ {placed} }}
GROUP BY ?dimension ?outcome
"""
_ANY_OUTCOME = """
SELECT ?dimension (COUNT(DISTINCT ?study) AS ?studies) WHERE {{ {core} }} GROUP BY ?dimension
"""

_INTERVENTION_COUNTS = """
SELECT ?type (COUNT(DISTINCT ?intervention) AS ?n) WHERE {
  ?intervention a emmie:Intervention ; emmie:interventionType ?type .
} GROUP BY ?type
"""
_INTERVENTIONS = """
SELECT DISTINCT ?intervention ?type ?label WHERE {{
  {restrict}
  ?intervention a emmie:Intervention ; emmie:interventionType ?type .
  OPTIONAL {{ ?intervention rdfs:label ?label }}
}}
"""

#: The studies and records of one cell, with their labels.
_CELL_ITEMS = """
SELECT DISTINCT ?study ?study_label ?item ?item_text WHERE {{
  {placed} {bound}
  FILTER(?outcome = wwfn:param("outcome") && ?dimension = wwfn:param("dimension"))
  OPTIONAL {{ ?item emmie:summary|emmie:evidenceSummary|rdfs:label|dcterms:description ?item_text }}
  OPTIONAL {{ ?study rdfs:label ?study_label }}
}}
"""


@dataclass(frozen=True)
class Filters:
    design: str = ""
    country: str = ""
    verified: bool = False
    year_from: int | None = None
    year_to: int | None = None

    def sparql(self) -> tuple[str, dict[str, Node]]:
        """A subquery of the studies the filters keep (``""`` without filters), and the
        parameters it reads (``wwfn:param``): the study has the design, a country
        containing the text (ignoring case), verification ``yes``, and a work published in
        the years. (One set of studies joined to the records: a FILTER EXISTS per record
        was 5x slower.)"""
        lines: list[str] = []
        parameters: dict[str, Node] = {}
        if self.design:
            lines.append('?study emmie:design wwfn:param("design") .')
            parameters["design"] = URIRef(concept("study-design", self.design))
        if self.country:
            lines.append(
                "?study emmie:country ?country . FILTER(CONTAINS("
                'LCASE(STR(?country)), LCASE(STR(wwfn:param("country")))))'
            )
            parameters["country"] = Literal(self.country)
        if self.verified:
            lines.append('?study emmie:verification wwfn:param("verified") .')
            parameters["verified"] = URIRef(concept("verification", "yes"))
        if self.year_from is not None or self.year_to is not None:
            bounds = []
            if self.year_from is not None:
                bounds.append('?year >= wwfn:param("year_from")')
                parameters["year_from"] = Literal(self.year_from)
            if self.year_to is not None:
                bounds.append('?year <= wwfn:param("year_to")')
                parameters["year_to"] = Literal(self.year_to)
            lines.append(
                "?study emmie:reportedIn/emmie:publicationYear ?year . "
                f"FILTER({' && '.join(bounds)})"
            )
        if not lines:
            return "", parameters
        body = "\n      ".join(lines)
        return f"{{ SELECT DISTINCT ?study WHERE {{\n      {body}\n  }} }}", parameters


@dataclass
class Cell:
    type: str
    outcome: str
    dimension: str
    intervention: str = ""  # the intervention's code on an intervention row, else ""
    n_studies: int = 0
    n_records: int = 0
    best_quality: int | None = None
    direction: str = "none"
    #: The studies' IRIs, when asked for (downloads); None otherwise.
    studies: list[str] | None = None

    @property
    def row(self) -> str:
        """``type`` on a type row, ``type/intervention`` on an intervention row."""
        return f"{self.type}/{self.intervention}" if self.intervention else self.type

    @property
    def key(self) -> str:
        return f"{self.row}:{self.outcome}:{self.dimension}"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": "intervention" if self.intervention else "type",
            "intervention_type": self.type,
            "intervention": self.intervention or None,
            "outcome": self.outcome,
            "dimension": self.dimension,
            "n_studies": self.n_studies,
            "n_records": self.n_records,
            "best_quality": self.best_quality,
            "direction": self.direction,
        }
        if self.studies is not None:
            out["studies"] = sorted(self.studies)
        return out


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
    #: By type code, sorted by label: the interventions whose rows were computed.
    interventions: dict[str, list[Intervention]]
    #: By type code: how many interventions the type has (computed or not).
    intervention_counts: dict[str, int]
    coverage_counts: dict[str, dict[str, int]]
    filters: Filters = field(default_factory=Filters)

    def coverage(self) -> dict[str, dict[str, int]]:
        """Per dimension, the number of studies with evidence on it: on each outcome, and
        on any (``all``, which counts records placed on no outcome too)."""
        return self.coverage_counts

    def intervention(self, cell: Cell) -> Intervention | None:
        found = [i for i in self.interventions.get(cell.type, []) if i.row == cell.row]
        return found[0] if found else None


def summarise(directions: Iterable[str]) -> str:
    """The direction rules of docs/what-works-for-whom.md over finding directions."""
    directions = list(directions)
    if not directions:
        return "none"
    readable = {d for d in directions if d in ("favourable", "unfavourable", "no_effect")}
    if not readable:
        return "unclear"
    return "mixed" if len(readable) > 1 else readable.pop()


T = TypeVar("T")


class SummaryCache:
    """Answers of the summary queries, kept per dataset version (a new version makes them
    stale) and computed one at a time, so that a large base costs one worker, once per
    version, however many readers ask."""

    def __init__(self, size: int = 64):
        self._size = size
        self._answers: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._guard = threading.Lock()
        self._computing = threading.RLock()  # a summary may read others

    def get(self, key: tuple[Any, ...], compute: Callable[[], T], *, wait: float) -> T:
        """The answer for ``key`` (its first element the dataset version), computed when
        missing; waits up to ``wait`` s for another computation to finish (else 503)."""
        with self._guard:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]  # type: ignore[no-any-return]
        if not self._computing.acquire(timeout=wait):
            raise ApiError(
                503,
                "the evidence summaries are being computed for this version of the data; "
                "try again shortly",
                headers={"Retry-After": "5"},
            )
        try:
            with self._guard:
                if key in self._answers:
                    return self._answers[key]  # type: ignore[no-any-return]
            answer = compute()
            with self._guard:
                self._answers[key] = answer
                while len(self._answers) > self._size:
                    self._answers.popitem(last=False)
            return answer
        finally:
            self._computing.release()


def _cached(kind: str, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    state = server_state()
    cache: SummaryCache = state.caches.setdefault("summary_cache", SummaryCache())
    wait = float(state.settings.page_timeout)
    return cache.get((dataset_version(), kind, *key), compute, wait=wait)


def _select(query: str, parameters: dict[str, Node], *, what: str) -> list[dict[str, Any]]:
    timeout = float(server_state().settings.page_timeout)
    return select(query, parameters, what=what, timeout=timeout)


def _restrict(types: Iterable[str] | None) -> str:
    if types is None:
        return ""
    values = " ".join(f"<{concept('intervention-type', t)}>" for t in sorted(types))
    return f"VALUES ?type {{ {values} }}"


def _patterns(filters: Filters, types: Iterable[str] | None) -> tuple[str, str, dict[str, Node]]:
    lines, parameters = filters.sparql()
    restrict = _restrict(types)
    core = _CORE.format(restrict=restrict, filters=lines)
    placed = _PLACED.format(restrict=restrict, filters=lines)
    return core, placed, parameters


def coverage(filters: Filters) -> tuple[dict[str, dict[str, int]], int]:
    """Per dimension, studies with evidence on it on each outcome and on any (``all``),
    and the number of records placed on no outcome."""

    def compute() -> tuple[dict[str, dict[str, int]], int]:
        core, placed, parameters = _patterns(filters, None)
        out = {d: {"all": 0, **dict.fromkeys(OUTCOMES, 0)} for d in DIMENSIONS}
        unplaced = 0
        for row in _select(_COVERAGE.format(placed=placed), parameters, what="coverage"):
            dimension = code(row["dimension"])
            if row["outcome"] is None:
                unplaced += int(row["records"])
            elif dimension in out and code(row["outcome"]) in OUTCOMES:
                out[dimension][code(row["outcome"])] = int(row["studies"])
        for row in _select(_ANY_OUTCOME.format(core=core), parameters, what="coverage"):
            if code(row["dimension"]) in out:
                out[code(row["dimension"])]["all"] = int(row["studies"])
        return out, unplaced

    return _cached("coverage", (filters,), compute)


def _cells(
    filters: Filters, types: Iterable[str] | None, *, per_intervention: bool, lists: bool
) -> list[dict[str, Any]]:
    _, placed, parameters = _patterns(filters, types)
    query = _CELLS.format(
        row="?type ?intervention" if per_intervention else "?type",
        placed=placed,
        bound="FILTER(BOUND(?intervention))" if per_intervention else "",
        effect=EFFECT,
        lists=(
            '\n       (GROUP_CONCAT(DISTINCT STR(?study); separator=" ") AS ?study_list)'
            if lists
            else ""
        ),
    )
    what = "gap map intervention cells" if per_intervention else "gap map cells"
    return _select(query, parameters, what=what)


def _interventions(types: Iterable[str]) -> dict[str, list[Intervention]]:
    wanted = sorted(types)
    by_type: dict[str, list[Intervention]] = {t: [] for t in TYPES}
    if not wanted:
        return by_type
    rows = _select(
        _INTERVENTIONS.format(restrict=_restrict(wanted)), {}, what="gap map interventions"
    )
    found = [Intervention(r["intervention"], code(r["type"]), str(r["label"] or "")) for r in rows]
    seen: set[Intervention] = set()  # (a list lookup was quadratic: ~3,000 a type at 5M)
    for item in sorted(found, key=lambda i: (i.label or code(i.iri)).lower()):
        if item.type in by_type and item not in seen:
            seen.add(item)
            by_type[item.type].append(item)
    return by_type


def _fill(cells: dict[str, Cell], row_key: str, row: dict[str, Any]) -> None:
    if row["outcome"] is None or code(row["outcome"]) not in OUTCOMES:
        return
    cell = cells.get(f"{row_key}:{code(row['outcome'])}:{code(row['dimension'])}")
    if cell is None:
        return
    cell.n_studies = int(row["studies"])
    cell.n_records = int(row["records"])
    best = -1 if row["best"] is None else int(row["best"])
    cell.best_quality = None if best < 0 else best
    cell.direction = summarise(str(row["directions"] or "").split())
    if "study_list" in row:
        cell.studies = str(row["study_list"] or "").split()


def intervention_counts() -> dict[str, int]:
    """How many interventions each type has, by type code."""

    def compute() -> dict[str, int]:
        counts = dict.fromkeys(TYPES, 0)
        for row in _select(_INTERVENTION_COUNTS, {}, what="gap map interventions"):
            if code(row["type"]) in counts:
                counts[code(row["type"])] = int(row["n"])
        return counts

    return _cached("interventions", (), compute)


def page_interventions(gap: GapMap, kind: str) -> list[Intervention]:
    """The interventions of type ``kind`` the page draws, by label: all of them, or on a
    large base the :data:`PAGE_INTERVENTIONS` with the most studies in a cell."""
    found = gap.interventions[kind]
    if len(found) <= PAGE_INTERVENTIONS:
        return found

    def studies(i: Intervention) -> int:
        cells = (gap.cells.get(f"{i.row}:{o}:{d}") for o in OUTCOMES for d in DIMENSIONS)
        return max((c.n_studies for c in cells if c is not None), default=0)

    ranked = sorted(found, key=lambda i: (-studies(i), (i.label or i.iri).lower()))
    kept = set(ranked[:PAGE_INTERVENTIONS])
    return [i for i in found if i in kept]


def drawn_types(expanded: set[str]) -> set[str] | None:
    """The types whose intervention rows the page holds: every type's in a small base (they
    open in place), the expanded types' only in a large one (expanding reloads the page)."""
    return None if sum(intervention_counts().values()) <= INLINE_INTERVENTIONS else expanded


def matrix(filters: Filters, *, expand: Iterable[str] | None = None, lists: bool = False) -> GapMap:
    """Every cell of the map (empty ones too): the type rows, and the intervention rows of
    the types in ``expand`` (None: of every type). ``lists``: with each cell's studies."""
    wanted = set(TYPES) if expand is None else set(expand) & set(TYPES)

    def compute() -> GapMap:
        counts = intervention_counts()
        types = {t for t in wanted if counts[t]}
        interventions = _interventions(types)
        rows = [*TYPES, *(i.row for t in TYPES for i in interventions[t])]
        cells = {
            f"{r}:{o}:{d}": Cell(r.split("/")[0], o, d, r.partition("/")[2])
            for r in rows
            for o in OUTCOMES
            for d in DIMENSIONS
        }
        if lists:
            for cell in cells.values():
                cell.studies = []
        for row in _cells(filters, None, per_intervention=False, lists=lists):
            _fill(cells, code(row["type"]), row)
        if types:
            for row in _cells(filters, types, per_intervention=True, lists=lists):
                _fill(cells, f"{code(row['type'])}/{code(row['intervention'])}", row)
        counted, unplaced = coverage(filters)
        return GapMap(cells, unplaced, interventions, counts, counted, filters)

    return _cached("matrix", (filters, tuple(sorted(wanted)), lists), compute)


def keep_warm(app: Flask, *, every: float = 2.0) -> threading.Thread:
    """Compute the landing page's and the default gap map's summaries in the background, at
    start and whenever the dataset version changes, so that readers find them ready (on a
    large base they take a while: BENCHMARKS.md). One thread; it uses one query worker at a
    time, like any reader, and gives up on a version only when its queries fail."""
    log = logging.getLogger("whatworks.server")

    def run() -> None:
        warmed: str | None = None
        while True:
            version = None
            try:
                with app.app_context():
                    version = dataset_version()
                    if version and version != warmed:
                        started = time.perf_counter()
                        coverage(Filters())
                        matrix(Filters(), expand=drawn_types(set()))
                        warmed = version
                        log.info(
                            "summaries of version %s ready in %.1f s",
                            version,
                            time.perf_counter() - started,
                        )
            except ApiError as exc:
                log.warning("could not compute the summaries ahead of readers: %s", exc)
                if exc.status != 503:  # past the limit or too large: not again for this version
                    warmed = version
            except Exception as exc:  # noqa: BLE001 - logged; the next round tries again
                log.warning("could not compute the summaries ahead of readers: %s", exc)
            time.sleep(every)

    thread = threading.Thread(target=run, name="whatworks-summaries", daemon=True)
    thread.start()
    return thread


def cell_items(gap: GapMap, cell: Cell) -> tuple[list[dict[str, Any]], int]:
    """The studies of one cell (up to :data:`CELL_STUDY_LIMIT`, by label), each with its
    label and its records in the cell; and the number of studies in all. Kept per dataset
    version, as the counts are (at 5M a cell's list takes ~10 s to read)."""
    return _cached("cell", (gap.filters, cell.key), lambda: _cell_items(gap, cell))


def _cell_items(gap: GapMap, cell: Cell) -> tuple[list[dict[str, Any]], int]:
    _, placed, parameters = _patterns(gap.filters, [cell.type])
    if cell.intervention:
        found = gap.intervention(cell)
        if found is None:
            return [], 0
        bound = 'FILTER(?intervention = wwfn:param("intervention"))'
        parameters["intervention"] = URIRef(found.iri)
    else:
        bound = ""
    parameters["outcome"] = URIRef(concept("outcome", cell.outcome))
    parameters["dimension"] = URIRef(concept("emmie-dimension", cell.dimension))
    query = _CELL_ITEMS.format(placed=placed, bound=bound)
    studies: dict[str, dict[str, Any]] = {}
    for row in _select(query, parameters, what="gap map cell"):
        study = studies.setdefault(row["study"], {"iri": row["study"], "label": "", "records": {}})
        if row["study_label"] and not study["label"]:
            study["label"] = str(row["study_label"])
        if row["item"] not in study["records"] or row["item_text"]:
            study["records"][row["item"]] = str(row["item_text"] or row["item"])
    ordered = sorted(studies.values(), key=lambda s: (s["label"] or code(s["iri"])).lower())
    return ordered[:CELL_STUDY_LIMIT], len(ordered)


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
        row["studies"] = " ".join(row.get("studies") or [])
        writer.writerow(["" if row[f] is None else row[f] for f in CSV_FIELDS])
    return buffer.getvalue()
