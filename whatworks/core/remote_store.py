"""A SPARQL store on a server: the same :class:`~whatworks.core.store.Store` over HTTP.

``WHATWORKS_STORE`` (or ``--store``) set to an ``http(s)://`` URL names the store's query
endpoint; the other settings come from the environment (docs/remote-stores.md):

=================================  ==========================================================
``WHATWORKS_STORE_UPDATE``         SPARQL Update endpoint (default: the query URL)
``WHATWORKS_STORE_GSP``            Graph Store Protocol endpoint (optional; used to stage)
``WHATWORKS_STORE_USER`` /         credentials, sent with every request
``WHATWORKS_STORE_PASSWORD``
``WHATWORKS_STORE_AUTH``           ``basic`` (default) or ``digest``
``WHATWORKS_STORE_TOKEN``          a bearer token instead (QLever's access token, a proxy's)
``WHATWORKS_STORE_TIMEOUT``        seconds per request (default 60)
``WHATWORKS_STORE_RETRIES``        retries when the store is unreachable or busy (default 3)
``WHATWORKS_STORE_WRITE``          ``transaction`` (default) or ``staged``
``WHATWORKS_STORE_CHUNK``          triples per request when staging (default 20000)
``WHATWORKS_STORE_UNION``          ``protocol`` (default) or ``native``
=================================  ==========================================================

Queries go through SPARQLWrapper (GET for short ones, POST for long ones) and come back as
pyoxigraph result objects, so callers cannot tell the backends apart. Writes:

* ``transaction``: every :meth:`RemoteStore.replace_graphs` call is ONE SPARQL Update
  request holding the diff of every graph and the new dataset version. Stores that run an
  update request as one transaction (Oxigraph server, Fuseki on TDB2, GraphDB, Neptune)
  give the same all-or-nothing as the embedded store.
* ``staged`` (the fallback for stores that limit the size of a request, such as Virtuoso
  and QLever): the new content of each graph is written in chunks into a fresh staging
  graph (by the Graph Store Protocol when a GSP URL is set, else by ``INSERT DATA``), then
  one small update moves every staging graph onto its target and sets the version. Readers
  see the old graphs until that last request; a write that dies half-way leaves only
  staging graphs, which the next write removes.

The default graph of a query is the union of the dataset's graphs, as in the embedded
store: by the protocol's ``default-graph-uri`` / ``named-graph-uri`` (every graph the
dataset holds, listed in its bookkeeping graph), or, with ``WHATWORKS_STORE_UNION=native``,
by the store itself (``oxigraph serve --union-default-graph``, Fuseki's
``unionDefaultGraph``).

A store that is down, busy (502/503/504) or refusing connections is retried with
exponential back-off (0.5 s, 1 s, 2 s, ...); a request never waits past the timeout. When
the retries run out the error names the store, the attempts and the cause.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import os
import re
import socket
import threading
import time
import urllib.error
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, TypeVar

import pyoxigraph as ox
import requests
from rdflib import URIRef
from rdflib.term import Node
from SPARQLWrapper import GET, POST, URLENCODED, SPARQLWrapper
from SPARQLWrapper import SPARQLExceptions as sw_errors

from whatworks.core.engine import bind_parameters, from_ox
from whatworks.core.errors import (
    AnswerTooLarge,
    PartialResult,
    QueryBusy,
    QueryRefused,
    QueryTimeout,
    ServiceRefused,
    StoreError,
    StoreUnavailable,
    WhatworksError,
)
from whatworks.core.namespaces import DATASET, GRAPH, META_GRAPH
from whatworks.core.query_pool import Answer, Job, serialize_answer
from whatworks.core.store import (
    EXPORT_FORMATS,
    OWL_VERSION,
    GraphChange,
    QueryResult,
    Triple,
    data_operations,
    new_version,
    solution_rows,
    statement,
    update_graphs_by_replacing,
    version_update,
)

#: The bookkeeping graph lists every graph holding data: <graph> a sd:NamedGraph.
SD_NAMED_GRAPH = "http://www.w3.org/ns/sparql-service-description#NamedGraph"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: Staging graphs of the ``staged`` write mode live under this prefix.
STAGING = f"{GRAPH}staging/"
#: Queries longer than this go by POST (servers cap URL lengths near 8 KiB).
LONG_QUERY = 2000
_RESULTS = "application/sparql-results+json"
_TRIPLES = "application/n-triples"
_ACCEPT = f"{_RESULTS}, {_TRIPLES};q=0.9, text/turtle;q=0.5"
_GRAPH_ACCEPT = f"{_TRIPLES}, text/plain;q=0.9, text/turtle;q=0.5"
_RETRY_STATUSES = (502, 503, 504)


T = TypeVar("T")


__all__ = [  # the errors were defined here first; callers may still import them from here
    "AnswerTooLarge",
    "PartialResult",
    "QueryRefused",
    "RemoteSettings",
    "RemoteStore",
    "StoreUnavailable",
    "open_remote",
]

#: Virtuoso's pragmas (``define get:soft "soft"`` makes it fetch the web): not SPARQL, and
#: never passed on to a remote store.
_PRAGMA = re.compile(r"(?im)^\s*define\s+[a-z_-]+:[a-z_-]+")


@dataclass(frozen=True)
class RemoteSettings:
    """How to reach one remote store (see the module docstring for the variables)."""

    query_url: str
    update_url: str
    gsp_url: str = ""
    user: str = ""
    password: str = ""
    auth: str = "basic"
    token: str = ""
    timeout: float = 60.0
    retries: int = 3
    write: str = "transaction"
    chunk: int = 20000
    union: str = "protocol"
    #: Seconds to wait before the first retry; doubled for each further one.
    backoff: float = 0.5

    @classmethod
    def from_environment(cls, url: str, environ: Mapping[str, str] | None = None) -> RemoteSettings:
        """Settings for the query endpoint ``url`` from ``WHATWORKS_STORE_*`` variables.

        :raises WhatworksError: a variable has a value that cannot be used.
        """
        env = os.environ if environ is None else environ

        def get(name: str, default: str = "") -> str:
            return env.get(f"WHATWORKS_STORE_{name}", default).strip()

        def number(name: str, default: str, kind: Callable[[str], T]) -> T:
            text = get(name, default)
            try:
                return kind(text)
            except ValueError:
                raise WhatworksError(
                    f"WHATWORKS_STORE_{name}={text!r}: expected a number"
                ) from None

        settings = cls(
            query_url=url,
            update_url=get("UPDATE") or url,
            gsp_url=get("GSP"),
            user=get("USER"),
            password=env.get("WHATWORKS_STORE_PASSWORD", ""),
            auth=get("AUTH", "basic").lower(),
            token=get("TOKEN"),
            timeout=number("TIMEOUT", "60", float),
            retries=number("RETRIES", "3", int),
            write=get("WRITE", "transaction").lower(),
            chunk=number("CHUNK", "20000", int),
            union=get("UNION", "protocol").lower(),
        )
        choices = {
            "AUTH": (settings.auth, ("basic", "digest")),
            "WRITE": (settings.write, ("transaction", "staged")),
            "UNION": (settings.union, ("protocol", "native")),
        }
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise WhatworksError(
                    f"WHATWORKS_STORE_{name}={value!r}: expected one of {', '.join(allowed)}"
                )
        bounds = {
            "TIMEOUT": (settings.timeout > 0, "> 0"),
            "RETRIES": (settings.retries >= 0, ">= 0"),
            "CHUNK": (settings.chunk >= 1, ">= 1"),
        }
        for name, (ok, expected) in bounds.items():
            if not ok:
                raise WhatworksError(f"WHATWORKS_STORE_{name} must be {expected}")
        return settings


class RemoteStore:
    """A store on a SPARQL 1.1 server (see the module docstring).

    Bounded queries (:meth:`run_bounded`) run ``query_workers`` at a time (the store does
    the work; this bounds the requests sent to it), each waiting at most ``queue_timeout``
    seconds for its turn.
    """

    def __init__(
        self,
        settings: RemoteSettings | str,
        *,
        read_only: bool = False,
        query_workers: int = 1,
        queue_timeout: float = 5.0,
    ):
        if isinstance(settings, str):
            settings = RemoteSettings.from_environment(settings)
        self.settings = settings
        self.location = settings.query_url
        self.read_only = read_only
        self.query_workers = max(1, query_workers)
        self.queue_timeout = queue_timeout
        self._turns = threading.BoundedSemaphore(self.query_workers)
        #: (monotonic time, version) of the last look at the dataset version.
        self._version: tuple[float, str] | None = None
        self._version_lock = threading.Lock()
        self._http = requests.Session()
        if settings.token:
            self._http.headers["Authorization"] = f"Bearer {settings.token}"
        elif settings.user:
            self._http.auth = (
                requests.auth.HTTPDigestAuth(settings.user, settings.password)
                if settings.auth == "digest"
                else requests.auth.HTTPBasicAuth(settings.user, settings.password)
            )
        #: (monotonic time, graphs) of the last look at the dataset's graph list.
        self._graphs: tuple[float, list[URIRef]] | None = None

    # -- reading ---------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        parameters: Mapping[str, Node] | None = None,
        default_graphs: Iterable[str] | None = None,
        named_graphs: Iterable[str] | None = None,
        union: bool = True,
        max_bytes: int | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Run a query; the default graph is the union of all graphs unless a dataset is
        given (``default_graphs`` / ``named_graphs``) or ``union`` is false (the query's own
        FROM / FROM NAMED, or the store's default graph).

        :raises QueryRefused: the store found the query malformed.
        :raises PartialResult: the store cut the result short.
        :raises StoreUnavailable: the store did not answer.
        :raises AnswerTooLarge: the answer passed ``max_bytes`` (reading stopped there).

        ``timeout`` (seconds) replaces ``WHATWORKS_STORE_TIMEOUT`` for this query.
        """
        text = bind_parameters(sparql, parameters or {})
        dataset_given = default_graphs is not None or named_graphs is not None
        if union and not dataset_given and self.settings.union == "protocol":
            graphs = [str(g) for g in self._dataset_graphs()]
            default_graphs, named_graphs = graphs, graphs
        body, media = self._sparql(
            text,
            list(default_graphs or ()),
            list(named_graphs or ()),
            max_bytes=max_bytes,
            timeout=timeout,
        )
        return _parse_result(body, media)

    def select(
        self, sparql: str, *, parameters: Mapping[str, Node] | None = None
    ) -> list[dict[str, Node]]:
        return solution_rows(self.query(sparql, parameters=parameters))

    def graph_names(self) -> list[URIRef]:
        return self._dataset_graphs(fresh=True)

    def dataset_version(self) -> str | None:
        rows = self._select_raw(
            f"SELECT ?v WHERE {{ GRAPH <{META_GRAPH}> {{ <{DATASET}> <{OWL_VERSION}> ?v }} }}"
        )
        return str(rows[0][0].value) if rows and rows[0][0] is not None else None

    def current_version(self) -> str:
        """The dataset version, asked of the store at most once a second (the answer is
        kept that long: every request of the server asks)."""
        with self._version_lock:
            seen = self._version
            if seen is not None and time.monotonic() - seen[0] < 1.0:
                return seen[1]
        version = self.dataset_version() or ""
        with self._version_lock:
            self._version = (time.monotonic(), version)
        return version

    def run_bounded(self, job: Job, *, timeout: float) -> Answer:
        """See :meth:`Store.run_bounded`: one request, its read timeout the time limit (or
        ``WHATWORKS_STORE_TIMEOUT`` when shorter), its answer read up to the byte cap. The
        store's own limits stop its side of the query."""
        if _PRAGMA.search(job.query):
            raise QueryRefused("store-specific pragmas (define ...) are not SPARQL")
        if not self._turns.acquire(timeout=self.queue_timeout):
            raise QueryBusy(f"all {self.query_workers} query workers are busy")
        started = time.perf_counter()
        try:
            limit = min(timeout, self.settings.timeout)
            text = f"BASE <{job.base_iri}>\n{job.query}" if job.base_iri else job.query
            dataset: dict[str, Any] = (
                {"default_graphs": job.default_graphs, "named_graphs": job.named_graphs}
                if job.default_graphs or job.named_graphs
                else {"union": not job.query_dataset}
            )
            try:
                result = self.query(
                    text,
                    parameters=job.parameters,
                    max_bytes=job.max_bytes,
                    timeout=limit,
                    **dataset,
                )
            except StoreUnavailable as exc:
                if timeout < self.settings.timeout and time.perf_counter() - started >= timeout:
                    raise QueryTimeout(
                        f"the query ran longer than {timeout:g} s and was stopped"
                    ) from exc
                raise
            except StoreError as exc:
                if type(exc) is StoreError and ("not allowed" in str(exc) or "SERVICE" in str(exc)):
                    # The store refused a SERVICE call, in its own words.
                    raise ServiceRefused(str(exc)) from exc
                raise
            return serialize_answer(result, job, started)
        finally:
            self._turns.release()

    def triples(self, graph: URIRef) -> Iterator[Triple]:
        for triple in self._graph_triples(str(graph)):
            yield from_ox(triple.subject), from_ox(triple.predicate), from_ox(triple.object)

    def export(self, out: BinaryIO, *, format: str = "nquads") -> None:
        fmt = EXPORT_FORMATS[format]
        graphs = [str(g) for g in self.graph_names()] + [str(META_GRAPH)]

        def quads() -> Iterator[ox.Quad]:
            for graph in graphs:
                name = ox.NamedNode(graph)
                for t in self._graph_triples(graph):
                    yield ox.Quad(t.subject, t.predicate, t.object, name)

        if fmt in (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG):
            ox.serialize(quads(), out, fmt)
        else:
            ox.serialize((q.triple for q in quads()), out, fmt)

    # -- writing ---------------------------------------------------------------------------

    def replace_graphs(self, graphs: Mapping[URIRef, Iterable[Triple]]) -> str:
        if self.read_only:
            raise StoreError(f"the store at {self.location} is open read-only")
        version = new_version()
        contents = {str(g): {_statement(t) for t in triples} for g, triples in graphs.items()}
        if self.settings.write == "staged":
            self._drop_leftover_staging()
            final = self._staged_update(contents, version)
        else:
            final = self._transaction_update(contents, version)
        self._apply(final, version)
        return version

    def _apply(self, update: str, version: str) -> None:
        """Send the update that sets ``version``; when the store stops answering on the
        way, its version tells whether the update was applied."""
        previous = self.dataset_version()
        try:
            self._send_update(update)
        except StoreUnavailable:
            # The request may or may not have been applied: the version tells which.
            now = self._version_or_none()
            if now == version:
                return
            if now is None:
                raise StoreUnavailable(
                    f"the store at {self.location} stopped answering during the write; "
                    f"whether it was applied is unknown until it answers again (it was if "
                    f"its dataset version is {version})"
                ) from None
            if now == previous:
                raise
            raise StoreError(
                f"the store at {self.location} stopped answering during the write; it now "
                f"holds version {now!r}, neither the previous nor the new one"
            ) from None
        finally:
            self._graphs = None

    def update_graphs(self, changes: Mapping[URIRef, GraphChange]) -> str:
        """Remove and add triples (see :meth:`Store.update_graphs`): in ``transaction`` mode
        one update request carrying only the change; in ``staged`` mode the changed graphs
        are replaced through staging graphs."""
        if self.settings.write == "staged":
            return update_graphs_by_replacing(self, changes)
        if self.read_only:
            raise StoreError(f"the store at {self.location} is open read-only")
        version = new_version()
        parts: list[str] = []
        listed: dict[str, set[str]] = {}
        for graph, (gone, came) in changes.items():
            added = {_statement(t) for t in came}
            parts += data_operations(graph, (_statement(t) for t in gone), added)
            if added:
                listed[str(graph)] = added
        self._apply(" ;\n".join(parts + self._meta_update(listed, version)), version)
        # A graph that lost triples and gained none may now be empty: unlist it.
        emptied = [
            f"<{g}> <{RDF_TYPE}> <{SD_NAMED_GRAPH}> ."
            for g, (_, came) in changes.items()
            if str(g) not in listed and not self._has_triples(str(g))
        ]
        if emptied:
            self._send_update(f"DELETE DATA {{ GRAPH <{META_GRAPH}> {{ {' '.join(emptied)} }} }}")
        return version

    def close(self) -> None:
        self._http.close()

    def _has_triples(self, graph: str) -> bool:
        body, media = self._sparql(f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", [], [])
        return bool(_parse_result(body, media))

    # -- helpers ---------------------------------------------------------------------------

    def _meta_update(self, contents: Mapping[str, set[str]], version: str) -> list[str]:
        meta = f"<{META_GRAPH}>"
        parts = version_update(version)
        listed = [f"<{g}> <{RDF_TYPE}> <{SD_NAMED_GRAPH}> ." for g, c in contents.items() if c]
        emptied = [f"<{g}> <{RDF_TYPE}> <{SD_NAMED_GRAPH}> ." for g, c in contents.items() if not c]
        if emptied:
            parts.append(f"DELETE DATA {{ GRAPH {meta} {{ {' '.join(emptied)} }} }}")
        if listed:
            parts.append(f"INSERT DATA {{ GRAPH {meta} {{ {' '.join(listed)} }} }}")
        return parts

    def _transaction_update(self, contents: Mapping[str, set[str]], version: str) -> str:
        parts: list[str] = []
        for graph, new in contents.items():
            old = {f"{t} ." for t in self._graph_triples(graph)}
            parts += data_operations(graph, old - new, new - old)
        return " ;\n".join(parts + self._meta_update(contents, version))

    def _staged_update(self, contents: Mapping[str, set[str]], version: str) -> str:
        moves: list[str] = []
        for graph, new in contents.items():
            if not new:
                moves.append(f"DROP SILENT GRAPH <{graph}>")
                continue
            staging = f"{STAGING}{uuid.uuid4().hex}"
            lines = sorted(new)
            for start in range(0, len(lines), self.settings.chunk):
                chunk = lines[start : start + self.settings.chunk]
                if self.settings.gsp_url:
                    self._retrying(
                        "write",
                        lambda chunk=chunk, staging=staging: self._http.post(  # type: ignore[misc]
                            self.settings.gsp_url,
                            params={"graph": staging},
                            data="\n".join(chunk).encode("utf-8"),
                            headers={"Content-Type": _TRIPLES},
                            timeout=self.settings.timeout,
                        ),
                    )
                else:
                    self._send_update(
                        f"INSERT DATA {{ GRAPH <{staging}> {{\n" + "\n".join(chunk) + "\n} }"
                    )
            moves.append(f"MOVE SILENT <{staging}> TO <{graph}>")
        return " ;\n".join(moves + self._meta_update(contents, version))

    def _drop_leftover_staging(self) -> None:
        rows = self._select_raw(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER(STRSTARTS(STR(?g), "{STAGING}")) }}'
        )
        drops = [f"DROP SILENT GRAPH <{row[0].value}>" for row in rows if row[0] is not None]
        if drops:
            self._send_update(" ;\n".join(drops))

    def _send_update(self, text: str) -> None:
        def send() -> requests.Response:
            return self._http.post(
                self.settings.update_url,
                data=text.encode("utf-8"),
                headers={"Content-Type": "application/sparql-update; charset=utf-8"},
                timeout=self.settings.timeout,
            )

        self._retrying("write", send)

    def _retrying(self, what: str, send: Callable[[], requests.Response]) -> bytes:
        """Send one request; retry while the store is unreachable or busy."""
        wait = self.settings.backoff
        cause = ""
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(wait)
                wait *= 2
            try:
                response = send()
            except requests.Timeout:
                raise StoreUnavailable(
                    f"the store at {self.location} did not answer a {what} within "
                    f"{self.settings.timeout:g} s (WHATWORKS_STORE_TIMEOUT)"
                ) from None
            except requests.ConnectionError as exc:
                cause = f"cannot connect ({_reason(exc)})"
                continue
            if response.status_code in _RETRY_STATUSES:
                cause = f"HTTP {response.status_code}"
                continue
            if response.status_code == 400:
                raise QueryRefused(f"the store refused the {what}: {_excerpt(response.text)}")
            if response.status_code in (401, 403):
                raise StoreError(
                    f"the store at {self.location} refused the {what} (HTTP "
                    f"{response.status_code}): check WHATWORKS_STORE_USER/_PASSWORD/_TOKEN "
                    f"and that the account may {what}"
                )
            if response.status_code >= 300:
                raise StoreError(
                    f"the store at {self.location} failed the {what} (HTTP "
                    f"{response.status_code}): {_excerpt(response.text)}"
                )
            return response.content
        raise StoreUnavailable(
            f"the store at {self.location} is unavailable: {cause}, "
            f"{self.settings.retries + 1} attempt(s) over "
            f"{self.settings.backoff * (2**self.settings.retries - 1):g} s"
        )

    def _sparql(
        self,
        text: str,
        default_graphs: list[str],
        named_graphs: list[str],
        *,
        max_bytes: int | None = None,
        timeout: float | None = None,
    ) -> tuple[bytes, str]:
        """Send a query through SPARQLWrapper; (body, media type) of the answer."""
        wrapper = SPARQLWrapper(self.settings.query_url)
        wrapper.setOnlyConneg(True)
        wrapper.addCustomHttpHeader("Accept", _ACCEPT)
        wrapper.setTimeout(int(max(1, timeout or self.settings.timeout)))
        auth = self._http.auth
        if self.settings.token:
            wrapper.addCustomHttpHeader("Authorization", f"Bearer {self.settings.token}")
        elif isinstance(auth, requests.auth.HTTPBasicAuth):
            pair = f"{self.settings.user}:{self.settings.password}"
            token = base64.b64encode(pair.encode()).decode()
            wrapper.addCustomHttpHeader("Authorization", f"Basic {token}")
        elif isinstance(auth, requests.auth.HTTPDigestAuth):
            wrapper.setHTTPAuth("DIGEST")
            wrapper.setCredentials(self.settings.user, self.settings.password)
        for graph in default_graphs:
            wrapper.addParameter("default-graph-uri", graph)
        for graph in named_graphs:
            wrapper.addParameter("named-graph-uri", graph)
        long = len(text) + 60 * (len(default_graphs) + len(named_graphs)) > LONG_QUERY
        if long:
            wrapper.setMethod(POST)
            wrapper.setRequestMethod(URLENCODED)
        else:
            wrapper.setMethod(GET)
        wrapper.setQuery(text)
        # Ask for what the kind of query returns (some stores, Virtuoso among them, answer
        # a CONSTRUCT with SPARQL results when those come first in Accept).
        graph_query = wrapper.queryType in ("CONSTRUCT", "DESCRIBE")
        wrapper.clearCustomHttpHeader("Accept")
        wrapper.addCustomHttpHeader("Accept", _GRAPH_ACCEPT if graph_query else _ACCEPT)

        wait = self.settings.backoff
        cause = ""
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(wait)
                wait *= 2
            try:
                response = wrapper.query().response
                media = (response.headers.get("Content-Type") or "").split(";")[0].strip()
                _check_complete(response.headers)
                if max_bytes is None:
                    return response.read(), media
                body = response.read(max_bytes + 1)
                if len(body) > max_bytes:
                    raise AnswerTooLarge(f"the result is larger than {max_bytes} bytes")
                return body, media
            except sw_errors.QueryBadFormed as exc:
                raise QueryRefused(f"the store refused the query: {_sw_message(exc)}") from None
            except sw_errors.Unauthorized:
                raise StoreError(
                    f"the store at {self.location} refused the query (HTTP 401): check "
                    f"WHATWORKS_STORE_USER/_PASSWORD/_TOKEN"
                ) from None
            except (sw_errors.EndPointNotFound, sw_errors.URITooLong) as exc:
                raise StoreError(
                    f"the store at {self.location} refused the query: {_sw_message(exc)}"
                ) from None
            except sw_errors.EndPointInternalError as exc:
                raise StoreError(
                    f"the store at {self.location} failed the query: {_sw_message(exc)}"
                ) from None
            except urllib.error.HTTPError as exc:
                if exc.code not in _RETRY_STATUSES:
                    raise StoreError(
                        f"the store at {self.location} failed the query (HTTP {exc.code})"
                    ) from None
                cause = f"HTTP {exc.code}"
            except TimeoutError:
                raise StoreUnavailable(
                    f"the store at {self.location} did not answer within "
                    f"{self.settings.timeout:g} s (WHATWORKS_STORE_TIMEOUT)"
                ) from None
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, TimeoutError | socket.timeout):
                    raise StoreUnavailable(
                        f"the store at {self.location} did not answer within "
                        f"{self.settings.timeout:g} s (WHATWORKS_STORE_TIMEOUT)"
                    ) from None
                cause = f"cannot connect ({reason})"
        raise StoreUnavailable(
            f"the store at {self.location} is unavailable: {cause}, "
            f"{self.settings.retries + 1} attempt(s) over "
            f"{self.settings.backoff * (2**self.settings.retries - 1):g} s"
        )

    def _select_raw(self, text: str) -> list[list[Any]]:
        """Rows of a SELECT sent as is (no dataset parameters), as pyoxigraph terms."""
        body, media = self._sparql(text, [], [])
        result = _parse_result(body, media)
        if not isinstance(result, ox.QuerySolutions):
            raise StoreError(f"the store at {self.location} answered a SELECT with {media}")
        names = [v.value for v in result.variables]
        return [[solution[name] for name in names] for solution in result]

    def _graph_triples(self, graph: str) -> Iterator[ox.Triple]:
        body, media = self._sparql(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", [], []
        )
        result = _parse_result(body, media)
        if isinstance(result, ox.QuerySolutions | ox.QueryBoolean):
            raise StoreError(f"the store at {self.location} answered a CONSTRUCT with {media}")
        yield from result

    def _dataset_graphs(self, *, fresh: bool = False) -> list[URIRef]:
        """The graphs the dataset holds, as listed in its bookkeeping graph (cached 1 s:
        another process may write meanwhile)."""
        now = time.monotonic()
        if not fresh and self._graphs is not None and now - self._graphs[0] < 1.0:
            return self._graphs[1]
        rows = self._select_raw(
            f"SELECT ?g WHERE {{ GRAPH <{META_GRAPH}> {{ ?g <{RDF_TYPE}> <{SD_NAMED_GRAPH}> }} }}"
        )
        graphs = sorted(URIRef(str(row[0].value)) for row in rows if row[0] is not None)
        self._graphs = (now, graphs)
        return graphs

    def _version_or_none(self) -> str | None:
        """The dataset version if the store answers at once (no retries), else None."""
        probe = RemoteStore(replace(self.settings, retries=0), read_only=True)
        try:
            return probe.dataset_version()
        except StoreError:
            return None
        finally:
            probe.close()


def _statement(triple: Triple) -> str:
    try:
        return statement(triple)
    except ValueError as exc:
        raise StoreError(str(exc)) from None


def _parse_result(body: bytes, media: str) -> QueryResult:
    if media in (_RESULTS, "application/json"):
        return ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    if media in ("application/sparql-results+xml", "application/xml"):
        return ox.parse_query_results(body, ox.QueryResultsFormat.XML)
    formats = {
        _TRIPLES: ox.RdfFormat.N_TRIPLES,
        "text/plain": ox.RdfFormat.N_TRIPLES,
        "text/turtle": ox.RdfFormat.TURTLE,
    }
    if media in formats:
        return _Triples(ox.parse(body, formats[media]))
    raise StoreError(f"the store answered with {media or 'no media type'}, which we cannot read")


class _Triples:
    """The triples of a CONSTRUCT / DESCRIBE answer (iterable once, like pyoxigraph's)."""

    def __init__(self, triples: Iterator[ox.Triple | ox.Quad]):
        self._triples = triples

    def __iter__(self) -> Iterator[ox.Triple]:
        for t in self._triples:
            yield t.triple if isinstance(t, ox.Quad) else t


def _check_complete(headers: Any) -> None:
    """Refuse an answer the store says it cut short (Virtuoso's anytime queries and its
    ResultSetMaxRows cap): a partial result must never pass as the answer."""
    state = (headers.get("X-SQL-State") or "").strip()
    message = (headers.get("X-SQL-Message") or "").strip()
    if state or "PARTIAL" in message.upper():
        raise PartialResult(
            f"the store returned a partial result ({state} {message}); raise its limits "
            f"(Virtuoso: ResultSetMaxRows, MaxQueryExecutionTime) or narrow the query"
        )


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Connection reset", "Name or service not known"):
        if marker in text:
            return marker.lower()
    return text[:200]


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text[:500] + ("…" if len(text) > 500 else "")


def _sw_message(exc: Exception) -> str:
    """The store's own words from a SPARQLWrapper error (its generic text dropped)."""
    text = str(exc)
    if "Response:" in text:
        text = text.split("Response:", 1)[1]
        with contextlib.suppress(Exception):
            text = ast.literal_eval(text.strip()).decode("utf-8", "replace")
    return _excerpt(text)


def open_remote(
    url: str, *, read_only: bool = False, query_workers: int = 1, queue_timeout: float = 5.0
) -> RemoteStore:
    """The store behind query endpoint ``url``, set up from ``WHATWORKS_STORE_*``, running
    ``query_workers`` bounded queries at a time (see :class:`RemoteStore`)."""
    return RemoteStore(
        RemoteSettings.from_environment(url),
        read_only=read_only,
        query_workers=query_workers,
        queue_timeout=queue_timeout,
    )
