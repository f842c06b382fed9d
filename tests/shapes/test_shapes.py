"""The SHACL shapes and the validate() entry point.

Every shape ID has a valid and an invalid example under examples/; the shapes follow their
conventions, pass SHACL-for-SHACL, and their concept lists equal the model's schemes.
"""

from __future__ import annotations

import doctest
import json
import re
from importlib import resources
from pathlib import Path

import pyshacl
import pytest
import shapes_readme
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, OWL, RDFS, SH, SKOS

import whatworks.core.validation
from whatworks.core.validation import ValidationReport, validate

ROOT = Path(__file__).resolve().parents[2]
SHAPES_FILE = ROOT / "shapes" / "emmie-shapes.ttl"
ONTOLOGY_FILE = ROOT / "ontology" / "emmie.ttl"
EXAMPLES = Path(__file__).resolve().parent / "examples"
VALID = sorted((EXAMPLES / "valid").glob("*.ttl"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.ttl"))

SHP = "https://w3id.org/whatworks/shapes#"
EMMIE = "https://w3id.org/whatworks/emmie#"
CONCEPT = "https://w3id.org/whatworks/concept/"
SYNTHETIC = "https://w3id.org/whatworks/synthetic/"
QB = "http://purl.org/linked-data/cube#"  # Data Cube vocabulary terms (not instances)
ID_PATTERN = re.compile(r"^WW-[A-Z]+-[0-9]{3}$")
# The classes of the model spec that must each have a node shape.
CLASSES = [
    "Study", "Work", "Intervention", "Finding", "OutcomeMeasure", "EffectEstimate",
    "Population", "Context", "EmmieCoding", "Mechanism", "Moderator", "ImplementationFactor",
    "EconomicEvidence", "CMOConfiguration", "SurveyProportion", "AreaAssociation", "AreaTrend",
    "ReportedStatistic",
]  # fmt: skip


def load_shapes() -> Graph:
    return Graph().parse(SHAPES_FILE, format="turtle")


def shape_ids(shapes: Graph) -> dict[str, URIRef]:
    ids: dict[str, URIRef] = {}
    for shape, identifier in shapes.subject_objects(DCTERMS.identifier):
        assert isinstance(shape, URIRef)
        assert str(identifier) not in ids, f"duplicate shape ID {identifier}"
        ids[str(identifier)] = shape
    return ids


def describe(report: ValidationReport) -> str:
    return "\n".join(f"{r.shape_id} on {r.focus_node}: {r.message}" for r in report.results)


# --- examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("example", VALID, ids=[p.stem for p in VALID])
def test_valid_example_gives_no_result(example: Path) -> None:
    report = validate(Graph().parse(example, format="turtle"))
    assert report.conforms
    assert report.results == (), describe(report)


@pytest.mark.parametrize("example", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_example_gives_its_shape_id(example: Path) -> None:
    shape_id = example.stem
    report = validate(Graph().parse(example, format="turtle"))
    mine = [r for r in report.results if r.shape_id == shape_id]
    assert mine, f"no {shape_id} result; got:\n{describe(report)}"
    for result in mine:
        assert result.shape == URIRef(SHP + shape_id)
        assert result.message.startswith(f"{shape_id}: ")
    if all(r.severity == "Violation" for r in mine):
        assert not report.conforms
    else:
        assert all(r.severity == "Warning" for r in mine)


def test_every_shape_has_both_examples_and_every_example_a_shape() -> None:
    ids = set(shape_ids(load_shapes()))
    assert {p.stem for p in VALID} == ids
    assert {p.stem for p in INVALID} == ids


def test_examples_use_only_synthetic_instances() -> None:
    for example in VALID + INVALID:
        graph = Graph().parse(example, format="turtle")
        for node in set(graph.subjects()) | {o for o in graph.objects() if isinstance(o, URIRef)}:
            # str(): rdflib's URIRef.startswith does not take a tuple of prefixes
            if isinstance(node, URIRef) and not str(node).startswith((EMMIE, CONCEPT, QB)):
                assert str(node).startswith(SYNTHETIC), f"{example.name}: {node}"
        for literal in graph.objects():
            if isinstance(literal, Literal) and str(literal).startswith("10."):
                assert str(literal).startswith("10.5555/"), f"{example.name}: non-test DOI"


# --- the shapes file -----------------------------------------------------------------------


def test_shapes_follow_their_conventions() -> None:
    shapes = load_shapes()
    ids = shape_ids(shapes)
    assert len(ids) >= 150
    for shape_id, shape in ids.items():
        assert ID_PATTERN.match(shape_id), shape_id
        assert shape == URIRef(SHP + shape_id)
        assert (shape, RDF.type, SH.PropertyShape) in shapes
        assert len(list(shapes.objects(shape, RDFS.label))) == 1, shape_id
        messages = list(shapes.objects(shape, SH.message))
        assert len(messages) == 1, shape_id
        assert str(messages[0]).startswith(f"{shape_id}: "), shape_id
        severity = shapes.value(shape, SH.severity)
        advisory = "advisory" in str(messages[0])
        assert severity == (SH.Warning if advisory else SH.Violation), shape_id
    # every shape that constrains anything carries an ID
    for property_shape in set(shapes.subjects(RDF.type, SH.PropertyShape)):
        assert (property_shape, DCTERMS.identifier, None) in shapes, property_shape


def test_one_node_shape_per_class_and_parts_share_its_targets() -> None:
    shapes = load_shapes()
    node_shapes = set(shapes.subjects(RDF.type, SH.NodeShape))
    targeted = {t for n in node_shapes for t in shapes.objects(n, SH.targetClass)}
    for name in CLASSES + ["EvidenceItem"]:
        node_shape = URIRef(f"{SHP}{name}Shape")
        assert node_shape in node_shapes, name
        assert (node_shape, SH.targetClass, URIRef(EMMIE + name)) in shapes, name
    # subclasses are targets too (no inference at validation)
    for name in ["Facilitator", "Barrier", "InterviewTheme"]:
        assert URIRef(EMMIE + name) in targeted
    ids = shape_ids(shapes)
    for shape_id, shape in ids.items():
        owners = list(shapes.objects(shape, DCTERMS.isPartOf))
        assert len(owners) == 1, shape_id
        owner = owners[0]
        assert (owner, DCTERMS.hasPart, shape) in shapes, shape_id
        assert set(shapes.objects(shape, SH.targetClass)) == set(
            shapes.objects(owner, SH.targetClass)
        ), shape_id
    for node in node_shapes:
        # see shapes/README.md, "Why property shapes carry their own targets"
        assert (node, SH.property, None) not in shapes, node
        for part in shapes.objects(node, DCTERMS.hasPart):
            assert (part, DCTERMS.isPartOf, node) in shapes


def test_shapes_pass_shacl_for_shacl() -> None:
    shacl_shacl = resources.files("pyshacl").joinpath("assets", "shacl-shacl.ttl")
    meta = Graph().parse(data=shacl_shacl.read_bytes(), format="turtle")
    conforms, _graph, text = pyshacl.validate(load_shapes(), shacl_graph=meta, inference="none")
    assert conforms, text


def test_readme_table_matches_the_shapes() -> None:
    readme = shapes_readme.README_FILE.read_text(encoding="utf-8")
    expected = shapes_readme.render_table(load_shapes())
    assert shapes_readme.readme_table(readme) == expected, (
        "shapes/README.md is out of date: run "
        ".venv/bin/python tests/shapes/shapes_readme.py --write"
    )


# --- concept lists against the model -------------------------------------------------------


def in_lists(shapes: Graph) -> list[tuple[str, list[URIRef], list[URIRef]]]:
    """(shape ID, its concept-scheme IRIs, its sh:in members) for every concept list."""
    out = []
    for shape_id, shape in sorted(shape_ids(shapes).items()):
        head = shapes.value(shape, SH["in"])
        if head is None:
            continue
        members = list(Collection(shapes, head))
        schemes = sorted(s for s in shapes.objects(shape, RDFS.seeAlso) if isinstance(s, URIRef))
        if all(isinstance(m, Literal) for m in members):
            assert not schemes, shape_id
            continue
        concepts = [m for m in members if isinstance(m, URIRef)]
        assert len(concepts) == len(members), shape_id
        assert schemes, f"{shape_id}: sh:in of concepts without rdfs:seeAlso to its scheme(s)"
        out.append((shape_id, schemes, concepts))
    return out


def test_value_units_equal_the_coding_sheet() -> None:
    from whatworks.ingest.coding_sheet import SHEETS_BY_NAME

    shapes = load_shapes()
    value_unit = shapes.value(URIRef(SHP + "WW-FIND-018"), SH["in"])
    assert value_unit is not None
    expected = SHEETS_BY_NAME["findings"].column("value_unit").choices
    assert tuple(str(u) for u in Collection(shapes, value_unit)) == expected


def test_concept_lists_equal_the_ontology_schemes() -> None:
    ontology = Graph().parse(ONTOLOGY_FILE, format="turtle")
    for shape_id, scheme_iris, members in in_lists(load_shapes()):
        expected = {c for s in scheme_iris for c in ontology.subjects(SKOS.inScheme, s)}
        assert expected, f"{shape_id}: the ontology has no concepts in {scheme_iris}"
        assert set(members) == expected, shape_id


def test_shapes_agree_with_the_ontology() -> None:
    ontology = Graph().parse(ONTOLOGY_FILE, format="turtle")
    shapes = load_shapes()
    used = {t for t in shapes.all_nodes() if isinstance(t, URIRef) and str(t).startswith(EMMIE)}
    for query in shapes.objects(None, SH.select):
        used |= {URIRef(EMMIE + name) for name in re.findall(r"emmie:(\w+)", str(query))}
    undeclared = sorted(t for t in used if (t, RDF.type, None) not in ontology)
    assert undeclared == [], "terms the ontology does not declare"
    # datatypes and classes agree with the ontology's ranges, where it gives one
    for predicate in (SH.datatype, SH["class"]):
        for shape, expected in shapes.subject_objects(predicate):
            ranges = set(ontology.objects(shapes.value(shape, SH.path), RDFS.range))
            assert not ranges or expected in ranges, (shape, expected, ranges)
    # a functional property is limited to one value wherever a node shape constrains it
    functional = set(ontology.subjects(RDF.type, OWL.FunctionalProperty))
    for node_shape in set(shapes.subjects(RDF.type, SH.NodeShape)):
        parts = list(shapes.objects(node_shape, DCTERMS.hasPart))
        for path in {shapes.value(p, SH.path) for p in parts} & functional:
            limited = [
                p
                for p in parts
                if shapes.value(p, SH.path) == path and shapes.value(p, SH.maxCount) == Literal(1)
            ]
            assert limited, f"{node_shape}: functional {path} has no sh:maxCount 1"


# --- validate() ----------------------------------------------------------------------------

PREFIXES = f"""
@base <{SYNTHETIC}id/> .
@prefix emmie: <{EMMIE}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix outcome: <{CONCEPT}outcome/> .
@prefix direction: <{CONCEPT}direction/> .
"""
FINDING = (
    PREFIXES
    + """
<finding/f1> a emmie:Finding ;
    emmie:key "f1" ;
    emmie:fromStudy <study/s1> ;
    emmie:summary "Synthetic finding" ;
    emmie:outcome outcome:entry ;
    emmie:outcomeMeasure <finding/f1/measure> ;
    emmie:direction direction:favourable .
<finding/f1/measure> a emmie:OutcomeMeasure ;
    rdfs:label "Synthetic measure" ;
    emmie:measuresOutcome outcome:entry ;
    emmie:isProxy true .
"""
)
# In the store already: the study (typed, but incomplete here, as a type-only context is)
# and another finding with problems of its own.
CONTEXT = (
    PREFIXES
    + """
<study/s1> a emmie:Study .
<finding/f9> a emmie:Finding ; emmie:fromStudy <study/s1> .
"""
)


def test_context_supplies_the_study_of_a_finding() -> None:
    data = Graph().parse(data=FINDING, format="turtle")
    alone = validate(data)
    assert [r.shape_id for r in alone.results] == ["WW-EVID-005"], describe(alone)
    assert alone.results[0].focus_node == URIRef(f"{SYNTHETIC}id/finding/f1")
    assert alone.results[0].value == URIRef(f"{SYNTHETIC}id/study/s1")

    context = Graph().parse(data=CONTEXT, format="turtle")
    with_context = validate(data, context=context)
    assert with_context.conforms
    # neither the incomplete study nor finding f9 (both only in context) is reported
    assert with_context.results == (), describe(with_context)


def test_context_does_not_hide_problems_of_data() -> None:
    data = Graph().parse(data=FINDING, format="turtle")
    data.remove((URIRef(f"{SYNTHETIC}id/finding/f1"), URIRef(EMMIE + "summary"), None))
    report = validate(data, context=Graph().parse(data=CONTEXT, format="turtle"))
    assert not report.conforms
    assert [r.shape_id for r in report.results] == ["WW-FIND-001"]


def test_validate_changes_neither_data_nor_context() -> None:
    data = Graph().parse(data=FINDING, format="turtle")
    context = Graph().parse(data=CONTEXT, format="turtle")
    data_copy, context_copy = Graph(), Graph()
    data_copy += data
    context_copy += context
    validate(data, context=context)
    assert isomorphic(data, data_copy)
    assert isomorphic(context, context_copy)


def test_focus_nodes_limit_what_is_validated() -> None:
    data = Graph().parse(data=FINDING + CONTEXT.removeprefix(PREFIXES), format="turtle")
    everything = validate(data)
    assert {str(r.focus_node).rsplit("/", 1)[1] for r in everything.results} == {"s1", "f9"}
    only_f9 = validate(data, focus_nodes=[URIRef(f"{SYNTHETIC}id/finding/f9")])
    assert {r.focus_node for r in only_f9.results} == {URIRef(f"{SYNTHETIC}id/finding/f9")}
    nothing = validate(data, focus_nodes=[])
    assert nothing.conforms
    assert nothing.results == ()


def test_warnings_do_not_break_conformance() -> None:
    report = validate(Graph().parse(INVALID_DIR_FILE("WW-STUDY-020"), format="turtle"))
    assert report.conforms
    assert [r.severity for r in report.results] == ["Warning"]
    assert report.warnings == report.results
    assert report.violations == ()


def INVALID_DIR_FILE(shape_id: str) -> Path:  # noqa: N802 (reads as a path constant)
    return EXAMPLES / "invalid" / f"{shape_id}.ttl"


def test_report_is_json_ready() -> None:
    report = validate(Graph().parse(INVALID_DIR_FILE("WW-WORK-004"), format="turtle"))
    as_dict = json.loads(report.to_json())
    assert as_dict == report.to_dict()
    assert as_dict["conforms"] is False
    assert as_dict["violations"] == len(report.results)
    # a gYear is also not comparable with the year range of WW-WORK-005
    assert [r["shape_id"] for r in as_dict["results"]] == ["WW-WORK-004", "WW-WORK-005"]
    assert as_dict["results"][0] == {
        "focus_node": {"type": "uri", "value": f"{SYNTHETIC}id/work/s1"},
        "path": EMMIE + "publicationYear",
        "value": {
            "type": "literal",
            "value": "2018",
            "datatype": "http://www.w3.org/2001/XMLSchema#gYear",
        },
        "shape": SHP + "WW-WORK-004",
        "shape_id": "WW-WORK-004",
        "severity": "Violation",
        "message": "WW-WORK-004: a work's publication year must be an xsd:integer literal",
    }


def test_validate_rejects_what_is_not_a_graph() -> None:
    with pytest.raises(TypeError):
        validate("not a graph")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        validate(Graph(), focus_nodes=["https://w3id.org/whatworks/synthetic/id/x"])  # type: ignore[list-item]


def test_docstring_examples_run() -> None:
    result = doctest.testmod(whatworks.core.validation, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_validator_reads_the_shapes_as_rdflib_does() -> None:
    # validate() parses the shapes with Oxigraph (faster); the triples must be rdflib's.
    triples, ids = whatworks.core.validation._shapes()
    ours = Graph()
    ours.addN((s, p, o, ours) for s, p, o in triples)
    shapes = load_shapes()
    assert len(ours) == len(shapes)
    assert isomorphic(ours, shapes)
    # isomorphic() compares literals by value; n3() also shows their spelling and datatype.
    assert {tuple(t.n3() for t in triple) for triple in ours if not _has_bnode(triple)} == {
        tuple(t.n3() for t in triple) for triple in shapes if not _has_bnode(triple)
    }
    assert dict(ids) == {shape: ident for ident, shape in shape_ids(shapes).items()}


def _has_bnode(triple: tuple[object, ...]) -> bool:
    return any(isinstance(term, BNode) for term in triple)
