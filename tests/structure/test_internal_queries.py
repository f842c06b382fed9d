"""The internal queries (``queries/internal/*.rq``): read like the catalogue, bound by the
same loader, and never part of the public catalogue."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from whatworks.core.catalogue import (
    BadParameter,
    CatalogueError,
    UnknownQuery,
    catalogue,
    internal,
    internal_queries,
    parse,
)

A = URIRef("https://w3id.org/whatworks/id/intervention/a")
B = URIRef("https://w3id.org/whatworks/id/intervention/b")


def test_every_internal_query_loads_and_none_is_public() -> None:
    loaded = internal_queries()
    assert {"describe", "derived_evidence", "gap_map_cells", "release_version"} <= set(loaded)
    assert not set(loaded) & set(catalogue())
    with pytest.raises(UnknownQuery):
        internal("no_such_query")


def test_a_list_parameter_is_written_as_values_or_left_out() -> None:
    query = internal("derived_findings")
    given = query.prepare({"interventions": [A, B]})
    assert f"VALUES ?intervention {{ <{A}> <{B}> }}" in given.text
    assert given.parameters == {}
    assert "VALUES" not in query.prepare({}).text
    assert "wwfn:param" not in query.prepare({}).text


def test_a_list_parameter_read_by_in() -> None:
    text = internal("ingest_types_in_store").prepare({"iris": [A], "outside": [A, B]}).text
    assert f"?g NOT IN (<{A}>, <{B}>)" in text


def test_if_lines_are_kept_only_for_given_parameters() -> None:
    query = internal("gap_map_cells")
    bare = query.prepare({}).text
    assert "#@" not in bare
    assert "?study_list" not in bare and "FILTER(BOUND(?intervention))" not in bare
    assert "emmie:publicationYear" not in bare
    full = query.prepare({"lists": True, "per_intervention": True, "year_to": Literal(2010)})
    assert "?study_list" in full.text and "FILTER(BOUND(?intervention))" in full.text
    assert 'FILTER(?year <= wwfn:param("year_to"))' in full.text
    assert "year_from" not in full.text
    assert full.parameters == {"year_to": Literal(2010)}  # switches are not terms


def test_a_single_term_is_bound_by_the_store_not_written() -> None:
    prepared = internal("graph_size").prepare({"graph": A})
    assert 'wwfn:param("graph")' in prepared.text
    assert prepared.parameters == {"graph": A}


def test_bad_terms_are_refused() -> None:
    with pytest.raises(BadParameter):
        internal("graph_size").prepare({})  # required
    with pytest.raises(BadParameter):
        internal("graph_size").prepare({"graph": A, "other": B})
    with pytest.raises(BadParameter):
        internal("graph_size").prepare({"graph": [A]})  # type: ignore[dict-item]
    with pytest.raises(BadParameter):
        internal("derived_findings").prepare({"interventions": A})


def test_includes_are_for_internal_queries_only() -> None:
    text = "#+ summary: x\nSELECT * WHERE {\n#@ include gap_map_records\n}\n"
    with pytest.raises(CatalogueError, match="includes are for internal queries"):
        parse(text, name="x")
    parsed = parse(text, name="x", include=lambda name: "  ?s ?p ?o .")
    assert "?s ?p ?o ." in parsed.text
