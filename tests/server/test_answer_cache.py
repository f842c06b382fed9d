"""The API's answer cache: one version at a time, least recently used out past its bytes."""

from __future__ import annotations

from collections.abc import Callable

from whatworks.server.answer_cache import AnswerCache


def test_kept_until_the_bytes_run_out_least_recently_used_first() -> None:
    cache: AnswerCache[str] = AnswerCache(max_bytes=10)
    computed: list[str] = []

    def make(key: str, size: int) -> Callable[[], tuple[str, int]]:
        def compute() -> tuple[str, int]:
            computed.append(key)
            return key.upper(), size

        return compute

    assert cache.get("v1", "a", make("a", 4)) == "A"
    assert cache.get("v1", "b", make("b", 4)) == "B"
    assert cache.get("v1", "a", make("a", 4)) == "A"  # kept: not computed again
    assert cache.get("v1", "c", make("c", 4)) == "C"  # 12 bytes: b, least recent, goes
    assert cache.size == 8
    cache.get("v1", "b", make("b", 4))
    assert computed == ["a", "b", "c", "b"]
    assert cache.get("v1", "huge", make("huge", 11)) == "HUGE"  # returned, never kept
    assert cache.size <= 10
    cache.get("v1", "huge", make("huge", 11))
    assert computed[-2:] == ["huge", "huge"]


def test_a_new_version_drops_every_answer() -> None:
    cache: AnswerCache[int] = AnswerCache(max_bytes=100)
    cache.get("v1", "a", lambda: (1, 5))
    assert cache.get("v2", "a", lambda: (2, 5)) == 2
    assert cache.size == 5 and (cache.hits, cache.misses) == (0, 2)
