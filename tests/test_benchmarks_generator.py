"""The benchmark generator keeps producing sheets that the real CLI ingests (no timings here:
speed is measured in benchmarks/, never asserted in a test)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.synthetic import generate, iter_rows
from tests.conftest import ingest_synthetic, run_command


@pytest.mark.slow
def test_generated_10k_sheet_ingests_with_the_cli(tmp_path: Path) -> None:
    sheets = tmp_path / "sheets"
    summary = generate(sheets, size="10k", seed=7)
    store = tmp_path / "store"

    ingest_synthetic(store, summary.files)

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
    # The dataset node, the software agent and the rating rules (how the software rates:
    # docs/evidence-ratings.md) are shared; no record is minted outside.
    real_ids = re.findall(
        r"<https://w3id\.org/whatworks/id/(?!dataset>|software/|rule/)[^>]*>", exported
    )
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


def _keys_and_references(folder: Path) -> tuple[set[str], set[str]]:
    """Every key a sheet in ``folder`` defines, and every key its rows refer to."""
    keys: set[str] = set()
    references: set[str] = set()
    for path in folder.glob("*.csv"):
        for row in iter_rows(path):
            keys.add(row["key"])
            for column in ("study", "intervention", "interventions"):
                references.update(k.strip() for k in row.get(column, "").split(";") if k.strip())
    return keys, references


def test_parts_of_a_larger_base_never_share_a_key_a_file_or_a_graph(tmp_path: Path) -> None:
    from whatworks.ingest.pipeline import graph_name_for

    parts = {k: generate(tmp_path / f"part{k}", size="10k", seed=3, part=k) for k in (1, 2)}
    keys = {k: _keys_and_references(summary.folder) for k, summary in parts.items()}
    # Disjoint keys (so disjoint IRIs), and each part refers only to its own records.
    assert keys[1][0].isdisjoint(keys[2][0])
    for own, references in keys.values():
        assert references and references <= own
    assert all(key.startswith("syn-p1-") for key in keys[1][0])
    graphs = {k: {graph_name_for(p) for p in s.files} for k, s in parts.items()}
    assert graphs[1].isdisjoint(graphs[2])
    assert all(name.startswith("synthetic.part2.") for name in graphs[2])
    # DOIs and addresses are the part's own too; everything still reads as synthetic.
    dois = {
        k: {row["doi"] for row in iter_rows(s.folder / f"synthetic.part{k}.studies.csv")} - {""}
        for k, s in parts.items()
    }
    assert dois[1] and dois[1].isdisjoint(dois[2])
    assert all(doi.startswith("10.5555/") for doi in dois[1] | dois[2])
    # A part is as reproducible as a whole sheet.
    again = generate(tmp_path / "again", size="10k", seed=3, part=2)
    for one, two in zip(parts[2].files, again.files, strict=True):
        assert one.read_bytes() == two.read_bytes()
    with pytest.raises(ValueError, match="numbered from 1"):
        generate(tmp_path / "zero", size="10k", part=0)


@pytest.mark.slow
def test_parts_ingest_one_after_the_other_into_one_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    counts: list[dict[str, int]] = []
    classes: list[dict[str, int]] = []
    for k in (1, 2):
        summary = generate(tmp_path / f"part{k}", size="10k", seed=11, part=k)
        ingest_synthetic(store, summary.files)
        stats = json.loads(run_command(store, "stats", "--json").stdout)
        counts.append(stats["graphs"])
        classes.append(stats["classes"])

    def part_graphs(graphs: dict[str, int], k: int) -> dict[str, int]:
        return {g: n for g, n in graphs.items() if f"/graph/synthetic.part{k}." in g}

    first, second = part_graphs(counts[0], 1), part_graphs(counts[1], 2)
    # Each part's 8 graphs and their provenance; the second call left the first's alone.
    assert len(first) == len(second) == 16
    assert part_graphs(counts[1], 1) == first
    assert part_graphs(counts[0], 2) == {}
    assert 8_000 <= sum(second.values()) <= 12_000
    # Records add up: nothing of part 1 was overwritten or merged with part 2.
    study = "https://w3id.org/whatworks/emmie#Study"
    first_studies = classes[0][study]
    assert classes[1][study] == first_studies + sum(
        1 for _ in iter_rows(tmp_path / "part2" / "synthetic.part2.studies.csv")
    )
    assert run_command(store, "validate").returncode == 0
