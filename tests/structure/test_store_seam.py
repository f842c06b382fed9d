"""The server reaches the data through the Store interface only.

Every module under ``server/`` is parsed; none may import the engine (pyoxigraph) or an
HTTP client, nor name the embedded store's own files or views. A new backend then needs
a Store implementation and no change to the server.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"

#: Modules the server must not import (the engine, HTTP clients), by top-level name.
FORBIDDEN_MODULES = {
    "pyoxigraph",
    "requests",
    "SPARQLWrapper",
    "urllib.request",
    "http.client",
    "httpx",
}
#: Names that belong to the stores' internals (their files, their views, which kind a
#: location names).
FORBIDDEN_NAMES = {"VERSION_MARKER", "open_read_only_view", "is_remote"}


def _forbidden_module(name: str) -> str | None:
    for module in FORBIDDEN_MODULES:
        if name == module or name.startswith(module + "."):
            return module
    return None


def violations(source: str, filename: str = "<source>") -> list[str]:
    """What in ``source`` goes around the Store interface, one line each."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if module := _forbidden_module(alias.name):
                    found.append(f"{filename}:{node.lineno}: imports {module}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if module := _forbidden_module(node.module):
                found.append(f"{filename}:{node.lineno}: imports {module}")
            else:
                for alias in node.names:  # from urllib import request
                    if module := _forbidden_module(f"{node.module}.{alias.name}"):
                        found.append(f"{filename}:{node.lineno}: imports {module}")
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in FORBIDDEN_NAMES:
                    found.append(f"{filename}:{node.lineno}: names {alias.name}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"{filename}:{node.lineno}: names {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(f"{filename}:{node.lineno}: names {node.attr}")
    return sorted(found, key=lambda line: int(line.split(":")[1]))


def test_the_server_goes_through_the_store_interface() -> None:
    modules = sorted(SERVER.rglob("*.py"))
    assert len(modules) > 10  # the server's modules were found
    found = [
        line
        for path in modules
        for line in violations(path.read_text(encoding="utf-8"), str(path.relative_to(SERVER)))
    ]
    assert found == []


def test_the_check_finds_each_kind_of_violation() -> None:
    source = "\n".join(
        [
            "import pyoxigraph as ox",
            "import requests",
            "from SPARQLWrapper import SPARQLWrapper",
            "from urllib import request",
            "import http.client",
            "from httpx import Client",
            "from whatworks.core.store import VERSION_MARKER",
            "from whatworks.core import store",
            "view = store.open_read_only_view(path)",
            "from urllib.parse import quote",  # allowed: no HTTP client
            "remote = config.is_remote(location)",
        ]
    )
    assert violations(source) == [
        "<source>:1: imports pyoxigraph",
        "<source>:2: imports requests",
        "<source>:3: imports SPARQLWrapper",
        "<source>:4: imports urllib.request",
        "<source>:5: imports http.client",
        "<source>:6: imports httpx",
        "<source>:7: names VERSION_MARKER",
        "<source>:9: names open_read_only_view",
        "<source>:11: names is_remote",
    ]
