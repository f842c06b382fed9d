"""The whatworks web server: a Flask application that serves the SPARQL 1.1 Protocol
(and, later, the query API and pages). It never writes to the store.

Use :func:`create_app`; ``whatworks serve`` runs it on waitress.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
