"""The whatworks web server: a Flask application that serves the SPARQL 1.1 Protocol, the
query API and the pages. It never writes to the store.

Use :func:`create_app`; ``whatworks serve`` runs it on waitress. (Imported lazily: importing
the package costs nothing until an application is built.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """See :func:`whatworks.server.app.create_app`."""
    from .app import create_app as build

    return build(config)
