"""Where things are: the store location and the bundled evidence.

Defaults, then environment variables (``WHATWORKS_*``), then command-line options; each
later one wins.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from whatworks.core.errors import StoreError

if TYPE_CHECKING:
    from whatworks.core.store import Store

#: Environment variable naming the store (a folder for the embedded store).
STORE_ENV = "WHATWORKS_STORE"


def default_store_location() -> Path:
    """``$XDG_DATA_HOME/whatworks/store``, or ``~/.local/share/whatworks/store``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "whatworks" / "store"


def store_location(option: str | None = None) -> Path:
    """The store folder to use: the ``--store`` option, else ``$WHATWORKS_STORE``, else the
    default. (A remote store's URL is not a folder: see :func:`store_target`.)"""
    chosen = option or os.environ.get(STORE_ENV)
    return Path(chosen).expanduser() if chosen else default_store_location()


#: The most triples ``whatworks validate`` holds in memory at once when it validates the
#: store (as rdflib terms, about 1.6 KB each with pySHACL's working set): graphs are
#: validated in batches up to this size (``ingest.pipeline.validate_store``).
VALIDATE_BATCH_TRIPLES = 1_500_000


def is_remote(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a store on a server rather than a folder."""
    return str(location).startswith(("http://", "https://"))


def store_target(option: str | None = None) -> str:
    """The store to use as a string: an ``http(s)://`` query endpoint, or a folder."""
    chosen = option or os.environ.get(STORE_ENV) or ""
    if is_remote(chosen):
        return chosen
    return str(store_location(option))


def open_configured_store(option: str | None = None, *, read_only: bool = False) -> Store:
    """Open the store named by ``--store`` / ``$WHATWORKS_STORE``: a remote SPARQL store
    for an ``http(s)://`` URL (set up from ``WHATWORKS_STORE_*``), else the embedded store.

    :raises StoreError: the store cannot be opened.
    """
    # The remote store's HTTP libraries are imported only for a remote store.
    target = store_target(option)
    if is_remote(target):
        from whatworks.core.remote_store import open_remote

        return open_remote(target, read_only=read_only)
    from whatworks.core.store import open_store

    return open_store(target, read_only=read_only)


def open_store_for_queries(location: str, *, query_workers: int, queue_timeout: float) -> Store:
    """Open the store at ``location`` read-only to answer bounded queries
    (:meth:`Store.run_bounded`): ``query_workers`` at a time, each waiting at most
    ``queue_timeout`` seconds for its turn. The store must hold a dataset already.

    :raises StoreError: there is no store, or no dataset, at ``location``; or a remote store
        did not answer.
    """
    if is_remote(location):
        from whatworks.core.remote_store import open_remote

        remote = open_remote(
            location, read_only=True, query_workers=query_workers, queue_timeout=queue_timeout
        )
        if not remote.current_version():
            remote.close()
            raise StoreError(
                f"no whatworks dataset at {location}: load some evidence into it first "
                f"(`whatworks --store {location} load`)"
            )
        return remote
    from whatworks.core.engine import engine_folder
    from whatworks.core.store import open_store

    path = Path(location).expanduser()
    # RocksDB's pointer to its manifest: a store is here (in the live version's folder)
    if not (engine_folder(path) / "CURRENT").exists():
        raise StoreError(f"no store at {path}: load some evidence first (`whatworks load`)")
    # At least one worker, started now: a query's time limit never counts a worker's start.
    return open_store(
        path, read_only=True, query_workers=max(1, query_workers), queue_timeout=queue_timeout
    )


def bundled_evidence() -> list[Path]:
    """The coding sheets of the bundled evidence base, in a stable order."""
    folder = files("whatworks.data.evidence")
    return sorted(Path(str(p)) for p in folder.iterdir() if str(p).endswith(".csv"))


def bundled_statistics() -> Path:
    """The folder of the bundled local-authority statistics (``data/la``, see its README)."""
    return Path(str(files("whatworks.data.la")))
