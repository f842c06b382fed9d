"""Bounded load test of ``whatworks serve`` on loopback with locust.

Starts the real server (``whatworks serve``) on a free loopback port over a store, waits for
``/health``, picks the resources it will ask about from the store itself (SPARQL), warms
every request kind up once, then runs locust headless ``--runs`` times in a row (32 users
for 60 s by default) with a realistic mix, recording the resident memory of the server and
its query workers after each run:

- 40% the catalogue API: ``GET /api/queries`` and ``GET /api/queries/<name>`` with
  parameters drawn from each query's declared parameters (concepts from their schemes,
  intervention and claim IRIs from the store);
- 30% pages: ``/``, ``/explore`` with a question, ``/gap-map`` (sometimes filtered),
  ``/id/<a study>``, ``/local-authorities``;
- 30% SPARQL: small SELECT (GET and POST form), ASK (POST body) and CONSTRUCT (GET).

Any answer other than 2xx or 304 (redirects are not followed) is a failure. Results go to
``benchmarks/results/load-<size>.json`` and a markdown table to stdout::

    .venv/bin/python benchmarks/load_test.py --size bundled
    .venv/bin/python benchmarks/load_test.py --size 100k
    .venv/bin/python benchmarks/load_test.py --store /path/to/store --label mystore

``--size 100k`` / ``1m`` build (once, then reuse from ``--workdir``) a store of the bundled
base plus synthetic coding sheets of about that many triples (``benchmarks/synthetic.py``,
IRIs under the synthetic namespace). Server settings come from the environment as usual
(``WHATWORKS_QUERY_WORKERS=4 .venv/bin/python benchmarks/load_test.py ...``); the ones in
force are recorded in the results. See docs/load-testing.md.

Only the standard library is imported at module level: ``benchmarks/locustfile.py`` imports
the request mix from here, and ``tests/test_load.py`` drives :func:`run_load`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PYTHON = Path(sys.executable)
WHATWORKS = PYTHON.with_name("whatworks")
LOCUST = PYTHON.with_name("locust")
LOCUSTFILE = HERE / "locustfile.py"
ID_BASE = "https://w3id.org/whatworks/id/"
EMMIE = "https://w3id.org/whatworks/emmie#"
PREFIXES = f"PREFIX emmie: <{EMMIE}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
#: Environment variables through which the locustfile receives its plan and returns stats.
PLAN_ENV = "WHATWORKS_LOAD_PLAN"
OUT_ENV = "WHATWORKS_LOAD_OUT"
WAIT_ENV = "WHATWORKS_LOAD_WAIT"
SEED_ENV = "WHATWORKS_LOAD_SEED"
SIZES = ("bundled", "10k", "100k", "1m", "5m")

# -- the request mix ------------------------------------------------------------------------

#: (weight in percent, request kind). API 40, pages 30, SPARQL 30.
MIX: tuple[tuple[int, str], ...] = (
    (5, "api catalogue"),
    (35, "api query"),
    (6, "page home"),
    (8, "page explore"),
    (6, "page gap-map"),
    (6, "page id"),
    (4, "page local-authorities"),
    (10, "sparql select GET"),
    (8, "sparql select POST"),
    (6, "sparql ask POST"),
    (6, "sparql construct GET"),
)
KINDS = tuple(kind for _, kind in MIX)
GROUPS = {"api": "API", "page": "pages", "sparql": "SPARQL"}
COUNTRIES = ("england", "usa", "australia", "wales", "scotland")


@dataclass
class Plan:
    """What the simulated clients ask about, taken from the running server and its store."""

    #: The catalogue as ``GET /api/queries`` lists it (name, parameters).
    catalogue: list[dict[str, Any]]
    #: Paths of study pages (``/id/study/...``): only IRIs under the served base have pages.
    id_pages: list[str]
    studies: list[str]
    interventions: list[str]
    findings: list[str]
    #: Study designs and intervention types (for the gap map's filters).
    designs: list[str] = field(default_factory=list)
    intervention_types: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass
class Request:
    kind: str
    #: The name locust records it under: the kind, and for the API the query's name.
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def parameter_values(query: dict[str, Any], plan: Plan, rng: random.Random) -> dict[str, str]:
    """Realistic parameters for a catalogue query: every required one, each optional one
    about half the time, values as a user would give them."""
    values: dict[str, str] = {}
    params = {p["name"]: p for p in query.get("parameters", [])}
    for name, p in params.items():
        if not p.get("required") and rng.random() < 0.5:
            continue
        kind = p["type"]
        value: str | None = None
        if kind in ("concept", "enum") and p.get("allowed"):
            value = rng.choice(p["allowed"])
        elif kind == "boolean":
            value = rng.choice(("true", "false"))
        elif kind == "integer":
            if name == "age":
                value = str(rng.randint(0, 17))
            elif name == "min_quality":
                value = str(rng.randint(1, 4))
            elif name in ("from_year", "to_year"):
                continue  # set together below
            else:
                low, high = p.get("minimum") or 0, p.get("maximum") or 10
                value = str(rng.randint(low, high))
        elif kind == "string":
            value = rng.choice(COUNTRIES) if name == "country" else "care"
        elif kind == "iri":
            pool = plan.findings if name == "claim" else plan.interventions
            if name not in ("claim", "intervention"):
                pool = plan.studies
            if pool:
                value = rng.choice(pool)
        if value is not None:
            values[name] = value
    if "from_year" in params and "to_year" in params and rng.random() < 0.5:
        # within the years the query declares (2012-2017 for the seed's panel, 2015-2025
        # for the official rates)
        first = int(params["from_year"].get("minimum") or 2012)
        last = int(params["to_year"].get("maximum") or 2017)
        start = rng.randint(first, last - 1)
        values["from_year"], values["to_year"] = str(start), str(rng.randint(start + 1, last))
    return values


def _sparql_select(plan: Plan, rng: random.Random) -> str:
    choice = rng.randrange(3)
    if choice == 0 or not plan.studies:
        return (
            PREFIXES + "SELECT ?study ?label WHERE { ?study a emmie:Study ; rdfs:label ?label }"
            " ORDER BY ?label LIMIT 20"
        )
    if choice == 1:
        return (
            PREFIXES + "SELECT ?outcome (COUNT(?finding) AS ?n) WHERE {"
            " ?finding a emmie:Finding ; emmie:outcome ?outcome } GROUP BY ?outcome"
        )
    return f"SELECT ?p ?o WHERE {{ <{rng.choice(plan.studies)}> ?p ?o }}"


def next_request(plan: Plan, rng: random.Random, kind: str | None = None) -> Request:
    """One request of the mix (of ``kind`` if given, else drawn by the weights)."""
    if kind is None:
        kind = rng.choices(KINDS, weights=[w for w, _ in MIX])[0]
    json_accept = {"Accept": "application/sparql-results+json"}
    html = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
    if kind == "api catalogue":
        return Request(kind, kind, "GET", "/api/queries", headers={"Accept": "application/json"})
    if kind == "api query":
        query = rng.choice(plan.catalogue)
        values = parameter_values(query, plan, rng)
        path = f"/api/queries/{query['name']}" + (f"?{urlencode(values)}" if values else "")
        return Request(
            kind, f"api query {query['name']}", "GET", path, headers={"Accept": "application/json"}
        )
    if kind == "page home":
        return Request(kind, kind, "GET", "/", headers=html)
    if kind == "page explore":
        www = next(q for q in plan.catalogue if q["name"] == "what_works_for_whom")
        values = parameter_values(www, plan, rng)
        return Request(kind, kind, "GET", "/explore?" + urlencode(values), headers=html)
    if kind == "page gap-map":
        filters: dict[str, str] = {}
        roll = rng.random()
        if roll < 0.2 and plan.designs:
            filters["design"] = rng.choice(plan.designs)
        elif roll < 0.35:
            filters["verified"] = "true"
        elif roll < 0.5:
            filters["colour"] = "direction"
        elif roll < 0.6 and plan.intervention_types:
            filters["expand"] = rng.choice(plan.intervention_types)
        path = "/gap-map" + (f"?{urlencode(filters)}" if filters else "")
        return Request(kind, kind, "GET", path, headers=html)
    if kind == "page id":
        path = rng.choice(plan.id_pages) if plan.id_pages else "/id/nothing"
        return Request(kind, kind, "GET", path, headers=html)
    if kind == "page local-authorities":
        return Request(kind, kind, "GET", "/local-authorities", headers=html)
    if kind == "sparql select GET":
        text = _sparql_select(plan, rng)
        return Request(kind, kind, "GET", "/sparql?query=" + quote(text), headers=json_accept)
    if kind == "sparql select POST":
        accept = rng.choice(("application/sparql-results+json", "text/csv"))
        return Request(
            kind,
            kind,
            "POST",
            "/sparql",
            body=urlencode({"query": _sparql_select(plan, rng)}).encode(),
            headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"},
        )
    study = rng.choice(plan.studies) if plan.studies else EMMIE + "nothing"
    if kind == "sparql ask POST":
        return Request(
            kind,
            kind,
            "POST",
            "/sparql",
            body=f"ASK {{ <{study}> a <{EMMIE}Study> }}".encode(),
            headers={**json_accept, "Content-Type": "application/sparql-query"},
        )
    if kind == "sparql construct GET":
        text = f"CONSTRUCT {{ <{study}> ?p ?o }} WHERE {{ <{study}> ?p ?o }}"
        return Request(
            kind, kind, "GET", "/sparql?query=" + quote(text), headers={"Accept": "text/turtle"}
        )
    raise ValueError(f"unknown request kind {kind!r}")


def failure_message(status: int, body: str | None) -> str:
    """What a failed answer said, without its request id (so that failures group)."""
    detail = (body or "")[:300]
    with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
        detail = json.loads(body or "")["error"]["detail"]
    return f"HTTP {status}: {detail}".strip() if status else f"no answer: {detail}"


def failures_by_status(errors: list[dict[str, Any]]) -> dict[str, int]:
    """Failures counted by HTTP status (``0``: no answer)."""
    out: dict[str, int] = {}
    for e in errors:
        found = re.search(r"HTTP (\d{3})", e["error"])
        status = found.group(1) if found else "0"
        out[status] = out.get(status, 0) + e["occurrences"]
    return out


def kind_of(name: str) -> str:
    """The request kind of a locust entry name (``api query what_works_for_whom``)."""
    return "api query" if name.startswith("api query") else name


def acceptable(status: int) -> bool:
    return 200 <= status < 300 or status == 304


# -- the plan, from the running server --------------------------------------------------------


def _select(session: Any, url: str, text: str) -> list[str]:
    response = session.post(
        url + "/sparql",
        data={"query": text},
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )
    response.raise_for_status()
    return [b["x"]["value"] for b in response.json()["results"]["bindings"] if "x" in b]


def count_triples(url: str) -> int | None:
    """Triples in the store's named graphs (everything the store holds), through the server."""
    import requests

    with contextlib.suppress(requests.RequestException, KeyError, ValueError, IndexError):
        found = _select(
            requests,
            url,
            "SELECT (COUNT(*) AS ?x) WHERE { GRAPH ?g { ?s ?p ?o } }",
        )
        return int(found[0])
    return None


def make_plan(url: str, *, seed: int, sample: int = 200) -> Plan:
    """Ask the server for its catalogue and for resources to request (a seeded sample)."""
    import requests

    rng = random.Random(seed)
    with requests.Session() as session:
        catalogue = session.get(url + "/api/queries", timeout=60).json()["queries"]

        def pick(cls: str, *, under: str = "") -> list[str]:
            found = _select(
                session,
                url,
                f"SELECT ?x WHERE {{ ?x a <{EMMIE}{cls}> "
                + (f'FILTER(STRSTARTS(STR(?x), "{under}")) ' if under else "")
                + "}",
            )
            found.sort()
            return rng.sample(found, min(sample, len(found)))

        studies = pick("Study")
        served = pick("Study", under=ID_BASE)
        interventions = pick("Intervention")
        findings = pick("Finding")

    def allowed(query: str, param: str) -> list[str]:
        for q in catalogue:
            for p in q.get("parameters", []) if q["name"] == query else []:
                if p["name"] == param:
                    return list(p.get("allowed") or [])
        return []

    return Plan(
        catalogue=[{"name": q["name"], "parameters": q.get("parameters", [])} for q in catalogue],
        id_pages=["/id/" + iri[len(ID_BASE) :] for iri in served],
        studies=studies,
        interventions=interventions,
        findings=findings,
        designs=allowed("what_works_for_whom", "design"),
        intervention_types=allowed("what_works_for_whom", "intervention_type"),
    )


def _query_workers(server_env: dict[str, str] | None) -> int:
    """The number of query workers the server will start (its default unless set)."""
    from server.settings import Settings

    given = (server_env or {}).get("WHATWORKS_QUERY_WORKERS")
    return int(given) if given else Settings.load().query_workers


def wait_for_workers(url: str, workers: int, *, limit: float = 240) -> dict[str, Any]:
    """Send ``ASK {}`` until as many answers in a row as there are query workers succeed.

    ``/health`` answers before the query workers (fresh interpreters) have started; the
    first query a worker gets waits for its start-up, within the query time limit. The
    statuses met on the way are part of the results (a 504 here is a finding).
    """
    import requests

    started = time.perf_counter()
    statuses: list[int] = []
    in_a_row = 0
    with requests.Session() as session:
        while in_a_row < workers and time.perf_counter() - started < limit:
            response = session.post(
                url + "/sparql",
                data=b"ASK {}",
                headers={
                    "Content-Type": "application/sparql-query",
                    "Accept": "application/sparql-results+json",
                },
                timeout=120,
            )
            statuses.append(response.status_code)
            in_a_row = in_a_row + 1 if response.status_code == 200 else 0
            if response.status_code != 200:
                time.sleep(1)
    if in_a_row < workers:
        raise RuntimeError(f"the query workers did not answer within {limit} s: {statuses}")
    return {
        "workers": workers,
        "seconds": round(time.perf_counter() - started, 2),
        "statuses": statuses,
    }


def warm_up(url: str, plan: Plan, *, seed: int) -> dict[str, Any]:
    """Every request kind and every catalogue query once, one after the other."""
    import requests

    rng = random.Random(seed)
    statuses: dict[str, int] = {}
    seconds: dict[str, float] = {}
    todo = [next_request(plan, rng, kind) for kind in KINDS if kind != "api query"]
    for query in plan.catalogue:
        values = parameter_values(query, plan, rng)
        path = f"/api/queries/{query['name']}" + (f"?{urlencode(values)}" if values else "")
        todo.append(Request("api query", f"api query {query['name']}", "GET", path))
    with requests.Session() as session:
        for req in todo:
            started = time.perf_counter()
            response = session.request(
                req.method,
                url + req.path,
                data=req.body,
                headers=req.headers,
                timeout=120,
                allow_redirects=False,
            )
            seconds[req.name] = round(time.perf_counter() - started, 3)
            statuses[req.name] = response.status_code
    return {
        "statuses": statuses,
        "seconds": seconds,
        "failed": sorted(n for n, s in statuses.items() if not acceptable(s)),
    }


# -- statistics from locust's histograms ------------------------------------------------------


def percentile(histogram: dict[int, int], q: float) -> float | None:
    """Locust's percentile: the smallest recorded time at or above ``q`` of the requests."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = q * total
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= wanted:
            return value
    return max(histogram)


def summarise(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests, failures and p50/p95/p99/max (ms) of some locust entries taken together."""
    histogram: dict[int, int] = {}
    for entry in entries:
        for value, count in entry["response_times"].items():
            histogram[int(value)] = histogram.get(int(value), 0) + count
    requests_ = sum(e["num_requests"] for e in entries)
    total_ms = sum(e["total_response_time"] for e in entries)
    return {
        "requests": requests_,
        "failures": sum(e["num_failures"] for e in entries),
        "p50_ms": percentile(histogram, 0.50),
        "p95_ms": percentile(histogram, 0.95),
        "p99_ms": percentile(histogram, 0.99),
        "max_ms": round(max((e["max_response_time"] or 0 for e in entries), default=0), 1),
        "mean_ms": round(total_ms / requests_, 1) if requests_ else None,
    }


def by_kind(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for kind in KINDS:
        mine = [e for e in entries if kind_of(e["name"]) == kind]
        out[kind] = summarise(mine)
    for prefix, group in GROUPS.items():
        out[f"all {group}"] = summarise([e for e in entries if e["name"].startswith(prefix)])
    out["overall"] = summarise(entries)
    return out


# -- memory ---------------------------------------------------------------------------------


def process_tree_rss(pid: int) -> dict[str, Any]:
    """Resident memory of ``pid`` and all its descendants (psutil, else /proc)."""
    processes: list[dict[str, Any]] = []
    try:
        import psutil

        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                processes.append(
                    {
                        "pid": proc.pid,
                        "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                        "what": " ".join(proc.cmdline()[1:4])[:80],
                    }
                )
    except ImportError:
        from benchmarks.run import _children

        todo = [pid]
        while todo:
            current = todo.pop()
            todo.extend(_children(current))
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{current}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        kib = int(line.split()[1])
                        processes.append({"pid": current, "rss_mb": round(kib / 1024, 1)})
    return {
        "total_mb": round(sum(p["rss_mb"] for p in processes), 1),
        "processes": processes,
    }


# -- running --------------------------------------------------------------------------------


def run_locust(
    url: str,
    plan_path: Path,
    out_dir: Path,
    *,
    users: int,
    duration: int,
    index: int,
    wait: tuple[float, float],
    seed: int,
    stop_timeout: int = 30,
) -> dict[str, Any]:
    """One headless locust run; its entries (with histograms) and errors.

    At the end of ``duration`` each user finishes the request it is waiting for, up to
    ``stop_timeout`` seconds; requests still unanswered then are not recorded at all."""
    stats_path = out_dir / f"run-{index}.json"
    log_path = out_dir / f"locust-{index}.log"
    command = [
        str(LOCUST),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{duration}s",
        "--stop-timeout",
        str(stop_timeout),
        "--host",
        url,
        "--only-summary",
        "--csv",
        str(out_dir / f"run-{index}"),
        "--exit-code-on-error",
        "0",
    ]
    env = {
        **os.environ,
        PLAN_ENV: str(plan_path),
        OUT_ENV: str(stats_path),
        WAIT_ENV: f"{wait[0]},{wait[1]}",
        SEED_ENV: str(seed + index),
    }
    started = time.perf_counter()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            process.wait(timeout=duration + stop_timeout + 120)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise RuntimeError(f"locust did not finish; log in {log_path}") from None
    wall = time.perf_counter() - started
    if process.returncode != 0 or not stats_path.exists():
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"locust failed ({process.returncode}): {tail}")
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    log_text = log_path.read_text(errors="replace")
    stats["wall_s"] = round(wall, 1)
    stats["locust_cpu_warnings"] = log_text.count("CPU usage")
    stats["command"] = command
    return stats


def run_load(
    store: Path,
    *,
    label: str,
    users: int = 32,
    duration: int = 60,
    runs: int = 3,
    threads: int = 8,
    wait: tuple[float, float] = (0.5, 1.5),
    seed: int = 20261126,
    workdir: Path = Path("/tmp/whatworks-load"),
    results: Path | None = HERE / "results",
    progress: bool = True,
    server_env: dict[str, str] | None = None,
    stop_timeout: int = 30,
) -> dict[str, Any]:
    """Serve ``store``, warm up, run locust ``runs`` times; the results (also written to
    ``results/load-<label>.json`` unless ``results`` is None). ``server_env``: settings
    for the server (``WHATWORKS_*``) on top of this process's environment."""
    from benchmarks import run as bench

    def say(text: str) -> None:
        if progress:
            bench.log(text)

    out_dir = workdir / "runs" / f"{label}-{time.strftime('%Y%m%dT%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    bench._SCRATCH = out_dir  # the benchmark runner's Server writes its log there
    port = bench.free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(WHATWORKS),
        "--store",
        str(store),
        "serve",
        "--port",
        str(port),
        "--threads",
        str(threads),
    ]
    result: dict[str, Any] = {
        "label": label,
        "store": str(store),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "users": users,
        "spawn_rate": users,
        "duration_s": duration,
        "runs_asked": runs,
        "wait_s": list(wait),
        "stop_timeout_s": stop_timeout,
        "seed": seed,
        "mix_percent": dict((k, w) for w, k in MIX),
        "failure_rule": "any status other than 2xx or 304 (redirects not followed)",
        "server_command": command,
        "server_env": {
            k: v
            for k, v in {**os.environ, **(server_env or {})}.items()
            if k.startswith("WHATWORKS_")
        },
        "machine": bench.machine(),
        "versions": _versions(),
        "project_commit": code_version(),
        "runs": [],
    }
    say(f"[{label}] starting {' '.join(command)}")
    server = bench.Server(command, url, env=server_env)
    try:
        import requests

        result["server_ready_s"] = round(
            server.wait_ready(
                lambda: requests.get(url + "/health", timeout=2).status_code == 200, 120
            ),
            2,
        )
        result["workers_ready"] = wait_for_workers(url, _query_workers(server_env))
        say(f"[{label}] query workers answering: {result['workers_ready']}")
        plan = make_plan(url, seed=seed)
        result["store_triples"] = count_triples(url)
        plan_path = out_dir / "plan.json"
        plan_path.write_text(json.dumps(asdict(plan), indent=1), encoding="utf-8")
        result["plan"] = {
            "queries": len(plan.catalogue),
            "id_pages": len(plan.id_pages),
            "studies": len(plan.studies),
            "synthetic_studies": sum("/synthetic/" in s for s in plan.studies),
            "interventions": len(plan.interventions),
            "findings": len(plan.findings),
        }
        say(f"[{label}] plan: {result['plan']}; warming up")
        result["warm_up"] = warm_up(url, plan, seed=seed)
        result["rss_after_warm_up"] = process_tree_rss(server.process.pid)
        for index in range(1, runs + 1):
            say(
                f"[{label}] run {index}/{runs}: {users} users, {duration} s "
                f"(load average {os.getloadavg()[0]:.2f})"
            )
            load_before = os.getloadavg()[0]
            stats = run_locust(
                url,
                plan_path,
                out_dir,
                users=users,
                duration=duration,
                index=index,
                wait=wait,
                seed=seed,
                stop_timeout=stop_timeout,
            )
            if server.process.poll() is not None:
                raise RuntimeError(f"the server exited during run {index}")
            rss = process_tree_rss(server.process.pid)
            entries = stats["entries"]
            run_result = {
                "run": index,
                "wall_s": stats["wall_s"],
                "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "requests_per_s": round(
                    sum(e["num_requests"] for e in entries) / max(stats["seconds"], 1e-9), 1
                ),
                "by_kind": by_kind(entries),
                "by_name": {e["name"]: summarise([e]) for e in entries},
                "errors": stats["errors"],
                "failures_by_status": failures_by_status(stats["errors"]),
                "locust_cpu_warnings": stats["locust_cpu_warnings"],
                "rss_mb": rss["total_mb"],
                "rss_processes": rss["processes"],
                "entries": entries,
            }
            result["runs"].append(run_result)
            say(
                f"[{label}] run {index}: {run_result['by_kind']['overall']}; "
                f"RSS {rss['total_mb']} MB"
            )
        result["peak_rss_mb"] = round(server.peak_rss_mb(), 1)
    finally:
        server.stop()
        log_text = server.log.read_text(errors="replace")
        result["server_log_lines"] = log_text.count("\n")
        result["server_log_problems"] = [
            line[:300]
            for line in log_text.splitlines()
            if any(w in line for w in ("Traceback", "ERROR", "Error", "WARNING", "timed out"))
        ][:50]
    all_entries = [e for r in result["runs"] for e in r["entries"]]
    result["combined"] = by_kind(all_entries)
    rss = [r["rss_mb"] for r in result["runs"]]
    if rss:
        result["rss_mb_after_each_run"] = rss
        result["rss_growth_mb"] = round(rss[-1] - rss[0], 1)
    for run in result["runs"]:
        del run["entries"]  # the histograms are summarised; keep the file readable
    if results is not None:
        results.mkdir(parents=True, exist_ok=True)
        path = results / f"load-{label}.json"
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        result["results_path"] = str(path)
    return result


def code_version() -> str:
    """HEAD and a fingerprint of the code measured, as ``benchmarks/run.py`` records them, but
    read-only: ``git describe --dirty`` (which that runner uses) may rewrite the index."""
    import hashlib

    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
    )
    digest = hashlib.sha256()
    for folder in ("whatworks", "ingest", "server", "shapes", "ontology"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".ttl") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return f"{done.stdout.strip()} (code {digest.hexdigest()[:12]})"


def _versions() -> dict[str, str]:
    out = {}
    for package in ("whatworks", "pyoxigraph", "flask", "waitress", "locust", "psutil"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[package] = metadata.version(package)
    return out


# -- stores ---------------------------------------------------------------------------------


def _whatworks(store: Path, *args: str) -> None:
    done = subprocess.run(
        [str(WHATWORKS), "--store", str(store), *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"whatworks {args[0]} failed: {done.stderr[-2000:]}")


def build_store(size: str, workdir: Path, *, seed: int = 20261126) -> Path:
    """The store for ``size``, built once in ``workdir/<size>`` and reused after.

    ``bundled``: the bundled base (``whatworks load``). ``100k``, ``1m``...: synthetic coding
    sheets of about that many triples (the benchmark generator, synthetic namespace)
    ingested like ``benchmarks/run.py`` does, then the bundled base loaded beside them, so
    that the pages that read the base (local authorities, study pages) have data. Each step
    leaves a marker (``<step>.json``); a step whose marker matches is not redone.
    """
    from benchmarks.synthetic import SYNTHETIC_ID_BASE, generate

    folder = workdir / size
    store = folder / "store"
    folder.mkdir(parents=True, exist_ok=True)

    def done(step: str, facts: dict[str, Any]) -> bool:
        marker = folder / f"{step}.json"
        if not marker.exists() or not store.exists():
            return False
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        return all(recorded.get(k) == v for k, v in facts.items())

    def mark(step: str, facts: dict[str, Any], started: float) -> None:
        facts = {**facts, "seconds": round(time.perf_counter() - started, 1)}
        (folder / f"{step}.json").write_text(json.dumps(facts) + "\n", encoding="utf-8")

    if size != "bundled":
        facts = {"size": size, "seed": seed, "id_base": SYNTHETIC_ID_BASE}
        if not done("synthetic", facts):
            for path in (store, folder / "sheets", folder / "base.json"):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            started = time.perf_counter()
            summary = generate(folder / "sheets", size=size, seed=seed)
            _whatworks(
                store,
                "ingest",
                "-q",
                "--no-progress",
                "--id-base",
                SYNTHETIC_ID_BASE,
                *map(str, summary.files),
            )
            mark("synthetic", facts, started)
    base = {"base": "bundled"}
    if not done("base", base):
        started = time.perf_counter()
        _whatworks(store, "load", "-q")
        mark("base", base, started)
    return store


# -- reporting ------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def markdown(result: dict[str, Any]) -> str:
    runs = result["runs"]
    lines = [
        f"### Load: {result['label']} ({result.get('store_triples') or 0:,} triples), "
        f"{result['users']} users x {result['duration_s']} s x {len(runs)} runs, "
        f"think time {result['wait_s'][0]}-{result['wait_s'][1]} s",
        "",
        "| request type | requests | failures | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, s in result["combined"].items():
        bold = "**" if kind == "overall" or kind.startswith("all ") else ""
        lines.append(
            f"| {bold}{kind}{bold} | {s['requests']:,} | {s['failures']:,} | "
            f"{_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} |"
        )
    lines += [
        "",
        "| run | requests | failures | req/s | p50 ms | p99 ms | RSS after (MB) | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        s = run["by_kind"]["overall"]
        lines.append(
            f"| {run['run']} | {s['requests']:,} | {s['failures']:,} | {run['requests_per_s']} | "
            f"{_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} | {run['rss_mb']:,.0f} | "
            f"{run['load_average'][0]}→{run['load_average'][1]} |"
        )
    statuses: dict[str, int] = {}
    for run in runs:
        for status, n in failures_by_status(run["errors"]).items():
            statuses[status] = statuses.get(status, 0) + n
    if statuses:
        lines += [
            "",
            "Failures by status: "
            + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
            + " (0 = no answer).",
        ]
    if "rss_growth_mb" in result:
        lines += [
            "",
            f"RSS of the server and its query workers after the warm-up "
            f"{result['rss_after_warm_up']['total_mb']:,.0f} MB; after each run "
            + ", ".join(f"{v:,.0f}" for v in result["rss_mb_after_each_run"])
            + f" MB (growth run 1→{len(runs)}: {result['rss_growth_mb']:+,.1f} MB).",
        ]
    failures: dict[str, dict[str, int]] = {}
    for run in runs:
        for e in run["errors"]:
            message = e["error"]
            if message.startswith(("HTTPError(", "CatchResponseError(")):
                message = message.split("(", 1)[1].rstrip(")").strip("'\"")
            message = re.sub(r',?"request_id": ?"[^"]*"', "", message)
            by_kind = failures.setdefault(message, {})
            kind = kind_of(e["name"])
            by_kind[kind] = by_kind.get(kind, 0) + e["occurrences"]
    if failures:
        lines += ["", "Failures (all runs):", ""]
        for message, kinds in sorted(failures.items(), key=lambda m: -sum(m[1].values())):
            spread = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda x: -x[1]))
            lines.append(f"- {sum(kinds.values())} x `{message[:160]}` ({spread})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load test of whatworks serve with locust.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--store", type=Path, help="an existing store to serve")
    where.add_argument(
        "--size",
        type=str.lower,
        choices=SIZES,
        help="build or reuse a store: the bundled base, or base + synthetic data of this size",
    )
    parser.add_argument("--label", help="name of the results file (default: the size)")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--duration", type=int, default=60, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8, help="waitress request threads")
    parser.add_argument(
        "--wait",
        default="0.5,1.5",
        help="think time of each user between requests, 'min,max' seconds (0,0: none)",
    )
    parser.add_argument(
        "--stop-timeout",
        type=int,
        default=30,
        help="seconds users may finish their request after a run; later ones are not recorded",
    )
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/whatworks-load"))
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    low, high = (float(x) for x in args.wait.split(","))
    if args.store:
        store, label = args.store, args.label or "store"
    else:
        bench_log = __import__("benchmarks.run", fromlist=["log"]).log
        bench_log(f"store for {args.size} in {args.workdir / args.size}")
        store, label = build_store(args.size, args.workdir, seed=args.seed), args.label or args.size
    result = run_load(
        store,
        label=label,
        users=args.users,
        duration=args.duration,
        runs=args.runs,
        threads=args.threads,
        wait=(low, high),
        seed=args.seed,
        workdir=args.workdir,
        results=args.results,
        stop_timeout=args.stop_timeout,
    )
    print(markdown(result))
    print(f"\nresults: {result.get('results_path')}")
    failures = result["combined"]["overall"]["failures"]
    return 1 if failures or result["warm_up"]["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
