"""The evidence gap map's matrix: intervention type x outcome x EMMIE dimension, the
number of studies and records in each cell, their best EMMIE-Q level and the direction of
their findings.

A study is in cell (type, outcome, dimension) when it has an evidence record of that
dimension (an EMMIE coding of it, or a finding for effect, a mechanism, moderator,
implementation factor or economic evidence record) about an intervention of the type or
about the type itself (the rule of ``emmie_coverage_by_type``), on that outcome. A record's
outcome is its own ``emmie:outcome`` and only that: a record that names no outcome is in
no outcome's cell (not even those of its study's findings: no source says it speaks for
them); it counts under "any outcome" in the coverage (``all``) and in ``unplaced``.

Each type row expands to one row per intervention of that type: a study is in the
intervention's cell when its record is about that intervention (records about the type
itself count in the type row only).

Each effect cell also carries the evidence tier **computed by rule** for the intervention
on the outcome (``docs/evidence-ratings.md``; on a type row, the best tier among the
type's interventions), read from the derived graph. It is of all the coded evidence, not
of the studies the filters keep, and it is never a curator's EMMIE-Q level, which is kept
apart (``best_quality``).

The counts are aggregated by the store (``GROUP BY`` over the placement rule), so what
crosses to the server is one row per non-empty cell, whatever the size of the base; the
list of a cell's studies and records is read only for the cell a reader opens. Results are
kept per dataset version (:class:`~.version_cache.VersionCache`).
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask
from rdflib import Literal, URIRef
from rdflib.term import Node

from whatworks.analysis.ratings import (
    COMPUTED_BY_RULE,
    EVIDENCE_TIERS,
    SMS_LABELS,
    TIER_LABELS,
    TIER_ORDER,
    sms_level,
)
from whatworks.core.catalogue import Given, internal
from whatworks.core.emmie import DIMENSIONS
from whatworks.core.namespaces import concept
from whatworks.core.vocab import SCHEMES

from .api_error import ApiError
from .page_data import code, dataset_version, select
from .state import server_state
from .version_cache import CacheBusy, VersionCache

OUTCOMES = ("entry", "re-entry", "reunification")
TYPES = tuple(sorted(SCHEMES["intervention-type"]))

#: With more interventions than this in the base, the page draws the interventions of the
#: expanded types only (expanding then reloads); with fewer, every row is in the page.
INLINE_INTERVENTIONS = 300
#: On a large base, the most interventions an expanded type shows on the page: those with
#: the most studies in a cell (the downloads hold them all).
PAGE_INTERVENTIONS = 100
#: The most studies a selected cell lists on the page (the JSON and CSV list them all).
CELL_STUDY_LIMIT = 500


@dataclass(frozen=True)
class Filters:
    design: str = ""
    country: str = ""
    verified: bool = False
    year_from: int | None = None
    year_to: int | None = None

    def terms(self) -> dict[str, Node]:
        """The parameters of the study filters of the gap map's queries
        (``queries/internal/gap_map_records.rq``): the study has the design, a country
        containing the text (ignoring case), verification ``yes``, and a work published in
        the years. Filters not set are not given (their lines are left out)."""
        terms: dict[str, Node] = {}
        if self.design:
            terms["design"] = URIRef(concept("study-design", self.design))
        if self.country:
            terms["country"] = Literal(self.country)
        if self.verified:
            terms["verified"] = URIRef(concept("verification", "yes"))
        if self.year_from is not None:
            terms["year_from"] = Literal(self.year_from)
        if self.year_to is not None:
            terms["year_to"] = Literal(self.year_to)
        return terms


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
    #: The evidence tier computed by rule (effect cells only; the best of the type's
    #: interventions on a type row); None when there is none.
    rating: str | None = None
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
            "rating": self.rating,
            "rating_label": None if self.rating is None else TIER_LABELS[self.rating],
            "rating_rule": None if self.rating is None else str(EVIDENCE_TIERS),
            "rating_by": None if self.rating is None else COMPUTED_BY_RULE,
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
    unplaced: int  # records that name no outcome (under "any outcome" only)
    #: By type code, sorted by label: the interventions whose rows were computed.
    interventions: dict[str, list[Intervention]]
    #: By type code: how many interventions the type has (computed or not).
    intervention_counts: dict[str, int]
    coverage_counts: dict[str, dict[str, int]]
    filters: Filters = field(default_factory=Filters)

    def coverage(self) -> dict[str, dict[str, int]]:
        """Per dimension, the number of studies with evidence on it: on each outcome, and
        on any (``all``, which also counts the records that name no outcome, and is the
        only place they count)."""
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


def cached_per_version(kind: str, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, once per dataset version and ``(kind, key)``: the gap map's summaries
    and the pages drawn from them (the local-authority page), computed ahead of readers or at
    the first request of a version.

    :raises ApiError: 503 while another request computes it past the pages' time limit.
    """
    state = server_state()
    cache: VersionCache = state.caches.setdefault("summary_cache", VersionCache())
    wait = float(state.settings.page_timeout)
    try:
        return cache.get(dataset_version(), (kind, *key), compute, wait=wait)
    except CacheBusy as exc:
        raise ApiError(
            503,
            "the evidence summaries are being computed for this version of the data; "
            "try again shortly",
            headers={"Retry-After": "5"},
        ) from exc


def _select(query: str, terms: Mapping[str, Given], *, what: str) -> list[dict[str, Any]]:
    """Rows of the internal query ``query`` for ``terms``, within the pages' time limit."""
    prepared = internal(query).prepare(terms)
    timeout = float(server_state().settings.page_timeout)
    return select(prepared.text, prepared.parameters, what=what, timeout=timeout)


def _types(types: Iterable[str]) -> list[Node]:
    """The intervention types' concepts, to restrict a query to them."""
    return [concept("intervention-type", t) for t in sorted(types)]


def coverage(filters: Filters) -> tuple[dict[str, dict[str, int]], int]:
    """Per dimension, studies with evidence on it on each outcome and on any (``all``),
    and the number of records that name no outcome (counted under ``all`` only)."""

    def compute() -> tuple[dict[str, dict[str, int]], int]:
        terms = filters.terms()
        out = {d: {"all": 0, **dict.fromkeys(OUTCOMES, 0)} for d in DIMENSIONS}
        unplaced = 0
        for row in _select("gap_map_coverage", terms, what="coverage"):
            dimension = code(row["dimension"])
            if row["outcome"] is None:
                unplaced += int(row["records"])
            elif dimension in out and code(row["outcome"]) in OUTCOMES:
                out[dimension][code(row["outcome"])] = int(row["studies"])
        for row in _select("gap_map_any_outcome", terms, what="coverage"):
            if code(row["dimension"]) in out:
                out[code(row["dimension"])]["all"] = int(row["studies"])
        return out, unplaced

    return cached_per_version("coverage", (filters,), compute)


def _cells(
    filters: Filters, types: Iterable[str] | None, *, per_intervention: bool, lists: bool
) -> list[dict[str, Any]]:
    terms: dict[str, Given] = {
        **filters.terms(),
        "types": None if types is None else _types(types),
        "per_intervention": per_intervention,
        "lists": lists,
    }
    what = "gap map intervention cells" if per_intervention else "gap map cells"
    return _select("gap_map_cells", terms, what=what)


def _interventions(types: Iterable[str]) -> dict[str, list[Intervention]]:
    wanted = sorted(types)
    by_type: dict[str, list[Intervention]] = {t: [] for t in TYPES}
    if not wanted:
        return by_type
    rows = _select("gap_map_interventions", {"types": _types(wanted)}, what="gap map interventions")
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


def ratings() -> dict[tuple[str, str, str], str]:
    """The evidence tier computed by rule of each (type, intervention code, outcome code)."""

    def compute() -> dict[tuple[str, str, str], str]:
        out: dict[tuple[str, str, str], str] = {}
        for row in _select("gap_map_ratings", {}, what="gap map ratings"):
            tier = code(row["tier"])
            if tier in TIER_LABELS:
                out[(code(row["type"]), code(row["intervention"]), code(row["outcome"]))] = tier
        return out

    return cached_per_version("ratings", (), compute)


def best_tier(tiers: Iterable[str]) -> str | None:
    """The best of ``tiers`` in :data:`~whatworks.analysis.ratings.TIER_ORDER`; None if none."""
    found = [t for t in tiers if t in TIER_ORDER]
    return min(found, key=TIER_ORDER.index) if found else None


def _rate(cells: dict[str, Cell], tiers: Mapping[tuple[str, str, str], str]) -> None:
    """Put the computed tiers on the effect cells: an intervention row's own, a type row's
    best of its interventions'."""
    by_type: dict[tuple[str, str], list[str]] = {}
    for (kind, intervention, outcome), tier in tiers.items():
        by_type.setdefault((kind, outcome), []).append(tier)
        cell = cells.get(f"{kind}/{intervention}:{outcome}:effect")
        if cell is not None:
            cell.rating = tier
    for (kind, outcome), found in by_type.items():
        cell = cells.get(f"{kind}:{outcome}:effect")
        if cell is not None:
            cell.rating = best_tier(found)


def intervention_counts() -> dict[str, int]:
    """How many interventions each type has, by type code."""

    def compute() -> dict[str, int]:
        counts = dict.fromkeys(TYPES, 0)
        for row in _select("gap_map_intervention_counts", {}, what="gap map interventions"):
            if code(row["type"]) in counts:
                counts[code(row["type"])] = int(row["n"])
        return counts

    return cached_per_version("interventions", (), compute)


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
        _rate(cells, ratings())
        counted, unplaced = coverage(filters)
        return GapMap(cells, unplaced, interventions, counts, counted, filters)

    return cached_per_version("matrix", (filters, tuple(sorted(wanted)), lists), compute)


def keep_warm(
    app: Flask, *, every: float = 2.0, also: Sequence[Callable[[], object]] = ()
) -> threading.Thread:
    """Compute the landing page's and the default gap map's summaries, and whatever
    ``also`` computes (the what-works finding table: :func:`.what_works.table`), in the
    background, at
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
                        for compute in also:
                            compute()
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
    return cached_per_version("cell", (gap.filters, cell.key), lambda: _cell_items(gap, cell))


def _cell_items(gap: GapMap, cell: Cell) -> tuple[list[dict[str, Any]], int]:
    terms: dict[str, Given] = {**gap.filters.terms(), "types": _types([cell.type])}
    if cell.intervention:
        found = gap.intervention(cell)
        if found is None:
            return [], 0
        terms["intervention"] = URIRef(found.iri)
    terms["outcome"] = URIRef(concept("outcome", cell.outcome))
    terms["dimension"] = URIRef(concept("emmie-dimension", cell.dimension))
    studies: dict[str, dict[str, Any]] = {}
    for row in _select("gap_map_cell_items", terms, what="gap map cell"):
        study = studies.setdefault(
            row["study"],
            {
                "iri": row["study"],
                "label": "",
                "records": {},
                "authors": "",
                "year": "",
                "doi": "",
                "design": "",
            },
        )
        if row["study_label"] and not study["label"]:
            study["label"] = str(row["study_label"])
        for key, column in (
            ("authors", "work_authors"),
            ("year", "work_year"),
            ("doi", "work_doi"),
            ("design", "study_design"),
        ):
            if row.get(column) is not None and not study[key]:
                study[key] = code(row[column]) if key == "design" else str(row[column])
        if row["item"] not in study["records"] or row["item_text"]:
            study["records"][row["item"]] = str(row["item_text"] or row["item"])
    for study in studies.values():
        level = sms_level(study["design"]) if study["design"] in _SMS_DESIGNS else None
        study["sms"] = level
        study["sms_label"] = None if level is None else SMS_LABELS[level]
    ordered = sorted(studies.values(), key=lambda s: (s["label"] or code(s["iri"])).lower())
    return ordered[:CELL_STUDY_LIMIT], len(ordered)


_SMS_DESIGNS = frozenset(SCHEMES["study-design"])


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
    "rating",
    "rating_rule",
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
