"""Browser packages installed from the npm registry (``package.json``, ``npm ci``) and handed
out by this server from ``node_modules``: only the files a page names, never from a CDN."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from flask import Response, send_from_directory

from .api_error import ApiError


def node_modules() -> Path:
    """``$WHATWORKS_NODE_MODULES``, else ``node_modules`` beside the server's package."""
    configured = os.environ.get("WHATWORKS_NODE_MODULES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "node_modules"


def send_vendor_file(build: Path, allowed: Collection[str], name: str, *, package: str) -> Response:
    """The file ``name`` of a package's ``build`` folder, if it is one of ``allowed``.

    :raises ApiError: 404 for any other name, or when the package is not installed.
    """
    if name not in allowed or not (build / name).exists():
        raise ApiError(404, f"no such file {name!r}; install {package} with `npm ci`")
    return send_from_directory(build, name, max_age=3600)
