"""Reading evidence that is already RDF (Turtle, N-Triples, JSON-LD, RDF/XML), safely.

Parsing goes through Oxigraph's parsers, which never fetch anything: no remote JSON-LD
contexts, no owl:imports, no external XML entities. Before parsing, each file is scanned
cheaply and refused when it is hostile or outside what whatworks stores:

* RDF/XML with a DOCTYPE anywhere (Oxigraph expands internal entities, so a "billion
  laughs" would otherwise inflate to gigabytes), or XML that is not well-formed;
* nesting deeper than :data:`MAX_NESTING` (XML elements, JSON objects and arrays, Turtle
  blank-node property lists and collections): very deep documents crash or slow down the
  parsers (a JSON-LD document of a few thousand nested objects overflows the stack);
* RDF 1.2 triple terms (``<<( … )>>``, RDF-star ``<< … >>``): rdflib cannot hold them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.parsers import expat

import pyoxigraph as ox
from rdflib import Graph

from whatworks.core.engine import from_ox
from whatworks.core.errors import InputError, Problem

#: Suffix → (Oxigraph format, media type).
RDF_SUFFIXES: dict[str, tuple[ox.RdfFormat, str]] = {
    ".ttl": (ox.RdfFormat.TURTLE, "text/turtle"),
    ".nt": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
    ".jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    ".json-ld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    ".rdf": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
    ".owl": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
    ".xml": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
}

#: Deepest nesting accepted. Evidence files nest a handful of levels; parsers recurse.
MAX_NESTING = 100

_DOCTYPE_REFUSED = (
    "refused: RDF/XML with a DOCTYPE (entity declarations are not expanded, for safety); "
    "remove the DOCTYPE"
)


def read_rdf(path: Path, data: bytes) -> Graph:
    """Parse ``data`` (the bytes of ``path``) into a graph; quads' graph names are dropped.

    :raises InputError: unknown format, a DOCTYPE in RDF/XML, nesting deeper than
        :data:`MAX_NESTING`, triple terms, or a syntax error (with its line).
    """
    name = str(path)
    fmt, _ = RDF_SUFFIXES[path.suffix.lower()]
    if fmt is ox.RdfFormat.RDF_XML and b"<!DOCTYPE" in data[:4096].upper():
        raise InputError([Problem(name, _DOCTYPE_REFUSED)])
    if not data.strip():
        raise InputError([Problem(name, "the file is empty")])
    if fmt is ox.RdfFormat.RDF_XML:
        _check_xml(name, data)
    elif fmt is ox.RdfFormat.JSON_LD:
        _check_json(name, data)
    else:
        _check_turtle(name, data)
    graph = Graph()
    try:
        with _quiet_literals():
            for triple in ox.parse(data, fmt, base_iri=None):
                s, p, o = triple.subject, triple.predicate, triple.object
                if isinstance(s, ox.Triple) or isinstance(o, ox.Triple):
                    raise InputError([Problem(name, _TRIPLE_TERMS, found=str(triple)[:200])])
                graph.add((from_ox(s), from_ox(p), from_ox(o)))
    except SyntaxError as exc:
        row = getattr(exc, "lineno", None)
        raise InputError([Problem(name, f"RDF syntax error: {exc.msg}", row=row)]) from exc
    except (ValueError, OSError) as exc:
        raise InputError([Problem(name, f"cannot parse the file as RDF: {exc}")]) from exc
    return graph


_TRIPLE_TERMS = (
    "RDF 1.2 triple terms (RDF-star quoted triples) are not supported; "
    "use plain triples or rdf:reifies"
)


class _Refused(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


def _check_xml(name: str, data: bytes) -> None:
    """Refuse a DOCTYPE anywhere, XML that is not well-formed, and too deep nesting.

    Expat stops at the DOCTYPE's first byte, before any entity is declared or expanded.
    """
    parser = expat.ParserCreate()
    depth = 0

    def doctype(*_: object) -> None:
        raise _Refused(_DOCTYPE_REFUSED, parser.CurrentLineNumber)

    def start(*_: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_NESTING:
            raise _Refused(_too_deep("XML elements"), parser.CurrentLineNumber)

    def end(*_: object) -> None:
        nonlocal depth
        depth -= 1

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise InputError([Problem(name, exc.message, row=exc.line)]) from None
    except expat.ExpatError as exc:
        raise InputError(
            [
                Problem(
                    name,
                    f"not well-formed XML: {expat.ErrorString(exc.code)} (column {exc.offset})",
                    row=exc.lineno,
                )
            ]
        ) from None


#: Strings in JSON (an unterminated one runs to the end, so the scan stays linear).
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
#: Strings, IRIs and comments in Turtle and N-Triples, where brackets mean nothing.
_TURTLE_SKIP = re.compile(
    rb'"""(?:[^"\\]++|\\.|"(?!""))*+(?:""")?'
    rb"|'''(?:[^'\\]++|\\.|'(?!''))*+(?:''')?"
    rb'|"(?:[^"\\\r\n]++|\\.)*+"?'
    rb"|'(?:[^'\\\r\n]++|\\.)*+'?"
    rb"|<[^<>\"{}|^`\\\x00-\x20]*+>"
    rb"|#[^\r\n]*+",
    re.DOTALL,
)
_ALL_BYTES = bytes(range(256))


def _check_json(name: str, data: bytes) -> None:
    skeleton = _JSON_STRING.sub(b'""', data)
    if _max_depth(skeleton, b"[{", b"]}") > MAX_NESTING:
        raise InputError([Problem(name, _too_deep("JSON objects and arrays"))])


def _check_turtle(name: str, data: bytes) -> None:
    skeleton = _TURTLE_SKIP.sub(b" ", data)
    if b"<<" in skeleton:
        raise InputError([Problem(name, _TRIPLE_TERMS, row=_line_of(data, b"<<"))])
    if _max_depth(skeleton, b"[(", b"])") > MAX_NESTING:
        raise InputError(
            [Problem(name, _too_deep("blank-node property lists [ ] and collections ( )"))]
        )


def _max_depth(skeleton: bytes, opening: bytes, closing: bytes) -> int:
    brackets = skeleton.translate(None, _ALL_BYTES.translate(None, opening + closing))
    depth = deepest = 0
    for byte in brackets:
        if byte in opening:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _line_of(data: bytes, token: bytes) -> int | None:
    """The line of the first ``token`` outside strings, IRIs and comments (slow; for errors)."""
    tokens = re.compile(_TURTLE_SKIP.pattern + b"|" + re.escape(token), re.DOTALL)
    for match in tokens.finditer(data):
        if match.group() == token:
            return data.count(b"\n", 0, match.start()) + 1
    return None


def _too_deep(what: str) -> str:
    return f"refused: {what} nested more than {MAX_NESTING} deep"


class _DropLiteralWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to convert Literal lexical form")


@contextmanager
def _quiet_literals() -> Iterator[None]:
    """rdflib logs a traceback for each ill-typed literal ("abc"^^xsd:integer) it builds.

    Such a literal is still RDF (the shapes judge it); the traceback is noise a user must
    never see, so it is dropped while the file is converted.
    """
    logger = logging.getLogger("rdflib.term")
    quiet = _DropLiteralWarnings()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
