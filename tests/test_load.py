"""The load test's short form: the runner of benchmarks/load_test.py (a real ``whatworks
serve``, locust headless) with 8 users for 10 s, twice, over the bundled base. It asserts
that nothing failed and that every request type of the mix was sent; timings are recorded
by the full form (docs/load-testing.md), never asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.load_test import KINDS, LOCUST, run_load


@pytest.mark.slow
@pytest.mark.skipif(not LOCUST.exists(), reason="locust is not installed in this venv")
def test_short_load_has_no_failures_and_covers_the_mix(bundled_store: Path, tmp_path: Path) -> None:
    result = run_load(
        bundled_store,
        label="short",
        users=8,
        duration=10,
        runs=2,
        # Short think times so that even the rarest request type (4% of the mix) is sent
        # in the few seconds this runs.
        wait=(0.1, 0.3),
        workdir=tmp_path,
        results=None,
        progress=False,
        # This checks that every route answers under concurrent use, not capacity: on a
        # busy CI machine a request may wait more than the default 5 s for a query worker
        # (503) and a cheap query may take more than 10 s of wall time (504). Let them
        # (the full form runs with the defaults and reports 503s and 504s).
        server_env={"WHATWORKS_QUEUE_TIMEOUT": "60", "WHATWORKS_QUERY_TIMEOUT": "60"},
    )

    assert result["warm_up"]["failed"] == []
    assert len(result["runs"]) == 2
    for run in result["runs"]:
        assert run["errors"] == [], run["errors"]
        assert run["by_kind"]["overall"]["failures"] == 0
        assert run["rss_mb"] > 0
    combined = result["combined"]
    assert combined["overall"]["failures"] == 0
    not_sent = [kind for kind in KINDS if combined[kind]["requests"] == 0]
    assert not_sent == []
    # Every catalogue query was asked at least once (in the warm-up, with parameters).
    assert len(result["warm_up"]["statuses"]) >= len(KINDS) - 1 + result["plan"]["queries"]
