"""The exception a route raises to answer with an error: its status and a precise detail.

How errors are answered (the one JSON shape, or a page for a browser) is
:mod:`whatworks.server.errors`; this module is apart so that content negotiation, which
refuses with a 406, and the error pages, which negotiate, do not import each other.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error to answer with ``status`` and a precise ``detail``."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
