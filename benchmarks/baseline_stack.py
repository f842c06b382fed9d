"""The straightforward stack, as a baseline: rdflib in memory and pySHACL over the whole graph.

Run by benchmarks/run.py in a process of its own (so that its peak memory is its own);
prints one JSON object on standard output.

    python benchmarks/baseline_stack.py load-validate DATA.nt SHAPES.ttl [--serialize OUT.nt]
    python benchmarks/baseline_stack.py query DATA.nt Q1.rq [Q2.rq ...] --runs 20 --budget 60

``load-validate`` is what someone without whatworks would write: parse the N-Triples into
an rdflib ``Graph``, call ``pyshacl.validate`` with the shapes and pySHACL's defaults
(no inference), and (optionally) serialize the graph back to N-Triples. ``query`` parses
the data once, then runs each query (prepared once, as rdflib recommends) repeatedly,
consuming every row, until ``--runs`` runs or ``--budget`` seconds per query.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rdflib import Graph


def _load(path: Path) -> tuple[Graph, float]:
    from rdflib import Graph

    started = time.perf_counter()
    graph = Graph()
    graph.parse(str(path), format="nt")
    return graph, time.perf_counter() - started


def _progress(out: dict[str, object]) -> None:
    """The figures so far, on standard error: kept by the runner if it stops us at its limit."""
    print(json.dumps(out), file=sys.stderr, flush=True)


def load_validate(data: Path, shapes: Path, serialize: Path | None) -> dict[str, object]:
    import pyshacl
    from rdflib import Graph

    cpu = time.process_time()
    graph, parse_s = _load(data)
    out: dict[str, object] = {"triples": len(graph), "parse_s": parse_s}
    out["parse_cpu_s"] = time.process_time() - cpu
    _progress(out)
    if serialize is not None:
        started, cpu = time.perf_counter(), time.process_time()
        graph.serialize(str(serialize), format="nt", encoding="utf-8")
        out["serialize_ntriples_s"] = time.perf_counter() - started
        out["serialize_ntriples_cpu_s"] = time.process_time() - cpu
        _progress(out)
    started, cpu = time.perf_counter(), time.process_time()
    shapes_graph = Graph().parse(str(shapes), format="turtle")
    conforms, _report, _text = pyshacl.validate(
        graph, shacl_graph=shapes_graph, inference="none", allow_warnings=True
    )
    out["validate_s"] = time.perf_counter() - started
    out["validate_cpu_s"] = time.process_time() - cpu
    out["conforms"] = bool(conforms)
    return out


def query(data: Path, queries: list[Path], runs: int, budget: float) -> dict[str, object]:
    from rdflib.plugins.sparql import prepareQuery

    graph, parse_s = _load(data)
    results: dict[str, object] = {}
    for path in queries:
        prepared = prepareQuery(path.read_text(encoding="utf-8"))
        times: list[float] = []
        rows = 0
        started = time.perf_counter()
        # One warm-up run, not counted (as for the other engines).
        rows = len(list(graph.query(prepared)))
        while len(times) < runs and time.perf_counter() - started < budget:
            t0 = time.perf_counter()
            rows = len(list(graph.query(prepared)))
            times.append(time.perf_counter() - t0)
        results[path.stem] = {"times_s": times, "rows": rows}
    return {"triples": len(graph), "parse_s": parse_s, "queries": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lv = sub.add_parser("load-validate")
    lv.add_argument("data", type=Path)
    lv.add_argument("shapes", type=Path)
    lv.add_argument("--serialize", type=Path)
    q = sub.add_parser("query")
    q.add_argument("data", type=Path)
    q.add_argument("queries", type=Path, nargs="+")
    q.add_argument("--runs", type=int, default=20)
    q.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.command == "load-validate":
        out = load_validate(args.data, args.shapes, args.serialize)
    else:
        out = query(args.data, args.queries, args.runs, args.budget)
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
