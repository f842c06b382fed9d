"""Markdown tables for BENCHMARKS.md from the runner's JSON results.

    .venv/bin/python benchmarks/report.py benchmarks/results/2026-11-26-*.json

Ratios are baseline / whatworks, measured side by side in one session: above 1 means
whatworks is that many times faster (or smaller).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ORDER = {"10k": 0, "100k": 1, "1m": 2, "5m": 3}


def _s(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ms(entry: dict[str, Any] | None, key: str) -> str:
    if not entry or entry.get(key) is None:
        return "—"
    value = entry[key]
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"**{value:.1f}×**"


def _div(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else a / b


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(results: list[dict[str, Any]]) -> str:
    results = sorted(results, key=lambda r: ORDER.get(r["size"], 9))
    out: list[str] = []

    rows = []
    for r in results:
        i, b, s = r.get("ingest", {}), r.get("baseline_stack", {}), r.get("summary", {})
        base = s.get("baseline_parse_validate_s")
        base_text = (
            f"stopped after {b.get('timeout_s')} s"
            if b.get("timed_out")
            else f"{_s(base)} (parse {_s(b.get('median_parse_s'))}, "
            f"pySHACL {_s(b.get('median_validate_s'))})"
        )
        rows.append(
            [
                r["size"],
                f"{_s(i.get('store_triples'))} ({_s(i.get('sheet_triples'))} + "
                f"{_s(i.get('derived_triples'))} derived)",
                _s(i.get("median_wall_s")),
                _s(i.get("triples_per_s")),
                _s(i.get("peak_rss_mb"), 0),
                base_text,
                _s(b.get("peak_rss_mb"), 0),
                _x(s.get("ingest_ratio"))
                if not b.get("timed_out")
                else f"**> {b['timeout_s'] / i['median_wall_s']:.1f}×**",
                _x(s.get("ingest_cpu_ratio")),
                _x(s.get("ingest_rss_ratio")),
            ]
        )
    out.append("### (a) Ingest: validated and stored, versus rdflib parse + pySHACL\n")
    out.append(
        _table(
            [
                "size",
                "triples stored (sheets + derived)",
                "whatworks ingest s",
                "triples/s",
                "peak RSS MB",
                "rdflib + pySHACL s",
                "its peak RSS MB",
                "wall ratio",
                "CPU ratio",
                "memory ratio",
            ],
            rows,
        )
    )

    rows = []
    for r in results:
        re_, s = r.get("reingest", {}), r.get("summary", {})
        for sheet in ("findings", "economic", "unchanged"):
            entry = re_.get(sheet)
            if not entry or "median_wall_s" not in entry:
                continue
            what = (
                f"economic, unchanged ({entry['file_rows']} rows)"
                if sheet == "unchanged"
                else f"{sheet} ({entry['changed_rows']} of {entry['file_rows']} rows changed)"
            )
            rows.append(
                [
                    r["size"],
                    what,
                    _s(entry["median_wall_s"]),
                    _s(entry["peak_rss_mb"], 0),
                    _s(s.get("baseline_parse_validate_s"))
                    if not r.get("baseline_stack", {}).get("timed_out")
                    else f"> {r['baseline_stack']['timeout_s']:.0f}",
                    _x(s.get(f"reingest_{sheet}_ratio"))
                    if not r.get("baseline_stack", {}).get("timed_out")
                    else f"**> {r['baseline_stack']['timeout_s'] / entry['median_wall_s']:.0f}×**",
                    _x(s.get(f"reingest_{sheet}_cpu_ratio")),
                ]
            )
    out.append("\n\n### (b) Re-ingest after one file changed\n")
    out.append(
        _table(
            [
                "size",
                "file changed",
                "whatworks ingest s",
                "peak RSS MB",
                "rdflib + pySHACL again s",
                "wall ratio",
                "CPU ratio",
            ],
            rows,
        )
    )

    rows = []
    for r in results:
        v, b, s = r.get("validate", {}), r.get("baseline_stack", {}), r.get("summary", {})
        rows.append(
            [
                r["size"],
                _s(v.get("median_wall_s")),
                _s(v.get("peak_rss_mb"), 0),
                _s(b.get("median_validate_s")),
                _x(s.get("validate_ratio")),
                _x(s.get("validate_cpu_ratio")),
            ]
        )
    out.append("\n\n### (c) Validating the whole store\n")
    out.append(
        _table(
            [
                "size",
                "`whatworks validate` s",
                "peak RSS MB",
                "pySHACL on the parsed graph s (in process)",
                "wall ratio",
                "CPU ratio",
            ],
            rows,
        )
    )

    rows = []
    for r in results:
        q = r.get("queries", {})
        for name in ("what_works_for_whom", "gap_map"):
            d = q.get("pyoxigraph_direct", {}).get(name)
            h = q.get("whatworks_http", {}).get(name)
            m = q.get("rdflib_memory", {}).get(name)
            e = q.get("rdflib_endpoint_http", {}).get(name)
            p50 = (h or {}).get("p50_ms")
            rows.append(
                [
                    r["size"],
                    name.replace("_", " "),
                    f"{_ms(d, 'p50_ms')} / {_ms(d, 'p95_ms')}",
                    f"{_ms(h, 'p50_ms')} / {_ms(h, 'p95_ms')}",
                    _s(_div(p50, (d or {}).get("p50_ms"))) + "×",
                    f"{_ms(m, 'p50_ms')} / {_ms(m, 'p95_ms')}",
                    f"{_ms(e, 'p50_ms')} / {_ms(e, 'p95_ms')}",
                    _x(_div((e or {}).get("p50_ms"), p50)),
                    _x(_div((m or {}).get("p50_ms"), p50)),
                ]
            )
    out.append("\n\n### (d) Queries, p50 / p95 in ms\n")
    out.append(
        _table(
            [
                "size",
                "query",
                "pyoxigraph direct",
                "whatworks HTTP",
                "HTTP / direct",
                "rdflib in memory",
                "rdflib-endpoint HTTP",
                "vs rdflib-endpoint",
                "vs rdflib in memory",
            ],
            rows,
        )
    )

    rows = []
    for r in results:
        a = r.get("ask_under_timeout", {})
        wi = a.get("whatworks_idle", {})
        wr = a.get("whatworks_under_runaway", {})
        ei = a.get("rdflib_endpoint_idle", {})
        er = a.get("rdflib_endpoint_under_runaway", {})
        runaway = wr.get("runaway_requests", [])
        statuses = sorted({str(x.get("status", x.get("error"))) for x in runaway})
        seconds = [x["seconds"] for x in runaway if "seconds" in x]
        er_ask = er.get("ask", {})
        answered = er_ask.get("n", 0)
        failed = sum(v for k, v in er_ask.get("statuses", {}).items() if k != "200")
        rows.append(
            [
                r["size"],
                f"{_ms(wi, 'p50_ms')} / {_ms(wi, 'p99_ms')}",
                f"{_ms(wr.get('ask'), 'p50_ms')} / {_ms(wr.get('ask'), 'p99_ms')} "
                f"(n={wr.get('ask', {}).get('n')})",
                f"{len(runaway)} × {', '.join(statuses)} after "
                f"{_s(min(seconds, default=None))}–{_s(max(seconds, default=None))} s",
                f"{_ms(ei, 'p50_ms')} / {_ms(ei, 'p99_ms')}",
                f"{answered} answered, {failed} timed out (2 s client limit)",
            ]
        )
    out.append("\n\n### (e) `ASK {}` while another client runs a query that hits the limit\n")
    out.append(
        _table(
            [
                "size",
                "whatworks idle p50 / p99 ms",
                "whatworks under runaway p50 / p99 ms",
                "the runaway query",
                "rdflib-endpoint idle p50 / p99 ms",
                "rdflib-endpoint under runaway (10 s)",
            ],
            rows,
        )
    )

    rows = []
    for r in results:
        mixed = r.get("mixed", {})
        ours = {x["clients"]: x for x in mixed.get("whatworks_http", []) or []}
        theirs = {x["clients"]: x for x in mixed.get("rdflib_endpoint_http", []) or []}
        for clients in sorted(ours):
            o, t = ours[clients], theirs.get(clients, {})

            def errors(x: dict[str, Any]) -> str:
                bad = {k: v for k, v in x.get("statuses", {}).items() if k != "200"}
                return ", ".join(f"{v}×{k}" for k, v in bad.items()) or "none"

            rows.append(
                [
                    r["size"],
                    str(clients),
                    f"{_s(o.get('rps'), 1)} ({o.get('ok')} ok; errors: {errors(o)})",
                    f"{_s(t.get('rps'), 1)} ({t.get('ok')} ok; errors: {errors(t)})" if t else "—",
                    _x(_div(o.get("rps"), t.get("rps"))),
                ]
            )
    out.append("\n\n### (f) Mixed workload, requests per second (successful)\n")
    out.append(
        _table(
            ["size", "client threads", "whatworks", "rdflib-endpoint", "ratio"],
            rows,
        )
    )

    rows = []
    for r in results:
        e, b, s = r.get("export", {}), r.get("baseline_stack", {}), r.get("summary", {})
        rows.append(
            [
                r["size"],
                _s(e.get("lines")),
                _s(e.get("median_wall_s")),
                _s(e.get("peak_rss_mb"), 0),
                _s(b.get("median_serialize_ntriples_s")),
                _x(s.get("export_ratio")),
                _x(s.get("export_cpu_ratio")),
                _s(r.get("startup", {}).get("median_wall_s")),
            ]
        )
    out.append("\n\n### (g) Export to N-Triples\n")
    out.append(
        _table(
            [
                "size",
                "lines",
                "`whatworks export` s",
                "peak RSS MB",
                "rdflib serialize s (in process)",
                "wall ratio",
                "CPU ratio",
                "of which CLI start-up s",
            ],
            rows,
        )
    )
    rows = []
    for r in results:
        loads = r.get("load_average", {})
        peak = max((max(v) for v in loads.values()), default=None)
        rows.append([r["size"], r.get("date", ""), _s(peak), r.get("project_commit", "")])
    out.append("\n\n### Conditions\n")
    out.append(
        _table(["size", "date", "highest 1-min load average seen (2 cores)", "commit"], rows)
    )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print("usage: report.py RESULTS.json ...", file=sys.stderr)
        return 2
    print(report([json.loads(p.read_text(encoding="utf-8")) for p in paths]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
