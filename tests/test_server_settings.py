"""Server settings: layered loading, clear errors, and documentation that cannot drift."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from whatworks.core.errors import StoreError, WhatworksError
from whatworks.server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented() -> None:
    page = (ROOT / "docs" / "server.md").read_text()
    for f in fields(Settings):
        assert f"| `{f.name}` | `WHATWORKS_{f.name.upper()}` |" in page, f.name


def test_every_route_is_documented(bundled_store: Path) -> None:
    from whatworks.server import create_app
    from whatworks.server.state import server_state

    app = create_app({"store": str(bundled_store), "query_workers": 1})
    try:
        page = (ROOT / "docs" / "server.md").read_text()
        import re

        for rule in app.url_map.iter_rules():
            if rule.endpoint != "static":
                route = re.sub(r"<[^<>]*?(\w+)>", r"<\1>", rule.rule)
                assert f"`GET {route}" in page or f"`POST {route}" in page or f" {route}" in page, (
                    route
                )
    finally:
        server_state(app).store.close()


def test_layers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings_file = tmp_path / "whatworks.toml"
    settings_file.write_text(
        'query_timeout = 4.5\nservice_allowlist = ["https://a.example/sparql"]\n'
    )
    monkeypatch.setenv("WHATWORKS_SETTINGS", str(settings_file))
    monkeypatch.setenv("WHATWORKS_QUERY_WORKERS", "5")
    settings = Settings.load({"max_query_length": 100})
    assert settings.query_timeout == 4.5
    assert settings.service_allowlist == ("https://a.example/sparql",)
    assert settings.query_workers == 5
    assert settings.max_query_length == 100
    monkeypatch.setenv("WHATWORKS_QUERY_TIMEOUT", "2")
    assert Settings.load().query_timeout == 2.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"query_timout": 3}, "unknown setting 'query_timout'"),
        ({"query_timeout": "soon"}, "setting 'query_timeout'"),
        ({"query_workers": -1}, "must not be negative"),
    ],
)
def test_bad_settings_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(WhatworksError, match=message):
        Settings.load(overrides)


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    from whatworks.server import create_app

    with pytest.raises(StoreError, match="no store at"):
        create_app({"store": str(tmp_path / "none")})
