"""Catalogue queries on the embedded store and on an Oxigraph server holding the same data.

Issue 7 asks for the catalogue's p50/p95 on both. The runner exports a store (N-Quads),
bulk-loads the dump into a fresh ``oxigraph serve`` on loopback (``--union-default-graph``),
and runs every catalogue query (required parameters set to their first allowed value)
``--repeat`` times through :class:`whatworks.core.store.EmbeddedStore` and through
:class:`whatworks.core.remote_store.RemoteStore`, alternating. Writes
``benchmarks/results/remote-queries-<label>.json`` and prints a markdown table.

    .venv/bin/python benchmarks/remote_queries.py --store STORE_DIR --label bundled
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.backends.servers import free_port, named_cases, wait_for  # noqa: E402
from whatworks.core import catalogue  # noqa: E402
from whatworks.core.catalogue import sparql_prologue  # noqa: E402
from whatworks.core.remote_store import RemoteSettings, RemoteStore  # noqa: E402
from whatworks.core.store import Store, open_store  # noqa: E402


def timed(store: Store, name: str, given: dict[str, str]) -> tuple[float, int]:
    query = catalogue.get(name)
    started = time.perf_counter()
    result = store.query(sparql_prologue() + query.text, parameters=query.bindings(given))
    rows = sum(1 for _ in result)  # type: ignore[union-attr]
    return time.perf_counter() - started, rows


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def oxigraph_copy(store_dir: Path, work: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    """The embedded store at ``store_dir`` exported, bulk-loaded by ``oxigraph load`` into
    ``work/ox`` and served by ``oxigraph serve`` on a free loopback port (union default
    graph): the server process, its query URL and the load's seconds."""
    dump = work / "dump.nq"
    embedded = open_store(store_dir, read_only=True)
    try:
        with dump.open("wb") as out:
            embedded.export(out, format="nquads")
    finally:
        embedded.close()
    exe = str(Path(sys.executable).with_name("oxigraph"))
    started = time.perf_counter()
    subprocess.run(
        [exe, "load", "--location", str(work / "ox"), "--file", str(dump)],
        check=True,
        capture_output=True,
    )
    load_seconds = time.perf_counter() - started
    port = free_port()
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [
            exe,
            "serve",
            "--location",
            str(work / "ox"),
            "--bind",
            f"127.0.0.1:{port}",
            "--union-default-graph",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return server, f"http://127.0.0.1:{port}/query", load_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="an embedded store folder")
    parser.add_argument("--label", required=True)
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="whatworks-remote-bench-"))
    server, url, load_seconds = oxigraph_copy(args.store, work)
    embedded = open_store(args.store, read_only=True)
    results: dict[str, Any] = {"label": args.label, "load_seconds": load_seconds, "queries": {}}
    try:
        wait_for(url, process=server)
        remote = RemoteStore(
            RemoteSettings(query_url=url, update_url=url, union="native", timeout=600),
            read_only=True,
        )
        for name, given in named_cases():
            times: dict[str, list[float]] = {"embedded": [], "oxigraph": []}
            rows: dict[str, int] = {}
            for i in range(args.repeat):
                for label, store in (("embedded", embedded), ("oxigraph", remote)):
                    seconds, n = timed(store, name, given)
                    if i:  # the first round warms caches
                        times[label].append(seconds)
                    rows[label] = n
            entry = {
                label: {
                    "p50_ms": 1000 * statistics.median(values),
                    "p95_ms": 1000 * percentile(values, 0.95),
                    "rows": rows[label],
                }
                for label, values in times.items()
            }
            results["queries"][name] = entry
            print(
                f"{name}: embedded {entry['embedded']['p50_ms']:.1f} ms, "
                f"oxigraph {entry['oxigraph']['p50_ms']:.1f} ms",
                file=sys.stderr,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        embedded.close()
    target = ROOT / "benchmarks" / "results" / f"remote-queries-{args.label}.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    print("| query | embedded p50 / p95 ms | Oxigraph server p50 / p95 ms | ratio p50 |")
    print("|---|---:|---:|---:|")
    for name, entry in results["queries"].items():
        e, o = entry["embedded"], entry["oxigraph"]
        ratio = o["p50_ms"] / e["p50_ms"] if e["p50_ms"] else float("nan")
        print(
            f"| {name} | {e['p50_ms']:.1f} / {e['p95_ms']:.1f} | "
            f"{o['p50_ms']:.1f} / {o['p95_ms']:.1f} | {ratio:.2f}× |"
        )


if __name__ == "__main__":
    main()
