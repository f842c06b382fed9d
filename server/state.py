"""What the server holds while it runs, and the one way to reach it from a request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from whatworks.core.store import Store

from .settings import Settings

#: The key of the server's state in ``app.extensions``.
EXTENSION = "whatworks"


@dataclass
class ServerState:
    """The settings, the store every query goes through, and caches kept per server."""

    settings: Settings
    store: Store
    #: Caches of computed pages by name (each module keeps its own kind under its name).
    caches: dict[str, Any] = field(default_factory=dict)


def server_state(app: Flask | None = None) -> ServerState:
    """The state of ``app``, or of the application handling the current request."""
    state: ServerState = (app or current_app).extensions[EXTENSION]
    return state
