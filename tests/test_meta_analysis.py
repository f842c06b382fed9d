"""Meta-analysis: pooling against metafor's published results, the CSV reader, JSON, the
forest plot, and the derived graph (pooled estimates and EMMIE ratings) of a synthetic store.

Reference results, all for the BCG vaccine trials (metafor's ``dat.bcg``, log risk ratios
from ``escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)``):

- REML, ``rma(yi, vi, data=dat, method="REML")`` and ``predict(res, transf=exp)``: printed
  on the reference page of ``dat.bcg`` in metadat,
  https://wviechtb.github.io/metadat/reference/dat.bcg.html (github.com/wviechtb/metadat,
  docs/reference/dat.bcg.html), and the same output on metafor's reference pages of
  ``rma.uni`` and ``predict.rma`` (github.com/wviechtb/metafor, docs/reference/rma.uni.html
  and docs/reference/predict.rma.html).
- DerSimonian–Laird, ``rma(yi, vi, data=dat, method="DL")``: metafor's own test file
  tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r (github.com/wviechtb/metafor),
  which checks metafor against Stata's ``metan``.

metafor prints four decimals; each value is asserted to within half a unit of its last
printed digit, so every one agrees to three decimals (and to the four printed).
"""

from __future__ import annotations

import csv
import doctest
import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

import whatworks.analysis.meta_analysis
from tests.conftest import CLI, SYNTHETIC_BASE, synthetic_finding, synthetic_study, write_sheet
from whatworks.analysis.derived import DERIVED_GRAPH, derive, triple_order
from whatworks.analysis.meta_analysis import (
    Estimate,
    EstimateError,
    MixedMeasuresError,
    PooledResult,
    TooFewEstimatesError,
    UnknownMeasureError,
    forest_svg,
    pool,
    read_estimates_csv,
    result_as_json,
)
from whatworks.core.errors import InputError
from whatworks.core.namespaces import CONCEPT, OBO
from whatworks.core.reasoner import check_consistency
from whatworks.core.store import open_store, union_graph
from whatworks.core.validation import validate
from whatworks.core.vocab import EMMIE, SCHEMES

FIXTURES = Path(__file__).parent / "fixtures" / "meta"


def close(actual: float, published: str) -> bool:
    """True when ``actual`` rounds to ``published`` (within half a unit of its last digit)."""
    places = -Decimal(published).as_tuple().exponent  # type: ignore[operator]
    return abs(actual - float(published)) <= 0.5 * 10.0**-places + 1e-12


def bcg_from_tables() -> list[Estimate]:
    """The 13 trials as log risk ratios computed from their 2×2 tables (escalc's formulas)."""
    estimates = []
    with (FIXTURES / "dat_bcg.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            a, b, c, d = (int(row[k]) for k in ("tpos", "tneg", "cpos", "cneg"))
            yi = math.log((a / (a + b)) / (c / (c + d)))
            vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
            estimates.append(
                Estimate(f"{row['author']} {row['year']}", "RR", math.exp(yi), se=math.sqrt(vi))
            )
    return estimates


@pytest.fixture
def bcg() -> list[Estimate]:
    return read_estimates_csv(FIXTURES / "bcg_rr_se.csv")


# ----------------------------------------------------------------------------- fixtures


def test_fixture_files_are_the_published_tables() -> None:
    tables = bcg_from_tables()
    for name in ("bcg_rr_se.csv", "bcg_rr_ci.csv"):
        read = read_estimates_csv(FIXTURES / name)
        assert [e.label for e in read] == [e.label for e in tables]
        for ours, theirs in zip(read, tables, strict=True):
            assert ours.measure == "RR"
            assert ours.y == pytest.approx(theirs.y, abs=1e-12)
            assert ours.analysis_se == pytest.approx(theirs.analysis_se, abs=1e-12)


# ----------------------------------------------------------------------- reference results


def test_reml_matches_metafor(bcg: list[Estimate]) -> None:
    result = pool(bcg, method="REML")
    # rma(yi, vi, data=dat, method="REML"), printed on metadat's dat.bcg page:
    #   tau^2 0.3132 (SE = 0.1664); I^2 92.22%; Q(df = 12) = 152.2330, p-val < .0001
    #   estimate -0.7145  se 0.1798  zval -3.9744  ci.lb -1.0669  ci.ub -0.3622
    assert result.k == 13
    assert result.method == "REML"
    assert result.measure == "RR"
    assert close(result.y, "-0.7145")
    assert close(result.se, "0.1798")
    assert close(math.log(result.ci_lower), "-1.0669")
    assert close(math.log(result.ci_upper), "-0.3622")
    assert close(result.tau2, "0.3132")
    assert close(result.i2, "92.22")
    assert close(result.q, "152.2330")
    assert result.q_df == 12
    assert result.q_p < 0.0001
    # predict(res, transf=exp): pred 0.4894 ci.lb 0.3441 ci.ub 0.6962 pi.lb 0.1546 pi.ub 1.5490
    assert close(result.estimate, "0.4894")
    assert close(result.ci_lower, "0.3441")
    assert close(result.ci_upper, "0.6962")
    assert close(result.pi_lower, "0.1546")
    assert close(result.pi_upper, "1.5490")
    assert result.software.startswith("PyMARE ")


def test_dersimonian_laird_matches_metafor(bcg: list[Estimate]) -> None:
    result = pool(bcg, method="DL")
    # test_misc_metan_vs_rma.uni_with_dat.bcg.r, "RE model w/ DL estimator, measure='RR'":
    #   beta -0.7141, ci.lb -1.0644, ci.ub -0.3638, tau2 0.3088, I2 92.1173
    #   predict(res, transf=exp): pred 0.4896, ci.lb 0.3449, ci.ub 0.6950
    # and, in the same file, QE 152.2330 (Q does not depend on the tau² estimator).
    assert result.k == 13
    assert close(result.y, "-0.7141")
    assert close(math.log(result.ci_lower), "-1.0644")
    assert close(math.log(result.ci_upper), "-0.3638")
    assert close(result.tau2, "0.3088")
    assert close(result.i2, "92.1173")
    assert close(result.q, "152.2330")
    assert close(result.estimate, "0.4896")
    assert close(result.ci_lower, "0.3449")
    assert close(result.ci_upper, "0.6950")
    # metafor's default prediction interval (no published DL value): mu ± z·sqrt(se² + tau²)
    half = 1.959963984540054 * math.sqrt(result.se**2 + result.tau2)
    assert math.log(result.pi_lower) == pytest.approx(result.y - half, abs=1e-12)
    assert math.log(result.pi_upper) == pytest.approx(result.y + half, abs=1e-12)
    assert result.software.startswith("statsmodels ")


def test_i2_of_dersimonian_laird_is_statsmodels_own(bcg: list[Estimate]) -> None:
    import numpy as np
    from statsmodels.stats.meta_analysis import combine_effects

    y = np.array([e.y for e in bcg])
    v = np.array([e.analysis_se**2 for e in bcg])
    own = combine_effects(y, v, method_re="chi2")
    assert pool(bcg, method="DL").i2 == pytest.approx(100 * own.i2, abs=1e-9)


def test_intervals_instead_of_standard_errors_give_the_same_result(bcg: list[Estimate]) -> None:
    from_ci = read_estimates_csv(FIXTURES / "bcg_rr_ci.csv")
    assert all(e.se is None for e in from_ci)
    for method in ("REML", "DL"):
        a, b = pool(bcg, method=method), pool(from_ci, method=method)  # type: ignore[arg-type]
        for name in ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "tau2", "q"):
            assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9), name


def test_riley_prediction_interval_uses_t_with_k_minus_2(bcg: list[Estimate]) -> None:
    from scipy import stats

    normal = pool(bcg, method="REML")
    riley = pool(bcg, method="REML", prediction="riley")
    half = stats.t.ppf(0.975, 11) * math.sqrt(riley.se**2 + riley.tau2)
    assert math.log(riley.pi_upper) == pytest.approx(riley.y + half, abs=1e-12)
    assert riley.pi_upper > normal.pi_upper
    assert riley.ci_upper == normal.ci_upper


def test_dersimonian_laird_truncates_a_negative_tau2_at_zero() -> None:
    # Regression: statsmodels' combine_effects leaves (Q − df)/c negative when Q < df and
    # weights the mean with it; with tau² = 0 the model is the fixed-effect one.
    homogeneous = [
        Estimate("A", "RR", 0.41, ci_lower=0.13, ci_upper=1.26),
        Estimate("B", "RR", 0.20, ci_lower=0.09, ci_upper=0.49),
        Estimate("C", "RR", 0.26, se=0.64),
    ]
    dl = pool(homogeneous, method="DL")
    reml = pool(homogeneous, method="REML")
    assert dl.q < dl.q_df
    assert dl.tau2 == 0.0
    assert dl.i2 == 0.0
    weights = [1 / e.analysis_se**2 for e in homogeneous]
    fixed = sum(w * e.y for w, e in zip(weights, homogeneous, strict=True)) / sum(weights)
    assert dl.y == pytest.approx(fixed, abs=1e-12)
    assert dl.se == pytest.approx(math.sqrt(1 / sum(weights)), abs=1e-12)
    assert dl.y == pytest.approx(reml.y, abs=1e-6)
    assert (dl.pi_lower, dl.pi_upper) == (dl.ci_lower, dl.ci_upper)


def test_differences_are_pooled_on_their_own_scale() -> None:
    estimates = [
        Estimate("A", "smd", 0.30, se=0.10),
        Estimate("B", "hedges_g", 0.10, ci_lower=-0.10, ci_upper=0.30),
        Estimate("C", "SMD", 0.50, se=0.20),
    ]
    result = pool(estimates, method="DL")
    assert result.measure == "SMD"
    assert not result.is_ratio
    assert result.ci_lower < result.estimate < result.ci_upper
    assert result.estimate == pytest.approx(result.y)


# ------------------------------------------------------------------------------ refusals


def test_mixing_measure_families_is_refused(bcg: list[Estimate]) -> None:
    odds = Estimate("odds", "odds_ratio", 0.5, se=0.2)
    with pytest.raises(MixedMeasuresError, match="OR, RR"):
        pool([*bcg, odds])


def test_fewer_than_two_estimates_are_refused(bcg: list[Estimate]) -> None:
    with pytest.raises(TooFewEstimatesError, match="at least 2"):
        pool(bcg[:1])
    with pytest.raises(TooFewEstimatesError):
        pool([])
    with pytest.raises(TooFewEstimatesError, match="at least 3"):
        pool(bcg[:2], prediction="riley")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"measure": "RR", "estimate": 0.0, "se": 0.1}, "estimate"),
        ({"measure": "OR", "estimate": 0.5, "ci_lower": -0.1, "ci_upper": 1.0}, "ci_lower"),
        ({"measure": "MD", "estimate": 2.0, "ci_lower": 3.0, "ci_upper": 4.0}, "estimate"),
        ({"measure": "MD", "estimate": 2.0, "ci_lower": 3.0, "ci_upper": 1.0}, "ci_lower"),
        ({"measure": "MD", "estimate": 2.0, "ci_lower": 1.0}, "ci_upper"),
        ({"measure": "MD", "estimate": 2.0}, "se"),
        ({"measure": "MD", "estimate": 2.0, "se": 0.0}, "se"),
        ({"measure": "MD", "estimate": math.nan, "se": 1.0}, "estimate"),
        ({"measure": "MD", "estimate": 2.0, "se": 1.0, "ci_level": 95.0}, "ci_level"),
    ],
)
def test_unusable_estimates_are_refused_with_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(EstimateError) as caught:
        Estimate("x", **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_unknown_measures_are_refused() -> None:
    with pytest.raises(UnknownMeasureError, match="percent_change"):
        Estimate("x", "percent_change", -12.0, se=3.0)


# ----------------------------------------------------------------------------------- CSV


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_errors_are_all_collected_with_row_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path / "estimates.csv",
        "label,measure,estimate,se,ci_lower,ci_upper\n"
        "ok,RR,0.5,0.2,,\n"
        "bad measure,relative,0.5,0.2,,\n"
        ",RR,abc,0.2,,\n"
        "negative ratio,OR,-1,0.2,,\n"
        "\n"
        "interval outside,MD,5,,1,2\n",
    )
    with pytest.raises(InputError) as caught:
        read_estimates_csv(path)
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {
        (3, "measure"), (4, "label"), (4, "estimate"), (5, "estimate"), (7, "estimate"),
    }  # fmt: skip
    assert all(p.file == str(path) for p in caught.value.problems)
    assert caught.value.exit_code == 1
    bad = next(p for p in caught.value.problems if p.row == 3)
    assert bad.found == "relative"
    assert "OR, RR, HR, SMD, MD, RD" in bad.expected
    assert str(bad).startswith(f"{path}, row 3, column measure: unknown measure")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("label,estimate,se\nA,1,2\n", "required columns are missing: measure"),
        ("label,measure,estimate\nA,RR,1\n", "se or both columns ci_lower and ci_upper"),
        ("label,measure,estimate,se\n", "no estimates"),
    ],
)
def test_csv_file_problems(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        read_estimates_csv(write(tmp_path / "e.csv", text))
    assert len(caught.value.problems) == 1


def test_csv_missing_file_and_other_encodings(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file") as caught:
        read_estimates_csv(tmp_path / "missing.csv")
    assert caught.value.exit_code == 2
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("label,measure,estimate,se\nCaf\xe9,RR,1,0.1\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_estimates_csv(latin1)
    bom = tmp_path / "bom.csv"
    bom.write_bytes("label,measure,estimate,se\nA,RR,1,0.1\nB,RR,2,0.2\n".encode("utf-8-sig"))
    assert [e.label for e in read_estimates_csv(bom)] == ["A", "B"]


# ---------------------------------------------------------------------------------- JSON


def test_result_as_json_has_the_documented_keys(bcg: list[Estimate]) -> None:
    result = pool(bcg, method="REML")
    data = result_as_json(result)
    assert {"k", "method", "estimate", "ci_lower", "ci_upper", "tau2", "i2", "q",
            "pi_lower", "pi_upper"} <= set(data)  # fmt: skip
    assert data["k"] == 13
    assert data["method"] == "REML"
    assert data["measure"] == "RR"
    assert data["scale"] == "log"
    assert data["estimate"] == result.estimate  # natural scale, as R's predict(transf=exp)
    assert json.loads(json.dumps(data, allow_nan=False)) == data


# --------------------------------------------------------------------------- forest plot

SVG = "{http://www.w3.org/2000/svg}"


def test_forest_plot_is_accessible_standalone_svg(bcg: list[Estimate]) -> None:
    result = pool(bcg, method="REML")
    text = forest_svg(bcg, result)
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and "risk ratio" in (title.text or "")
    desc = root.find(f"{SVG}desc")
    assert desc is not None and "0.49" in (desc.text or "")
    groups = root.findall(f"{SVG}g")
    assert len(groups) == 13 + 2  # one per trial, the pooled diamond, the prediction interval
    tips = [g.findtext(f"{SVG}title") or "" for g in groups]
    assert tips[0].startswith("Aronson 1948: risk ratio 0.41 (95% CI 0.13 to 1.26)")
    assert tips[13].startswith("Pooled (REML): risk ratio 0.49 (95% CI 0.34 to 0.70)")
    assert tips[14].startswith("Prediction interval: 0.15 to 1.55")
    assert len(list(root.iter(f"{SVG}polygon"))) == 1
    assert "log scale" in text
    # nothing to fetch: no links, images, scripts or styles from elsewhere
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in {"image", "script", "a", "use", "style"}
        assert not any("href" in name for name in element.attrib)


def test_forest_plot_escapes_labels() -> None:
    estimates = [
        Estimate("<b>A & B</b>", "MD", 1.0, se=0.5),
        Estimate("C", "MD", 2.0, se=0.5),
    ]
    text = forest_svg(estimates, pool(estimates, method="DL"))
    ET.fromstring(text)
    assert "<b>" not in text
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in text


# ---------------------------------------------------------------------------- docstrings


def test_docstring_examples_run() -> None:
    result = doctest.testmod(whatworks.analysis.meta_analysis, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_pooled_result_is_frozen(bcg: list[Estimate]) -> None:
    result: PooledResult = pool(bcg)
    with pytest.raises(AttributeError):
        result.k = 2  # type: ignore[misc]


# ------------------------------------------------------------------------- derived graph

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SYN = SYNTHETIC_BASE
PROV_NS = "http://www.w3.org/ns/prov#"


def no_interval(**extra: str) -> dict[str, str]:
    return {"ci_lower": "", "ci_upper": "", "ci_level": "", **extra}


@pytest.fixture
def evidence_store(cli: CLI, tmp_path: Path, store_dir: Path) -> Path:
    """A synthetic store: intervention i1 with three odds ratios on entry (one study with two),
    a lone risk ratio, a percent change, two standardised mean differences on reunification,
    EMMIE codings and a mechanism; intervention i2 with a single finding."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    studies = [synthetic_study(f"s{n}", interventions="i1") for n in range(1, 5)]
    studies.append(synthetic_study("s5", interventions="i2"))
    write_sheet(folder, "syn.studies", studies)
    write_sheet(
        folder,
        "syn.interventions",
        [
            {"key": "i1", "label": "Synthetic intervention one", "intervention_type": "mentoring"},
            {"key": "i2", "label": "Synthetic intervention two", "intervention_type": "mentoring"},
        ],
    )
    f = synthetic_finding
    write_sheet(
        folder,
        "syn.findings",
        [
            f("f1", "s1", intervention="i1"),
            f("f2", "s2", intervention="i1", estimate="0.5", ci_lower="0.3", ci_upper="0.83"),
            f("f3", "s3", intervention="i1", estimate="1.1", **no_interval(se="0.2")),
            f("f3b", "s3", intervention="i1", estimate="1.3", ci_lower="0.5", ci_upper="3.4"),
            f("f4", "s4", intervention="i1", statistic="risk_ratio", estimate="0.7",
              ci_lower="0.5", ci_upper="0.98"),
            f("f7", "s4", intervention="i1", statistic="percent_change", estimate="-12",
              **no_interval()),
            f("f5", "s1", intervention="i1", outcome="reunification", measure="returned home",
              statistic="smd", estimate="0.3", **no_interval(se="0.1")),
            f("f6", "s2", intervention="i1", outcome="reunification", measure="returned home",
              statistic="hedges_g", estimate="0.1", ci_lower="-0.1", ci_upper="0.3"),
            f("f8", "s5", intervention="i2", estimate="0.9", ci_lower="0.7", ci_upper="1.2"),
        ],
    )  # fmt: skip
    coding = {"summary": "Synthetic coding.", "intervention": "i1"}
    write_sheet(
        folder,
        "syn.emmie",
        [
            {**coding, "key": "c1", "study": "s1", "outcome": "entry", "dimension": "effect",
             "quality": "3"},
            {**coding, "key": "c2", "study": "s2", "outcome": "entry", "dimension": "effect",
             "quality": "2"},
            {**coding, "key": "c3", "study": "s3", "outcome": "entry", "dimension": "mechanism",
             "quality": "1"},
            {**coding, "key": "c4", "study": "s2", "outcome": "reunification",
             "dimension": "effect"},
        ],
    )  # fmt: skip
    write_sheet(
        folder,
        "syn.mechanisms",
        [{"key": "m1", "study": "s4", "intervention": "i1", "label": "Synthetic mechanism",
          "status": "proposed"}],
    )  # fmt: skip
    result = cli("ingest", "--id-base", SYN, *map(str, sorted(folder.glob("*.csv"))))
    assert result.exit_code == 0, result.output
    return store_dir


def derived_graph(store_dir: Path) -> Graph:
    store = open_store(store_dir)
    try:
        graph = Graph()
        for triple in derive(store, generated_at=NOW):
            graph.add(triple)
        return graph
    finally:
        store.close()


def values(graph: Graph, subject: URIRef, predicate: URIRef) -> list[object]:
    return sorted(o.toPython() for o in graph.objects(subject, predicate))  # type: ignore[union-attr]


def test_derive_pools_each_intervention_outcome_and_family(evidence_store: Path) -> None:
    graph = derived_graph(evidence_store)
    pooled = {str(s) for s in graph.subjects(RDF.type, EMMIE.PooledEstimate)}
    assert pooled == {
        f"{SYN}pooled/i1/entry/or/reml",
        f"{SYN}pooled/i1/entry/or/dersimonian_laird",
        f"{SYN}pooled/i1/reunification/smd/reml",
        f"{SYN}pooled/i1/reunification/smd/dersimonian_laird",
    }
    reml = URIRef(f"{SYN}pooled/i1/entry/or/reml")
    # one finding per study: s3's less precise f3b is not pooled; the RR and % change are not
    assert values(graph, reml, EMMIE.pools) == [f"{SYN}finding/f{n}" for n in (1, 2, 3)]
    expected = pool(
        [
            Estimate("s1", "OR", 0.8, ci_lower=0.6, ci_upper=0.95),
            Estimate("s2", "OR", 0.5, ci_lower=0.3, ci_upper=0.83),
            Estimate("s3", "OR", 1.1, se=0.2),
        ],
        method="REML",
    )
    assert float(graph.value(reml, EMMIE.value)) == pytest.approx(expected.estimate, rel=1e-10)
    assert float(graph.value(reml, EMMIE.ciLower)) == pytest.approx(expected.ci_lower, rel=1e-10)
    assert float(graph.value(reml, EMMIE.predictionUpper)) == pytest.approx(
        expected.pi_upper, rel=1e-10
    )
    assert float(graph.value(reml, EMMIE.tau2)) == pytest.approx(expected.tau2, abs=1e-10)
    assert float(graph.value(reml, EMMIE.i2)) == pytest.approx(expected.i2, abs=1e-8)
    assert float(graph.value(reml, EMMIE.q)) == pytest.approx(expected.q, rel=1e-10)
    assert graph.value(reml, EMMIE.k) == Literal(3, datatype=XSD.integer)
    assert graph.value(reml, EMMIE.value).datatype == XSD.decimal  # type: ignore[union-attr]
    assert graph.value(reml, EMMIE.statistic) == SCHEMES["statistic"]["odds_ratio"]
    assert graph.value(reml, EMMIE.poolingMethod) == SCHEMES["pooling-method"]["reml"]
    assert graph.value(reml, EMMIE.aboutIntervention) == URIRef(f"{SYN}intervention/i1")
    assert graph.value(reml, EMMIE.outcome) == SCHEMES["outcome"]["entry"]
    assert graph.value(reml, URIRef(PROV_NS + "generatedAtTime")) == Literal(NOW)
    activity = graph.value(reml, URIRef(PROV_NS + "wasGeneratedBy"))
    assert activity == URIRef(f"{SYN}activity/meta-analysis/reml")
    assert (activity, RDF.type, OBO.STATO_0000155) in graph
    assert "PyMARE" in str(graph.value(activity, RDFS.label))
    dl_activity = URIRef(f"{SYN}activity/meta-analysis/dersimonian_laird")
    assert (dl_activity, RDF.type, OBO.STATO_0000431) in graph
    assert "statsmodels" in str(graph.value(dl_activity, RDFS.label))
    # smd and hedges_g pool together as the SMD family, labelled smd
    smd = URIRef(f"{SYN}pooled/i1/reunification/smd/reml")
    assert graph.value(smd, EMMIE.statistic) == SCHEMES["statistic"]["smd"]
    assert graph.value(smd, EMMIE.k) == Literal(2, datatype=XSD.integer)


def test_derive_rates_each_intervention_outcome_and_dimension(evidence_store: Path) -> None:
    graph = derived_graph(evidence_store)

    def rating(intervention: str, outcome: str, dimension: str) -> tuple[object, ...]:
        iri = URIRef(f"{SYN}emmie-rating/{intervention}/{outcome}/{dimension}")
        assert (iri, RDF.type, EMMIE.EmmieRating) in graph, iri
        best = graph.value(iri, EMMIE.bestQualityLevel)
        return (
            graph.value(iri, EMMIE.evidencePresent).toPython(),  # type: ignore[union-attr]
            graph.value(iri, EMMIE.studyCount).toPython(),  # type: ignore[union-attr]
            None if best is None else str(best).removeprefix(str(CONCEPT)),
        )

    ratings = set(graph.subjects(RDF.type, EMMIE.EmmieRating))
    assert len(ratings) == 3 * 5  # i1 × (entry, reunification), i2 × entry; five dimensions
    assert rating("i1", "entry", "effect") == (True, 4, "emmie-q-effect/3")
    # c3 names entry; the mechanism m1 names no outcome, so it is in no rating (it counts
    # under "any outcome" only).
    assert rating("i1", "entry", "mechanism") == (True, 1, "emmie-q-mechanism/1")
    assert rating("i1", "entry", "moderators") == (False, 0, None)
    assert rating("i1", "entry", "economic") == (False, 0, None)
    assert rating("i1", "reunification", "effect") == (True, 2, None)
    assert rating("i1", "reunification", "mechanism") == (False, 0, None)
    rated = {
        str(o).rsplit("/", 1)[1]
        for r in ratings
        for o in graph.objects(r, URIRef(PROV_NS + "wasDerivedFrom"))
    }
    assert "c3" in rated and "m1" not in rated
    assert rating("i2", "entry", "effect") == (True, 1, None)
    effect = URIRef(f"{SYN}emmie-rating/i1/entry/effect")
    derived_from = {str(o).rsplit("/", 1)[1] for o in graph.objects(
        effect, URIRef(PROV_NS + "wasDerivedFrom"))}  # fmt: skip
    assert derived_from == {"f1", "f2", "f3", "f3b", "f4", "f7", "c1", "c2"}


def test_derived_graph_passes_the_shapes(evidence_store: Path) -> None:
    graph = derived_graph(evidence_store)
    report = validate(graph)
    assert report.conforms, report.to_json()
    assert report.results == ()
    # the shapes do look at derived resources: break one of each
    reml = URIRef(f"{SYN}pooled/i1/entry/or/reml")
    graph.remove((reml, EMMIE.pools, URIRef(f"{SYN}finding/f1")))
    rating = URIRef(f"{SYN}emmie-rating/i1/entry/effect")
    graph.set((rating, EMMIE.studyCount, Literal(0)))
    tier = URIRef(f"{SYN}evidence-rating/i1/entry")
    assert (tier, RDF.type, EMMIE.EvidenceRating) in graph
    graph.remove((tier, EMMIE.ratingLevel, None))
    broken = {r.shape_id for r in validate(graph).results}
    assert {"WW-POOL-047", "WW-RATE-012", "WW-RATE-016", "WW-ERATE-004"} <= broken


def test_derive_is_stable_and_ignores_its_own_output(evidence_store: Path) -> None:
    first = derived_graph(evidence_store)
    store = open_store(evidence_store)
    try:
        store.replace_graphs({DERIVED_GRAPH: list(first)})
        again = derive(store, generated_at=NOW)
    finally:
        store.close()
    assert set(again) == set(first)
    assert again == sorted(again, key=triple_order)


def test_what_pools_nothing_asks_nothing_of_scipy(
    evidence_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # i2's lone finding has an interval and no standard error: deriving one from it takes
    # SciPy (a second to import), which a finding that is not pooled must not cost.
    def no_scipy(level: float) -> float:
        raise AssertionError("asked SciPy for a normal quantile")

    monkeypatch.setattr(whatworks.analysis.meta_analysis, "_z", no_scipy)
    store = open_store(evidence_store)
    try:
        alone = derive(store, generated_at=NOW, interventions=[URIRef(f"{SYN}intervention/i2")])
        with pytest.raises(AssertionError, match="normal quantile"):
            derive(store, generated_at=NOW, interventions=[URIRef(f"{SYN}intervention/i1")])
    finally:
        store.close()
    assert alone
    assert not [t for t in alone if t[1] == RDF.type and t[2] == EMMIE.PooledEstimate]
    monkeypatch.undo()
    assert set(alone) <= set(derived_graph(evidence_store))


def test_the_cli_and_the_ingest_import_no_statistics_nor_validator(tmp_path: Path) -> None:
    # In a new interpreter: this one has imported them all. NumPy, SciPy, statsmodels and
    # PyMARE are imported when something is pooled, pySHACL when something is validated,
    # the HTTP stack for a remote store: a re-ingest that needs none of them starts in
    # 0.15 s instead of over a second.
    heavy = ["numpy", "scipy", "statsmodels", "pymare", "pandas", "pyshacl", "requests"]
    code = (
        "import sys, whatworks.cli, whatworks.ingest.pipeline, whatworks.analysis.derived; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == []


def test_bundled_like_store_without_poolable_pairs_derives_only_ratings(
    cli: CLI, sheets: Path, store_dir: Path
) -> None:
    result = cli("ingest", "--id-base", SYN, *map(str, sorted(sheets.glob("*.csv"))))
    assert result.exit_code == 0, result.output
    graph = derived_graph(store_dir)
    assert not list(graph.subjects(RDF.type, EMMIE.PooledEstimate))
    assert len(set(graph.subjects(RDF.type, EMMIE.EmmieRating))) == 5


@pytest.mark.slow
def test_hermit_finds_evidence_and_derived_results_consistent(evidence_store: Path) -> None:
    store = open_store(evidence_store)
    try:
        # The sources' provenance graphs are left out: HermiT refuses their xsd:dateTime
        # values with microseconds ("malformed"), which is about the ingest, not this data.
        sources = [g for g in store.graph_names() if not str(g).endswith("/provenance")]
        data = union_graph(store, sources)
    finally:
        store.close()
    for triple in derived_graph(evidence_store):
        data.add(triple)
    report = check_consistency(data)
    assert report.consistent, report.message


def test_identical_estimates_pool_without_warnings() -> None:
    """Regression: Q = 0 made statsmodels divide by zero (a RuntimeWarning that failed the
    ingest under warnings-as-errors)."""
    import warnings

    same = [Estimate("a", "OR", 0.8, se=0.1), Estimate("b", "OR", 0.8, se=0.1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("DL", "REML"):
            result = pool(same, method)
            assert result.tau2 == 0.0 and result.q == 0.0
            assert abs(result.estimate - 0.8) < 1e-12
