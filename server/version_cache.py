"""Answers kept for the current dataset version: the one cache of the server's expensive
reads (the gap map's summaries and cell lists, the VoID statistics).

An answer depends only on the data, and the data changes only with the dataset version
(:func:`~.page_data.dataset_version`), so an answer is kept until the version
changes; the first request of a new version drops the old answers. Computations are done
one at a time per cache, so that however many readers ask at once, an answer is computed
once and a large base costs one query worker at a time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["CacheBusy", "VersionCache"]

T = TypeVar("T")


class CacheBusy(TimeoutError):
    """Another computation did not finish within the time a reader was willing to wait."""


class VersionCache:
    """Answers by key for one dataset version at a time, at most ``size`` of them (the least
    recently used go first). Thread-safe."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._version: str | None = None
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._guard = threading.Lock()
        # re-entrant: a computation may ask the same cache for another answer it builds on
        self._computing = threading.RLock()

    def get(
        self, version: str, key: Hashable, compute: Callable[[], T], *, wait: float | None = None
    ) -> T:
        """The answer for ``key`` in ``version``, computed by ``compute()`` when missing.

        Waits for another computation of this cache to finish first: up to ``wait`` s, then
        :class:`CacheBusy`; without ``wait``, as long as it takes."""
        with self._guard:
            self._follow(version)
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]  # type: ignore[no-any-return]
        if not self._computing.acquire(timeout=-1 if wait is None else wait):
            raise CacheBusy(key)
        try:
            with self._guard:
                # computed by the reader this one waited for?
                if version == self._version and key in self._answers:
                    return self._answers[key]  # type: ignore[no-any-return]
            answer = compute()
            with self._guard:
                # an answer of a version replaced meanwhile is returned, not kept
                if version == self._version:
                    self._answers[key] = answer
                    while len(self._answers) > self._size:
                        self._answers.popitem(last=False)
            return answer
        finally:
            self._computing.release()

    def _follow(self, version: str) -> None:
        """Drop every answer when ``version`` is not the one they were computed for (the
        caller holds the guard)."""
        if version != self._version:
            self._answers.clear()
            self._version = version
