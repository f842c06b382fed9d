"""The benchmark runner: whatworks side by side with the straightforward stack.

For each size (``--sizes 10k,100k``; also ``1m`` and ``5m``), in one session:

a. ingest of a synthetic coding sheet with ``whatworks ingest`` (wall time, triples/s, peak
   RSS) versus rdflib parsing the same data (``whatworks export --format ntriples``) plus
   pySHACL over the whole graph with the project's shapes;
b. re-ingest after one file changed (a few rows): the largest file (findings) and a small
   one (economic);
c. ``whatworks validate`` of the whole store;
d. two SPARQL queries (what works for whom; gap map), p50/p95: pyoxigraph directly on the
   store (read-only), HTTP through ``whatworks serve``, rdflib in memory, and
   rdflib-endpoint serving the same data (from its own virtual environment);
e. ``ASK {}`` p50/p99 over HTTP while another client runs a query that hits the time limit
   (``WHATWORKS_QUERY_TIMEOUT=5``), and the same against rdflib-endpoint (bounded);
f. requests per second of a mixed workload with 1, 8 and 32 client threads;
g. export to N-Triples (``whatworks export``) versus rdflib serializing the parsed graph.

Everything runs on loopback; every loop is bounded in count and in time; every process
started here is stopped here (by its own process group). Results go to
``benchmarks/results/<date>-<size>.json``; ``benchmarks/report.py`` turns them into the
tables of BENCHMARKS.md.

    .venv/bin/python benchmarks/run.py --sizes 10k,100k
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import SYNTHETIC_ID_BASE, generate, parse_size  # noqa: E402

PYTHON = Path(sys.executable)
WHATWORKS = PYTHON.with_name("whatworks")
SHAPES = ROOT / "shapes" / "emmie-shapes.ttl"
QUERIES = {
    "what_works_for_whom": HERE / "queries" / "what_works_for_whom.rq",
    "gap_map": HERE / "queries" / "gap_map.rq",
}
RESULTS_JSON = "application/sparql-results+json"
TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else ""
#: A query that cannot finish: a three-way cartesian product of every triple.
RUNAWAY_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
EMMIE = "https://w3id.org/whatworks/emmie#"


# -- measuring processes --------------------------------------------------------------------


@dataclass
class Measured:
    command: list[str]
    returncode: int
    wall_s: float
    max_rss_mb: float
    stdout: str
    stderr: str
    timed_out: bool = False
    #: User + system CPU seconds of the process: less sensitive than wall time to other
    #: work on the machine.
    cpu_s: float | None = None

    def brief(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 4),
            "cpu_s": None if self.cpu_s is None else round(self.cpu_s, 3),
            "max_rss_mb": round(self.max_rss_mb, 1) if self.max_rss_mb >= 0 else None,
            "returncode": self.returncode,
            "timed_out": self.timed_out,
        }


def run_measured(
    command: list[str], *, env: dict[str, str] | None = None, timeout: float = 3600
) -> Measured:
    """Run ``command``; its wall time and its own peak RSS (``wait4``). Killed at ``timeout``."""
    out_file = _scratch("stdout")
    err_file = _scratch("stderr")
    rss_file = _scratch("maxrss")
    # Peak RSS from GNU time, a small C program: wait4() on our own child would report at
    # least this runner's RSS, because Linux carries the RSS high-water mark across exec.
    wrapped = [TIME, "-f", "%M %U %S", "-o", str(rss_file), *command] if TIME else command
    with out_file.open("wb") as out, err_file.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            wrapped,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        killed = threading.Event()

        def _kill() -> None:
            killed.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, _kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    max_rss_kib = float(usage.ru_maxrss)  # KiB on Linux
    cpu: float | None = usage.ru_utime + usage.ru_stime
    if TIME:
        try:
            rss, user, system = rss_file.read_text().strip().splitlines()[-1].split()
            max_rss_kib, cpu = float(rss), float(user) + float(system)
        except (OSError, ValueError, IndexError):
            max_rss_kib, cpu = -1024.0, None  # unknown (killed before GNU time wrote)
    return Measured(
        command,
        process.returncode,
        wall,
        max_rss_kib / 1024,
        out_file.read_text(encoding="utf-8", errors="replace"),
        err_file.read_text(encoding="utf-8", errors="replace"),
        killed.is_set(),
        cpu,
    )


_SCRATCH: Path | None = None


def _scratch(name: str) -> Path:
    assert _SCRATCH is not None
    return _SCRATCH / f"{name}-{time.monotonic_ns()}.txt"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Server:
    """A server process of ours on loopback, stopped with its whole process group."""

    def __init__(self, command: list[str], url: str, *, env: dict[str, str] | None = None):
        self.url = url
        self.log = _scratch("server-log")
        self._log_handle = self.log.open("wb")
        self.process = subprocess.Popen(
            command,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        self.started = time.perf_counter()

    def wait_ready(self, probe: Callable[[], bool], limit: float) -> float:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(Exception):
                if probe():
                    return time.perf_counter() - self.started
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready within {limit} s")

    def peak_rss_mb(self) -> float:
        """Peak RSS of the server and its worker processes (sum of VmHWM)."""
        total = 0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        return total / 1024

    def stop(self, grace: float = 10) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        # Workers (and a server that ignored SIGTERM) go with the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self._log_handle.close()


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


# -- statistics -----------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency(values: list[float], *, p: tuple[int, ...] = (50, 95)) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(values)}
    for q in p:
        value = pct(values, q)
        out[f"p{q}_ms"] = None if value is None else round(value * 1000, 3)
    if values:
        out["mean_ms"] = round(statistics.fmean(values) * 1000, 3)
        out["max_ms"] = round(max(values) * 1000, 3)
    return out


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def median_cpu(runs: list[dict[str, Any]]) -> float | None:
    return median([r["cpu_s"] for r in runs if r.get("cpu_s") is not None])


def ratio(baseline: float | None, ours: float | None) -> float | None:
    """How many times faster (or smaller) ours is than the baseline."""
    if not baseline or not ours:
        return None
    return round(baseline / ours, 2)


# -- HTTP clients ---------------------------------------------------------------------------


def http_session() -> Any:
    import requests

    session = requests.Session()
    session.headers["Accept"] = RESULTS_JSON
    return session


def http_query(session: Any, url: str, query: str, *, timeout: float = 120) -> tuple[int, float]:
    """POST a query (form-encoded, keep-alive); returns (status, seconds), body fully read."""
    started = time.perf_counter()
    response = session.post(url, data={"query": query}, timeout=timeout)
    _ = response.content
    return response.status_code, time.perf_counter() - started


def timed_loop(call: Callable[[], float | None], runs: int, budget: float) -> list[float]:
    """One warm-up call, then up to ``runs`` timed calls within ``budget`` seconds."""
    call()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < runs and time.perf_counter() - started < budget:
        value = call()
        if value is not None:
            times.append(value)
    return times


# -- the measures ---------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, size_name: str):
        self.args = args
        self.size_name = size_name
        self.target = parse_size(size_name)
        self.work = Path(args.workdir) / size_name
        self.sheets = self.work / "sheets"
        self.store = self.work / "store"
        self.nt = self.work / "export.nt"
        large = self.target > 200_000
        self.repeats = args.repeats or (1 if large else 3)
        self.results: dict[str, Any] = {}
        self.date = dt.date.today().isoformat()
        out_dir = Path(args.results)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.out = out_dir / f"{self.date}-{size_name}.json"

    def save(self) -> None:
        self.out.write_text(json.dumps(self.results, indent=2) + "\n", encoding="utf-8")

    def step(self, name: str, fn: Callable[[], dict[str, Any]]) -> None:
        log(f"[{self.size_name}] {name} ... (load average {os.getloadavg()[0]:.2f})")
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        try:
            self.results[name] = fn()
        except Exception as exc:  # keep going: one failed measure must not lose the others
            self.results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            log(f"[{self.size_name}] {name} FAILED: {exc}")
        self.results.setdefault("step_seconds", {})[name] = round(time.perf_counter() - started, 1)
        # Other work on the machine inflates wall times: keep the 1-minute load average
        # before and after each step beside the figures (2 cores: above ~2 means contention).
        self.results.setdefault("load_average", {})[name] = [
            round(load_before, 2),
            round(os.getloadavg()[0], 2),
        ]
        self.save()

    def whatworks(self, *args: str, store: Path | None = None) -> list[str]:
        return [str(WHATWORKS), "--store", str(store or self.store), *args]

    # -- generation and ingest ----------------------------------------------------------

    def run_all(self) -> None:
        if self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        self.results.update(
            size=self.size_name,
            target_triples=self.target,
            date=self.date,
            repeats=self.repeats,
            machine=machine(),
            versions=versions(self.args.endpoint_venv),
            project_commit=project_commit(),
        )
        self.step("startup", self.startup)
        self.step("generate", self.generate)
        self.step("ingest", self.ingest)
        self.step("export", self.export)
        self.step("baseline_stack", self.baseline_stack)
        self.step("reingest", self.reingest)
        self.step("validate", self.validate)
        self.step("queries", self.queries)
        self.step("mixed", self.mixed)
        self.step("ask_under_timeout", self.ask_under_timeout)
        self.results["summary"] = summarise(self.results)
        self.save()
        log(f"[{self.size_name}] results in {self.out}")

    def startup(self) -> dict[str, Any]:
        """Start-up of the whatworks command (interpreter and imports), part of every wall
        time of a whatworks command below."""
        command = [str(WHATWORKS), "--version"]
        runs = [run_measured(command).brief() for _ in range(3)]
        return {
            "command": command,
            "runs": runs,
            "median_wall_s": median([r["wall_s"] for r in runs]),
            "median_cpu_s": median_cpu(runs),
        }

    def generate(self) -> dict[str, Any]:
        started = time.perf_counter()
        summary = generate(self.sheets, size=self.target, seed=self.args.seed)
        return {
            "command": [
                str(PYTHON),
                "benchmarks/synthetic.py",
                "--size",
                self.size_name,
                "--out",
                str(self.sheets),
                "--seed",
                str(self.args.seed),
            ],
            "seconds": round(time.perf_counter() - started, 2),
            "studies": summary.studies,
            "records": summary.records,
            "estimated_triples": summary.estimated_triples,
            "bytes": sum(p.stat().st_size for p in summary.files),
        }

    def ingest_command(self, store: Path, files: list[Path]) -> list[str]:
        return self.whatworks(
            "ingest",
            "-q",
            "--no-progress",
            "--id-base",
            SYNTHETIC_ID_BASE,
            *map(str, files),
            store=store,
        )

    def ingest(self) -> dict[str, Any]:
        files = sorted(self.sheets.glob("*.csv"))
        runs = []
        for n in range(self.repeats):
            store = self.store if n == self.repeats - 1 else self.work / f"store-{n}"
            if store.exists():
                shutil.rmtree(store)
            m = run_measured(self.ingest_command(store, files), timeout=self.args.step_timeout)
            if m.returncode != 0:
                raise RuntimeError(f"ingest failed ({m.returncode}): {m.stderr[-2000:]}")
            runs.append(m.brief())
            if store != self.store:
                shutil.rmtree(store)
        stats = json.loads(
            subprocess.run(
                self.whatworks("stats", "--json"), capture_output=True, text=True, check=True
            ).stdout
        )
        triples = (
            sum(stats.get("graphs", {}).values())
            if isinstance(stats.get("graphs"), dict)
            else stats.get("triples")
        )
        graphs = stats.get("graphs", {}) if isinstance(stats.get("graphs"), dict) else {}
        wall = median([r["wall_s"] for r in runs])
        return {
            # What the sheets became (their graphs and provenance), what the store derived
            # from them (pooled estimates, ratings), and everything stored.
            "sheet_triples": sum(n for g, n in graphs.items() if "/graph/synthetic." in g),
            "derived_triples": sum(n for g, n in graphs.items() if g.endswith("/graph/derived")),
            "command": self.ingest_command(self.store, files),
            "runs": runs,
            "median_wall_s": wall,
            "median_cpu_s": median_cpu(runs),
            "peak_rss_mb": max(r["max_rss_mb"] for r in runs),
            "store_triples": triples,
            "triples_per_s": round(triples / wall) if triples and wall else None,
            "store_bytes": folder_bytes(self.store),
        }

    def export(self) -> dict[str, Any]:
        runs = []
        command = self.whatworks("export", "--format", "ntriples", "-o", str(self.nt))
        for _ in range(self.repeats):
            m = run_measured(command, timeout=self.args.step_timeout)
            if m.returncode != 0:
                raise RuntimeError(f"export failed: {m.stderr[-2000:]}")
            runs.append(m.brief())
        with self.nt.open("rb") as handle:
            lines = sum(1 for _ in handle)
        return {
            "command": command,
            "runs": runs,
            "median_wall_s": median([r["wall_s"] for r in runs]),
            "median_cpu_s": median_cpu(runs),
            "peak_rss_mb": max(r["max_rss_mb"] for r in runs),
            "lines": lines,
            "bytes": self.nt.stat().st_size,
        }

    def baseline_stack(self) -> dict[str, Any]:
        command = [
            str(PYTHON),
            str(HERE / "baseline_stack.py"),
            "load-validate",
            str(self.nt),
            str(SHAPES),
            "--serialize",
            str(self.work / "rdflib-serialized.nt"),
        ]
        runs = []
        for _ in range(min(self.repeats, self.args.baseline_repeats)):
            m = run_measured(command, timeout=self.args.baseline_timeout)
            run = m.brief()
            if m.timed_out:
                run["stopped_after_s"] = self.args.baseline_timeout
                # The phases it finished before it was stopped (parse, serialize).
                for line in m.stderr.splitlines():
                    with contextlib.suppress(ValueError):
                        if line.startswith("{"):
                            run.update(json.loads(line))
            elif m.returncode == 0:
                run.update(json.loads(m.stdout.strip().splitlines()[-1]))
            else:
                raise RuntimeError(f"baseline failed: {m.stderr[-2000:]}")
            runs.append(run)
        done = [r for r in runs if not r["timed_out"]]
        (self.work / "rdflib-serialized.nt").unlink(missing_ok=True)
        return {
            "command": command,
            "runs": runs,
            "median_wall_s": median([r["wall_s"] for r in done]),
            "median_cpu_s": median_cpu(done),
            "median_parse_s": median([r["parse_s"] for r in runs if "parse_s" in r]),
            "median_validate_s": median([r["validate_s"] for r in done]),
            "median_serialize_ntriples_s": median(
                [r["serialize_ntriples_s"] for r in runs if "serialize_ntriples_s" in r]
            ),
            "median_validate_cpu_s": median([r["validate_cpu_s"] for r in done]),
            "median_serialize_ntriples_cpu_s": median(
                [r["serialize_ntriples_cpu_s"] for r in runs if "serialize_ntriples_cpu_s" in r]
            ),
            "peak_rss_mb": max(
                (r["max_rss_mb"] for r in runs if r["max_rss_mb"] is not None), default=None
            ),
            "timed_out": len(done) < len(runs),
            "timeout_s": self.args.baseline_timeout,
        }

    def reingest(self) -> dict[str, Any]:
        out = {}
        for sheet, rows in (("findings", 5), ("economic", 2)):
            original = self.sheets / f"synthetic.{sheet}.csv"
            changed_dir = self.work / f"changed-{sheet}"
            changed_dir.mkdir(exist_ok=True)
            changed = changed_dir / original.name
            change_rows(original, changed, rows)
            runs = []
            for n in range(self.repeats):
                # Alternate so that every run really changes the rows.
                path = changed if n % 2 == 0 else original
                m = run_measured(
                    self.ingest_command(self.store, [path]), timeout=self.args.step_timeout
                )
                if m.returncode != 0:
                    raise RuntimeError(f"re-ingest failed: {m.stderr[-2000:]}")
                runs.append(m.brief())
            if self.repeats % 2 == 1:  # leave the store as generated
                run_measured(self.ingest_command(self.store, [original]))
            out[sheet] = {
                "command": self.ingest_command(self.store, [changed]),
                "changed_rows": rows,
                "file_rows": sum(1 for _ in original.open(encoding="utf-8")) - 1,
                "runs": runs,
                "median_wall_s": median([r["wall_s"] for r in runs]),
                "median_cpu_s": median_cpu(runs),
                "peak_rss_mb": max(r["max_rss_mb"] for r in runs),
            }
        # The economic file again, exactly as stored: nothing to write (not even a new
        # dataset version), so this is the floor of a re-ingest.
        original = self.sheets / "synthetic.economic.csv"
        runs = []
        for _ in range(self.repeats):
            m = run_measured(self.ingest_command(self.store, [original]))
            if m.returncode != 0:
                raise RuntimeError(f"re-ingest failed: {m.stderr[-2000:]}")
            runs.append(m.brief())
        out["unchanged"] = {
            "command": self.ingest_command(self.store, [original]),
            "changed_rows": 0,
            "file_rows": sum(1 for _ in original.open(encoding="utf-8")) - 1,
            "runs": runs,
            "median_wall_s": median([r["wall_s"] for r in runs]),
            "median_cpu_s": median_cpu(runs),
            "peak_rss_mb": max(r["max_rss_mb"] for r in runs),
        }
        return out

    def validate(self) -> dict[str, Any]:
        command = self.whatworks("validate")
        runs = []
        for _ in range(self.repeats):
            m = run_measured(command, timeout=self.args.step_timeout)
            if m.returncode != 0:
                raise RuntimeError(f"validate exit {m.returncode}: {m.stdout[-1000:]}")
            runs.append(m.brief())
        return {
            "command": command,
            "runs": runs,
            "median_wall_s": median([r["wall_s"] for r in runs]),
            "median_cpu_s": median_cpu(runs),
            "peak_rss_mb": max(r["max_rss_mb"] for r in runs),
        }

    # -- queries ------------------------------------------------------------------------

    def query_texts(self) -> dict[str, str]:
        return {name: path.read_text(encoding="utf-8") for name, path in QUERIES.items()}

    def queries(self) -> dict[str, Any]:
        runs, budget = self.args.query_runs, self.args.query_budget
        texts = self.query_texts()
        out: dict[str, Any] = {"runs_max": runs, "budget_s_per_query": budget}

        # Directly on pyoxigraph, the store opened read-only, every solution consumed.
        import pyoxigraph as ox

        from whatworks.core.engine import engine_folder

        store = ox.Store.read_only(str(engine_folder(self.store)))
        direct: dict[str, Any] = {}
        for name, text in texts.items():

            def once(text: str = text, store: Any = store) -> float:
                started = time.perf_counter()
                solutions: Any = store.query(text, use_default_graph_as_union=True)
                for solution in solutions:
                    for _ in solution:  # read every binding
                        pass
                return time.perf_counter() - started

            direct[name] = latency(timed_loop(once, runs, budget))
        studies: Any = store.query(
            f"SELECT ?s WHERE {{ ?s a <{EMMIE}Study> }} ORDER BY ?s LIMIT 5000",
            use_default_graph_as_union=True,
        )
        self.study_iris = [s["s"].value for s in studies]
        del store
        out["pyoxigraph_direct"] = direct

        # rdflib in memory (its own process: parse once, then the queries).
        command = [
            str(PYTHON),
            str(HERE / "baseline_stack.py"),
            "query",
            str(self.nt),
            *map(str, QUERIES.values()),
            "--runs",
            str(runs),
            "--budget",
            str(budget),
        ]
        m = run_measured(command, timeout=self.args.baseline_timeout)
        if m.returncode == 0:
            data = json.loads(m.stdout.strip().splitlines()[-1])
            out["rdflib_memory"] = {
                name: latency(q["times_s"]) for name, q in data["queries"].items()
            }
            out["rdflib_memory"]["parse_s"] = round(data["parse_s"], 3)
            out["rdflib_memory"]["peak_rss_mb"] = round(m.max_rss_mb, 1)
        else:
            out["rdflib_memory"] = {"error": m.stderr[-1000:], "timed_out": m.timed_out}

        # Over HTTP: whatworks serve, then rdflib-endpoint.
        with self.whatworks_server() as server:
            out["whatworks_http"] = self.http_queries(server.url + "/sparql", texts)
            out["whatworks_http"]["server_peak_rss_mb"] = round(server.peak_rss_mb(), 1)
        endpoint = self.endpoint_python()
        if endpoint is None:
            out["rdflib_endpoint_http"] = {"error": "rdflib-endpoint is not installed"}
        else:
            with self.endpoint_server() as server:
                out["rdflib_endpoint_http"] = self.http_queries(server.url + "/sparql", texts)
                out["rdflib_endpoint_http"]["server_peak_rss_mb"] = round(server.peak_rss_mb(), 1)
        return out

    def http_queries(self, url: str, texts: dict[str, str]) -> dict[str, Any]:
        session = http_session()
        results: dict[str, Any] = {}
        for name, text in texts.items():
            statuses: Counter[int] = Counter()

            def once(text: str = text, statuses: Counter[int] = statuses) -> float | None:
                status, seconds = http_query(session, url, text, timeout=self.args.query_budget)
                statuses[status] += 1
                return seconds if status == 200 else None

            results[name] = latency(timed_loop(once, self.args.query_runs, self.args.query_budget))
            results[name]["statuses"] = dict(statuses)
        session.close()
        return results

    @contextlib.contextmanager
    def whatworks_server(self, *, timeout: float | None = None) -> Iterator[Server]:
        port = free_port()
        env = {"WHATWORKS_QUERY_TIMEOUT": str(timeout)} if timeout else {}
        server = Server(
            self.whatworks("serve", "--host", "127.0.0.1", "--port", str(port)),
            f"http://127.0.0.1:{port}",
            env=env,
        )
        try:
            session = http_session()
            server.wait_ready(
                lambda: http_query(session, server.url + "/sparql", "ASK {}", timeout=5)[0] == 200,
                120,
            )
            session.close()
            yield server
        finally:
            server.stop()

    def endpoint_python(self) -> Path | None:
        python = Path(self.args.endpoint_venv) / "bin" / "python"
        return python if python.exists() else None

    @contextlib.contextmanager
    def endpoint_server(self) -> Iterator[Server]:
        python = self.endpoint_python()
        assert python is not None
        port = free_port()
        server = Server(
            [str(python), str(HERE / "rdflib_endpoint_app.py"), str(self.nt), "--port", str(port)],
            f"http://127.0.0.1:{port}",
        )
        try:
            session = http_session()
            server.wait_ready(
                lambda: http_query(session, server.url + "/sparql", "ASK {}", timeout=5)[0] == 200,
                max(120, self.args.baseline_timeout / 4),
            )
            session.close()
            yield server
        finally:
            server.stop(grace=3)

    # -- mixed workload -----------------------------------------------------------------

    def mixed_operations(self) -> list[tuple[str, float, Callable[[random.Random], str]]]:
        texts = self.query_texts()
        studies = getattr(self, "study_iris", None) or [f"{SYNTHETIC_ID_BASE}study/none"]
        return [
            (
                "study_lookup",
                0.5,
                lambda rng: f"SELECT ?p ?o WHERE {{ <{rng.choice(studies)}> ?p ?o }}",
            ),
            (
                "study_findings",
                0.25,
                lambda rng: (
                    f"SELECT ?f ?outcome ?direction WHERE {{ ?f <{EMMIE}fromStudy> "
                    f"<{rng.choice(studies)}> ; <{EMMIE}outcome> ?outcome ; "
                    f"<{EMMIE}direction> ?direction }}"
                ),
            ),
            ("what_works_for_whom", 0.2, lambda rng: texts["what_works_for_whom"]),
            ("gap_map", 0.05, lambda rng: texts["gap_map"]),
        ]

    def mixed_level(self, url: str, clients: int) -> dict[str, Any]:
        operations = self.mixed_operations()
        weights = [w for _, w, _ in operations]
        deadline = time.monotonic() + self.args.mixed_seconds
        budget = threading.Semaphore(self.args.mixed_max_requests)
        lock = threading.Lock()
        latencies: dict[str, list[float]] = {name: [] for name, _, _ in operations}
        statuses: Counter[str] = Counter()

        def client(index: int) -> None:
            rng = random.Random(self.args.seed * 1000 + index)
            session = http_session()
            try:
                while time.monotonic() < deadline and budget.acquire(blocking=False):
                    name, _, make = rng.choices(operations, weights)[0]
                    try:
                        status, seconds = http_query(
                            session, url, make(rng), timeout=self.args.mixed_request_timeout
                        )
                    except Exception as exc:  # a client timeout counts, it does not stop us
                        with lock:
                            statuses[type(exc).__name__] += 1
                        continue
                    with lock:
                        statuses[str(status)] += 1
                        if status == 200:
                            latencies[name].append(seconds)
            finally:
                session.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        ok = sum(len(v) for v in latencies.values())
        return {
            "clients": clients,
            "elapsed_s": round(elapsed, 2),
            "requests": sum(statuses.values()),
            "ok": ok,
            "rps": round(ok / elapsed, 1),
            "statuses": dict(statuses),
            "latency": {name: latency(v) for name, v in latencies.items()},
        }

    def mixed(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mix": {name: w for name, w, _ in self.mixed_operations()},
            "seconds_per_level": self.args.mixed_seconds,
            "max_requests_per_level": self.args.mixed_max_requests,
            "request_timeout_s": self.args.mixed_request_timeout,
        }
        levels = [int(c) for c in self.args.clients.split(",")]
        with self.whatworks_server() as server:
            out["whatworks_http"] = [self.mixed_level(server.url + "/sparql", c) for c in levels]
            out["whatworks_server_peak_rss_mb"] = round(server.peak_rss_mb(), 1)
        if self.endpoint_python() is not None:
            out["rdflib_endpoint_http"] = []
            for clients in levels:
                # A fresh endpoint per level: requests the clients gave up on would otherwise
                # still be running (it has no time limit) and slow the next level down.
                with self.endpoint_server() as server:
                    out["rdflib_endpoint_http"].append(
                        self.mixed_level(server.url + "/sparql", clients)
                    )
        return out

    # -- ASK under a runaway query ------------------------------------------------------

    def ask_loop(self, url: str, seconds: float, limit: int, timeout: float) -> dict[str, Any]:
        session = http_session()
        times: list[float] = []
        statuses: Counter[str] = Counter()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and sum(statuses.values()) < limit:
            try:
                status, elapsed = http_query(session, url, "ASK {}", timeout=timeout)
            except Exception as exc:
                statuses[type(exc).__name__] += 1
                continue
            statuses[str(status)] += 1
            if status == 200:
                times.append(elapsed)
        session.close()
        return {**latency(times, p=(50, 95, 99)), "statuses": dict(statuses)}

    def runaway_client(
        self, url: str, stop: threading.Event, record: list[dict[str, Any]], timeout: float
    ) -> None:
        session = http_session()
        while not stop.is_set():
            try:
                status, elapsed = http_query(session, url, RUNAWAY_QUERY, timeout=timeout)
                record.append({"status": status, "seconds": round(elapsed, 3)})
            except Exception as exc:
                record.append({"error": type(exc).__name__})
                stop.wait(0.5)
        session.close()

    def under_runaway(
        self, url: str, *, seconds: float, ask_timeout: float, runaway_timeout: float
    ) -> dict[str, Any]:
        stop = threading.Event()
        record: list[dict[str, Any]] = []
        runaway = threading.Thread(
            target=self.runaway_client, args=(url, stop, record, runaway_timeout)
        )
        runaway.start()
        time.sleep(0.5)  # let the runaway query reach the engine first
        try:
            ask = self.ask_loop(url, seconds, self.args.ask_max_requests, ask_timeout)
        finally:
            stop.set()
        runaway.join(timeout=runaway_timeout + 5)
        return {
            "ask": ask,
            "runaway_requests": record,
            "runaway_client_done": not runaway.is_alive(),
        }

    def ask_under_timeout(self) -> dict[str, Any]:
        limit = self.args.query_timeout_limit
        out: dict[str, Any] = {"query_timeout_s": limit, "runaway_query": RUNAWAY_QUERY}
        seconds = max(3 * limit, 15)
        with self.whatworks_server(timeout=limit) as server:
            url = server.url + "/sparql"
            out["whatworks_idle"] = self.ask_loop(url, 10, 1000, 5)
            out["whatworks_under_runaway"] = self.under_runaway(
                url, seconds=seconds, ask_timeout=5, runaway_timeout=limit + 30
            )
        if self.endpoint_python() is not None:
            with self.endpoint_server() as server:
                url = server.url + "/sparql"
                out["rdflib_endpoint_idle"] = self.ask_loop(url, 10, 1000, 5)
                # Bounded: rdflib-endpoint has no time limit; the runaway query would run for
                # hours. Clients give up after their timeouts; the server is then killed.
                out["rdflib_endpoint_under_runaway"] = self.under_runaway(
                    url, seconds=10, ask_timeout=2, runaway_timeout=12
                )
        return out


def change_rows(original: Path, changed: Path, rows: int) -> None:
    """Copy a sheet, editing the summary/description of its first ``rows`` rows."""
    with original.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        records = list(reader)
    column = "summary" if "summary" in fields else "description"
    for record in records[:rows]:
        record[column] = record[column] + " (revised by the benchmark)"
    with changed.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """The headline figures and ratios (baseline / ours: how many times better ours is)."""
    s: dict[str, Any] = {}
    ingest, base = results.get("ingest", {}), results.get("baseline_stack", {})
    base_total = None
    if base.get("median_wall_s") is not None and base.get("median_serialize_ntriples_s"):
        # The baseline process's wall time less its N-Triples serialization (measured
        # separately for export): interpreter start, parse and validate, like an ingest.
        base_total = round(base["median_wall_s"] - base["median_serialize_ntriples_s"], 4)
    s["ingest_s"] = ingest.get("median_wall_s")
    s["baseline_parse_validate_s"] = base_total
    s["baseline_process_wall_s"] = base.get("median_wall_s")
    s["ingest_ratio"] = ratio(base_total, ingest.get("median_wall_s"))
    base_cpu = None
    if base.get("median_cpu_s") is not None and base.get("median_serialize_ntriples_cpu_s"):
        base_cpu = round(base["median_cpu_s"] - base["median_serialize_ntriples_cpu_s"], 3)
    s["baseline_parse_validate_cpu_s"] = base_cpu
    s["ingest_cpu_s"] = ingest.get("median_cpu_s")
    s["ingest_cpu_ratio"] = ratio(base_cpu, ingest.get("median_cpu_s"))
    s["ingest_rss_ratio"] = ratio(base.get("peak_rss_mb"), ingest.get("peak_rss_mb"))
    re = results.get("reingest", {})
    for sheet in ("findings", "economic", "unchanged"):
        if sheet in re and "median_wall_s" in re[sheet]:
            s[f"reingest_{sheet}_s"] = re[sheet]["median_wall_s"]
            s[f"reingest_{sheet}_ratio"] = ratio(base_total, re[sheet]["median_wall_s"])
            s[f"reingest_{sheet}_cpu_ratio"] = ratio(base_cpu, re[sheet].get("median_cpu_s"))
    val = results.get("validate", {})
    s["validate_s"] = val.get("median_wall_s")
    s["validate_ratio"] = ratio(base.get("median_validate_s"), val.get("median_wall_s"))
    s["validate_cpu_ratio"] = ratio(base.get("median_validate_cpu_s"), val.get("median_cpu_s"))
    exp = results.get("export", {})
    s["export_s"] = exp.get("median_wall_s")
    s["export_ratio"] = ratio(base.get("median_serialize_ntriples_s"), exp.get("median_wall_s"))
    s["export_cpu_ratio"] = ratio(
        base.get("median_serialize_ntriples_cpu_s"), exp.get("median_cpu_s")
    )
    q = results.get("queries", {})
    for name in QUERIES:
        direct = q.get("pyoxigraph_direct", {}).get(name, {}).get("p50_ms")
        http = q.get("whatworks_http", {}).get(name, {}).get("p50_ms")
        mem = q.get("rdflib_memory", {}).get(name, {}).get("p50_ms")
        endpoint = q.get("rdflib_endpoint_http", {}).get(name, {}).get("p50_ms")
        s[f"{name}_http_over_direct"] = None if not direct or not http else round(http / direct, 2)
        s[f"{name}_vs_rdflib_endpoint"] = ratio(endpoint, http)
        s[f"{name}_vs_rdflib_memory"] = ratio(mem, http)
    ask = results.get("ask_under_timeout", {}).get("whatworks_under_runaway", {}).get("ask", {})
    s["ask_p99_under_runaway_ms"] = ask.get("p99_ms")
    mixed = results.get("mixed", {})
    for engine in ("whatworks_http", "rdflib_endpoint_http"):
        for level in mixed.get(engine, []) or []:
            s[f"rps_{engine}_{level['clients']}"] = level["rps"]
    return s


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``, a file with several hard links counted once
    (as ``du`` does: a store's versions share their table files, decision 0019)."""
    files = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            files[(stat.st_dev, stat.st_ino)] = stat.st_size
    return sum(files.values())


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions(endpoint_venv: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for package in (
        "whatworks",
        "pyoxigraph",
        "rdflib",
        "pyshacl",
        "flask",
        "waitress",
        "requests",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[package] = metadata.version(package)
    python = Path(endpoint_venv) / "bin" / "python"
    if python.exists():
        script = (
            "import json, importlib.metadata as m, platform;"
            "print(json.dumps({p: m.version(p) for p in "
            "('rdflib-endpoint', 'rdflib', 'uvicorn', 'fastapi')} | "
            "{'python': platform.python_version()}))"
        )
        done = subprocess.run([str(python), "-c", script], capture_output=True, text=True)
        if done.returncode == 0:
            out["rdflib_endpoint_venv"] = json.loads(done.stdout)
    else:
        out["rdflib_endpoint_venv"] = None
    return out


def project_commit() -> str:
    """HEAD, ``-dirty`` when the work tree differs, and a fingerprint of the code measured
    (the work tree may hold uncommitted changes that HEAD does not name)."""
    import hashlib

    done = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    )
    digest = hashlib.sha256()
    for folder in ("whatworks", "ingest", "server", "shapes", "ontology"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".ttl") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return f"{done.stdout.strip()} (code {digest.hexdigest()[:12]})"


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    global _SCRATCH
    parser = argparse.ArgumentParser(
        description="Benchmark whatworks against rdflib + pySHACL and rdflib-endpoint."
    )
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 10k,100k,1m,5m")
    parser.add_argument(
        "--workdir",
        default="/tmp/whatworks-bench",
        help="scratch folder for sheets, stores and exports (emptied per size)",
    )
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument(
        "--repeats",
        type=int,
        default=0,
        help="runs of each whatworks command (default 3, 1 above 200k triples)",
    )
    parser.add_argument("--baseline-repeats", type=int, default=1)
    parser.add_argument(
        "--baseline-timeout",
        type=float,
        default=1800,
        help="seconds after which a baseline process is stopped",
    )
    parser.add_argument("--step-timeout", type=float, default=3600)
    parser.add_argument("--query-runs", type=int, default=30)
    parser.add_argument(
        "--query-budget",
        type=float,
        default=60,
        help="seconds per query and engine (the loop stops at either bound)",
    )
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--mixed-seconds", type=float, default=15)
    parser.add_argument("--mixed-max-requests", type=int, default=5000)
    parser.add_argument("--mixed-request-timeout", type=float, default=30)
    parser.add_argument(
        "--query-timeout-limit",
        type=float,
        default=5,
        help="WHATWORKS_QUERY_TIMEOUT for the ASK-under-runaway measure",
    )
    parser.add_argument("--ask-max-requests", type=int, default=5000)
    parser.add_argument(
        "--endpoint-venv",
        default="/tmp/rdflib-endpoint-venv",
        help="virtual environment with rdflib-endpoint and uvicorn",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    for size in sizes:
        parse_size(size)
    if not WHATWORKS.exists():
        parser.error(f"{WHATWORKS} not found: run with the project's venv python")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    _SCRATCH = Path(args.workdir) / "logs"
    _SCRATCH.mkdir(exist_ok=True)
    for size in sizes:
        bench = Bench(args, size)
        bench.run_all()
        if not args.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
