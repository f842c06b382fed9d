"""The server's one per-version cache: an answer is computed once per dataset version, a
new version drops the old answers, the cache is bounded, readers wait for each other."""

from __future__ import annotations

import threading
import time

import pytest

from server.version_cache import CacheBusy, VersionCache


def test_an_answer_is_computed_once_per_version() -> None:
    cache = VersionCache()
    calls: list[str] = []

    def compute(version: str) -> str:
        calls.append(version)
        return f"answer of {version}"

    assert cache.get("v1", "k", lambda: compute("v1")) == "answer of v1"
    assert cache.get("v1", "k", lambda: compute("v1")) == "answer of v1"
    assert cache.get("v2", "k", lambda: compute("v2")) == "answer of v2"
    assert calls == ["v1", "v2"]


def test_a_new_version_drops_the_answers_of_the_old() -> None:
    cache = VersionCache()
    cache.get("v1", "a", lambda: 1)
    cache.get("v2", "b", lambda: 2)
    assert cache.get("v1", "a", lambda: 10) == 10  # not kept from before v2


def test_the_least_recently_used_answers_go_first() -> None:
    cache = VersionCache(size=2)
    cache.get("v", "a", lambda: 1)
    cache.get("v", "b", lambda: 2)
    cache.get("v", "a", lambda: -1)  # a used again: b is now the oldest
    cache.get("v", "c", lambda: 3)
    assert cache.get("v", "a", lambda: -1) == 1
    assert cache.get("v", "b", lambda: 20) == 20


def test_readers_at_once_compute_once_and_an_impatient_one_is_told() -> None:
    cache = VersionCache()
    started, release = threading.Event(), threading.Event()
    calls = 0

    def slow() -> str:
        nonlocal calls
        calls += 1
        started.set()
        release.wait(5)
        return "done"

    answers: list[str] = []
    first = threading.Thread(target=lambda: answers.append(cache.get("v", "k", slow)))
    first.start()
    started.wait(5)
    with pytest.raises(CacheBusy):
        cache.get("v", "other", lambda: "x", wait=0.05)
    second = threading.Thread(target=lambda: answers.append(cache.get("v", "k", slow)))
    second.start()
    time.sleep(0.05)
    release.set()
    first.join(5)
    second.join(5)
    assert answers == ["done", "done"]
    assert calls == 1


def test_an_answer_may_build_on_another() -> None:
    cache = VersionCache()
    assert cache.get("v", "outer", lambda: cache.get("v", "inner", lambda: 1) + 1) == 2
