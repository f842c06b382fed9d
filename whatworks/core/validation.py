"""Validate what the ingest built against the whatworks SHACL shapes, before it is stored.

One entry point, :func:`validate`. It runs pySHACL with the shapes in
``shapes/emmie-shapes.ttl`` (shipped as package data ``whatworks.shapes``) and returns a
:class:`ValidationReport` read from pySHACL's results graph.

Example (synthetic data)::

    >>> from rdflib import Graph
    >>> data = Graph().parse(format="turtle", data='''
    ...     @prefix emmie: <https://w3id.org/whatworks/emmie#> .
    ...     <https://w3id.org/whatworks/synthetic/id/work/w1> a emmie:Work ;
    ...         emmie:doi "https://doi.org/10.5555/synthetic.1" .
    ... ''')
    >>> report = validate(data)
    >>> report.conforms
    False
    >>> [result.shape_id for result in report.results]
    ['WW-WORK-001', 'WW-WORK-008']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RDFLiteral
from rdflib.namespace import DCTERMS, RDF, SH
from rdflib.query import Processor, Result
from rdflib.term import IdentifiedNode, Identifier, Node

from whatworks.core.compiled_shapes import Compiled, Hit, NotCompiled, compile_shapes, run
from whatworks.core.engine import from_ox

if TYPE_CHECKING:
    from rdflib.plugins.sparql.sparql import Query

# pySHACL (and rdflib's SPARQL engine, which it uses) are imported when something is
# validated: an ingest that changes nothing does not validate, and need not import them.

__all__ = [
    "ENGINES",
    "SHAPES_RESOURCE",
    "ShapesError",
    "Severity",
    "ValidationError",
    "ValidationReport",
    "ValidationResult",
    "ValidatorError",
    "validate",
    "validate_triples",
]

SHAPES_PACKAGE = "whatworks.shapes"
SHAPES_RESOURCE = "emmie-shapes.ttl"

Severity = Literal["Violation", "Warning", "Info"]
_SEVERITIES: Mapping[Node, Severity] = {
    SH.Violation: "Violation",
    SH.Warning: "Warning",
    SH.Info: "Info",
}


class ValidationError(Exception):
    """Validation itself could not run (a problem of ours, never of the data)."""


class ShapesError(ValidationError):
    """The shapes file is missing from the package or is not valid Turtle."""


class ValidatorError(ValidationError):
    """pySHACL failed while validating, or returned a report that cannot be read."""


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL result: a focus node that breaks one shape.

    ``path`` is the property checked (None for results without a single-property path);
    ``value`` is the offending value when the shape names one; ``shape_id`` is the shape's
    stable ID (e.g. ``"WW-FIND-003"``) and ``message`` its one message, which starts with it.
    """

    focus_node: IdentifiedNode
    path: URIRef | None
    value: Node | None
    shape: URIRef
    shape_id: str
    severity: Severity
    message: str

    def to_dict(self) -> dict[str, Any]:
        """This result as JSON-serialisable values; RDF terms as in SPARQL 1.1 JSON results."""
        return {
            "focus_node": _term_to_json(self.focus_node),
            "path": None if self.path is None else str(self.path),
            "value": None if self.value is None else _term_to_json(self.value),
            "shape": str(self.shape),
            "shape_id": self.shape_id,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of :func:`validate`: ``conforms`` is True iff no result is a Violation."""

    conforms: bool
    results: tuple[ValidationResult, ...]

    @property
    def violations(self) -> tuple[ValidationResult, ...]:
        """The results of severity Violation."""
        return tuple(r for r in self.results if r.severity == "Violation")

    @property
    def warnings(self) -> tuple[ValidationResult, ...]:
        """The results of severity Warning (advisory)."""
        return tuple(r for r in self.results if r.severity == "Warning")

    def to_dict(self) -> dict[str, Any]:
        """This report as a JSON-serialisable dict (what ``to_json`` serialises)."""
        return {
            "conforms": self.conforms,
            "violations": len(self.violations),
            "warnings": len(self.warnings),
            "results": [r.to_dict() for r in self.results],
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """This report as a JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


#: How :func:`validate` runs the shapes: ``compiled`` (the default,
#: :mod:`whatworks.core.compiled_shapes`) or ``pyshacl`` (the reference it is held to).
ENGINES = ("compiled", "pyshacl")
Engine = Literal["compiled", "pyshacl"]


def validate(
    data: Graph,
    *,
    context: Graph | None = None,
    focus_nodes: Iterable[URIRef] | None = None,
    engine: Engine = "compiled",
) -> ValidationReport:
    """Validate ``data`` against the whatworks shapes.

    Args:
        data: the triples to check (typically what one ingest run built, not yet stored).
        context: triples from elsewhere that the shapes must see, e.g. the ``rdf:type`` of
            studies already in the store so that ``emmie:fromStudy`` links to them pass
            ``sh:class``. They are validated together with ``data``, but results whose focus
            node is not a subject in ``data`` are dropped: context nodes' own problems are
            not reported.
        focus_nodes: if given, only these nodes are validated (each still against every
            shape that targets it). An empty iterable validates nothing. Meant for a few
            nodes with pySHACL, which looks each target up in a list.
        engine: ``"compiled"`` (default): the shapes compiled into checks over an index of
            the data and SPARQL run by Oxigraph (:mod:`whatworks.core.compiled_shapes`),
            the same results as pySHACL in a fraction of the time; ``"pyshacl"``: pySHACL,
            the reference the compiled checks are tested against.

    Returns:
        A report whose ``conforms`` is True iff no result has severity Violation (advisory
        Warnings do not break conformance). Results are sorted by focus node, shape ID, path
        and value.

    Raises:
        TypeError: ``data`` or ``context`` is not an rdflib Graph, or a focus node is not a
            URIRef.
        ShapesError: the shapes file is missing from the package or is not valid Turtle.
        ValidatorError: pySHACL failed, or its results graph could not be read.
        ValueError: ``engine`` is not one of :data:`ENGINES`.
    """
    if not isinstance(data, Graph):
        raise TypeError(f"data must be an rdflib Graph, not {type(data).__name__}")
    if context is not None and not isinstance(context, Graph):
        raise TypeError(f"context must be an rdflib Graph or None, not {type(context).__name__}")
    focus: list[str | URIRef] | None = None  # pySHACL's parameter type
    if focus_nodes is not None:
        focus = list(focus_nodes)
        for node in focus:
            if not isinstance(node, URIRef):
                raise TypeError(f"focus nodes must be URIRefs, not {type(node).__name__}")
        if not focus:
            # pySHACL reads an empty focus list as "validate everything".
            return ValidationReport(conforms=True, results=())

    shape_triples, shape_ids = _shapes()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "compiled":
        compiled = _compiled()
        if compiled is not None:
            try:
                results = _run_compiled(compiled, data, context, focus, shape_ids)
            except NotCompiled:
                pass  # data the compiled checks cannot take (blank nodes): pySHACL below
            else:
                return _report(results, data, context)

    import pyshacl
    from pyshacl.errors import ReportableRuntimeError

    # pySHACL mutates the shapes graph it is given: build a fresh one for every call.
    shapes = Graph()
    shapes.addN((s, p, o, shapes) for s, p, o in shape_triples)

    # Validate through a view that shares the caller's triple store (no copy: copying
    # was a third of the time at 100k triples) and parses each SPARQL constraint only once.
    # With inference off pySHACL only reads the data graph. Context triples are added for
    # the run and removed afterwards, leaving the caller's graph as it was.
    target = _QueryCachingGraph(store=data.store, identifier=data.identifier)
    added = [t for t in context.triples((None, None, None)) if t not in data] if context else []
    target.addN((s, p, o, target) for s, p, o in added)

    try:
        _conforms, report_graph, _text = pyshacl.validate(
            target,
            shacl_graph=shapes,
            inference="none",
            # SHACL-SPARQL constraints (sh:sparql) are part of SHACL, not SHACL-AF:
            # pySHACL runs them without advanced mode, which would also clone the data.
            advanced=False,
            allow_warnings=True,
            inplace=True,
            focus_nodes=focus,
        )
    except ReportableRuntimeError as exc:
        raise ValidatorError(f"pySHACL could not validate: {exc}") from exc
    finally:
        for triple in added:
            target.remove(triple)
    if not isinstance(report_graph, Graph):
        raise ValidatorError(f"pySHACL returned no results graph: {report_graph!r}")

    return _report(_read_results(report_graph, shape_ids), data, context)


def _report(
    results: list[ValidationResult], data: Graph, context: Graph | None
) -> ValidationReport:
    if context is not None:
        in_data = set(data.subjects(unique=True))
        results = [r for r in results if r.focus_node in in_data]
    results.sort(key=_sort_key)
    return ValidationReport(
        conforms=not any(r.severity == "Violation" for r in results),
        results=tuple(results),
    )


@lru_cache(maxsize=1)
def _compiled() -> Compiled | None:
    """The shapes compiled, once a process, or None when one uses SHACL that is not
    compiled (then pySHACL validates; ``tests/shapes/test_compiled_shapes.py`` fails, so
    that it is noticed)."""
    try:
        return compile_shapes(_shapes()[0])
    except NotCompiled:
        return None


def validate_triples(
    triples: Sequence[_Triple], *, context: Iterable[_Triple] = ()
) -> ValidationReport:
    """:func:`validate` with the compiled shapes, of ``triples`` as they are (no rdflib
    graph is built: reading a store of a million triples into one took half of its
    validation). ``context`` is as for :func:`validate`: seen, not reported on.

    Raises:
        ShapesError: the shapes file is missing or is not valid Turtle.
        ValidatorError: a shape is not compiled, or a SPARQL constraint's focus node is a
            blank node (:func:`validate` with pySHACL then).
    """
    _, shape_ids = _shapes()
    compiled = _compiled()
    if compiled is None:
        raise ValidatorError("the shapes are not all compiled: validate with pySHACL")
    subjects = {s for s, _, _ in triples}
    everything = [*triples, *context]
    try:
        hits = run(compiled, everything)
    except NotCompiled as exc:
        raise ValidatorError(f"the compiled shapes cannot take this data ({exc})") from exc
    results = _results(compiled, hits, shape_ids)
    results = [r for r in results if r.focus_node in subjects]
    results.sort(key=_sort_key)
    return ValidationReport(
        conforms=not any(r.severity == "Violation" for r in results),
        results=tuple(results),
    )


def _run_compiled(
    compiled: Compiled,
    data: Graph,
    context: Graph | None,
    focus: list[str | URIRef] | None,
    shape_ids: Mapping[URIRef, str],
) -> list[ValidationResult]:
    triples = _DataAndContext(data, context)
    hits = run(compiled, triples, focus_nodes=None if focus is None else set(focus))  # type: ignore[arg-type]
    return _results(compiled, hits, shape_ids)


class _DataAndContext:
    """The triples of ``data``, then those of ``context`` not in it, read afresh at each
    iteration: a list of them would hold a tuple per triple (about 320 MB at 5M)."""

    def __init__(self, data: Graph, context: Graph | None) -> None:
        self.data = data
        self.context = context

    def __iter__(self) -> Iterator[_Triple]:
        yield from self.data.triples((None, None, None))
        if self.context is not None:
            for triple in self.context.triples((None, None, None)):
                if triple not in self.data:
                    yield triple


def _results(
    compiled: Compiled, hits: Iterable[Hit], shape_ids: Mapping[URIRef, str]
) -> list[ValidationResult]:
    results = []
    for hit in hits:
        shape = compiled.by_iri[hit.shape]
        results.append(
            ValidationResult(
                focus_node=hit.focus,
                path=shape.path,
                value=hit.value,
                shape=hit.shape,
                shape_id=shape_ids.get(hit.shape, hit.shape.fragment or str(hit.shape)),
                severity=_SEVERITIES[shape.severity],
                message=shape.message,
            )
        )
    return results


_Triple = tuple[Node, Node, Node]


@lru_cache(maxsize=1)
def _shapes() -> tuple[tuple[_Triple, ...], Mapping[URIRef, str]]:
    """The shapes' triples and each shape's ID, from the Turtle file read and parsed once.

    The cache holds an immutable tuple of terms, never a Graph: each call builds its own
    Graph from it (twice as fast as re-parsing even N-Triples), so pySHACL's changes to
    the shapes graph cannot leak between calls or threads.
    """
    try:
        text = resources.files(SHAPES_PACKAGE).joinpath(SHAPES_RESOURCE).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ShapesError(f"shapes file {SHAPES_PACKAGE}/{SHAPES_RESOURCE} not found") from exc
    # Parsed by Oxigraph, then turned into rdflib terms: the triples rdflib's own Turtle
    # parser gives (tests/shapes/test_shapes.py compares them) in a third of the time
    # (0.03 s against 0.1 s, paid once by every command that validates).
    try:
        quads = list(ox.parse(text, format=ox.RdfFormat.TURTLE))
    except (SyntaxError, ValueError) as exc:
        raise ShapesError(f"shapes file {SHAPES_RESOURCE} is not valid Turtle: {exc}") from exc
    triples = tuple((from_ox(q.subject), from_ox(q.predicate), from_ox(q.object)) for q in quads)
    ids = {
        shape: str(identifier)
        for shape, predicate, identifier in triples
        if predicate == DCTERMS.identifier and isinstance(shape, URIRef)
    }
    return triples, MappingProxyType(ids)


@lru_cache(maxsize=1)
def class_checked_predicates() -> frozenset[URIRef]:
    """Every predicate on the path of a shape with ``sh:class``: the links whose target's
    ``rdf:type`` the shapes read. (Validating part of a store, only these targets need
    their class from elsewhere; typing every linked node would make each a focus node of
    its class's shapes, e.g. every finding a pooled estimate derives from.)"""
    triples, _ = _shapes()
    with_class = {s for s, p, _ in triples if p == SH["class"]}
    paths = [o for s, p, o in triples if p == SH.path and s in with_class]
    rest = {s: o for s, p, o in triples if p == RDF.rest}
    first = {s: o for s, p, o in triples if p == RDF.first}
    found: set[URIRef] = set()
    for path in paths:
        node: Node | None = path
        while node is not None and node != RDF.nil:
            if isinstance(node, URIRef):
                found.add(node)
                break
            step = first.get(node)  # a sequence path: an RDF list of predicates
            if isinstance(step, URIRef):
                found.add(step)
            node = rest.get(node) if step is not None else None
    return frozenset(found)


def _read_results(report: Graph, shape_ids: Mapping[URIRef, str]) -> list[ValidationResult]:
    results: list[ValidationResult] = []
    for report_node in report.subjects(SH.conforms, None):
        for node in report.objects(report_node, SH.result):
            focus = report.value(node, SH.focusNode)
            shape = report.value(node, SH.sourceShape)
            severity = _SEVERITIES.get(cast(Node, report.value(node, SH.resultSeverity)))
            if not isinstance(focus, IdentifiedNode):
                raise ValidatorError(f"result without a focus node: {node!r}")
            if not isinstance(shape, URIRef):
                raise ValidatorError(f"result from a shape without an IRI: {shape!r}")
            if severity is None:
                raise ValidatorError(f"result without a known severity: {node!r}")
            path = report.value(node, SH.resultPath)
            message = report.value(node, SH.resultMessage)
            results.append(
                ValidationResult(
                    focus_node=focus,
                    path=path if isinstance(path, URIRef) else None,
                    value=report.value(node, SH.value),
                    shape=shape,
                    shape_id=shape_ids.get(shape, shape.fragment or str(shape)),
                    severity=severity,
                    message="" if message is None else str(message),
                )
            )
    return results


def _sort_key(result: ValidationResult) -> tuple[str, str, str, str]:
    return (str(result.focus_node), result.shape_id, str(result.path or ""), _n3(result.value))


def _n3(value: Node | None) -> str:
    if value is None:
        return ""
    if isinstance(value, RDFLiteral) and value.ill_typed:
        # n3() refuses an ill-typed number ("not a number"^^xsd:decimal): the very
        # value a result reports
        return f'"{value}"^^<{value.datatype}>'
    return value.n3()


def _term_to_json(term: Node) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    if isinstance(term, RDFLiteral):
        out = {"type": "literal", "value": str(term)}
        if term.language is not None:
            out["xml:lang"] = term.language
        elif term.datatype is not None:
            out["datatype"] = str(term.datatype)
        return out
    return {"type": "unknown", "value": str(term)}


class _QueryCachingGraph(Graph):
    """A Graph that parses each SPARQL text once.

    pySHACL runs a shape's SPARQL constraint once per focus node, passing the same text
    each time; rdflib would parse it again each time (about 10 ms, far more than the
    evaluation itself). Prepared queries are reused with per-call bindings instead.
    """

    _namespaces: tuple[tuple[str, str], ...] | None = None

    def query(
        self,
        query_object: str | Query,
        processor: str | Processor = "sparql",
        result: str | type[Result] = "sparql",
        initNs: Mapping[str, Any] | None = None,  # noqa: N803 (rdflib's name)
        initBindings: Mapping[str, Identifier] | None = None,  # noqa: N803
        use_store_provided: bool = True,
        **kwargs: Any,
    ) -> Result:
        if isinstance(query_object, str) and initNs is None and processor == "sparql":
            if self._namespaces is None:
                self._namespaces = tuple(sorted((p, str(ns)) for p, ns in self.namespaces()))
            query_object = _prepared(query_object, self._namespaces)
            # A prepared query ignores initNs; passing it spares rdflib listing them again.
            initNs = dict(self._namespaces)  # noqa: N806
        return super().query(
            query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs
        )


@lru_cache(maxsize=256)
def _prepared(text: str, namespaces: tuple[tuple[str, str], ...]) -> Query:
    from rdflib.plugins.sparql import prepareQuery

    return prepareQuery(text, initNs=dict(namespaces))
