"""`whatworks meta`: the command researchers use to check our pooling against metafor."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CLI

BCG = Path(__file__).parent / "fixtures" / "meta" / "bcg_rr_ci.csv"


def test_meta_json_matches_metafor_reml(cli: CLI) -> None:
    result = cli("meta", str(BCG), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # metafor rma(yi, vi, data=dat.bcg) (REML): exp(-0.7145) = 0.4894; tau2 0.3132; I2 92.22
    assert data["k"] == 13 and data["method"] == "REML"
    assert round(data["estimate"], 4) == 0.4894
    assert round(data["tau2"], 4) == 0.3132
    assert round(data["i2"], 2) == 92.22
    assert round(data["q"], 3) == 152.233


def test_meta_dl_and_forest_plot(cli: CLI, tmp_path: Path) -> None:
    svg = tmp_path / "forest.svg"
    result = cli("meta", str(BCG), "--method", "DL", "--json", "--svg", str(svg))
    assert result.exit_code == 0, result.output
    assert round(json.loads(result.output)["tau2"], 4) == 0.3088
    text = svg.read_text()
    assert text.startswith("<svg") or text.startswith("<?xml")
    assert "Aronson 1948" in text


def test_meta_bad_csv_names_the_cell(cli: CLI, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("label,measure,estimate,se\na,OR,1.2,0.1\nb,XX,0.9,0.2\nc,OR,abc,0.1\n")
    result = cli("meta", str(bad), "--json")
    assert result.exit_code != 0
    assert "bad.csv" in result.output and "row 3" in result.output and "row 4" in result.output


def test_meta_too_few(cli: CLI, tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    one.write_text("label,measure,estimate,se\na,OR,1.2,0.1\n")
    result = cli("meta", str(one))
    assert result.exit_code != 0 and "error:" in result.output
