"""The bundled base, read with the coding sheet's new columns, gives every figure it gave
before them: each finding's estimate, interval, standard error and n; each pooled estimate;
the what-works counts per outcome; the number of records of each class.

The expected figures (tests/fixtures/golden/bundled-figures.json) were computed from the
main branch before the columns were added, by the same queries (see ``write``):

    python tests/test_bundled_figures.py /path/to/whatworks /path/to/its/store

(its ``whatworks load`` first). Only a change that means to move a bundled figure may
rewrite them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from whatworks.core.namespaces import EMMIE_NS

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden" / "bundled-figures.json"

FINDINGS = """
SELECT ?finding ?outcome ?statistic ?value ?lower ?upper ?level ?se ?n WHERE {
  ?finding a emmie:Finding ; emmie:outcome ?outcome .
  OPTIONAL { ?finding emmie:sampleSize ?n }
  OPTIONAL { ?finding emmie:effectEstimate ?e . ?e emmie:statistic ?statistic ; emmie:value ?value .
             OPTIONAL { ?e emmie:ciLower ?lower } OPTIONAL { ?e emmie:ciUpper ?upper }
             OPTIONAL { ?e emmie:ciLevel ?level } OPTIONAL { ?e emmie:standardError ?se } }
} ORDER BY ?finding
"""
POOLED = """
SELECT ?pooled ?k ?value ?lower ?upper ?tau2 ?i2 WHERE {
  ?pooled a emmie:PooledEstimate ; emmie:k ?k ; emmie:value ?value .
  OPTIONAL { ?pooled emmie:ciLower ?lower } OPTIONAL { ?pooled emmie:ciUpper ?upper }
  OPTIONAL { ?pooled emmie:tau2 ?tau2 } OPTIONAL { ?pooled emmie:i2 ?i2 }
} ORDER BY ?pooled
"""
CLASSES = """
SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {
  ?s a ?class . FILTER(STRSTARTS(STR(?class), "https://w3id.org/whatworks/emmie#"))
} GROUP BY ?class ORDER BY ?class
"""
WHAT_WORKS = (
    "intervention", "direction_summary", "n_studies", "n_findings", "n_favourable",
    "n_unfavourable", "n_no_effect", "n_unclear", "pooled_estimate", "pooled_k",
)  # fmt: skip


def figures(exe: str, store: Path) -> dict[str, Any]:
    """The figures of the base in ``store``, read with the ``whatworks`` at ``exe``."""

    def run(*args: str, text: str | None = None) -> list[dict[str, str]]:
        env = {**os.environ, "WHATWORKS_STORE": str(store)}
        done = subprocess.run(
            [exe, "query", "--format", "csv", *args],
            input=text,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return list(csv.DictReader(io.StringIO(done.stdout)))

    what_works = {
        outcome: [
            {k: row[k] for k in WHAT_WORKS}
            for row in run("what_works_for_whom", "--param", f"outcome={outcome}")
        ]
        for outcome in ("entry", "re-entry", "reunification")
    }
    return {
        "findings": run("-", text=FINDINGS),
        "pooled": run("-", text=POOLED),
        "classes": run("-", text=CLASSES),
        "what_works_for_whom": what_works,
    }


def test_the_bundled_figures_are_those_of_main(bundled_store: Path) -> None:
    exe = str(Path(sys.executable).with_name("whatworks"))
    found = figures(exe, bundled_store)
    expected = json.loads(GOLDEN.read_text())
    assert len(expected["findings"]) >= 38  # the golden file holds the real base
    for part in ("findings", "pooled", "what_works_for_whom"):
        assert found[part] == expected[part], part
    # The computed ratings (docs/evidence-ratings.md) are new classes of derived results, not
    # coded evidence: every other class keeps its count.
    new = {f"{EMMIE_NS}{name}" for name in ("DesignRating", "EvidenceRating", "RatingRule")}
    classes = [row for row in found["classes"] if row["class"] not in new]
    assert classes == expected["classes"], "classes"
    assert {row["class"] for row in found["classes"]} - {r["class"] for r in classes} == new


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(figures(sys.argv[1], Path(sys.argv[2])), indent=1) + "\n")
