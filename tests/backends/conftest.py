"""Fixtures of the three-backend integration suite (see servers.py).

Each store is started once per session and loaded with the bundled evidence; the
``backend`` fixture runs a test on every selected store, ``remote`` on the stores reached
over HTTP only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends.servers import Backend, selected, start


class Pool:
    def __init__(self, root: Path):
        self.root = root
        self.started: dict[str, Backend] = {}

    def get(self, name: str) -> Backend:
        if name not in self.started:
            store = start(name, self.root / name)
            self.started[name] = store
            done = store.run("load", "-q")
            assert done.returncode == 0, done.stderr
        return self.started[name]

    def close(self) -> None:
        for store in self.started.values():
            store.stop()


@pytest.fixture(scope="session")
def backend_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    pool = Pool(tmp_path_factory.mktemp("backends"))
    yield pool
    pool.close()


@pytest.fixture(scope="session", params=selected())
def backend(request: pytest.FixtureRequest, backend_pool: Pool) -> Backend:
    """A running store of each kind with the bundled evidence loaded into it."""
    return backend_pool.get(request.param)


@pytest.fixture(scope="session", params=[n for n in selected() if n != "embedded"])
def remote(request: pytest.FixtureRequest, backend_pool: Pool) -> Backend:
    """A running remote store (over HTTP) with the bundled evidence loaded into it."""
    return backend_pool.get(request.param)
