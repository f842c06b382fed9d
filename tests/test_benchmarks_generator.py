"""The benchmark generator keeps producing sheets that the real CLI ingests (no timings here:
speed is measured in benchmarks/, never asserted in a test)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.synthetic import SYNTHETIC_ID_BASE, generate, iter_rows
from tests.conftest import run_command


@pytest.mark.slow
def test_generated_10k_sheet_ingests_with_the_cli(tmp_path: Path) -> None:
    sheets = tmp_path / "sheets"
    summary = generate(sheets, size="10k", seed=7)
    store = tmp_path / "store"

    done = run_command(
        store,
        "ingest",
        "-q",
        "--no-progress",
        "--id-base",
        SYNTHETIC_ID_BASE,
        *map(str, summary.files),
    )
    assert done.returncode == 0, done.stderr

    stats = json.loads(run_command(store, "stats", "--json").stdout)
    # Sized by the triples the sheets become (their graphs and provenance), measured with the
    # project's own mapper, so near the target whatever the mapping; graphs derived from the
    # evidence (pooled estimates, ratings) come on top.
    triples = sum(n for g, n in stats["graphs"].items() if "/graph/synthetic." in g)
    assert 8_000 <= triples <= 12_000
    # Everything minted lives in the synthetic namespace.
    graphs = [g for g in stats["graphs"] if g.endswith("synthetic.studies")]
    assert graphs, stats["graphs"]
    exported = run_command(store, "export", "--format", "ntriples").stdout
    # The dataset node and the software agent are shared; no record is minted outside.
    real_ids = re.findall(r"<https://w3id\.org/whatworks/id/(?!dataset>|software/)[^>]*>", exported)
    assert real_ids == []

    assert run_command(store, "validate").returncode == 0


def test_generator_is_deterministic_and_obviously_synthetic(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", size="10k", seed=3)
    second = generate(tmp_path / "b", size="10k", seed=3)
    for one, two in zip(first.files, second.files, strict=True):
        assert one.read_bytes() == two.read_bytes()
    studies = list(iter_rows(tmp_path / "a" / "synthetic.studies.csv"))
    assert all(row["key"].startswith("syn-") for row in studies)
    assert all(row["doi"] == "" or row["doi"].startswith("10.5555/") for row in studies)
    assert all(
        author.strip().startswith("Synthetic Author ")
        for row in studies
        if row["authors"]
        for author in row["authors"].split(";")
    )
