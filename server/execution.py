"""Running a query bounded in time and size, with one mapping of its failures to HTTP.

Every route that reads the store (``/sparql``, ``/api``, the pages) goes through
:func:`run_bounded`, so the same limits and the same statuses hold everywhere.
"""

from __future__ import annotations

import logging

from whatworks.core.errors import (
    AnswerTooLarge,
    NoAcceptableFormat,
    PartialResult,
    QueryBusy,
    QueryRefused,
    QueryTimeout,
    ServiceRefused,
    StoreError,
    StoreUnavailable,
    WorkerDied,
)
from whatworks.core.query_pool import Answer, Job

from .api_error import ApiError
from .state import server_state

log = logging.getLogger("whatworks.server")


def run_bounded(job: Job, *, what: str = "the query", timeout: float | None = None) -> Answer:
    """Run ``job`` in a free worker under the configured time limit (or ``timeout``).

    :raises ApiError: 503 all workers busy, 504 past the time limit, 400 malformed query,
        422 result over the size cap or a query that took its worker down, 406 no format
        for the result, 403 a refused SERVICE, 500 the engine failed (logged; no internals
        in the answer).
    """
    state = server_state()
    try:
        return state.store.run_bounded(job, timeout=timeout or state.settings.query_timeout)
    except QueryBusy as exc:
        raise ApiError(503, f"{exc}; try again shortly", headers={"Retry-After": "1"}) from exc
    except QueryTimeout as exc:
        raise ApiError(504, str(exc)) from exc
    except ServiceRefused as exc:
        raise ApiError(403, str(exc)) from exc
    except QueryRefused as exc:
        raise ApiError(400, f"malformed query: {exc}") from exc
    except AnswerTooLarge as exc:
        raise ApiError(
            422, f"{exc}; add a LIMIT or narrow the query (results are never truncated)"
        ) from exc
    except NoAcceptableFormat as exc:
        raise ApiError(406, str(exc)) from exc
    except StoreUnavailable as exc:
        log.warning("%s: the remote store is unavailable: %s", what, exc)
        raise ApiError(
            503,
            f"the store is unavailable; try again shortly ({exc})",
            headers={"Retry-After": "5"},
        ) from exc
    except PartialResult as exc:
        raise ApiError(502, f"the store returned an incomplete answer: {exc}") from exc
    except WorkerDied as exc:
        # The engine took the worker process down (its stack or memory overflowed on a
        # monstrous query): like a query past the time limit, the query is stopped and
        # its worker replaced; the request, not the server, is at fault.
        log.warning("%s stopped its query worker: %s", what, exc)
        raise ApiError(
            422,
            f"{what} was too large or too deeply nested for the engine, which stopped; "
            "simplify the query",
        ) from exc
    except StoreError as exc:
        log.error("%s failed in the engine: %s", what, exc)
        raise ApiError(500, f"{what} failed in the engine; it has been logged") from exc
