"""The embedded engine's own ground, below the store and its query workers: terms in and
out of pyoxigraph, catalogue parameters written into query text, read-only views of a store
folder and its version marker.

:mod:`whatworks.core.store` (the stores) and :mod:`whatworks.core.query_pool` (the embedded
store's worker processes) both build on it; it imports neither.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
#: File in the store folder holding the dataset version, rewritten after every change.
VERSION_MARKER = "WHATWORKS_VERSION"


def check_iri(text: str) -> None:
    """Check that ``text`` is an absolute IRI, as the engine reads one.

    :raises ValueError: it is not; the message says why.
    """
    ox.NamedNode(text)


#: In a store folder of the versioned layout (docs/decisions/0019-switched-store-folder.md),
#: the symbolic link naming the folder of the live version (``live -> v-{time}-{random}``).
#: An ingest builds the next version in a folder of its own and repoints this link with one
#: rename(2): readers resolve it once per opening and see one version whole.
LIVE = "live"


def engine_folder(path: Path) -> Path:
    """The folder holding the engine's files of the store at ``path``: the folder ``live``
    names in the versioned layout, else ``path`` itself (a store written before 0019).

    The link is read once (one readlink), so the answer is one version's folder even
    while an ingest repoints it; a copy made with links followed (``live`` a folder) works
    too.
    """
    live = path / LIVE
    try:
        return path / os.readlink(live)
    except FileNotFoundError:
        return path
    except OSError:  # not a link: a copy that followed it
        return live if live.is_dir() else path


def read_version_marker(path: Path) -> str:
    """The version marker of the store folder ``path`` (written after every change), or ""
    before the first. In the versioned layout the marker is in the live version's folder,
    read through the link: it changes with the data, in the same rename."""
    live = path / LIVE / VERSION_MARKER
    for marker in (live, path / VERSION_MARKER):
        try:
            return marker.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except OSError:
            return ""
    return ""


#: Attempts at a read-only opening that races a writer (see :func:`open_read_only_view`).
READ_ONLY_ATTEMPTS = 5


def open_read_only_view(path: Path) -> ox.Store:
    """Open a read-only view, trying again when the opening raced a writer.

    ``path`` is a store folder of either layout (:func:`engine_folder`). pyoxigraph calls a
    read-only opening beside a writing process undefined behaviour; what
    happens in practice is that the view reads a manifest naming a table file the writer has
    just compacted away, and RocksDB reports "Corruption ... No such file or directory".
    The next attempt reads the new manifest.
    """
    for attempt in range(READ_ONLY_ATTEMPTS):
        try:
            return ox.Store.read_only(str(engine_folder(path)))
        except (OSError, RuntimeError) as exc:
            _raise_unless_raced(exc, attempt)
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _raise_unless_raced(exc: OSError | RuntimeError, attempt: int) -> None:
    """Raise ``exc`` (as an OSError) unless it is a race with a writer
    (:func:`raced_a_writer`) and another attempt remains."""
    if attempt == READ_ONLY_ATTEMPTS - 1 or not raced_a_writer(exc):
        if isinstance(exc, OSError):
            raise exc
        raise OSError(str(exc)) from exc


class Lease:
    """A shared lock (flock) on the folder of the version a reader has a view of, held as
    long as the view: an ingest removes a replaced version's folder only when it can lock
    it exclusively, so no file is deleted under a view that holds a lease
    (docs/decisions/0019-switched-store-folder.md).

    :raises OSError: the folder is gone or being removed (``BlockingIOError``).
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self._fd: int | None = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            self.release()
            raise

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def open_leased_view(path: Path) -> tuple[ox.Store, Lease]:
    """A read-only view of the store at ``path`` (as :func:`open_read_only_view`) with a
    :class:`Lease` on its version's folder; release the lease once the view is dropped.

    :raises OSError: the store could not be opened.
    """
    for attempt in range(READ_ONLY_ATTEMPTS):
        folder = engine_folder(path)
        try:
            lease = Lease(folder)
        except OSError:
            # the version was replaced and is being removed: read the link again
            if attempt == READ_ONLY_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
            continue
        try:
            return ox.Store.read_only(str(folder)), lease
        except (OSError, RuntimeError) as exc:
            lease.release()
            _raise_unless_raced(exc, attempt)
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def try_removing(folder: Path, *, files: Sequence[Path] | None = None) -> bool:
    """Remove the version folder ``folder`` (or only the ``files`` in it) unless a reader
    holds a :class:`Lease` on it; whether they were removed (or were already gone)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if files is None:
            shutil.rmtree(folder, ignore_errors=True)
        for file in files or ():
            file.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def raced_a_writer(exc: Exception) -> bool:
    text = str(exc)
    return "No such file or directory" in text and ("Corruption" in text or "IO error" in text)


#: The SPARQL function through which named queries read their parameters:
#: ``BIND(wwfn:param("outcome") AS ?outcome)`` binds ?outcome to the parameter's RDF term,
#: or leaves it unbound when the parameter was not given. Values are never pasted into text.
PARAM_FUNCTION = "https://w3id.org/whatworks/fn#param"


_PARAM_CALL = re.compile(
    r"(?:wwfn:param|<" + re.escape(PARAM_FUNCTION) + r">)\s*\(\s*\"(?P<name>[^\"\\]*)\"\s*\)"
)
_BIND_PARAM = re.compile(
    r"BIND\s*\(\s*(?:wwfn:param|<" + re.escape(PARAM_FUNCTION) + r">)\s*\(\s*"
    r"\"(?P<name>[^\"\\]*)\"\s*\)\s+AS\s+\?\w+\s*\)",
    re.IGNORECASE,
)


def bind_parameters(sparql: str, parameters: Mapping[str, Node]) -> str:
    """The query with each ``wwfn:param("name")`` replaced by the parameter's term.

    The value goes into the text written by the RDF serializer (N-Triples escaping, IRIs
    checked by pyoxigraph), never pasted from user input as such. A missing parameter's
    ``BIND`` is removed (its variable stays unbound); elsewhere a missing parameter becomes
    an unbound variable, an error in an expression, as the function's "no value" was.
    Why in the text, and the limits: docs/decisions/0007-parameters-in-query-text.md.
    """

    def dropped(match: re.Match[str]) -> str:
        # BIND(<missing> AS ?v) leaves ?v unbound: the same as no BIND at all, which every
        # store understands (Virtuoso does not treat a BIND of an unbound variable so).
        return match.group(0) if match.group("name") in parameters else ""

    sparql = _BIND_PARAM.sub(dropped, sparql)

    def term(match: re.Match[str]) -> str:
        name = match.group("name")
        value = parameters.get(name)
        if value is None:
            return f"?_unbound_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"
        return str(to_ox(value))

    return _PARAM_CALL.sub(term, sparql)


def parameter_functions(parameters: Mapping[str, Node]) -> dict[ox.NamedNode, Any]:
    """pyoxigraph ``custom_functions`` that expose ``parameters`` to a query."""
    terms = {name: to_ox(value) for name, value in parameters.items()}

    def param(name: object) -> Any:
        return terms.get(getattr(name, "value", ""))

    return {ox.NamedNode(PARAM_FUNCTION): param}


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot store {term!r}")


def from_ox(term: object) -> Any:
    """A pyoxigraph term as an rdflib term."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unexpected term {term!r}")
