"""The query catalogue: named SPARQL queries (``queries/*.rq``) with typed parameters.

Each file is one question. Its ``#+`` lines hold YAML front matter (grlc style)::

    #+ summary: Interventions with a favourable effect on an outcome
    #+ description: Competency question 1. ...
    #+ tags: [effect]
    #+ params:
    #+   - name: outcome
    #+     type: concept
    #+     scheme: outcome
    #+     required: true

Parameter types: ``concept`` (a code of a SKOS scheme, bound as the concept's IRI),
``iri``, ``integer`` (with optional ``minimum``/``maximum``), ``boolean``, ``enum`` (one of
``values``, bound as a plain literal) and ``string``. The query reads parameter ``x`` with
``BIND(wwfn:param("x") AS ?x)``: the store writes the value there as an RDF term (by the
serializer, :func:`whatworks.core.engine.bind_parameters`: escaped, never pasted as given), or
drops the ``BIND`` when ``x`` was not given (and has no ``default``), leaving ``?x``
unbound — so optional filters read ``FILTER(!BOUND(?x) || ...)``. Values outside their
type or allowed set are refused with the allowed values listed. (pyoxigraph's own
substitutions join on the result, so filters could not see them.)

The internal queries (pages, derived results, release statistics, ingest checks, CLI
helpers: ``queries/internal/*.rq``, :func:`internal`) are read by the same :func:`parse`
and bound by :meth:`NamedQuery.prepare`, with typed terms from Python. They are not part of
the catalogue, which is public. Three more forms serve them, each written by this loader
from terms or from files, never from text given at run time:

- a parameter with ``many: true`` is a list of terms, read as ``VALUES ?x {
  wwfn:param("x") }``: the loader writes the terms there (each by the RDF serializer), or
  drops the whole ``VALUES`` when the parameter is not given, as the store drops a
  ``BIND`` (so an optional restriction costs nothing when absent); read as ``IN
  (wwfn:param("x"))``, the terms are written there, separated by commas;
- a line ending ``#@ if a or b`` is kept only when one of those parameters is given (an
  optional restriction or column; a ``boolean`` parameter given as ``True``);
- a line ``#@ include name`` stands for the body of ``queries/internal/name.rq`` (a shared
  part of several queries, such as the gap map's placement rule).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from whatworks.core.engine import to_ox
from whatworks.core.errors import WhatworksError
from whatworks.core.namespaces import concept, sparql_prologue
from whatworks.core.vocab import SCHEMES

PARAM_TYPES = ("concept", "iri", "integer", "boolean", "enum", "string")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: ``#@ include name`` on a line of its own (see the module's documentation).
_INCLUDE = re.compile(r"^\s*#@\s*include\s+(?P<name>[a-z][a-z0-9_]*)\s*$")
#: A trailing ``#@ if a or b`` (see the module's documentation).
_CONDITION = re.compile(r"\s*#@\s*if\s+(?P<names>[a-z][a-z0-9_]*(?:\s+or\s+[a-z][a-z0-9_]*)*)\s*$")
#: ``VALUES ?x { wwfn:param("x") }``: where a list parameter's terms go.
_VALUES_PARAM = re.compile(
    r'VALUES\s+\?\w+\s*\{\s*wwfn:param\(\s*"(?P<name>[a-z][a-z0-9_]*)"\s*\)\s*\}'
)
#: ``IN (wwfn:param("x"))``: a list parameter read by ``IN`` or ``NOT IN``.
_IN_PARAM = re.compile(r'\bIN\s*\(\s*wwfn:param\(\s*"(?P<name>[a-z][a-z0-9_]*)"\s*\)\s*\)')

#: What Python gives :meth:`NamedQuery.prepare` for one parameter: a term, a list of terms
#: (``many``), True/False (a ``#@ if`` switch), or None (not given).
Given = Node | Iterable[Node] | bool | None


class CatalogueError(WhatworksError):
    """A catalogue file is malformed (a bug in the catalogue, reported at load)."""


class UnknownQuery(WhatworksError):
    """No query of that name."""

    exit_code = 2


class BadParameter(WhatworksError):
    """A parameter value is missing, unknown, or outside its type or allowed values."""

    exit_code = 2

    def __init__(self, message: str, *, parameter: str, allowed: list[str] | None = None):
        super().__init__(message)
        self.parameter = parameter
        self.allowed = allowed or []


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    description: str = ""
    required: bool = False
    default: Any = None
    scheme: str = ""
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    #: A list of terms, written as a ``VALUES`` block (internal queries only).
    many: bool = False

    def allowed(self) -> list[str]:
        if self.type == "concept":
            return list(SCHEMES[self.scheme])
        if self.type == "enum":
            return list(self.values)
        if self.type == "boolean":
            return ["true", "false"]
        return []

    def bind(self, raw: str) -> Node:
        """The RDF term for ``raw``.

        :raises BadParameter: ``raw`` is not a value of this parameter.
        """
        allowed = self.allowed()
        if self.type in ("concept", "enum", "boolean") and raw not in allowed:
            lowered = {a.lower(): a for a in allowed}
            if raw.lower() not in lowered:
                raise BadParameter(
                    f"{raw!r} is not an allowed value of {self.name}; allowed: "
                    + ", ".join(allowed),
                    parameter=self.name,
                    allowed=allowed,
                )
            raw = lowered[raw.lower()]
        if self.type == "concept":
            return concept(self.scheme, raw)
        if self.type == "boolean":
            return Literal(raw == "true", datatype=XSD.boolean)
        if self.type == "integer":
            if not re.fullmatch(r"[+-]?\d{1,18}", raw.strip()):
                raise BadParameter(
                    f"{self.name} must be a whole number, not {raw!r}", parameter=self.name
                )
            number = int(raw)
            if (self.minimum is not None and number < self.minimum) or (
                self.maximum is not None and number > self.maximum
            ):
                raise BadParameter(
                    f"{self.name} must be between {self.minimum} and {self.maximum}, not {number}",
                    parameter=self.name,
                )
            return Literal(number, datatype=XSD.integer)
        if self.type == "iri":
            if not re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+", raw):
                raise BadParameter(
                    f"{self.name} must be an http(s) IRI, not {raw!r}", parameter=self.name
                )
            return URIRef(raw)
        return Literal(raw)

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameter's value (for OpenAPI)."""
        out: dict[str, Any]
        if self.type in ("concept", "enum"):
            out = {"type": "string", "enum": self.allowed()}
        elif self.type == "boolean":
            out = {"type": "boolean"}
        elif self.type == "integer":
            out = {"type": "integer"}
            if self.minimum is not None:
                out["minimum"] = self.minimum
            if self.maximum is not None:
                out["maximum"] = self.maximum
        elif self.type == "iri":
            out = {"type": "string", "format": "uri", "pattern": "^https?://"}
        else:
            out = {"type": "string", "maxLength": 200}
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class NamedQuery:
    name: str
    summary: str
    description: str
    tags: tuple[str, ...]
    params: tuple[Parameter, ...]
    text: str
    path: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Hash of the query text, to cite and reproduce a result."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def form(self) -> str:
        body = re.sub(r"#[^\n]*", "", self.text)
        match = re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", body, re.IGNORECASE)
        return match.group(1).upper() if match else "SELECT"

    def sparql(self) -> str:
        """The query with the project's prefixes before it."""
        return sparql_prologue() + self.text

    def prepare(self, terms: Mapping[str, Given] | None = None) -> PreparedQuery:
        """The query for ``terms`` (typed values from Python, by parameter name), and the
        parameters the store binds (:func:`whatworks.core.engine.bind_parameters`).

        Lines whose ``#@ if`` names no given parameter are left out; a ``many`` parameter's
        terms are written into its ``VALUES`` block (left out when not given).

        :raises BadParameter: an unknown parameter, a missing required one, or a value of
            the wrong kind (a list for a single term or the reverse).
        """
        known = {p.name: p for p in self.params}
        given: dict[str, Node | list[Node] | bool] = {}
        for name, value in (terms or {}).items():
            if name not in known:
                raise BadParameter(
                    f"unknown parameter {name!r} of {self.name}; parameters: "
                    + (", ".join(known) or "none"),
                    parameter=name,
                    allowed=list(known),
                )
            if value is None or value is False:
                continue
            if known[name].many:
                if isinstance(value, Node | bool | str):
                    raise BadParameter(f"{name} takes a list of terms", parameter=name)
                items = list(value)
                if not all(isinstance(term, Node) for term in items):
                    raise BadParameter(f"{name} takes a list of terms", parameter=name)
                given[name] = items
            elif isinstance(value, Node | bool):
                given[name] = value
            else:
                raise BadParameter(f"{name} takes one term", parameter=name)
        for param in self.params:
            if param.required and param.name not in given:
                raise BadParameter(f"{param.name} is required", parameter=param.name)
        kept = []
        for line in self.text.splitlines():
            condition = _CONDITION.search(line)
            if condition is None:
                kept.append(line)
            elif (set(condition.group("names").split()) - {"or"}) & given.keys():
                kept.append(line[: condition.start()])

        def values(match: re.Match[str]) -> str:
            found = given.get(match.group("name"))
            if not isinstance(found, list):
                return ""  # not given: no restriction, as a missing BIND
            written = " ".join(str(to_ox(term)) for term in found)
            head, _, _ = match.group(0).partition("{")
            return f"{head}{{ {written} }}"

        def members(match: re.Match[str]) -> str:
            found = given.get(match.group("name"), [])
            terms = found if isinstance(found, list) else []
            return "IN (" + ", ".join(str(to_ox(term)) for term in terms) + ")"

        text = _VALUES_PARAM.sub(values, "\n".join(kept) + "\n")
        text = _IN_PARAM.sub(members, text)
        bound = {n: v for n, v in given.items() if isinstance(v, Node)}
        return PreparedQuery(self.name, text, bound)

    def written_out(self, terms: Mapping[str, Node]) -> str:
        """The query text with ``terms`` written where they are read, for a person to read
        and run (the SPARQL editor's examples); parameters not in ``terms`` stay as read."""
        text = self.text
        for name, term in terms.items():
            text = text.replace(f'wwfn:param("{name}")', term.n3())
        return text

    def bindings(self, given: dict[str, str]) -> dict[str, Node]:
        """Typed bindings for ``given`` raw values, defaults filled in.

        :raises BadParameter: an unknown parameter, a missing required one, a bad value.
        """
        known = {p.name: p for p in self.params}
        for name in given:
            if name not in known:
                raise BadParameter(
                    f"unknown parameter {name!r} of {self.name}; parameters: "
                    + (", ".join(known) or "none"),
                    parameter=name,
                    allowed=list(known),
                )
        out: dict[str, Node] = {}
        for param in self.params:
            raw = given.get(param.name)
            if raw is None or raw == "":
                if param.default is not None:
                    raw = (
                        str(param.default).lower()
                        if isinstance(param.default, bool)
                        else str(param.default)
                    )
                elif param.required:
                    raise BadParameter(
                        f"{param.name} is required"
                        + (": one of " + ", ".join(param.allowed()) if param.allowed() else ""),
                        parameter=param.name,
                        allowed=param.allowed(),
                    )
                else:
                    continue
            out[param.name] = param.bind(raw)
        return out


@dataclass(frozen=True)
class PreparedQuery:
    """A query ready to run: its text (without prefixes) and the terms the store binds."""

    name: str
    text: str
    parameters: dict[str, Node]

    def sparql(self) -> str:
        """The query with the project's prefixes before it."""
        return sparql_prologue() + self.text


def parse(
    text: str, *, name: str, path: str = "", include: Callable[[str], str] | None = None
) -> NamedQuery:
    """Read one catalogue file; ``include`` gives the body of a part named in a
    ``#@ include`` line.

    :raises CatalogueError: missing or malformed front matter, a bad parameter spec, or an
        include without ``include``.
    """
    text = _expand(text, include, where=path or name)
    conditions = {
        word
        for line in text.splitlines()
        if (found := _CONDITION.search(line))
        for word in found.group("names").split()
        if word != "or"
    }
    front = "\n".join(
        line[3:] if line.startswith("#+ ") else line[2:]
        for line in text.splitlines()
        if line.startswith("#+")
    )
    try:
        meta = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path or name}: front matter is not YAML: {exc}") from exc
    if not isinstance(meta, dict) or not meta.get("summary"):
        raise CatalogueError(f"{path or name}: front matter needs at least a summary")
    params = []
    for spec in meta.get("params") or []:
        if not isinstance(spec, dict) or not _NAME.match(str(spec.get("name", ""))):
            raise CatalogueError(f"{path or name}: bad parameter {spec!r}")
        kind = spec.get("type", "string")
        if kind not in PARAM_TYPES:
            raise CatalogueError(
                f"{path or name}: parameter {spec['name']} has unknown type "
                f"{kind!r}; types: {', '.join(PARAM_TYPES)}"
            )
        if kind == "concept" and spec.get("scheme") not in SCHEMES:
            raise CatalogueError(
                f"{path or name}: parameter {spec['name']} names unknown "
                f"scheme {spec.get('scheme')!r}"
            )
        if kind == "enum" and not spec.get("values"):
            raise CatalogueError(f"{path or name}: enum parameter {spec['name']} needs values")
        if f'wwfn:param("{spec["name"]}")' not in text and spec["name"] not in conditions:
            raise CatalogueError(
                f"{path or name}: parameter {spec['name']} is never read: "
                f'the query needs BIND(wwfn:param("{spec["name"]}") AS ?...)'
            )
        params.append(
            Parameter(
                name=spec["name"],
                type=kind,
                description=str(spec.get("description", "")),
                required=bool(spec.get("required", False)),
                default=spec.get("default"),
                scheme=str(spec.get("scheme", "")),
                values=tuple(str(v) for v in spec.get("values") or ()),
                minimum=spec.get("minimum"),
                maximum=spec.get("maximum"),
                many=bool(spec.get("many", False)),
            )
        )
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#+"))
    known = {"summary", "description", "tags", "params"}
    return NamedQuery(
        name=name,
        summary=str(meta["summary"]).strip(),
        description=str(meta.get("description", "")).strip(),
        tags=tuple(str(t) for t in meta.get("tags") or ()),
        params=tuple(params),
        text=body.strip() + "\n",
        path=path,
        extra={k: v for k, v in meta.items() if k not in known},
    )


def _expand(text: str, include: Callable[[str], str] | None, *, where: str, depth: int = 0) -> str:
    """``text`` with each ``#@ include`` line replaced by the part it names (expanded too).

    :raises CatalogueError: an include outside the internal queries, or parts that include
        each other.
    """
    if depth > 8:
        raise CatalogueError(f"{where}: the parts it includes include each other")
    lines = []
    for line in text.splitlines():
        wanted = _INCLUDE.match(line)
        if wanted is None:
            lines.append(line)
        elif include is None:
            raise CatalogueError(f"{where}: includes are for internal queries")
        else:
            part = include(wanted.group("name"))
            lines.append(_expand(part, include, where=where, depth=depth + 1))
    return "\n".join(lines)


@cache
def catalogue() -> dict[str, NamedQuery]:
    """Every query of the shipped catalogue, by name (the file name without ``.rq``).

    :raises CatalogueError: a file is malformed.
    """
    return _load("")


@cache
def internal_queries() -> dict[str, NamedQuery]:
    """Every internal query (``queries/internal/*.rq``), by name.

    :raises CatalogueError: a file is malformed.
    """
    folder = files("whatworks.queries").joinpath("internal")

    def include(name: str) -> str:
        entry = folder.joinpath(f"{name}.rq")
        if not entry.is_file():
            raise CatalogueError(f"queries/internal: no part named {name!r} to include")
        text = entry.read_text(encoding="utf-8")
        return "\n".join(line for line in text.splitlines() if not line.startswith("#+"))

    return _load("internal", include)


def _load(under: str, include: Callable[[str], str] | None = None) -> dict[str, NamedQuery]:
    folder = files("whatworks.queries")
    if under:
        folder = folder.joinpath(under)
    found: dict[str, NamedQuery] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            name = entry.name[:-3]
            found[name] = parse(
                entry.read_text(encoding="utf-8"),
                name=name,
                path="/".join(("queries", *([under] if under else []), entry.name)),
                include=include,
            )
    return found


def internal(name: str) -> NamedQuery:
    """The internal query ``name`` (a bug if there is none: the names are in the code).

    :raises UnknownQuery: no such name.
    """
    queries = internal_queries()
    if name not in queries:
        raise UnknownQuery(f"no internal query named {name!r}")
    return queries[name]


def get(name: str) -> NamedQuery:
    """The named query.

    :raises UnknownQuery: no such name.
    """
    queries = catalogue()
    if name not in queries:
        raise UnknownQuery(f"no query named {name!r}; see `whatworks query --list`")
    return queries[name]


def query_files() -> list[Path]:
    return sorted(
        Path(str(p)) for p in files("whatworks.queries").iterdir() if str(p).endswith(".rq")
    )


_NUMERIC = {
    str(XSD.integer),
    str(XSD.decimal),
    str(XSD.double),
    str(XSD.float),
    str(XSD.int),
    str(XSD.long),
    str(XSD.nonNegativeInteger),
    str(XSD.positiveInteger),
}


def plain_value(binding: dict[str, Any]) -> Any:
    """A SPARQL JSON binding as a plain JSON value: IRIs and strings as text, numbers as
    numbers, booleans as booleans."""
    value = str(binding.get("value", ""))
    datatype = binding.get("datatype", "")
    if binding.get("type") == "literal" and datatype in _NUMERIC:
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    if datatype == str(XSD.boolean):
        # "1" and "0" are xsd:boolean too (Virtuoso answers with them)
        return value in ("true", "1")
    return value


def envelope(
    named: NamedQuery, given: dict[str, str], version: str | None, results: dict[str, Any]
) -> dict[str, Any]:
    """The answer to a catalogue query, the same from the CLI and the API: which query
    (name and hash of its text), which dataset version, which parameters, and the rows."""
    parameters = {
        p.name: given.get(p.name) or (p.default if p.default is not None else None)
        for p in named.params
    }
    head: dict[str, Any] = {
        "query": named.name,
        "query_sha256": named.sha256,
        "dataset_version": version,
        "parameters": parameters,
    }
    if "boolean" in results:
        return {**head, "boolean": results["boolean"]}
    columns, rows = plain_rows(results)
    return {**head, "columns": columns, "rows": rows}


def plain_rows(results: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows of SPARQL JSON results, each cell a plain value
    (:func:`plain_value`; None where unbound)."""
    columns = list(results.get("head", {}).get("vars", []))
    rows = [
        {c: plain_value(b[c]) if c in b else None for c in columns}
        for b in results.get("results", {}).get("bindings", [])
    ]
    return columns, rows
