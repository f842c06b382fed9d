"""The remote store's own logic, without a server: settings, parameters, partial answers.
(The three-backend integration suite is tests/backends/.)"""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from whatworks.core.config import is_remote, store_target
from whatworks.core.engine import bind_parameters
from whatworks.core.errors import WhatworksError
from whatworks.core.remote_store import (
    PartialResult,
    RemoteSettings,
    _check_complete,
)

URL = "http://127.0.0.1:7878/query"


def test_settings_from_the_environment() -> None:
    settings = RemoteSettings.from_environment(
        URL,
        {
            "WHATWORKS_STORE_UPDATE": "http://127.0.0.1:7878/update",
            "WHATWORKS_STORE_USER": "curator",
            "WHATWORKS_STORE_PASSWORD": " secret with spaces ",
            "WHATWORKS_STORE_AUTH": "Digest",
            "WHATWORKS_STORE_TIMEOUT": "2.5",
            "WHATWORKS_STORE_WRITE": "staged",
        },
    )
    assert settings.update_url.endswith("/update")
    assert settings.auth == "digest"
    assert settings.password == " secret with spaces "  # passwords are not trimmed
    assert settings.timeout == 2.5
    assert settings.write == "staged"
    defaults = RemoteSettings.from_environment(URL, {})
    assert (defaults.update_url, defaults.write, defaults.union, defaults.retries) == (
        URL,
        "transaction",
        "protocol",
        3,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WRITE", "fast", "expected one of transaction, staged"),
        ("UNION", "all", "expected one of protocol, native"),
        ("AUTH", "kerberos", "expected one of basic, digest"),
        ("TIMEOUT", "soon", "expected a number"),
        ("TIMEOUT", "0", "must be > 0"),
        ("CHUNK", "0", "must be >= 1"),
    ],
)
def test_bad_settings_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(WhatworksError, match=message) as caught:
        RemoteSettings.from_environment(URL, {f"WHATWORKS_STORE_{name}": value})
    assert f"WHATWORKS_STORE_{name}" in str(caught.value)


def test_a_url_is_a_remote_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATWORKS_STORE", URL)
    assert store_target() == URL and is_remote(store_target())
    assert not is_remote(store_target("/srv/whatworks"))


def test_parameters_are_written_as_terms_and_missing_ones_dropped() -> None:
    text = (
        'BIND(wwfn:param("outcome") AS ?outcome) '
        'BIND(wwfn:param("age") AS ?age) '
        'BIND(COALESCE(wwfn:param("need"), wwfn:none) AS ?need) '
        'BIND(<https://w3id.org/whatworks/fn#param>("q") AS ?q)'
    )
    out = bind_parameters(
        text,
        {
            "outcome": URIRef("https://w3id.org/whatworks/concept/outcome/entry"),
            "q": Literal('a "quoted" \\ value\n} ; DROP ALL', datatype=XSD.string),
        },
    )
    assert "BIND(<https://w3id.org/whatworks/concept/outcome/entry> AS ?outcome)" in out
    assert "?age" not in out  # BIND of a missing parameter removed: ?age stays unbound
    assert "COALESCE(?_unbound_need, wwfn:none)" in out
    # a literal is escaped as N-Triples: it cannot end the string or the query
    assert 'BIND("a \\"quoted\\" \\\\ value\\n} ; DROP ALL" AS ?q)' in out


def test_partial_answers_are_refused() -> None:
    _check_complete({})
    with pytest.raises(PartialResult, match="partial"):
        _check_complete({"X-SQL-State": "S1TAT", "X-SQL-Message": "RETURNING PARTIAL RESULTS"})
