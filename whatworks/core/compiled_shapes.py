"""The whatworks shapes, compiled: the same validation results as pySHACL, in a fraction of
the time (docs/decisions/0020-compiled-shapes.md).

pySHACL walks every shape for every focus node through rdflib's graph API and runs each
SHACL-SPARQL constraint once per focus node with rdflib's SPARQL engine: at 100k triples
that was 9.6 s of a 33 s ingest. The whatworks shapes use a small part of SHACL (each one
a property shape with ``sh:targetClass`` and a single-predicate ``sh:path``; the core
components listed in :data:`CORE`; and ``sh:sparql`` constraints), so they are compiled
once into checks that read an index of the data built in one pass:

- core components are evaluated in Python over ``subject -> predicate -> values``, with
  pySHACL's own rules for the edge cases (ill-typed literals, literals that cannot be
  compared, strings against numbers);
- each ``sh:sparql`` constraint is its shape's own SELECT, run ONCE with ``$this``
  unbound by Oxigraph over the data; its solutions are then kept for the focus nodes of
  the shape's targets. (A SELECT each of whose branches binds ``$this`` in a triple
  pattern gives, unbound, exactly the union of its answers for each ``$this`` bound, as
  pySHACL runs it. The whatworks shapes are written so; a shape's valid and invalid
  examples are validated both ways in the tests, which is where a query that is not
  would show.)

pySHACL stays the reference: ``tests/shapes/test_compiled_shapes.py`` holds this
validator's report equal to pySHACL's on every shape's valid and invalid example, on the
bundled evidence, and on mutated copies of it. A shape using anything not compiled here
makes :func:`compile_shapes` raise :class:`NotCompiled`, and :func:`whatworks.core.
validation.validate` then uses pySHACL.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import IdentifiedNode, Node

from whatworks.core.engine import from_ox, to_ox

__all__ = ["CORE", "NotCompiled", "Compiled", "Hit", "compile_shapes", "run"]

_Triple = tuple[Node, Node, Node]

#: The constraint parameters evaluated here (beside sh:sparql).
CORE = frozenset(
    {
        SH.minCount,
        SH.maxCount,
        SH.datatype,
        SH.nodeKind,
        SH["class"],
        SH["in"],
        SH.minInclusive,
        SH.maxInclusive,
        SH.minExclusive,
        SH.maxExclusive,
        SH.lessThanOrEquals,
        SH.pattern,
        SH.flags,
        SH["not"],
        SH.hasValue,
        SH.qualifiedValueShape,
        SH.qualifiedMinCount,
        SH.qualifiedMaxCount,
    }
)
#: What a property shape may say besides its constraints.
_DESCRIPTIVE = frozenset(
    {
        RDF.type,
        SH.targetClass,
        SH.path,
        SH.severity,
        SH.message,
        SH.sparql,
        SH.name,
        SH.description,
        SH.deactivated,
        RDFS.label,
        RDFS.comment,
        RDFS.seeAlso,
        URIRef("http://purl.org/dc/terms/identifier"),
        URIRef("http://purl.org/dc/terms/isPartOf"),
    }
)


class NotCompiled(Exception):
    """A shape uses SHACL this module does not compile (pySHACL then validates)."""


@dataclass(frozen=True)
class Hit:
    """One result: what pySHACL's results graph says of it."""

    focus: IdentifiedNode
    shape: URIRef
    value: Node | None


@dataclass
class _Shape:
    iri: URIRef
    targets: tuple[URIRef, ...]
    path: URIRef
    severity: URIRef
    message: str
    checks: list[Any] = field(default_factory=list)
    sparql: list[str] = field(default_factory=list)


@dataclass
class Compiled:
    """The shapes, compiled: the property shapes in the file's order, and by IRI."""

    shapes: list[_Shape]
    by_iri: dict[URIRef, _Shape] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_iri = {shape.iri: shape for shape in self.shapes}


def compile_shapes(triples: Sequence[_Triple]) -> Compiled:
    """Compile the shapes graph's ``triples``.

    :raises NotCompiled: a shape uses SHACL that is not compiled here.
    """
    by_subject: dict[Node, dict[Node, list[Node]]] = defaultdict(lambda: defaultdict(list))
    for s, p, o in triples:
        by_subject[s][p].append(o)
    prefixes = _prefixes(by_subject)
    shapes: list[_Shape] = []
    for subject, props in by_subject.items():
        types = props.get(RDF.type, [])
        targets = props.get(SH.targetClass, [])
        if SH.NodeShape in types:
            extra = set(props) - _DESCRIPTIVE - {URIRef("http://purl.org/dc/terms/hasPart")}
            if extra:
                raise NotCompiled(f"node shape {subject} has constraints {sorted(map(str, extra))}")
            continue
        if not targets and SH.PropertyShape not in types:
            continue
        if not isinstance(subject, URIRef):
            continue  # an inner shape (of sh:not / sh:qualifiedValueShape), compiled below
        if props.get(SH.deactivated) == [Literal(True)]:
            continue
        paths = props.get(SH.path, [])
        if len(paths) != 1 or not isinstance(paths[0], URIRef):
            raise NotCompiled(f"shape {subject}: only a single-predicate sh:path is compiled")
        unknown = set(props) - _DESCRIPTIVE - CORE
        if unknown:
            raise NotCompiled(f"shape {subject} uses {sorted(map(str, unknown))}")
        severity = props.get(SH.severity, [SH.Violation])[0]
        messages = props.get(SH.message, [])
        if not isinstance(severity, URIRef) or len(messages) > 1:
            raise NotCompiled(f"shape {subject}: one severity and at most one message")
        shape = _Shape(
            subject,
            tuple(t for t in targets if isinstance(t, URIRef)),
            paths[0],
            severity,
            str(messages[0]) if messages else "",
        )
        shape.checks = _checks(subject, props, by_subject)
        for constraint in props.get(SH.sparql, []):
            shape.sparql.append(_sparql(subject, constraint, by_subject, prefixes))
        shapes.append(shape)
    return Compiled(shapes)


def _prefixes(by_subject: Mapping[Node, Mapping[Node, list[Node]]]) -> dict[Node, str]:
    """The PREFIX lines each sh:prefixes node declares (sh:declare)."""
    out: dict[Node, str] = {}
    for node, props in by_subject.items():
        lines = []
        for declaration in props.get(SH.declare, []):
            decl = by_subject.get(declaration, {})
            prefix, namespace = decl.get(SH.prefix, [None])[0], decl.get(SH.namespace, [None])[0]
            if prefix is not None and namespace is not None:
                lines.append(f"PREFIX {prefix}: <{namespace}>")
        if lines:
            out[node] = "\n".join(lines) + "\n"
    return out


def _rdf_list(node: Node, by_subject: Mapping[Node, Mapping[Node, list[Node]]]) -> list[Node]:
    items: list[Node] = []
    while node != RDF.nil:
        props = by_subject.get(node)
        if props is None or RDF.first not in props:
            raise NotCompiled(f"not an RDF list: {node}")
        items.append(props[RDF.first][0])
        node = props[RDF.rest][0]
    return items


def _one(props: Mapping[Node, list[Node]], key: URIRef) -> Node:
    return props[key][0]


def _checks(
    shape: URIRef,
    props: Mapping[Node, list[Node]],
    by_subject: Mapping[Node, Mapping[Node, list[Node]]],
) -> list[Any]:
    checks: list[Any] = []
    if SH.minCount in props:
        checks.append(("min", int(_one(props, SH.minCount))))  # type: ignore[call-overload]
    if SH.maxCount in props:
        checks.append(("max", int(_one(props, SH.maxCount))))  # type: ignore[call-overload]
    for datatype in props.get(SH.datatype, []):
        checks.append(("datatype", datatype))
    for kind in props.get(SH.nodeKind, []):
        if kind != SH.IRI:
            raise NotCompiled(f"shape {shape}: sh:nodeKind {kind}")
        checks.append(("iri",))
    for cls in props.get(SH["class"], []):
        checks.append(("class", cls))
    for listed in props.get(SH["in"], []):
        checks.append(("in", frozenset(_rdf_list(listed, by_subject))))
    for key, name in (
        (SH.minInclusive, "ge"),
        (SH.maxInclusive, "le"),
        (SH.minExclusive, "gt"),
        (SH.maxExclusive, "lt"),
    ):
        for bound in props.get(key, []):
            checks.append(("range", name, bound))
    for other in props.get(SH.lessThanOrEquals, []):
        checks.append(("ltoe", other))
    for pattern in props.get(SH.pattern, []):
        flags = props.get(SH.flags, [Literal("")])[0]
        checks.append(("pattern", _regex(str(pattern), str(flags))))
    for inner in props.get(SH["not"], []):
        negated = _inner(shape, inner, by_subject)
        if negated[0] != "in":
            raise NotCompiled(f"shape {shape}: sh:not of {negated[0]}")
        checks.append(("not", negated))
    if SH.hasValue in props:
        checks.append(("has", _one(props, SH.hasValue)))
    if SH.qualifiedValueShape in props:
        qualified = _inner(shape, _one(props, SH.qualifiedValueShape), by_subject)
        low = props.get(SH.qualifiedMinCount)
        high = props.get(SH.qualifiedMaxCount)
        checks.append(
            (
                "qualified",
                qualified,
                None if low is None else int(low[0]),  # type: ignore[call-overload]
                None if high is None else int(high[0]),  # type: ignore[call-overload]
            )
        )
    return checks


def _inner(
    shape: URIRef, node: Node, by_subject: Mapping[Node, Mapping[Node, list[Node]]]
) -> tuple[Any, ...]:
    """An inner shape: ``[sh:in (...)]``, ``[sh:hasValue x]`` or ``[sh:path p; sh:minCount n]``."""
    props = by_subject.get(node, {})
    keys = set(props) - {RDF.type}
    if keys == {SH["in"]}:
        return ("in", frozenset(_rdf_list(_one(props, SH["in"]), by_subject)))
    if keys == {SH.hasValue}:
        return ("in", frozenset([_one(props, SH.hasValue)]))
    if keys == {SH.path, SH.minCount} and isinstance(_one(props, SH.path), URIRef):
        return ("count", _one(props, SH.path), int(_one(props, SH.minCount)))  # type: ignore[call-overload]
    raise NotCompiled(f"shape {shape}: inner shape {sorted(map(str, keys))}")


def _regex(pattern: str, flags: str) -> re.Pattern[str]:
    value = 0
    for flag in flags:
        value |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}.get(flag, 0)
    return re.compile(pattern, value)


def _sparql(
    shape: URIRef,
    constraint: Node,
    by_subject: Mapping[Node, Mapping[Node, list[Node]]],
    prefixes: Mapping[Node, str],
) -> str:
    props = by_subject.get(constraint, {})
    selects = props.get(SH.select, [])
    if len(selects) != 1 or set(props) - {RDF.type, SH.select, SH.prefixes, SH.message}:
        raise NotCompiled(f"shape {shape}: a SPARQL constraint other than one sh:select")
    if SH.message in props:
        raise NotCompiled(f"shape {shape}: a SPARQL constraint with its own message")
    text = str(selects[0])
    if "$PATH" in text or "$this" not in text:
        raise NotCompiled(f"shape {shape}: a SELECT without $this, or with $PATH")
    head = "".join(prefixes.get(p, "") for p in props.get(SH.prefixes, []))
    return head + text


# --- running -------------------------------------------------------------------------------


class _Index:
    """The data, read once: values by subject and predicate, and who has which type."""

    def __init__(self, triples: Iterable[_Triple]) -> None:
        self.values: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
        self.instances: dict[Node, set[Node]] = defaultdict(set)
        self.subclasses: dict[Node, set[Node]] = defaultdict(set)
        values, instances, subclasses = self.values, self.instances, self.subclasses
        for s, p, o in triples:
            values[s][p].add(o)
        for s, by_predicate in values.items():
            for o in by_predicate.get(_TYPE, ()):
                instances[o].add(s)
            for o in by_predicate.get(_SUBCLASS, ()):
                subclasses[o].add(s)

    def closure(self, cls: Node) -> set[Node]:
        """``cls`` and its subclasses (rdfs:subClassOf* in the data, as pySHACL reads it)."""
        seen = {cls}
        todo = [cls]
        while todo:
            for sub in self.subclasses.get(todo.pop(), ()):
                if sub not in seen:
                    seen.add(sub)
                    todo.append(sub)
        return seen

    def focus(self, targets: Sequence[URIRef]) -> set[Node]:
        out: set[Node] = set()
        for target in targets:
            for cls in self.closure(target):
                out |= self.instances.get(cls, set())
        return out


_EMPTY: frozenset[Node] = frozenset()
# Namespace attributes are looked up on each use: read once here for the loops.
_TYPE, _SUBCLASS = RDF.type, RDFS.subClassOf
_STRING, _LANG_STRING, _RDFS_LITERAL, _RDFS_DATATYPE = (
    XSD.string,
    RDF.langString,
    RDFS.Literal,
    RDFS.Datatype,
)


def run(
    compiled: Compiled,
    triples: Iterable[_Triple],
    *,
    focus_nodes: set[Node] | None = None,
) -> list[Hit]:
    """Validate ``triples``; the results pySHACL would give, as :class:`Hit` lists (one per
    result, duplicates kept), for the focus nodes in ``focus_nodes`` if given. ``triples``
    is read up to three times (a list, or an object that iterates afresh each time).

    :raises NotCompiled: a SPARQL constraint would have a blank node as focus node.
    """
    index = _Index(triples)
    hits: list[Hit] = []
    focus_cache: dict[tuple[URIRef, ...], set[Node]] = {}
    class_members: dict[Node, set[Node]] = {}
    oxstore: ox.Store | None = None
    originals: dict[tuple[Any, ...], Literal] | None = None
    for shape in compiled.shapes:
        focus = focus_cache.get(shape.targets)
        if focus is None:
            focus = index.focus(shape.targets)
            if focus_nodes is not None:
                focus &= focus_nodes
            focus_cache[shape.targets] = focus
        if not focus:
            continue
        for check in shape.checks:
            kind = check[0]
            if kind == "class":
                members = class_members.get(check[1])
                if members is None:
                    members = index.focus((check[1],))
                    class_members[check[1]] = members
                check = ("member", members)
            hits += _core(shape, check, focus, index)
        for text in shape.sparql:
            if oxstore is None:
                oxstore = ox.Store()
                oxstore.extend(
                    ox.Quad(to_ox(s), to_ox(p), to_ox(o))  # type: ignore[arg-type]
                    for s, p, o in triples
                )
            seen: set[tuple[Node, Node | None, tuple[Any, ...]]] = set()
            for row in _select(oxstore, _bound(text, focus)):
                if row[0] in focus and row not in seen:
                    seen.add(row)
                    value = row[1]
                    if isinstance(value, Literal):
                        if originals is None:
                            originals = _originals(triples)
                        value = originals.get(_key(value), value)
                    hits.append(Hit(row[0], shape.iri, value))  # type: ignore[arg-type]
    return hits


_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def _bound(text: str, focus: set[Node]) -> str:
    """``text`` with ``$this`` bound to each focus node, as pySHACL pre-binds it: a VALUES
    block opening the WHERE group, so that the whole group, its filters included, sees it."""
    found = _WHERE.search(text)
    if found is None:
        raise NotCompiled(f"no WHERE group in {text!r}")
    if any(not isinstance(node, URIRef) for node in focus):
        # a blank node cannot be named in a query: pySHACL validates such data
        raise NotCompiled("a SPARQL constraint's focus node is a blank node")
    values = " ".join(f"<{node}>" for node in focus)
    return f"{text[: found.end()]} VALUES $this {{ {values} }}\n{text[found.end() :]}"


def _key(literal: Literal) -> tuple[Any, ...]:
    value = literal.value
    return (literal.datatype, literal.language, str(literal) if value is None else value)


def _originals(triples: Iterable[_Triple]) -> dict[tuple[Any, ...], Literal]:
    """The data's own literals by value: the engine answers in canonical form ("0" for
    "0.0"^^xsd:decimal), pySHACL with the literal as written."""
    out: dict[tuple[Any, ...], Literal] = {}
    for _, _, o in triples:
        if isinstance(o, Literal) and o.datatype is not None:
            out.setdefault(_key(o), o)
    return out


def _select(store: ox.Store, text: str) -> list[tuple[Node, Node | None, tuple[Any, ...]]]:
    solutions = store.query(text)
    assert isinstance(solutions, ox.QuerySolutions)
    names = [v.value for v in solutions.variables]
    rows = []
    for solution in solutions:
        this = solution["this"]
        if this is None:
            continue
        value = solution["value"] if "value" in names else None
        rest = tuple(
            (name, None if solution[name] is None else str(solution[name]))
            for name in names
            if name not in ("this", "value")
        )
        rows.append((from_ox(this), None if value is None else from_ox(value), rest))
    return rows


def _core(shape: _Shape, check: tuple[Any, ...], focus: set[Node], index: _Index) -> list[Hit]:
    kind = check[0]
    path = shape.path
    iri = shape.iri
    hits: list[Hit] = []
    values = index.values
    if kind == "min":
        low = check[1]
        for f in focus:
            if len(values.get(f, {}).get(path, _EMPTY)) < low:
                hits.append(Hit(f, iri, None))  # type: ignore[arg-type]
        return hits
    if kind == "max":
        high = check[1]
        for f in focus:
            if len(values.get(f, {}).get(path, _EMPTY)) > high:
                hits.append(Hit(f, iri, None))  # type: ignore[arg-type]
        return hits
    if kind == "has":
        for f in focus:
            if check[1] not in values.get(f, {}).get(path, _EMPTY):
                hits.append(Hit(f, iri, None))  # type: ignore[arg-type]
        return hits
    if kind == "qualified":
        _, inner, low, high = check
        for f in focus:
            n = sum(1 for v in values.get(f, {}).get(path, _EMPTY) if _conforms(inner, v, index))
            if (low is not None and n < low) or (high is not None and n > high):
                hits.append(Hit(f, iri, None))  # type: ignore[arg-type]
        return hits
    bad = _VALUE_CHECKS[kind]
    for f in focus:
        here = values.get(f)
        if here is None:
            continue
        vals = here.get(path)
        if not vals:
            continue
        for v in vals:
            if kind == "ltoe":
                for other in here.get(check[1], _EMPTY):
                    if not _ltoe(v, other):
                        hits.append(Hit(f, iri, v))  # type: ignore[arg-type]
            elif bad(check, v):
                hits.append(Hit(f, iri, v))  # type: ignore[arg-type]
    return hits


def _conforms(inner: tuple[Any, ...], value: Node, index: _Index) -> bool:
    if inner[0] == "in":
        return value in inner[1]
    _, path, low = inner
    return len(index.values.get(value, {}).get(path, _EMPTY)) >= int(low)


def _bad_datatype(check: tuple[Any, ...], v: Node) -> bool:
    rule = check[1]
    if not isinstance(v, Literal):
        return True
    if v.datatype == rule:
        if getattr(v, "ill_typed", None) is True:
            return True
        return not _actual(v, rule)
    if rule == _RDFS_LITERAL:
        return False
    if rule == _RDFS_DATATYPE and v.datatype:
        return False
    if v.datatype is None and v.language is None and rule == _STRING:
        return not _actual(v, rule)
    if rule == _LANG_STRING and v.language:
        return not _actual(v, rule)
    return True


_ACTUAL: dict[Node, type | tuple[type, ...]] = {
    XSD.string: (str, bytes),
    RDF.langString: (str, bytes),
    XSD.integer: int,
    XSD.float: float,
    XSD.decimal: Decimal,
    XSD.boolean: bool,
    XSD.date: date,
    XSD.time: time,
    XSD.dateTime: datetime,
}


def _actual(v: Literal, rule: Node) -> bool:
    kind = _ACTUAL.get(rule)
    return True if kind is None else isinstance(v.value, kind)


def _bad_range(check: tuple[Any, ...], v: Node) -> bool:
    _, name, bound = check
    if not isinstance(v, Literal):
        return True
    if isinstance(bound.value, str) != isinstance(v.value, str):
        return True
    try:
        cmp = _compare(v, bound)
    except (TypeError, NotImplementedError):
        return True
    if name == "ge":
        return not cmp >= 0
    if name == "le":
        return not cmp <= 0
    if name == "gt":
        return not cmp > 0
    return not cmp < 0


def _compare(a: Literal, b: Literal) -> int:
    """pySHACL's literal comparison (rdflib's order; dates and times by value)."""
    if a.eq(b):
        return 0
    if isinstance(a.value, (datetime, time)):
        if a.value == b.value:
            return 0
        if a.value > b.value:
            return 1
    elif a > b:
        return 1
    return -1


def _ltoe(value: Node, other: Node) -> bool:
    """Whether ``value <= other`` as pySHACL's sh:lessThanOrEquals decides it."""
    a: Any = value
    b: Any = other
    a_string = isinstance(value, URIRef) or (
        isinstance(value, Literal) and isinstance(value.value, str)
    )
    b_string = isinstance(other, URIRef) or (
        isinstance(other, Literal) and isinstance(other.value, str)
    )
    if isinstance(value, BNode) or isinstance(other, BNode):
        return False
    if isinstance(value, Literal):
        a = value.value if a_string else value
    elif a_string:
        a = str(value)
    if isinstance(other, Literal):
        b = other.value if b_string else other
    elif b_string:
        b = str(other)
    if a_string != b_string:
        return False
    try:
        return bool(a <= b)
    except TypeError:
        return False


_VALUE_CHECKS: dict[str, Any] = {
    "datatype": _bad_datatype,
    "iri": lambda check, v: not isinstance(v, URIRef),
    "member": lambda check, v: isinstance(v, Literal) or v not in check[1],
    "in": lambda check, v: v not in check[1],
    "range": _bad_range,
    "pattern": lambda check, v: isinstance(v, BNode) or not check[1].search(str(v)),
    "not": lambda check, v: v in check[1][1],
    "ltoe": None,
}
