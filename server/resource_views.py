"""From a resource's description graph to what its HTML page shows, and its schema.org
JSON-LD. A study's page lists the evidence records that cite it (findings, EMMIE codings,
mechanisms, moderators, ...) with their parts and provenance; other resources get the same
layout with whatever cites them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV
from rdflib.term import Node

from whatworks.core.namespaces import BASE, CONCEPT, EMMIE_NS, ID

from .citation import author_year
from .page_data import label as term_label
from .svg_charts import interval_svg

#: Evidence kinds in the order a study page lists them.
SECTIONS = (
    ("Finding", "Findings"),
    ("EmmieCoding", "EMMIE coding"),
    ("Mechanism", "Mechanisms"),
    ("Moderator", "Moderators"),
    ("ImplementationFactor", "Implementation"),
    ("EconomicEvidence", "Economic evidence"),
    ("CMOConfiguration", "Context-mechanism-outcome"),
    ("SurveyProportion", "Survey proportions"),
    ("AreaAssociation", "Area-level associations"),
    ("AreaTrend", "Area-level trends"),
    ("ReportedStatistic", "Reported statistics"),
    ("Study", "Studies"),
    ("Work", "Works"),
    ("EvidenceRating", "Evidence tiers, computed by rule"),
    ("DesignRating", "Design ratings, computed by rule"),
)
#: The section of findings on intermediate outcomes, evidence about a mechanism.
MECHANISM_EVIDENCE = "Mechanism evidence (intermediate outcomes)"
#: The section of an intervention's page listing the interventions it is a variant of, and
#: its own variants: each links to its page, with its evidence.
FAMILY = "Programme family (variants)"
#: The kinds of rating whatworks computes by rule (docs/evidence-ratings.md): their cards
#: say so, so that they are never taken for a curator's rating.
COMPUTED = ("EvidenceRating", "DesignRating")
#: Shown elsewhere on the card (or not at all): never in its property table.
HIDDEN = {RDF.type, PROV.wasDerivedFrom, EMMIE_NS.key}


def local_href(iri: object) -> str | None:
    """The path this server serves ``iri`` at, for IRIs it mints; else None."""
    text = str(iri)
    return "/id/" + text[len(str(ID)) :] if text.startswith(str(ID)) else None


@dataclass
class Value:
    text: str
    href: str | None = None
    external: bool = False


@dataclass
class Card:
    iri: str
    href: str | None
    kind: str
    title: str
    properties: list[tuple[str, list[Value]]]
    parts: list[tuple[str, list[tuple[str, list[Value]]]]] = field(default_factory=list)
    provenance: list[tuple[str, list[Value]]] = field(default_factory=list)
    effect: str = ""
    chart: str = ""
    #: "computed by rule" on a rating whatworks computed; "" otherwise.
    computed: str = ""
    #: The rule a computed rating follows, as a link.
    rule: Value | None = None


def study_citation(graph: Graph, node: Node) -> str:
    """A study named by its authors and year (``Fonagy et al. 2018``), from the work that
    reports it; "" when the graph holds neither."""
    work = graph.value(node, EMMIE_NS.reportedIn)
    if work is None:
        return ""
    return author_year(
        str(graph.value(work, EMMIE_NS.authors) or ""), graph.value(work, EMMIE_NS.publicationYear)
    )


def _name(graph: Graph, node: Node) -> str:
    if (node, RDF.type, EMMIE_NS.Study) in graph:
        cited = study_citation(graph, node)
        label = graph.value(node, RDFS.label)
        if cited:
            return f"{cited}: {label}" if label is not None else cited
    for predicate in (RDFS.label, DCTERMS.title, EMMIE_NS.summary):
        found = graph.value(node, predicate)
        if found is not None:
            return str(found)
    if str(node).startswith(str(ID)):
        return str(node)[len(str(ID)) :]
    return term_label(node)


def _value(graph: Graph, node: Node) -> Value:
    if isinstance(node, Literal):
        python = node.toPython()
        if isinstance(python, bool):
            return Value("yes" if python else "no")
        text = str(node)
        if text.startswith(("http://", "https://")):
            return Value(text, text, external=True)
        return Value(text)
    href = local_href(node)
    if href:
        return Value(_name(graph, node), href)
    if str(node).startswith(str(CONCEPT)) or str(node).startswith(BASE):
        return Value(term_label(node))
    if str(node).startswith(("http://", "https://")) and term_label(node) == _last(node):
        return Value(str(node), str(node), external=True)  # e.g. a rule's published source
    return Value(term_label(node) if term_label(node) != str(node) else str(node))


def _last(node: Node) -> str:
    return str(node).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _properties(graph: Graph, node: Node, *, skip: set[Node]) -> list[tuple[str, list[Value]]]:
    rows: dict[str, list[Value]] = {}
    for predicate, obj in sorted(graph.predicate_objects(node), key=str):
        if predicate in HIDDEN or predicate in skip:
            continue
        if isinstance(obj, URIRef) and str(obj).startswith(str(node) + "/"):
            continue  # a part: shown as its own table
        rows.setdefault(term_label(predicate), []).append(_value(graph, obj))
    if str(EMMIE_NS.doi) in {str(p) for p in graph.predicates(node)}:
        doi = str(graph.value(node, EMMIE_NS.doi))
        rows[term_label(EMMIE_NS.doi)] = [Value(doi, "https://doi.org/" + doi, external=True)]
    return list(rows.items())


def _kind(graph: Graph, node: Node) -> str:
    for name, _ in SECTIONS:
        if (node, RDF.type, EMMIE_NS[name]) in graph:
            return name
    types = sorted(graph.objects(node, RDF.type), key=str)
    return term_label(types[0]) if types else "Resource"


def _provenance(graph: Graph, node: Node) -> list[tuple[str, list[Value]]]:
    out: list[tuple[str, list[Value]]] = []
    for row in sorted(graph.objects(node, PROV.wasDerivedFrom), key=str):
        source = graph.value(row, DCTERMS.isPartOf)
        if source is None and graph.value(row, EMMIE_NS.rowNumber) is None:
            # not a source row: a record a computed result was derived from
            out.append(("derived from", [_value(graph, row)]))
            continue
        file_name = str(graph.value(source, DCTERMS.title)) if source is not None else "?"
        sheet = graph.value(row, EMMIE_NS.sheetName)
        number = graph.value(row, EMMIE_NS.rowNumber)
        where = (
            f"{file_name}, sheet {sheet}, row {number}" if sheet else f"{file_name}, row {number}"
        )
        out.append(("source", [Value(where, local_href(source) if source is not None else None)]))
    study = graph.value(node, EMMIE_NS.fromStudy)
    holder = study if study is not None else node
    verification = graph.value(holder, EMMIE_NS.verification)
    if verification is not None:
        out.append(("verification", [Value(term_label(verification))]))
    where_read = [
        _value(graph, w) for w in sorted(graph.objects(node, EMMIE_NS.whereRead), key=str)
    ]
    if where_read:
        out.append(("where read", where_read))
    coded = [
        str(v) for v in (graph.value(node, EMMIE_NS.codedBy), graph.value(node, DCTERMS.date)) if v
    ]
    if coded:
        out.append(("coded", [Value(" on ".join(coded))]))
    return out


def _effect(graph: Graph, node: Node) -> tuple[str, str]:
    estimate = next(
        (o for o in graph.objects(node) if (o, RDF.type, EMMIE_NS.EffectEstimate) in graph), None
    )
    if estimate is None:
        return "", ""
    value = graph.value(estimate, EMMIE_NS.value)
    if value is None:
        return "", ""
    statistic = graph.value(estimate, EMMIE_NS.statistic)
    lower = graph.value(estimate, EMMIE_NS.ciLower)
    upper = graph.value(estimate, EMMIE_NS.ciUpper)
    level = graph.value(estimate, EMMIE_NS.ciLevel)
    text = f"{term_label(statistic) if statistic else 'estimate'} {value}"
    if lower is not None and upper is not None:
        percent = f"{float(str(level)) * 100:g}% " if level is not None else ""
        text += f" ({percent}CI {lower} to {upper})"
    ratio = statistic is not None and str(statistic).endswith("ratio")
    chart = interval_svg(
        float(str(value)),
        float(str(lower)) if lower is not None else None,
        float(str(upper)) if upper is not None else None,
        ratio=ratio,
    )
    return text, chart


def card(graph: Graph, node: Node) -> Card:
    kind = _kind(graph, node)
    title = ""
    for predicate in (RDFS.label, DCTERMS.title, EMMIE_NS.summary, EMMIE_NS.evidenceSummary):
        if graph.value(node, predicate) is not None:
            title = str(graph.value(node, predicate))
            break
    parts = [
        (term_label(p), _properties(graph, o, skip=set()))
        for p, o in sorted(graph.predicate_objects(node), key=str)
        if isinstance(o, URIRef) and str(o).startswith(str(node) + "/")
    ]
    effect, chart = _effect(graph, node)
    if kind == "EmmieCoding" and graph.value(node, EMMIE_NS.qualityLevel) is None:
        effect = "EMMIE-Q level: not rated by a curator"
    computed, rule = "", None
    if kind in COMPUTED:
        computed = "computed by rule, not a curator's rating"
        found = graph.value(node, EMMIE_NS.ratingRule)
        if found is not None:
            rule = _value(graph, found)
        level = graph.value(node, EMMIE_NS.ratingLevel)
        effect = term_label(level) if level is not None else "no level"
    elif kind == "Study":
        title = _name(graph, node)
    return Card(
        iri=str(node),
        href=local_href(node),
        kind=term_label(EMMIE_NS[kind]) if kind[0].isupper() and " " not in kind else kind,
        title=title or _name(graph, node),
        properties=_properties(graph, node, skip=set()),
        parts=parts,
        provenance=_provenance(graph, node),
        effect=effect,
        chart=chart,
        computed=computed,
        rule=rule,
    )


def schema_org(graph: Graph, node: URIRef, kind: str, title: str, href: str) -> str:
    """schema.org JSON-LD for the page (safe to embed in a script element)."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@id": str(node),
        "@type": "ResearchProject" if kind == "Study" else "Thing",
        "name": title,
        "url": href,
        "identifier": str(node),
    }
    description = graph.value(node, DCTERMS.description) or graph.value(node, EMMIE_NS.summary)
    if description is not None:
        data["description"] = str(description)
    work = graph.value(node, EMMIE_NS.reportedIn)
    if kind == "Work":
        work = node
    if work is not None:
        article: dict[str, Any] = {"@type": "ScholarlyArticle", "@id": str(work)}
        for key, predicate in (
            ("name", DCTERMS.title),
            ("author", EMMIE_NS.authors),
            ("datePublished", EMMIE_NS.publicationYear),
            ("isPartOf", EMMIE_NS.venue),
        ):
            found = graph.value(work, predicate)
            if found is not None:
                article[key] = str(found)
        doi = graph.value(work, EMMIE_NS.doi)
        if doi is not None:
            article["sameAs"] = f"https://doi.org/{doi}"
        if kind == "Work":
            data.update({k: v for k, v in article.items() if k != "@id"})
            data["@type"] = "ScholarlyArticle"
        else:
            data["citation"] = article
    country = graph.value(node, EMMIE_NS.country)
    if country is not None:
        data["spatialCoverage"] = str(country)
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _cites(graph: Graph, record: Node, node: Node, kind: str) -> bool:
    """Whether ``record`` (of ``kind``) is listed on ``node``'s page."""
    if kind == "DesignRating":
        # on its finding's page and its study's, not its intervention's (the tiers are there)
        finding = graph.value(record, EMMIE_NS.aboutFinding)
        return finding == node or (
            finding is not None and (finding, EMMIE_NS.fromStudy, node) in graph
        )
    return (
        any(
            (record, p, node) in graph
            for p in (
                EMMIE_NS.fromStudy,
                EMMIE_NS.aboutIntervention,
                EMMIE_NS.evaluates,
                EMMIE_NS.evidencesMechanism,
            )
        )
        or (record, EMMIE_NS.reportedIn, node) in graph
        or (node, EMMIE_NS.reportedIn, record) in graph
    )


def page_model(graph: Graph, node: URIRef) -> dict[str, Any]:
    """Everything ``resource.html`` shows for ``node``."""
    main = card(graph, node)
    kind = _kind(graph, node)
    cited_by: dict[str, list[Card]] = {}
    for name, heading in SECTIONS:
        items = [
            s
            for s in sorted(set(graph.subjects(RDF.type, EMMIE_NS[name])), key=str)
            if s != node and _cites(graph, s, node, name)
        ]
        if name == "Finding":
            # A finding on an intermediate outcome is evidence about a mechanism: listed
            # beside the mechanisms, not among the effects on care outcomes.
            evidence = [s for s in items if (s, EMMIE_NS.evidencesMechanism, None) in graph]
            items = [s for s in items if s not in evidence]
            if evidence:
                cited_by[MECHANISM_EVIDENCE] = [card(graph, s) for s in evidence]
        if items:
            cited_by[heading] = [card(graph, s) for s in items]
    if (node, RDF.type, EMMIE_NS.Intervention) in graph:
        family = {s for s in graph.subjects(EMMIE_NS.variantOf, node)} | {
            o for o in graph.objects(node, EMMIE_NS.variantOf) if isinstance(o, URIRef)
        }
        family.discard(node)
        if family:
            cited_by[FAMILY] = [card(graph, s) for s in sorted(family, key=str)]
    if MECHANISM_EVIDENCE in cited_by:
        # After the mechanisms (or where they would be).
        order = [h for _, h in SECTIONS]
        place = order.index("Mechanisms") + 0.5
        cited_by = dict(
            sorted(
                cited_by.items(),
                key=lambda item: (
                    place
                    if item[0] == MECHANISM_EVIDENCE
                    else (order.index(item[0]) if item[0] in order else len(order))
                ),
            )
        )
    if kind == "Study" and "EMMIE coding" not in cited_by:
        cited_by["EMMIE coding"] = []
    href = local_href(node) or ""
    return {
        "main": main,
        "kind": kind,
        "sections": cited_by,
        "formats": [
            ("Turtle", href + ".ttl"),
            ("JSON-LD", href + ".jsonld"),
            ("N-Triples", href + ".nt"),
            ("RDF/XML", href + ".rdf"),
        ],
        "jsonld": schema_org(graph, node, kind, main.title, href),
    }
