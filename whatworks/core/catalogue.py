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
serializer, :func:`whatworks.core.store.bind_parameters`: escaped, never pasted as given), or
drops the ``BIND`` when ``x`` was not given (and has no ``default``), leaving ``?x``
unbound — so optional filters read ``FILTER(!BOUND(?x) || ...)``. Values outside their
type or allowed set are refused with the allowed values listed. (pyoxigraph's own
substitutions join on the result, so filters could not see them.)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from whatworks.core.errors import WhatworksError
from whatworks.core.namespaces import concept, sparql_prologue
from whatworks.core.vocab import SCHEMES

PARAM_TYPES = ("concept", "iri", "integer", "boolean", "enum", "string")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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


def parse(text: str, *, name: str, path: str = "") -> NamedQuery:
    """Read one catalogue file.

    :raises CatalogueError: missing or malformed front matter, or a bad parameter spec.
    """
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
        if f'wwfn:param("{spec["name"]}")' not in text:
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


@cache
def catalogue() -> dict[str, NamedQuery]:
    """Every query of the shipped catalogue, by name (the file name without ``.rq``).

    :raises CatalogueError: a file is malformed.
    """
    folder = files("whatworks.queries")
    found: dict[str, NamedQuery] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            name = entry.name[:-3]
            found[name] = parse(
                entry.read_text(encoding="utf-8"), name=name, path=f"queries/{entry.name}"
            )
    return found


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
