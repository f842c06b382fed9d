"""Server settings: defaults, then a TOML file, then ``WHATWORKS_*`` environment variables,
then what the caller passes to :func:`whatworks.server.create_app`; each later one wins.

Every setting is documented here and in docs/server.md (a test keeps the two in step).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from whatworks.core.config import store_target
from whatworks.core.errors import WhatworksError

#: Environment variable naming a TOML settings file.
SETTINGS_FILE_ENV = "WHATWORKS_SETTINGS"


@dataclass(frozen=True)
class Settings:
    """Everything the server can be told."""

    #: The store folder (default: as for the CLI).
    store: str = ""
    #: Seconds a query may run before it is stopped and its worker replaced.
    query_timeout: float = 10.0
    #: Seconds each query of the summary pages (the landing page's coverage, the gap map) may
    #: run. They are fixed queries whose cost grows with the data, not with the request;
    #: their answers are kept per dataset version and computed one at a time.
    page_timeout: float = 60.0
    #: Worker processes that run queries; one slow query occupies one of them.
    query_workers: int = 3
    #: Seconds a request waits for a free query worker before a 503.
    queue_timeout: float = 5.0
    #: Largest serialized result, in bytes; beyond it the query fails (never truncated).
    max_result_bytes: int = 64 * 1024 * 1024
    #: Longest query text, in characters.
    max_query_length: int = 64 * 1024
    #: Largest request body, in bytes.
    max_body_bytes: int = 1024 * 1024
    #: SERVICE endpoints a query may call (exact IRIs); empty = SERVICE refused.
    service_allowlist: tuple[str, ...] = ()
    #: Value of Access-Control-Allow-Origin on responses ("" turns CORS off).
    cors_origin: str = "*"
    #: Public base URL of the endpoint, for the service description ("" = from the request).
    public_url: str = ""

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Defaults, then the settings file, then the environment, then ``overrides``.

        :raises WhatworksError: an unknown setting, a value of the wrong type, or an
            unreadable settings file.
        """
        settings = cls()
        path = os.environ.get(SETTINGS_FILE_ENV)
        if path:
            try:
                with Path(path).open("rb") as handle:
                    settings = settings._with(tomllib.load(handle), f"settings file {path}")
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise WhatworksError(f"cannot read settings file {path}: {exc}") from exc
        from_env = {
            f.name: os.environ[f"WHATWORKS_{f.name.upper()}"]
            for f in fields(cls)
            if f"WHATWORKS_{f.name.upper()}" in os.environ and f.name != "store"
        }
        settings = settings._with(from_env, "environment")
        settings = settings._with(dict(overrides or {}), "arguments")
        if not settings.store:
            settings = replace(settings, store=store_target())
        return settings

    def _with(self, values: Mapping[str, Any], where: str) -> Settings:
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, value in values.items():
            key = name.lower()
            if key not in known:
                raise WhatworksError(
                    f"unknown setting {name!r} in {where}; known: " + ", ".join(sorted(known))
                )
            default = getattr(Settings(), key)
            try:
                changes[key] = _coerce(value, default)
            except (TypeError, ValueError) as exc:
                raise WhatworksError(f"setting {name!r} in {where}: {exc}") from exc
        return replace(self, **changes)


def _coerce(value: Any, default: Any) -> Any:
    if isinstance(default, tuple):
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return tuple(str(v) for v in value)
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    if isinstance(default, int):
        number = int(value)
        if number < 0:
            raise ValueError("must not be negative")
        return number
    if isinstance(default, float):
        seconds = float(value)
        if seconds <= 0:
            raise ValueError("must be positive")
        return seconds
    return str(value)
