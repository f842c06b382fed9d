"""Locust users for ``benchmarks/load_test.py`` (run by it; not meant to be run alone).

Each simulated user sends one request of the mix in ``benchmarks/load_test.py`` (drawn by
its weights), thinks for a while, and again. The plan (catalogue, study pages, IRIs) comes
from the JSON file named by ``WHATWORKS_LOAD_PLAN``; at the end the stats, with each
entry's histogram of response times, go to the JSON file named by ``WHATWORKS_LOAD_OUT``.
Any answer other than 2xx or 304 is a failure; redirects are not followed.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load_test import (  # noqa: E402
    OUT_ENV,
    PLAN_ENV,
    SEED_ENV,
    WAIT_ENV,
    Plan,
    acceptable,
    failure_message,
    next_request,
)

PLAN = Plan.load(os.environ[PLAN_ENV])
WAIT = tuple(float(x) for x in os.environ.get(WAIT_ENV, "0.5,1.5").split(","))
SEED = int(os.environ.get(SEED_ENV, "1"))
_users = 0


class Visitor(FastHttpUser):
    wait_time = between(WAIT[0], WAIT[1])
    # Long enough for a query that runs into the server's own time limit (a 504 is a
    # failure we want to see, not a client time-out).
    network_timeout = 120.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        global _users
        _users += 1
        self.rng = random.Random(SEED * 1000 + _users)

    @task
    def one_request(self) -> None:
        req = next_request(PLAN, self.rng)
        with self.client.request(
            req.method,
            req.path,
            name=req.name,
            data=req.body,
            headers=req.headers,
            catch_response=True,
            allow_redirects=False,
        ) as response:
            if acceptable(response.status_code):
                response.success()
            else:
                response.failure(failure_message(response.status_code, response.text))


@events.quitting.add_listener
def _write_stats(environment: Any, **_: Any) -> None:
    stats = environment.stats
    entries = [
        {
            "name": e.name,
            "method": e.method,
            "num_requests": e.num_requests,
            "num_failures": e.num_failures,
            "total_response_time": e.total_response_time,
            "max_response_time": e.max_response_time,
            "min_response_time": e.min_response_time,
            "total_content_length": e.total_content_length,
            "response_times": {str(k): v for k, v in e.response_times.items()},
        }
        for e in stats.entries.values()
    ]
    errors = [
        {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in stats.errors.values()
    ]
    total = stats.total
    seconds = (total.last_request_timestamp or 0) - (total.start_time or 0)
    Path(os.environ[OUT_ENV]).write_text(
        json.dumps({"entries": entries, "errors": errors, "seconds": seconds}, indent=1),
        encoding="utf-8",
    )
