"""Mapping records to RDF: a pure function with deterministic IRIs.

The same records always give the same graph: every node is an IRI built from the coder's
keys (``https://w3id.org/whatworks/id/{kind}/{key}``, sub-nodes with a suffix such as
``/estimate``), never a blank node. Beside the graph the mapper returns a *trace*, so a
SHACL result about a node and property can be reported against the sheet cell it came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from whatworks.core.namespaces import BIBO, FABIO, ID, OBO, concept, resource
from whatworks.core.vocab import EMMIE

from .coding_sheet import SHEETS_BY_NAME, Column, Kind, Sheet
from .records import Record, Value

#: Class of each sub-node, and the property linking the record to it.
SUB_NODES: dict[str, tuple[URIRef, URIRef]] = {
    "work": (EMMIE.Work, EMMIE.reportedIn),
    "estimate": (EMMIE.EffectEstimate, EMMIE.effectEstimate),
    "measure": (EMMIE.OutcomeMeasure, EMMIE.outcomeMeasure),
    "population": (EMMIE.Population, EMMIE.population),
    "context": (EMMIE.Context, EMMIE.context),
}

#: FaBiO class of each work type.
WORK_CLASSES: dict[str, URIRef] = {
    "journal_article": FABIO.JournalArticle,
    "report": FABIO.ReportDocument,
    "web_page": FABIO.WebPage,
    "conference_abstract": FABIO.ConferencePaper,
    "book_chapter": FABIO.BookChapter,
    "thesis": FABIO.Thesis,
    "other": FABIO.Expression,
}

#: STATO class of each effect statistic that has one (checked against the ontology's
#: skos:exactMatch in the tests).
STATISTIC_CLASSES: dict[str, URIRef] = {
    "odds_ratio": OBO.STATO_0000182,
    "risk_ratio": OBO.STATO_0000245,
    "risk_difference": OBO.STATO_0000424,
    "smd": OBO.STATO_0000100,
    "hedges_g": OBO.STATO_0000319,
    "mean_difference": OBO.STATO_0000457,
}

ROLE_CLASSES: dict[str, URIRef] = {
    "facilitator": EMMIE.Facilitator,
    "barrier": EMMIE.Barrier,
}


@dataclass(frozen=True)
class CellRef:
    """Where a node came from: file, sheet and row; the sub-node it is (\"\" for the record)."""

    file: str
    sheet: Sheet
    sheet_label: str
    row: int
    node: str
    raw: dict[str, str]


@dataclass
class Mapped:
    """The graph built from some records, and where each node came from."""

    graph: Graph
    base: str = str(ID)
    origins: dict[URIRef, CellRef] = field(default_factory=dict)
    #: The records' own IRIs (not sub-nodes), in input order.
    subjects: list[tuple[URIRef, CellRef]] = field(default_factory=list)

    def column_for(self, node: URIRef, path: URIRef | None) -> Column | None:
        """The sheet column that produced property ``path`` of ``node``, if any."""
        origin = self.origins.get(node)
        if origin is None or path is None:
            return None
        for col in origin.sheet.columns:
            if col.node == origin.node and col.prop and property_iri(col.prop) == path:
                return col
        if path in (RDF.type,):
            return None
        if path == EMMIE.approximateNumber and origin.sheet.name == "findings":
            return origin.sheet.column("approximate")  # mapped by _special
        # A link to a sub-node (e.g. emmie:effectEstimate) comes from the sub-node's columns.
        for suffix, (_, link) in SUB_NODES.items():
            if link == path:
                for col in origin.sheet.columns:
                    if col.node == suffix:
                        return col
        return None


def property_iri(name: str) -> URIRef:
    """The property a column's ``prop`` names: a CURIE, or a local name in emmie."""
    if name.startswith("rdfs:"):
        return RDFS[name[5:]]
    if name.startswith("dcterms:"):
        return URIRef(str(DCTERMS) + name[8:])
    return EMMIE[name]


def record_iri(record: Record, base: str = str(ID)) -> URIRef:
    return resource(record.sheet.kind, record.key, base=base)


def map_records(records: Iterable[Record], *, base: str = str(ID)) -> Mapped:
    """Build the RDF graph of ``records``, minting IRIs under ``base``.

    Pure: no I/O, and the same records always give the same graph.
    """
    graph = Graph()
    mapped = Mapped(graph, base=base)
    add = graph.add
    for record in records:
        sheet = record.sheet
        subject = record_iri(record, base)
        origin = CellRef(record.file, sheet, record.sheet_label, record.row, "", record.raw)
        mapped.origins[subject] = origin
        mapped.subjects.append((subject, origin))
        add((subject, RDF.type, EMMIE[sheet.rdf_class]))
        nodes: dict[str, URIRef] = {"": subject}
        for col in sheet.columns:
            value = record.values.get(col.name)
            if value is None or not col.prop:
                continue
            node = nodes.get(col.node)
            if node is None:
                node = _sub_node(mapped, record, subject, col.node)
                nodes[col.node] = node
            pred = property_iri(col.prop)
            for item in value if isinstance(value, tuple) else (value,):
                add((node, pred, _term(col, item, base)))
        _special(mapped, record, subject, nodes)
    return mapped


def references(record: Record, *, base: str = str(ID)) -> list[URIRef]:
    """The IRIs of the records that ``record``'s reference columns name: the objects
    :func:`map_records` links it to them with (so without mapping the record)."""
    found: list[URIRef] = []
    for col in record.sheet.reference_columns:
        value = record.values.get(col.name)
        if not col.prop or value is None:
            continue
        for item in value if isinstance(value, tuple) else (value,):
            found.append(resource(SHEETS_BY_NAME[col.target].kind, str(item), base=base))
    return found


def work_doi(record: Record, *, base: str = str(ID)) -> tuple[URIRef, Literal] | None:
    """The work node of a study record and its ``emmie:doi``, as :func:`map_records` maps
    them (so without mapping the record); None when the record gives no DOI."""
    doi = record.values.get("doi")
    if doi is None or record.sheet.name != "studies":
        return None
    term = _term(record.sheet.column("doi"), doi, base)  # type: ignore[arg-type]
    assert isinstance(term, Literal)
    return resource("work", record.key, base=base), term


#: The properties that link a record to its sub-nodes.
SUB_NODE_LINKS: tuple[URIRef, ...] = tuple(link for _, link in SUB_NODES.values())


def _sub_node(mapped: Mapped, record: Record, subject: URIRef, suffix: str) -> URIRef:
    node = (
        resource("work", record.key, base=mapped.base)
        if suffix == "work"
        else URIRef(f"{subject}/{suffix}")
    )
    cls, link = SUB_NODES[suffix]
    mapped.graph.add((subject, link, node))
    mapped.graph.add((node, RDF.type, cls))
    mapped.origins[node] = CellRef(
        record.file, record.sheet, record.sheet_label, record.row, suffix, record.raw
    )
    return node


def _special(mapped: Mapped, record: Record, subject: URIRef, nodes: dict[str, URIRef]) -> None:
    """The columns whose meaning is more than one property (see the coding-sheet reference)."""
    graph = mapped.graph
    values = record.values
    name = record.sheet.name
    if name == "studies":
        label = values.get("label") or values["title"]
        if "label" not in values:
            graph.add((subject, RDFS.label, Literal(label)))
        work_type = values.get("work_type")
        if isinstance(work_type, str):
            graph.add((nodes["work"], RDF.type, WORK_CLASSES[work_type]))
        doi = values.get("doi")
        if isinstance(doi, str):
            # The standard property beside ours, for clients that know only BIBO
            # (docs/decisions/0016-standard-properties-materialised.md).
            graph.add((nodes["work"], BIBO.doi, Literal(doi)))
    elif name == "findings":
        measure = nodes.get("measure") or _sub_node(mapped, record, subject, "measure")
        outcome = values.get("outcome")
        if isinstance(outcome, str):
            graph.add((measure, EMMIE.measuresOutcome, concept("outcome", outcome)))
        if "outcome_role" not in values and "secondary_outcome" not in values:
            # A care outcome's role follows from the proxy flag; a secondary outcome's role
            # (intermediate or not) is the coder's to say (the shapes ask for it).
            derived_role = "proxy" if values.get("proxy") is True else "care"
            graph.add((subject, EMMIE.outcomeRole, concept("outcome-role", derived_role)))
        approximate = values.get("approximate")
        for column in approximate if isinstance(approximate, tuple) else ():
            prop = record.sheet.column(str(column)).prop
            graph.add((subject, EMMIE.approximateNumber, property_iri(prop)))
        estimate = nodes.get("estimate")
        statistic = values.get("statistic")
        if estimate is not None and isinstance(statistic, str) and statistic in STATISTIC_CLASSES:
            graph.add((estimate, RDF.type, STATISTIC_CLASSES[statistic]))
    elif name == "emmie":
        quality = values.get("quality")
        if isinstance(quality, str):
            ladder = f"emmie-q-{values['dimension']}"
            graph.add((subject, EMMIE.qualityLevel, concept(ladder, quality)))
    elif name == "implementation":
        role = values.get("role")
        if isinstance(role, str):
            graph.add((subject, RDF.type, ROLE_CLASSES[role]))
        if values.get("source_kind") == "interview":
            graph.add((subject, RDF.type, EMMIE.InterviewTheme))


def _term(col: Column, value: Value, base: str) -> URIRef | Literal:
    kind = col.kind
    if kind is Kind.CONCEPT:
        return concept(col.scheme, str(value))
    if kind is Kind.REF:
        return resource(SHEETS_BY_NAME[col.target].kind, str(value), base=base)
    if isinstance(value, bool):
        return Literal(value, datatype=XSD.boolean)
    if isinstance(value, int):
        return Literal(value, datatype=XSD.integer)
    if isinstance(value, Decimal):
        return Literal(value, datatype=XSD.decimal)
    if isinstance(value, date):
        return Literal(value, datatype=XSD.date)
    return Literal(value)
