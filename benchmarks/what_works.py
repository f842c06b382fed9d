"""what_works_for_whom through the API, beside an Oxigraph server running the whole
catalogue query on the same data.

For a store (a synthetic base: benchmarks/synthetic.py), the runner

1. builds the server's application over the store (``create_app``, real query workers)
   and times its first what-works request, which reads the per-version finding table
   (decision 0014);
2. for each filter combination of :data:`QUESTIONS`, times the first page (``limit=50``)
   with the answer cache emptied first ("cold": the table is read, the question is not
   answered yet), the same request again ("repeat": served from the answer cache), and the
   same request with ``If-None-Match`` (304); server time, measured around the WSGI call
   in-process (no network);
3. exports the store, bulk-loads it into a fresh ``oxigraph serve`` on loopback and times
   the whole catalogue query (``queries/what_works_for_whom.rq``) with the same
   parameters over HTTP.

Writes ``benchmarks/results/what-works-<label>.json`` and prints a markdown table::

    .venv/bin/python benchmarks/what_works.py --store /tmp/bench-store --label 1m
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.remote_queries import oxigraph_copy  # noqa: E402
from tests.backends.servers import wait_for  # noqa: E402
from whatworks.core import catalogue  # noqa: E402
from whatworks.core.catalogue import sparql_prologue  # noqa: E402
from whatworks.core.remote_store import RemoteSettings, RemoteStore  # noqa: E402

#: Filter combinations: none, one filter of each kind, pairs, and one that empties.
QUESTIONS: list[dict[str, str]] = [
    {"outcome": "entry"},
    {"outcome": "reunification"},
    {"outcome": "entry", "need": "neglect"},
    {"outcome": "entry", "setting": "home"},
    {"outcome": "entry", "age": "7"},
    {"outcome": "entry", "country": "UK"},
    {"outcome": "re-entry", "design": "rct", "verified_only": "true"},
    {"outcome": "entry", "intervention_type": "mentoring", "country": "USA"},
    {"outcome": "reunification", "need": "neglect", "age": "12"},
    {"outcome": "entry", "country": "Narnia", "design": "rct"},
]
PATH = "/api/queries/what_works_for_whom"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(pct(values, 95) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def ours(store_dir: Path, repeat: int) -> dict[str, Any]:
    from whatworks.server import create_app
    from whatworks.server.answer_cache import AnswerCache
    from whatworks.server.state import server_state

    app = create_app({"store": str(store_dir), "query_workers": 1, "page_timeout": 3600})
    client = app.test_client()
    started = time.perf_counter()
    first = client.get(PATH + "?" + urlencode(QUESTIONS[0]))
    build = time.perf_counter() - started
    assert first.status_code == 200, first.data[:300]
    cold: list[float] = []
    repeat_times: list[float] = []
    not_modified: list[float] = []
    per_question = []
    for question in QUESTIONS:
        url = PATH + "?" + urlencode({**question, "limit": "50"})
        mine: list[float] = []
        for _ in range(repeat):
            with app.app_context():
                server_state(app).caches["api_answers"] = AnswerCache()
            started = time.perf_counter()
            response = client.get(url)
            mine.append(time.perf_counter() - started)
            assert response.status_code == 200, response.data[:300]
        total = response.get_json()["total"]
        tag = response.headers["ETag"]
        again: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            again.append(time.perf_counter() - started)
        revalidated: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            got = client.get(url, headers={"If-None-Match": tag})
            revalidated.append(time.perf_counter() - started)
            assert got.status_code == 304
        cold += mine
        repeat_times += again
        not_modified += revalidated
        per_question.append(
            {"question": question, "total": total, "cold": ms(mine), "repeat": ms(again)}
        )
    return {
        "first_request_with_table_s": round(build, 2),
        "cold": ms(cold),
        "repeat": ms(repeat_times),
        "not_modified": ms(not_modified),
        "questions": per_question,
    }


def oxigraph(store_dir: Path, repeat: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="whatworks-wwfw-bench-"))
    server, url, _ = oxigraph_copy(store_dir, work)
    named = catalogue.get("what_works_for_whom")
    times: list[float] = []
    per_question = []
    try:
        wait_for(url, process=server)
        remote = RemoteStore(
            RemoteSettings(query_url=url, update_url=url, union="native", timeout=3600),
            read_only=True,
        )
        for question in QUESTIONS:
            mine = []
            for _ in range(repeat):
                started = time.perf_counter()
                result = remote.query(
                    sparql_prologue() + named.text, parameters=named.bindings(question)
                )
                rows = sum(1 for _ in result)  # type: ignore[union-attr]
                mine.append(time.perf_counter() - started)
            times += mine
            per_question.append({"question": question, "rows": rows, "full_query": ms(mine)})
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"full_query": ms(times), "questions": per_question}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="an embedded store folder")
    parser.add_argument("--label", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--oxigraph-repeat", type=int, default=2)
    args = parser.parse_args()
    result = {"label": args.label, "ours": ours(args.store, args.repeat)}
    result["oxigraph"] = oxigraph(args.store, args.oxigraph_repeat)
    ratio = result["ours"]["cold"]["p95_ms"] / result["oxigraph"]["full_query"]["p95_ms"]
    result["ratio_cold_p95_to_oxigraph_p95"] = round(ratio, 4)
    out = ROOT / "benchmarks" / "results" / f"what-works-{args.label}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    o, x = result["ours"], result["oxigraph"]
    lines = [
        ("first request (reads the table)", f"{o['first_request_with_table_s']} s"),
        ("first page, cold, p50 / p95", f"{o['cold']['p50_ms']} / {o['cold']['p95_ms']} ms"),
        ("repeat, p50 / p95", f"{o['repeat']['p50_ms']} / {o['repeat']['p95_ms']} ms"),
        ("If-None-Match → 304, p50", f"{o['not_modified']['p50_ms']} ms"),
        (
            "Oxigraph server, whole .rq, p50 / p95",
            f"{x['full_query']['p50_ms']} / {x['full_query']['p95_ms']} ms",
        ),
        ("ratio cold p95 / Oxigraph p95", str(result["ratio_cold_p95_to_oxigraph_p95"])),
    ]
    for what, figure in lines:
        print(f"| {args.label} | {what} | {figure} |")


if __name__ == "__main__":
    main()
