"""Whole answers of the query API, kept for the current dataset version, least recently
used first out when their bytes pass a bound.

A catalogue query's answer depends only on the dataset version, the query and its
parameters, so the API computes it once (the whole answer, not a page) and serves every
page, format and repeat of it from here. Unlike :class:`~.version_cache.VersionCache`,
computations are not made one at a time: queries of different readers run side by side in
the query workers, and two readers asking the same new question at once both compute it
(the second answer replaces the first; both are the same).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["ANSWER_CACHE_BYTES", "AnswerCache"]

T = TypeVar("T")

#: The most bytes of answers kept (their JSON size, estimated once when computed).
ANSWER_CACHE_BYTES = 256 * 1024 * 1024


class AnswerCache(Generic[T]):
    """Answers by key for one dataset version, at most ``max_bytes`` of them. Thread-safe."""

    def __init__(self, max_bytes: int = ANSWER_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._version: str | None = None
        self._answers: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._bytes = 0
        self._guard = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, version: str, key: Hashable, compute: Callable[[], tuple[T, int]]) -> T:
        """The answer for ``key`` in ``version``; ``compute()`` gives it and its size in
        bytes when it is not kept. An answer larger than the bound is returned, not kept."""
        with self._guard:
            if version != self._version:
                self._answers.clear()
                self._bytes = 0
                self._version = version
            kept = self._answers.get(key)
            if kept is not None:
                self._answers.move_to_end(key)
                self.hits += 1
                return kept[0]
            self.misses += 1
        answer, size = compute()
        with self._guard:
            if version == self._version and size <= self.max_bytes:
                old = self._answers.pop(key, None)
                if old is not None:
                    self._bytes -= old[1]
                self._answers[key] = (answer, size)
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, (_, dropped) = self._answers.popitem(last=False)
                    self._bytes -= dropped
        return answer

    @property
    def size(self) -> int:
        """Bytes of answers kept."""
        return self._bytes
