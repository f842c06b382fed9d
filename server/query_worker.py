"""Running SPARQL queries in worker processes that can be stopped.

Oxigraph cannot interrupt a query from Python, and a thread cannot be killed. So each
query runs in one of a few worker processes, each with its own read-only view of the
store; when a query passes its time limit the worker is killed (the query really stops,
its memory is freed) and a fresh one takes its place. Other clients' queries run in the
other workers meanwhile.

A worker reopens its view when the store's version marker changes (an ingest happened),
so answers follow the data without restarting the server. Results are serialized in the
worker into a buffer with a size cap: a result is complete or it is an error, never cut.
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from whatworks.core.config import is_remote
from whatworks.core.errors import StoreError
from whatworks.core.remote_store import (
    AnswerTooLarge,
    PartialResult,
    QueryRefused,
    RemoteStore,
    StoreUnavailable,
    open_remote,
)
from whatworks.core.store import (
    VERSION_MARKER,
    bind_parameters,
    open_read_only_view,
    parameter_functions,
    raced_a_writer,
)

log = logging.getLogger("whatworks.server")

#: Result kinds a worker returns.
SOLUTIONS, BOOLEAN, GRAPH = "solutions", "boolean", "graph"


class ResultTooLarge(Exception):
    """The serialized result passed the byte cap."""


class QueryTimeout(Exception):
    """The query ran past its time limit; its worker was killed."""


class QueryBusy(Exception):
    """No worker became free in time."""


class QueryFailed(Exception):
    """The engine refused the query (``syntax``), or failed (``error``), or the result was too
    large (``too_large``)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Job:
    """One query to run, with its dataset and the media type to serialize to."""

    query: str
    #: Media types by result kind, e.g. {"solutions": "application/sparql-results+json"}.
    media_types: dict[str, str]
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    max_bytes: int = 64 * 1024 * 1024
    #: The query text names its own dataset (FROM / FROM NAMED): no union default graph.
    query_dataset: bool = False
    #: Base IRI for relative IRIs in the query (the endpoint's URL).
    base_iri: str | None = None
    #: Parameters of a catalogue query (read with wwfn:param), as rdflib terms.
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    kind: str
    media_type: str
    body: bytes
    seconds: float


def version_marker(store: Path | str) -> str:
    """The store's version marker (written after every change), or "" before the first.

    For a remote store it is the dataset version held in the store, asked at most once a
    second per process.

    :raises StoreError: a remote store did not answer.
    """
    if isinstance(store, str) and is_remote(store):
        return _remote_version(store)
    try:
        return (Path(store) / VERSION_MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


_remote_versions: dict[str, tuple[float, str]] = {}
_remote_stores: dict[str, RemoteStore] = {}
_remote_lock = threading.Lock()


def _remote_version(location: str) -> str:
    with _remote_lock:
        seen = _remote_versions.get(location)
        if seen is not None and time.monotonic() - seen[0] < 1.0:
            return seen[1]
        store = _remote_stores.get(location)
        if store is None:
            store = _remote_stores[location] = open_remote(location, read_only=True)
    version = store.dataset_version() or ""
    with _remote_lock:
        _remote_versions[location] = (time.monotonic(), version)
    return version


#: Virtuoso's pragmas (``define get:soft "soft"`` makes it fetch the web): not SPARQL, and
#: never passed on to a remote store.
_PRAGMA = re.compile(r"(?im)^\s*define\s+[a-z_-]+:[a-z_-]+")


def _run_remote(store: RemoteStore, job: Job) -> Any:
    if _PRAGMA.search(job.query):
        raise SyntaxError("store-specific pragmas (define ...) are not SPARQL")
    text = f"BASE <{job.base_iri}>\n{job.query}" if job.base_iri else job.query
    if job.default_graphs or job.named_graphs:
        return store.query(
            text,
            parameters=job.parameters,
            default_graphs=job.default_graphs,
            named_graphs=job.named_graphs,
            max_bytes=job.max_bytes,
        )
    return store.query(
        text, parameters=job.parameters, union=not job.query_dataset, max_bytes=job.max_bytes
    )


class _Capped(io.RawIOBase):
    def __init__(self, limit: int):
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.size += len(chunk)
        if self.size > self.limit:
            raise ResultTooLarge(f"the result is larger than {self.limit} bytes")
        self.parts.append(chunk)
        return len(chunk)


#: A worker's first message: its imports are done and it can take a job.
READY = "ready"
#: Seconds a new worker may take to become ready before it is replaced (a busy machine
#: can take several seconds to start an interpreter).
START_TIMEOUT = 120.0


def _serve(conn: Connection, store_path: str) -> None:  # runs in the worker process
    import pyoxigraph as ox

    results_formats = {
        "application/sparql-results+json": ox.QueryResultsFormat.JSON,
        "application/sparql-results+xml": ox.QueryResultsFormat.XML,
        "text/csv": ox.QueryResultsFormat.CSV,
        "text/tab-separated-values": ox.QueryResultsFormat.TSV,
    }
    rdf_formats = {
        "text/turtle": ox.RdfFormat.TURTLE,
        "application/n-triples": ox.RdfFormat.N_TRIPLES,
        "application/ld+json": ox.RdfFormat.JSON_LD,
        "application/rdf+xml": ox.RdfFormat.RDF_XML,
        "application/trig": ox.RdfFormat.TRIG,
        "application/n-quads": ox.RdfFormat.N_QUADS,
    }
    path = Path(store_path)
    remote = is_remote(store_path)
    store: Any = None
    marker: str | None = None
    conn.send((READY,))
    while True:
        try:
            job: Job | None = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        started = time.perf_counter()
        try:
            if remote:
                if store is None:
                    store = open_remote(store_path, read_only=True)
                result = _run_remote(store, job)
            else:
                options: dict[str, Any] = {"base_iri": job.base_iri}
                if job.default_graphs or job.named_graphs:
                    # The protocol's dataset replaces the query's FROM / FROM NAMED entirely.
                    options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
                    options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
                elif not job.query_dataset:
                    # (Setting this would also override the query's own FROM / FROM NAMED.)
                    options["use_default_graph_as_union"] = True
                functions = parameter_functions(job.parameters)
                for attempt in range(2):
                    current = version_marker(path)
                    if store is None or current != marker or attempt:
                        store = open_read_only_view(path)
                        marker = current
                    try:
                        text = bind_parameters(job.query, job.parameters)
                        result = store.query(text, custom_functions=functions, **options)
                        break
                    except (OSError, RuntimeError) as exc:
                        # The view read a table file an ingest had just compacted away
                        # (see whatworks.core.store.raced_a_writer): reopen it and run again.
                        if attempt or not raced_a_writer(exc):
                            raise
            out: Any = _Capped(job.max_bytes)
            if isinstance(result, ox.QueryBoolean):
                kind = BOOLEAN
                media = job.media_types.get(kind, "")
                result.serialize(out, results_formats[media])
            elif isinstance(result, ox.QuerySolutions):
                kind = SOLUTIONS
                media = job.media_types.get(kind, "")
                result.serialize(out, results_formats[media])
            else:
                kind = GRAPH
                media = job.media_types.get(kind, "")
                fmt = rdf_formats[media]
                if fmt in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
                    quads = (
                        ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in result
                    )
                    ox.serialize(quads, out, fmt)
                else:
                    ox.serialize(result, out, fmt)
            conn.send(("ok", kind, media, b"".join(out.parts), time.perf_counter() - started))
        except KeyError:
            conn.send(("unacceptable", "no acceptable format for this kind of result"))
        except (SyntaxError, QueryRefused) as exc:
            conn.send(("syntax", str(exc)))
        except StoreUnavailable as exc:
            conn.send(("unavailable", str(exc)))
        except PartialResult as exc:
            conn.send(("partial", str(exc)))
        except (ResultTooLarge, AnswerTooLarge) as exc:
            conn.send(("too_large", str(exc)))
        except StoreError as exc:
            conn.send(("error", str(exc)))
        except Exception as exc:  # the worker must answer, whatever the engine raised
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    jobs: int = field(default=0)


class QueryPool:
    """A fixed number of query worker processes over one store."""

    def __init__(self, store: Path | str, *, size: int, queue_timeout: float):
        self.store = store
        self.size = max(1, size)
        self.queue_timeout = queue_timeout
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self.killed = 0
        for _ in range(self.size):
            threading.Thread(target=self._admit, daemon=True).start()

    def _admit(self) -> None:
        """Start a worker and put it in the pool once it says it is ready, so that a
        query's time limit never counts the start of a fresh interpreter."""
        for _ in range(3):
            worker = self._spawn()
            try:
                if worker.conn.poll(START_TIMEOUT) and worker.conn.recv() == (READY,):
                    self._idle.put(worker)
                    return
            except (EOFError, OSError):
                pass
            log.warning("a query worker did not start within %g s; starting another", START_TIMEOUT)
            worker.process.kill()
            worker.process.join(timeout=10)
            with self._lock:
                self._all.discard(worker)
        log.error("a query worker failed to start three times; the pool has one fewer")

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, str(self.store)), daemon=True, name="whatworks-query"
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._all.add(worker)
        return worker

    def run(self, job: Job, *, timeout: float) -> Answer:
        """Run ``job`` in a free worker; stop it after ``timeout`` seconds.

        :raises QueryBusy: no worker was free within the queue timeout.
        :raises QueryTimeout: the query passed ``timeout``; its worker was replaced.
        :raises QueryFailed: the engine refused or failed the query.
        """
        try:
            worker = self._idle.get(timeout=self.queue_timeout)
        except queue.Empty as exc:
            raise QueryBusy(f"all {self.size} query workers are busy") from exc
        try:
            worker.conn.send(job)
            worker.jobs += 1
            if not worker.conn.poll(timeout):
                self._replace(worker)
                worker = None  # type: ignore[assignment]
                raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped")
            message = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            if worker is not None:
                self._replace(worker)
                worker = None  # type: ignore[assignment]
            raise QueryFailed("died", "the query worker died; it has been replaced") from exc
        finally:
            if worker is not None:
                self._idle.put(worker)
        if message[0] == "ok":
            _, kind, media, body, seconds = message
            return Answer(kind, media, body, seconds)
        raise QueryFailed(message[0], message[1])

    def _replace(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.conn.close()
        with self._lock:
            self._all.discard(worker)
            self.killed += 1

        # Spawning takes a moment (a fresh interpreter): do it off the request's thread.
        def respawn() -> None:
            worker.process.join(timeout=10)  # reap the killed one: leave no zombie behind
            self._admit()

        threading.Thread(target=respawn, daemon=True).start()

    def close(self) -> None:
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
