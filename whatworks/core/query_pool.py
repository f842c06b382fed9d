"""Running SPARQL queries on the embedded store in worker processes that can be stopped.

Oxigraph cannot interrupt a query from Python, and a thread cannot be killed. So each
query runs in one of a few worker processes, each with its own read-only view of the
store; when a query passes its time limit the worker is killed (the query really stops,
its memory is freed) and a fresh one takes its place. Other clients' queries run in the
other workers meanwhile.

A worker reopens its view when the store's version marker changes (an ingest happened),
so answers follow the data without restarting the server. Results are serialized in the
worker into a buffer with a size cap: a result is complete or it is an error, never cut.

:class:`Job` and :class:`Answer` are what :meth:`whatworks.core.store.Store.run_bounded`
takes and returns on every backend; :func:`serialize_answer` is shared with the remote
store, so that both write the same bytes for the same result.
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib.term import Node

from whatworks.core.engine import (
    Lease,
    bind_parameters,
    open_leased_view,
    parameter_functions,
    raced_a_writer,
    read_version_marker,
)
from whatworks.core.errors import (
    AnswerTooLarge,
    NoAcceptableFormat,
    QueryBusy,
    QueryFailed,
    QueryRefused,
    QueryTimeout,
    ServiceRefused,
    StoreError,
    WorkerDied,
)

#: The server's logger: the pool serves it, and its warnings belong in the server's log.
log = logging.getLogger("whatworks.server")

#: Result kinds a bounded query returns.
SOLUTIONS, BOOLEAN, GRAPH = "solutions", "boolean", "graph"


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
    parameters: dict[str, Node] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A query's result, serialized whole."""

    kind: str
    media_type: str
    body: bytes
    seconds: float


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
            raise AnswerTooLarge(f"the result is larger than {self.limit} bytes")
        self.parts.append(chunk)
        return len(chunk)


def serialize_answer(result: Any, job: Job, started: float) -> Answer:
    """``result`` (a pyoxigraph result) written in the media type ``job`` asks for its kind,
    within ``job.max_bytes``; ``started`` is when the query began (perf_counter).

    :raises NoAcceptableFormat: no media type was asked for this kind of result, or the
        engine cannot write it.
    :raises AnswerTooLarge: the serialization passed ``job.max_bytes``.
    """
    out: Any = _Capped(job.max_bytes)
    if isinstance(result, ox.QueryBoolean | ox.QuerySolutions):
        kind = BOOLEAN if isinstance(result, ox.QueryBoolean) else SOLUTIONS
        media = job.media_types.get(kind, "")
        results_format = ox.QueryResultsFormat.from_media_type(media) if media else None
        if results_format is None:
            raise NoAcceptableFormat("no acceptable format for this kind of result")
        result.serialize(out, results_format)
    else:
        kind = GRAPH
        media = job.media_types.get(kind, "")
        rdf_format = ox.RdfFormat.from_media_type(media) if media else None
        if rdf_format is None:
            raise NoAcceptableFormat("no acceptable format for this kind of result")
        if rdf_format in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
            # These dataset formats take quads: the answer's triples go in the default graph.
            # (JSON-LD also holds datasets but takes the triples as they are.)
            quads = (ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in result)
            ox.serialize(quads, out, rdf_format)
        else:
            ox.serialize(result, out, rdf_format)
    return Answer(kind, media, b"".join(out.parts), time.perf_counter() - started)


#: A worker's first message: its imports are done and it can take a job.
READY = "ready"
#: Seconds a new worker may take to become ready before it is replaced (a busy machine
#: can take several seconds to start an interpreter).
START_TIMEOUT = 120.0


def _serve(conn: Connection, store_path: str) -> None:  # runs in the worker process
    try:
        _answer_jobs(conn, store_path)
    except (BrokenPipeError, ConnectionResetError):
        # The server went away (stopped while a query was under way, its answer unread):
        # nothing is left to answer, and a traceback would only fill its log.
        return


def _answer_jobs(conn: Connection, store_path: str) -> None:
    path = Path(store_path)
    store: Any = None
    # held while the view is open: the version's folder is not removed under it
    lease: Lease | None = None
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
                current = read_version_marker(path)
                if store is None or current != marker or attempt:
                    store = None  # dropped before its lease
                    if lease is not None:
                        lease.release()
                    lease = None
                    store, lease = open_leased_view(path)
                    marker = current
                try:
                    text = bind_parameters(job.query, job.parameters)
                    result = store.query(text, custom_functions=functions, **options)
                    break
                except (OSError, RuntimeError) as exc:
                    # The view read a table file an ingest had just compacted away
                    # (see whatworks.core.engine.raced_a_writer): reopen it and run again.
                    if attempt or not raced_a_writer(exc):
                        raise
            answer = serialize_answer(result, job, started)
            conn.send(("ok", answer.kind, answer.media_type, answer.body, answer.seconds))
        except NoAcceptableFormat as exc:
            conn.send(("unacceptable", str(exc)))
        except SyntaxError as exc:
            conn.send(("syntax", str(exc)))
        except AnswerTooLarge as exc:
            conn.send(("too_large", str(exc)))
        except StoreError as exc:
            conn.send(("error", str(exc)))
        except Exception as exc:  # the worker must answer, whatever the engine raised
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def failure(kind: str, message: str) -> StoreError:
    """The typed error for a worker's failure message (``kind`` as :func:`_serve` sends)."""
    if kind == "syntax":
        return QueryRefused(message)
    if kind == "too_large":
        return AnswerTooLarge(message)
    if kind == "unacceptable":
        return NoAcceptableFormat(message)
    if "not allowed" in message or "SERVICE" in message:
        # The engine refuses a SERVICE call (none is configured in a worker).
        return ServiceRefused(message)
    return QueryFailed(message)


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    jobs: int = field(default=0)


class QueryPool:
    """A fixed number of query worker processes over one store."""

    def __init__(self, store: Path, *, size: int, queue_timeout: float):
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
        :raises WorkerDied: the worker died under the query; it has been replaced.
        :raises StoreError: another failure, typed by :func:`failure`.
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
            raise WorkerDied("the query worker died; it has been replaced") from exc
        finally:
            if worker is not None:
                self._idle.put(worker)
        if message[0] == "ok":
            _, kind, media, body, seconds = message
            return Answer(kind, media, body, seconds)
        raise failure(message[0], message[1])

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
