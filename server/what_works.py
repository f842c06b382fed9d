"""The what-works-for-whom answer of the server: the per-version finding table
(:mod:`whatworks.analysis.what_works`), read through the query workers once per dataset
version, ahead of readers by :func:`~.gap_map.keep_warm` (``whatworks serve`` passes
:func:`table` to it), and kept with the gap map's
summaries (:func:`~.gap_map.cached_per_version`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rdflib.term import Node

from whatworks.analysis import what_works as ww

from .gap_map import cached_per_version
from .page_data import labels, select
from .state import server_state

QUERY = ww.QUERY


def table() -> ww.FindingTable:
    """The finding table of the current dataset version (read once per version).

    :raises ApiError: 503 while another request reads it past the pages' time limit; the
        store's failures as :func:`~.page_data.select`.
    """
    return cached_per_version("what-works-table", (), _build)


def _build() -> ww.FindingTable:
    timeout = float(server_state().settings.page_timeout)

    def read(text: str, parameters: Mapping[str, Node]) -> list[dict[str, Any]]:
        return select(text, dict(parameters), what="what-works table", timeout=timeout)

    return ww.build_table(read, labels=labels())


def answer(given: Mapping[str, str]) -> ww.Answer:
    """Every row of the question ``given`` (raw parameter values, already checked)."""
    return ww.answer(table(), ww.Question.of(given))


def facets(given: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    return ww.facets(table(), ww.Question.of(given))
