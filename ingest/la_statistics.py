"""Local-authority statistics as an RDF Data Cube, with Ofsted judgements and programmes.

Reads the files of ``data/la/`` (provenance in its README) and builds one graph per file,
ready for the ingest pipeline's check → SHACL → store path (:func:`read_statistics`):

- ``raw_dfe_sfr/SFR*_{CLA,ADM,CEA}{year}.csv``: DfE SSDA903 counts 2012–2017 (children
  looked after at 31 March, started, ceased) for England, the regions and 151 LAs; ``x``
  (1 to 5 children) becomes an observation with status *suppressed* and no value;
- ``cla_la_panel_2012_2017.csv``: the LAs, their regions and codes, and the *derived*
  rates of 2013–2014 (count ÷ previous mid-year population; a measure of its own, never
  mixed with the official rate); the cube's data set and structure live in its graph;
- ``lait_selected_measures_2015_2025_long.csv``: official rates per 10,000 (2015–2025)
  and child poverty (per cent) for the same LAs, and the official rates of England and the
  regions (whole numbers, as the DfE gives them);
- ``raw_other/imd2019_upper_tier_la_summary.csv``: IMD 2019 average score;
- ``ofsted_la_childrens_services_inspections_2009_2023.csv``: first SIF judgement, joined
  on name through ``ofsted_name_crosswalk.csv`` (an unmatched name raises
  :class:`UnmatchedName`);
- ``innovation_programme_las_partial.csv``: Innovation Programme participation, flagged
  as a partial list;
- ``raw_dfe_sfr/ees_cla_time_series_1994_2023.csv``: DfE's revised national series, of
  which the years in :data:`NATIONAL_SERIES_YEARS` become observations of England with the
  measure ``emmie:childrenLookedAfterRevisedSeries`` (beside, never in place of, the first
  releases: the SFR national rows and the seed's reported statistics).

Areas are ONS statistical geographies; every IRI is minted from codes (no blank nodes).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from whatworks.core.errors import InputError, Problem
from whatworks.core.namespaces import SDMX_DIMENSION, concept, resource, source_graph
from whatworks.core.vocab import EMMIE

from .pipeline import Source, graph_name_for
from .provenance import SourceFile

QB = "http://purl.org/linked-data/cube#"
GEOGRAPHY = "http://statistics.data.gov.uk/id/statistical-geography/"
ENGLAND = "E92000001"
YEARS = range(2012, 2018)

#: GSS codes that changed after the 2012–2017 DfE files were published: the DfE files use
#: the old code, ONS population and IMD 2019 the new one. The LA's IRI uses the new code.
CODE_CHANGES = {"E08000020": "E08000037", "E06000048": "E06000057"}  # Gateshead, Northumberland
#: LAs of the DfE files that the panel (and the seed) leave out.
EXCLUDED_LAS = {"420": "Isles of Scilly: excluded, as in the seed"}
#: DfE region letters → GSS code. The DfE files give London, Inner and Outer London all
#: E12000007; Inner and Outer London are E13000001 and E13000002.
REGIONS = {
    "A": ("E12000001", "North East"),
    "B": ("E12000002", "North West"),
    "C": ("E12000003", "Yorkshire and The Humber"),
    "D": ("E12000004", "East Midlands"),
    "E": ("E12000005", "West Midlands"),
    "F": ("E12000006", "East of England"),
    "G": ("E12000007", "London"),
    "H": ("E13000001", "Inner London"),
    "I": ("E13000002", "Outer London"),
    "J": ("E12000008", "South East"),
    "K": ("E12000009", "South West"),
}

MEASURES = {
    "CLA": EMMIE.childrenLookedAfter,
    "ADM": EMMIE.childrenStartedCare,
    "CEA": EMMIE.childrenCeasedCare,
}
UNITS = {
    EMMIE.childrenLookedAfter: "children",
    EMMIE.childrenLookedAfterRevisedSeries: "children",
    EMMIE.childrenStartedCare: "children",
    EMMIE.childrenCeasedCare: "children",
    EMMIE.lookedAfterRateOfficial: "per_10000_children",
    EMMIE.lookedAfterRateDerived: "per_10000_children",
    EMMIE.childPovertyPercent: "percent",
    EMMIE.imdAverageScore: "score",
}
INTEGER_MEASURES = {
    EMMIE.childrenLookedAfter,
    EMMIE.childrenLookedAfterRevisedSeries,
    EMMIE.childrenStartedCare,
    EMMIE.childrenCeasedCare,
}
#: LAIT's codes of England and the regions (rates rounded by the DfE to whole numbers) →
#: (GSS code, the name LAIT gives it).
LAIT_AREAS = {
    "970": (ENGLAND, "England"),
    "980": ("E12000001", "North East"),
    "981": ("E12000002", "North West"),
    "982": ("E12000003", "Yorkshire and the Humber"),
    "983": ("E12000004", "East Midlands"),
    "984": ("E12000005", "West Midlands"),
    "985": ("E12000006", "East of England"),
    "986": ("E12000007", "London"),
    "987": ("E13000001", "London (Inner)"),
    "988": ("E13000002", "London (Outer)"),
    "989": ("E12000008", "South East"),
    "990": ("E12000009", "South West"),
}
#: LAIT measure codes read, and the measure each becomes.
LAIT_MEASURES = {"LAC": EMMIE.lookedAfterRateOfficial, "ChildPov": EMMIE.childPovertyPercent}
JUDGEMENTS = {
    "Outstanding": "outstanding",
    "Good": "good",
    "Requires improvement to be good": "requires_improvement",
    "Inadequate": "inadequate",
}
OFSTED_FILE = "ofsted_la_childrens_services_inspections_2009_2023.csv"
CROSSWALK_FILE = "ofsted_name_crosswalk.csv"
NATIONAL_SERIES_FILE = "ees_cla_time_series_1994_2023.csv"
#: The years of DfE's revised national series read: those the seed quotes (first releases).
NATIONAL_SERIES_YEARS = (1997, 2017)
SFR_NAME = re.compile(r"SFR\d*_(CLA|ADM|CEA)(\d{4})\.csv$")

DATASET = resource("cube", "la-children-looked-after")
STRUCTURE = resource("cube", "la-children-looked-after/structure")


class UnmatchedName(InputError):
    """An Ofsted local-authority name matches no LA and is not in the crosswalk."""


def area(gss: str) -> URIRef:
    """The ONS statistical-geography IRI of ``gss`` (new code where it changed)."""
    return URIRef(GEOGRAPHY + CODE_CHANGES.get(gss, gss))


def observation(gss: str, year: int, measure: URIRef) -> URIRef:
    """The IRI of the observation of ``measure`` for the area ``gss`` in ``year``."""
    name = str(measure).rsplit("#", 1)[1]
    return resource("observation", f"{CODE_CHANGES.get(gss, gss)}/{year}/{name}")


@dataclass(frozen=True)
class LocalAuthority:
    code: str  # DfE three-digit code
    gss: str  # as in the DfE files
    name: str
    region_gss: str


def read_statistics(folder: Path) -> list[Source]:
    """Read the statistics files of ``folder`` into sources, one graph per file.

    :raises InputError: a file is missing or a cell cannot be read (every problem is
        collected first); :class:`UnmatchedName` for an Ofsted name without a match.
    """
    problems: list[Problem] = []
    sources: list[Source] = []
    panel_path = folder / "cla_la_panel_2012_2017.csv"
    las = _read_las(panel_path, problems)
    by_code = {la.code: la for la in las}
    builders: list[tuple[Path, Callable[[Path], Graph]]] = [
        (panel_path, lambda p: _panel_graph(p, las, problems))
    ]
    for path in sorted((folder / "raw_dfe_sfr").glob("SFR*.csv")):
        if SFR_NAME.search(path.name):
            builders.append((path, lambda p: _sfr_graph(p, by_code, problems)))
    builders += [
        (folder / "lait_selected_measures_2015_2025_long.csv", lambda p: _lait(p, by_code)),
        (folder / "raw_other" / "imd2019_upper_tier_la_summary.csv", lambda p: _imd(p, las)),
        (folder / OFSTED_FILE, lambda p: _ofsted(p, folder / CROSSWALK_FILE, las)),
        (folder / "innovation_programme_las_partial.csv", lambda p: _programme(p, by_code)),
        (folder / "raw_dfe_sfr" / NATIONAL_SERIES_FILE, _national_series),
    ]
    for path, build in builders:
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(str(path), f"cannot read the file: {exc.strerror}"))
            continue
        try:
            graph = build(path)
        except UnmatchedName:
            raise
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        file = SourceFile(path.name, "text/csv", len(data), hashlib.sha256(data).hexdigest())
        graph_iri = source_graph("la-" + graph_name_for(path))
        sources.append(Source(path, graph_iri, file, graph))
    if problems:
        raise InputError(problems)
    return sources


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            yield number, {k.strip(): (v or "").strip() for k, v in row.items() if k}


def _read_las(path: Path, problems: list[Problem]) -> list[LocalAuthority]:
    seen: dict[str, LocalAuthority] = {}
    try:
        for _, row in _rows(path):
            seen.setdefault(
                row["la_code_old"],
                LocalAuthority(
                    row["la_code_old"], row["gss_code"], row["la_name"], row["region_code"]
                ),
            )
    except OSError as exc:
        problems.append(Problem(str(path), f"cannot read the file: {exc.strerror}"))
    return sorted(seen.values(), key=lambda la: la.code)


def _add_observation(
    graph: Graph, gss: str, year: int, measure: URIRef, value: str | None, status: str
) -> None:
    obs = observation(gss, year, measure)
    graph.add((obs, RDF.type, URIRef(QB + "Observation")))
    graph.add((obs, URIRef(QB + "dataSet"), DATASET))
    graph.add((obs, EMMIE.refArea, area(gss)))
    graph.add((obs, EMMIE.refYear, Literal(year, datatype=XSD.integer)))
    # The SDMX dimensions beside ours, for clients that know only SDMX-RDF
    # (docs/decisions/0016-standard-properties-materialised.md).
    graph.add((obs, SDMX_DIMENSION.refArea, area(gss)))
    graph.add((obs, SDMX_DIMENSION.refPeriod, Literal(str(year), datatype=XSD.gYear)))
    graph.add((obs, URIRef(QB + "measureType"), measure))
    graph.add((obs, EMMIE.unitOfMeasure, concept("unit-of-measure", UNITS[measure])))
    graph.add((obs, EMMIE.observationStatus, concept("observation-status", status)))
    if value is not None:
        datatype = XSD.integer if measure in INTEGER_MEASURES else XSD.decimal
        graph.add((obs, measure, Literal(value, datatype=datatype)))


def _geography(graph: Graph, las: list[LocalAuthority]) -> None:
    england = area(ENGLAND)
    graph.add((england, RDF.type, EMMIE.Country))
    graph.add((england, RDFS.label, Literal("England", lang="en")))
    graph.add((england, EMMIE.gssCode, Literal(ENGLAND)))
    graph.add((england, EMMIE.dfeCode, Literal("999")))
    for letter, (gss, name) in REGIONS.items():
        region = area(gss)
        graph.add((region, RDF.type, EMMIE.Region))
        graph.add((region, RDFS.label, Literal(name, lang="en")))
        graph.add((region, EMMIE.gssCode, Literal(gss)))
        graph.add((region, EMMIE.dfeCode, Literal(letter)))
    for la in las:
        node = area(la.gss)
        graph.add((node, RDF.type, EMMIE.LocalAuthority))
        graph.add((node, RDFS.label, Literal(la.name, lang="en")))
        graph.add((node, EMMIE.gssCode, Literal(CODE_CHANGES.get(la.gss, la.gss))))
        if la.gss in CODE_CHANGES:
            graph.add((node, EMMIE.formerGssCode, Literal(la.gss)))
        graph.add((node, EMMIE.dfeCode, Literal(la.code)))
        graph.add((node, EMMIE.inRegion, area(la.region_gss)))


def _structure(graph: Graph) -> None:
    qb = {n: URIRef(QB + n) for n in ("dimension", "measure", "attribute", "component", "order")}
    graph.add((DATASET, RDF.type, URIRef(QB + "DataSet")))
    graph.add((DATASET, RDFS.label, Literal("Children looked after by local authority", lang="en")))
    graph.add((DATASET, URIRef(QB + "structure"), STRUCTURE))
    graph.add((STRUCTURE, RDF.type, URIRef(QB + "DataStructureDefinition")))
    components: list[tuple[str, URIRef, URIRef]] = [
        ("dimension", URIRef(QB + "DimensionProperty"), EMMIE.refArea),
        ("dimension", URIRef(QB + "DimensionProperty"), EMMIE.refYear),
        ("dimension", URIRef(QB + "DimensionProperty"), URIRef(QB + "measureType")),
        ("attribute", URIRef(QB + "AttributeProperty"), EMMIE.unitOfMeasure),
        ("attribute", URIRef(QB + "AttributeProperty"), EMMIE.observationStatus),
    ] + [("measure", URIRef(QB + "MeasureProperty"), m) for m in UNITS]
    for order, (role, kind, prop) in enumerate(components, start=1):
        name = str(prop).rsplit("#", 1)[1]
        spec = URIRef(f"{STRUCTURE}/{name}")
        graph.add((STRUCTURE, qb["component"], spec))
        graph.add((spec, RDF.type, URIRef(QB + "ComponentSpecification")))
        graph.add((spec, qb[role], prop))
        graph.add((spec, qb["order"], Literal(order, datatype=XSD.integer)))
        graph.add((prop, RDF.type, kind))


def _panel_graph(path: Path, las: list[LocalAuthority], problems: list[Problem]) -> Graph:
    graph = Graph()
    _structure(graph)
    _geography(graph, las)
    for number, row in _rows(path):
        if not row["rate_source"].startswith("derived"):
            continue
        value = row["cla_rate_per_10k_derived"]
        if not _is_number(value):
            problems.append(
                Problem(
                    str(path),
                    "not a number",
                    row=number,
                    column="cla_rate_per_10k_derived",
                    found=value,
                )
            )
            continue
        _add_observation(
            graph, row["gss_code"], int(row["year"]), EMMIE.lookedAfterRateDerived, value, "derived"
        )
    return graph


def _is_number(value: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", value) is not None


def _sfr_graph(path: Path, by_code: dict[str, LocalAuthority], problems: list[Problem]) -> Graph:
    match = SFR_NAME.search(path.name)
    assert match is not None
    kind, year = match.group(1), int(match.group(2))
    measure = MEASURES[kind]
    # The column names the year, except in the 2015 starts file (CLA_started2014): match on
    # the stem only and take the year from the file name.
    stem = {"CLA": "CLA_Mar", "ADM": "CLA_started", "CEA": "CLA_cease"}[kind]
    graph = Graph()
    column: str | None = None
    for number, row in _rows(path):
        if column is None:
            columns = [c for c in row if re.fullmatch(stem + r"(\d{4})?", c)]
            if len(columns) != 1:
                raise InputError(
                    [Problem(str(path), f"no single {stem}… column", found=str(columns))]
                )
            column = columns[0]
        level, code = row.get("geog_l", ""), row.get("geog_c", "")
        if level == "NATIONAL":
            gss = ENGLAND
        elif level == "REGION":
            gss = REGIONS[code][0]
        elif level == "LA" and code in by_code:
            gss = by_code[code].gss
        elif level == "LA" and code in EXCLUDED_LAS or not level:
            continue
        else:
            problems.append(
                Problem(str(path), "unknown area", row=number, column="geog_c", found=code)
            )
            continue
        value = row[column].replace(",", "")
        if value == "x":
            _add_observation(graph, gss, year, measure, None, "suppressed")
        elif value.isdigit():
            _add_observation(graph, gss, year, measure, value, "official")
        else:
            problems.append(
                Problem(
                    str(path),
                    "neither a count nor x (suppressed)",
                    row=number,
                    column=column,
                    found=value,
                )
            )
    return graph


def _national_series(path: Path) -> Graph:
    """England's count at 31 March in :data:`NATIONAL_SERIES_YEARS`, DfE's revised series."""
    graph = Graph()
    wanted = {str(y) for y in NATIONAL_SERIES_YEARS}
    found: set[str] = set()
    for number, row in _rows(path):
        if (
            row.get("geographic_level") != "National"
            or row.get("population_count") != "Children looked after at 31 March"
            or row.get("time_period") not in wanted
        ):
            continue
        value = row["number"].replace(",", "")
        if not value.isdigit():
            raise InputError(
                [Problem(str(path), "not a count", row=number, column="number", found=value)]
            )
        _add_observation(
            graph,
            ENGLAND,
            int(row["time_period"]),
            EMMIE.childrenLookedAfterRevisedSeries,
            value,
            "official",
        )
        found.add(row["time_period"])
    if found != wanted:
        missing = ", ".join(sorted(wanted - found))
        raise InputError([Problem(str(path), f"no national count for {missing}")])
    return graph


def _lait(path: Path, by_code: dict[str, LocalAuthority]) -> Graph:
    """Official rates and child poverty for the LAs of the panel, and the official rates of
    England and the regions (:data:`LAIT_AREAS`); ``-`` is "not available" (no observation);
    other areas (LAs outside the panel) are left out. An aggregate row whose name is not
    its area's stops the read."""
    graph = Graph()
    for number, row in _rows(path):
        measure = LAIT_MEASURES.get(row["measure_code"])
        if measure is None or row["value"] == "-":
            continue
        la = by_code.get(row["la_number"])
        if la is not None:
            gss = la.gss
        elif row["la_number"] in LAIT_AREAS and measure == EMMIE.lookedAfterRateOfficial:
            gss, name = LAIT_AREAS[row["la_number"]]
            if row["area_name"].lower() != name.lower():
                raise InputError(
                    [
                        Problem(
                            str(path),
                            f"area {row['la_number']} should be {name}",
                            row=number,
                            column="area_name",
                            found=row["area_name"],
                        )
                    ]
                )
        else:
            continue
        value = f"{float(row['value']):.1f}"
        _add_observation(graph, gss, int(row["year"]), measure, value, "official")
    return graph


def _imd(path: Path, las: list[LocalAuthority]) -> Graph:
    """IMD 2019 (2019 boundaries): Bournemouth, Poole and Dorset (merged in 2019) get none."""
    graph = Graph()
    by_gss = {CODE_CHANGES.get(la.gss, la.gss): la for la in las}
    for _, row in _rows(path):
        la = by_gss.get(row["Upper Tier Local Authority District code (2019)"])
        if la is not None:
            _add_observation(
                graph, la.gss, 2019, EMMIE.imdAverageScore, row["IMD - Average score"], "official"
            )
    return graph


def _normal(name: str) -> str:
    return " ".join(name.lower().replace(".", "").split())


def read_crosswalk(path: Path) -> dict[str, str | None]:
    """Ofsted name → DfE name (None: an LA outside the 2012–2017 set, with its reason)."""
    crosswalk: dict[str, str | None] = {}
    for _, row in _rows(path):
        crosswalk[row["ofsted_name"]] = row["dfe_name"] or None
    return crosswalk


def _ofsted(path: Path, crosswalk_path: Path, las: list[LocalAuthority]) -> Graph:
    crosswalk = read_crosswalk(crosswalk_path)
    by_name = {la.name: la for la in las}
    graph = Graph()
    for number, row in _rows(path):
        name = row["Local authority name"]
        if name in by_name:
            la = by_name[name]
        elif name in crosswalk:
            target = crosswalk[name]
            if target is None:
                continue
            if target not in by_name:
                raise UnmatchedName(
                    [
                        Problem(
                            str(crosswalk_path),
                            "crosswalk names no LA",
                            column="dfe_name",
                            found=target,
                        )
                    ]
                )
            la = by_name[target]
        else:
            raise UnmatchedName(
                [
                    Problem(
                        str(path),
                        f"Ofsted name matches no local authority; add it to {CROSSWALK_FILE}",
                        row=number,
                        column="Local authority name",
                        found=name,
                    )
                ]
            )
        judgement = row["First SIF Overall Judgement (OE)"]
        if not judgement:
            continue
        gss = CODE_CHANGES.get(la.gss, la.gss)
        node = resource("ofsted-inspection", f"{gss}/first-sif")
        graph.add((node, RDF.type, EMMIE.OfstedInspection))
        graph.add((node, RDFS.label, Literal(f"First SIF inspection of {la.name}", lang="en")))
        graph.add((node, EMMIE.inspectedAuthority, area(la.gss)))
        graph.add(
            (node, EMMIE.inspectionFramework, Literal("first single inspection framework (SIF)"))
        )
        graph.add((node, EMMIE.ofstedJudgement, concept("ofsted-judgement", JUDGEMENTS[judgement])))
        date = row["Single Inspection of LA Children's Services (SIF)  First SIF publication date"]
        if date:
            graph.add((node, EMMIE.inspectionYear, Literal(int(date[:4]), datatype=XSD.integer)))
    return graph


def _programme(path: Path, by_code: dict[str, LocalAuthority]) -> Graph:
    graph = Graph()
    for number, row in _rows(path):
        la = by_code.get(row["la_code_old"])
        if la is None:
            raise InputError(
                [
                    Problem(
                        str(path),
                        "no such LA",
                        row=number,
                        column="la_code_old",
                        found=row["la_code_old"],
                    )
                ]
            )
        slug = re.sub(r"[^a-z0-9]+", "-", row["project"].lower()).strip("-")[:60]
        node = resource("programme-participation", f"{slug}/{CODE_CHANGES.get(la.gss, la.gss)}")
        successor = "successor programme" in row["funding_or_note"].lower()
        graph.add((node, RDF.type, EMMIE.ProgrammeParticipation))
        graph.add((node, RDFS.label, Literal(f"{row['project']}: {la.name}", lang="en")))
        graph.add((node, EMMIE.participant, area(la.gss)))
        graph.add((node, EMMIE.programmeRound, Literal(row["programme_round"])))
        graph.add((node, EMMIE.successorProgramme, Literal(successor)))
        graph.add((node, EMMIE.listCompleteness, concept("verification", "partial")))
        for url in filter(None, (u.strip() for u in row["source_url"].split(";"))):
            graph.add((node, EMMIE.sourcePage, Literal(url)))
    return graph


__all__ = ["UnmatchedName", "area", "observation", "read_crosswalk", "read_statistics"]
