"""Issue 16's figures: whatworks ingest beside the engine's own bulk loader, same quads.

For each size: write the synthetic sheets (``benchmarks/synthetic.py``), then, in one run,

1. ``whatworks ingest`` of all of them into an empty store (wall, CPU, peak RSS, the
   store folder's size once the command has ended);
2. ``whatworks export --format nquads`` of that store, and ``oxigraph load`` of the export
   into an empty folder: the engine's bulk load of the very same quads (wall, CPU, peak
   RSS, folder size);
3. the 5-row change: the largest file with the summary of its first 5 rows edited,
   ingested again (wall, peak RSS);
4. ``whatworks validate`` of the whole store with the compiled shapes and with pySHACL
   (``--validator``), both must conform.

Ratios are whatworks ÷ engine (lower is better; the issue asks ≤ 2 for time and size).
Results go to ``benchmarks/results/ingest-engine-<size>.json``; a table is printed::

    .venv/bin/python benchmarks/ingest_engine.py --sizes 100k --runs 2 --work /tmp/ie
    .venv/bin/python benchmarks/ingest_engine.py --sizes 1m --runs 1 --work /tmp/ie --no-pyshacl

Everything is synthetic (``--id-base`` of the synthetic namespace); ``--work`` is removed at
the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import benchmarks.run as common  # noqa: E402
from benchmarks.run import change_rows, folder_bytes, machine, project_commit  # noqa: E402
from benchmarks.synthetic import SYNTHETIC_ID_BASE, generate  # noqa: E402

PYTHON = Path(sys.executable)
WHATWORKS = str(PYTHON.with_name("whatworks"))
OXIGRAPH = str(PYTHON.with_name("oxigraph"))
MB = 1024**2


def measured(command: list[str], what: str) -> dict[str, Any]:
    result = common.run_measured(command)
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return {
        "wall_s": round(result.wall_s, 2),
        "cpu_s": result.cpu_s,
        "peak_rss_mb": round(result.max_rss_mb, 1),
    }


def one_run(size: str, sheets: Path, work: Path, pyshacl: bool) -> dict[str, Any]:
    store = work / "store"
    engine = work / "engine"
    for folder in (store, engine):
        shutil.rmtree(folder, ignore_errors=True)
    files = sorted(str(p) for p in sheets.glob("*.csv"))
    ingest = [WHATWORKS, "--store", str(store), "ingest", "-q", "--no-progress"]
    ingest += ["--id-base", SYNTHETIC_ID_BASE]
    out: dict[str, Any] = {"ingest": measured([*ingest, *files], "ingest")}
    out["ingest"]["store_mb"] = round(folder_bytes(store) / MB, 1)
    quads = work / "quads.nq"
    export = [WHATWORKS, "--store", str(store), "export", "--format", "nquads", "-o", str(quads)]
    measured(export, "export")
    out["quads"] = sum(1 for _ in quads.open(encoding="utf-8"))
    load = [OXIGRAPH, "load", "--location", str(engine), "--file", str(quads)]
    out["engine_load"] = measured(load, "oxigraph load")
    out["engine_load"]["store_mb"] = round(folder_bytes(engine) / MB, 1)
    largest = max(sheets.glob("*.csv"), key=lambda p: p.stat().st_size)
    changed = work / "changed" / largest.name
    changed.parent.mkdir(exist_ok=True)
    change_rows(largest, changed, 5)
    out["five_rows"] = measured([*ingest, str(changed)], "5-row change")
    out["five_rows"]["file"] = largest.name
    out["five_rows"]["store_mb_after"] = round(folder_bytes(store) / MB, 1)
    validators = ["compiled", "pyshacl"] if pyshacl else ["compiled"]
    for validator in validators:
        command = [WHATWORKS, "--store", str(store), "validate", "--validator", validator]
        out[f"validate_{validator}"] = measured(command, f"validate ({validator})")
    ingest_s, load_s = out["ingest"]["wall_s"], out["engine_load"]["wall_s"]
    out["ratios"] = {
        "ingest_wall": round(ingest_s / load_s, 2),
        "ingest_cpu": round((out["ingest"]["cpu_s"] or 0) / (out["engine_load"]["cpu_s"] or 1), 2),
        "store_size": round(out["ingest"]["store_mb"] / out["engine_load"]["store_mb"], 2),
        "peak_rss": round(out["ingest"]["peak_rss_mb"] / out["engine_load"]["peak_rss_mb"], 2),
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k", help="comma-separated: 10k,100k,1m")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--work", default="/tmp/whatworks-ingest-engine")
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument(
        "--no-pyshacl", action="store_true", help="skip validate --validator pyshacl"
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    common._SCRATCH = work / "logs"
    common._SCRATCH.mkdir(exist_ok=True)
    try:
        for size in args.sizes.split(","):
            sheets = work / f"sheets-{size}"
            if not sheets.exists():
                generate(sheets, size=size)
            runs = [one_run(size, sheets, work, not args.no_pyshacl) for _ in range(args.runs)]
            report = {"size": size, "commit": project_commit(), "machine": machine(), "runs": runs}
            Path(args.results).mkdir(parents=True, exist_ok=True)
            target = Path(args.results) / f"ingest-engine-{size}.json"
            target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            print(f"\n{size}: {runs[0]['quads']} quads, {len(runs)} run(s), medians")
            rows = [
                ("fresh ingest wall s", "ingest", "wall_s"),
                ("fresh ingest peak RSS MB", "ingest", "peak_rss_mb"),
                ("store MB", "ingest", "store_mb"),
                ("oxigraph load wall s", "engine_load", "wall_s"),
                ("oxigraph load peak RSS MB", "engine_load", "peak_rss_mb"),
                ("oxigraph store MB", "engine_load", "store_mb"),
                ("5-row change wall s", "five_rows", "wall_s"),
                ("validate (compiled) wall s", "validate_compiled", "wall_s"),
                ("validate (pySHACL) wall s", "validate_pyshacl", "wall_s"),
            ]
            for label, step, key in rows:
                values = [r[step][key] for r in runs if step in r]
                if values:
                    print(f"  {label:28} {round(statistics.median(values), 2):>10}")
            for key in runs[0]["ratios"]:
                middle = statistics.median(r["ratios"][key] for r in runs)
                print(f"  ratio {key:22} {round(middle, 2):>10}")
            print(f"  -> {target}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
