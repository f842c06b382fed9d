"""A large store loaded the way a user would: several synthetic parts, one ingest call each.

Issue #7 asks for 5M triples loaded, validated, served and queried within 8 GiB. One
``whatworks ingest`` call holds its whole batch in memory (4.7 GB at 1M), so a large base
is loaded in parts: this script writes ``--parts`` parts of ``--size`` each with
``benchmarks/synthetic.py --part K`` (disjoint keys, files and graphs), then

1. ingests them into one store, one ``whatworks ingest`` call per part, measuring each
   call: wall and CPU time and peak RSS (GNU time), the RSS over time and per phase of
   the ingest (sampled, with the store's ``WHATWORKS_DEBUG_PHASES`` marks), the quads in
   the store afterwards and the load average;
2. runs ``whatworks validate`` on the whole store (time, peak RSS, exit code, conforms);
3. starts ``whatworks serve`` on a free loopback port and times a few requests (a SPARQL
   count of every quad, two catalogue queries, ``/explore``, ``/``, ``/gap-map``,
   ``/gap-map.json``), with the RSS of the server and its query workers.

Results go to ``benchmarks/results/ingest-parts-<parts>x<size>.json`` (named like the load
and remote-query results, so that ``report.py``'s ``<date>-<size>.json`` glob skips it),
saved after every step, and a summary table is printed. Every process started here is
stopped here, through its own process group; a call whose RSS passes ``--rss-limit-gib``
is stopped and recorded as such (the machine is shared).

    .venv/bin/python benchmarks/ingest_parts.py --parts 5 --size 1m --work /tmp/ww5i --keep

The store is ``<work>/store``; without ``--keep`` the whole work folder is removed at the
end. Everything in it is synthetic (``--id-base`` of the synthetic namespace).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import (  # noqa: E402
    folder_bytes,
    free_port,
    machine,
    project_commit,
    versions,
)
from benchmarks.synthetic import SYNTHETIC_ID_BASE, generate, parse_size  # noqa: E402

PYTHON = Path(sys.executable)
WHATWORKS = PYTHON.with_name("whatworks")
TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else ""
GIB = 1024**3
MIB = 1024**2
#: The issue's memory budget.
BUDGET_GIB = 8
PHASE_MARK = "whatworks-phase: "
COUNT_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
SPARQL_JSON = "application/sparql-results+json"


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def mem_available_mb() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants (those that still exist)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_rss(pid: int) -> int:
    """Sum of the resident set sizes of the process tree, in bytes."""
    total = 0
    for process in tree(pid):
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


def tree_memory(pid: int) -> dict[str, Any]:
    """RSS, PSS (shared pages counted once across the tree) and peak RSS (VmHWM), summed."""
    rss = pss = hwm = 0
    processes = 0
    for process in tree(pid):
        with contextlib.suppress(psutil.Error):
            full = process.memory_full_info()
            rss += full.rss
            pss += getattr(full, "pss", 0)
            processes += 1
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm += int(line.split()[1]) * 1024
    return {
        "processes": processes,
        "rss_mb": round(rss / MIB, 1),
        "pss_mb": round(pss / MIB, 1),
        "sum_of_peak_rss_mb": round(hwm / MIB, 1),
    }


class Sampler:
    """Samples a process tree's RSS (and the load average, free memory) in a thread."""

    def __init__(
        self, pid: int, *, interval: float, limit: int | None, on_limit: Callable[[], None]
    ):
        self.pid = pid
        self.interval = interval
        self.limit = limit
        self.on_limit = on_limit
        self.started = time.perf_counter()
        self.samples: list[tuple[float, int]] = []
        self.loads: list[float] = []
        self.min_available_mb: float | None = None
        self.over_limit = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_load = 0.0
        while not self._stop.is_set():
            now = time.perf_counter() - self.started
            rss = tree_rss(self.pid)
            if rss:
                self.samples.append((now, rss))
            if now - last_load >= 5 or not self.loads:
                self.loads.append(os.getloadavg()[0])
                available = mem_available_mb()
                if available is not None and (
                    self.min_available_mb is None or available < self.min_available_mb
                ):
                    self.min_available_mb = available
                last_load = now
            if self.limit is not None and rss > self.limit and not self.over_limit:
                self.over_limit = True
                self.on_limit()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def peak(self, start: float = 0.0, end: float = float("inf")) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)

    def timeline(self, points: int = 120) -> list[list[float]]:
        """At most ``points`` samples [seconds, RSS MB], evenly spaced, with the peak kept."""
        if not self.samples:
            return []
        step = max(1, len(self.samples) // points)
        chosen = set(range(0, len(self.samples), step)) | {len(self.samples) - 1}
        chosen.add(max(range(len(self.samples)), key=lambda i: self.samples[i][1]))
        return [
            [round(self.samples[i][0], 1), round(self.samples[i][1] / MIB, 1)]
            for i in sorted(chosen)
        ]


def measure(
    command: list[str],
    *,
    log_to: Path,
    timeout: float,
    rss_limit: int | None,
    interval: float,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``command`` under GNU time; its wall, CPU, peak RSS, RSS over time and phases."""
    time_file = log_to.with_suffix(".time")
    wrapped = [TIME, "-f", "%M %U %S", "-o", str(time_file), *command] if TIME else command
    events: list[tuple[float, str]] = []
    load_before = load1()
    with (
        log_to.with_suffix(".stdout").open("wb") as out,
        log_to.with_suffix(".stderr").open("w", encoding="utf-8") as err,
    ):
        started = time.perf_counter()
        process = subprocess.Popen(
            wrapped,
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        stopped: list[str] = []

        def kill(reason: str) -> None:
            stopped.append(reason)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        sampler = Sampler(
            process.pid,
            interval=interval,
            limit=rss_limit,
            on_limit=lambda: kill(f"RSS passed {rss_limit / GIB if rss_limit else 0:.1f} GiB"),
        )
        timer = threading.Timer(timeout, lambda: kill(f"timeout after {timeout:.0f} s"))
        timer.start()
        tail: list[str] = []
        assert process.stderr is not None
        for line in process.stderr:
            now = time.perf_counter() - started
            err.write(f"{now:9.2f} {line}")
            err.flush()
            if line.startswith(PHASE_MARK):
                events.append((now, line[len(PHASE_MARK) :].strip()))
            else:
                tail = [*tail[-40:], line.rstrip("\n")]
        returncode = process.wait()
        wall = time.perf_counter() - started
        timer.cancel()
        sampler.stop()
    max_rss_mb: float | None = None
    cpu_s: float | None = None
    if TIME:
        with contextlib.suppress(OSError, ValueError, IndexError):
            rss_kib, user, system = time_file.read_text().strip().splitlines()[-1].split()
            max_rss_mb, cpu_s = float(rss_kib) / 1024, float(user) + float(system)
    # GNU time reports "Command exited with non-zero status N" first; its own exit code is
    # the command's.
    sampled_peak = sampler.peak()
    result: dict[str, Any] = {
        "command": command,
        "returncode": returncode,
        "wall_s": round(wall, 2),
        "cpu_s": None if cpu_s is None else round(cpu_s, 2),
        "max_rss_mb": None if max_rss_mb is None else round(max_rss_mb, 1),
        "sampled_peak_rss_mb": round(sampled_peak / MIB, 1),
        "within_8_gib": None if max_rss_mb is None else max_rss_mb * MIB <= BUDGET_GIB * GIB,
        "stopped": stopped[0] if stopped else None,
        "load_average": {
            "before": load_before,
            "after": load1(),
            "mean_during": round(sum(sampler.loads) / len(sampler.loads), 2)
            if sampler.loads
            else None,
            "max_during": round(max(sampler.loads), 2) if sampler.loads else None,
        },
        "min_mem_available_mb": sampler.min_available_mb,
        "rss_timeline": sampler.timeline(),
        "stderr_tail": tail[-10:],
    }
    if events:
        result["phases"] = phases(events, wall, sampler)
    return result


def phases(events: list[tuple[float, str]], wall: float, sampler: Sampler) -> list[dict[str, Any]]:
    """The run cut at the store's phase marks; duration and peak RSS of each piece.

    An ingest writes twice (the evidence, then the derived graph), each write going
    ``store:diff``, ``update``, ``flush``, ``marker``, ``done``. The pieces are named for
    what the ingest does in them.
    """
    cuts = [(0.0, "start"), *events, (wall, "exit")]
    writes = 0
    out = []
    for (start, mark), (end, following) in zip(cuts, cuts[1:], strict=False):
        if mark == "store:diff":
            writes += 1
        if mark == "start":
            name = "read, map, check and validate the files; diff with the store; provenance"
        elif mark == "store:done" and following == "exit":
            name = "after the last write (close, exit)"
        elif mark == "store:done":
            name = "derive (pooled estimates, EMMIE ratings) from the whole store"
        else:
            what = "evidence" if writes == 1 else "derived graph" if writes == 2 else f"#{writes}"
            name = f"write {what}: {mark.removeprefix('store:')}"
        out.append(
            {
                "phase": name,
                "from_s": round(start, 2),
                "seconds": round(end - start, 2),
                # None: the piece was shorter than the sampling interval.
                "peak_rss_mb": round(sampler.peak(start, end) / MIB, 1) or None,
            }
        )
    return out


def coarse_phases(fine: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The phases of :func:`phases` grouped as prepare / write evidence / derive / write
    derived / exit: seconds summed, peak RSS the largest."""
    groups: dict[str, dict[str, float]] = {}
    for piece in fine:
        name = piece["phase"]
        if name.startswith("read"):
            key = "prepare"
        elif name.startswith("write evidence"):
            key = "write_evidence"
        elif name.startswith("derive"):
            key = "derive"
        elif name.startswith("write derived"):
            key = "write_derived"
        else:
            key = "exit"
        group = groups.setdefault(key, {"seconds": 0.0, "peak_rss_mb": 0.0})
        group["seconds"] = round(group["seconds"] + piece["seconds"], 2)
        group["peak_rss_mb"] = max(group["peak_rss_mb"], piece["peak_rss_mb"] or 0.0)
    return groups


class Run:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = Path(args.work)
        self.sheets = self.work / "sheets"
        self.store = self.work / "store"
        self.logs = self.work / "logs"
        self.rss_limit = int(args.rss_limit_gib * GIB) if args.rss_limit_gib else None
        date = dt.date.today().isoformat()
        name = f"ingest-parts-{args.parts}x{args.size.lower()}.json"
        self.out = Path(args.results) / name
        self.results: dict[str, Any] = {
            "benchmark": "ingest in parts, validate, serve (issue #7: 5M within 8 GiB)",
            "date": date,
            "parts": args.parts,
            "part_size": args.size.lower(),
            "part_target_triples": parse_size(args.size),
            "seed": args.seed,
            "machine": machine(),
            "versions": {k: v for k, v in versions("/nonexistent").items() if v is not None},
            "project_commit": project_commit(),
            "store": str(self.store),
            "memory_budget_gib": BUDGET_GIB,
            "rss_limit_gib": args.rss_limit_gib,
            "notes": [
                "max_rss_mb: peak RSS of the whatworks process (GNU time); "
                "sampled_peak_rss_mb: largest sum of RSS over the process tree, sampled every "
                f"{args.interval} s; phases: the same samples cut at the store's "
                "WHATWORKS_DEBUG_PHASES marks",
                "load averages are 1-minute figures on a 2-core machine shared with other "
                "work: above ~2 means contention, and wall times grow with it (CPU times less)",
            ],
        }

    def save(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(json.dumps(self.results, indent=2) + "\n", encoding="utf-8")

    def whatworks(self, *args: str) -> list[str]:
        return [str(WHATWORKS), "--store", str(self.store), *args]

    # -- steps ----------------------------------------------------------------------------

    def run(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        log(f"results go to {self.out}")
        if not self.args.skip_generate:
            self.generate()
        if not self.args.skip_ingest:
            if self.store.exists():
                shutil.rmtree(self.store)
            self.ingest()
        self.validate()
        self.serve()
        self.save()
        print_summary(self.results)
        log(f"results in {self.out}")

    def part_folder(self, k: int) -> Path:
        return self.sheets / f"part{k}"

    def generate(self) -> None:
        out = []
        for k in range(1, self.args.parts + 1):
            folder = self.part_folder(k)
            if folder.exists():
                shutil.rmtree(folder)
            started = time.perf_counter()
            summary = generate(folder, size=self.args.size, seed=self.args.seed, part=k)
            seconds = time.perf_counter() - started
            log(f"part {k}: {summary.studies} studies, ~{summary.estimated_triples} triples")
            out.append(
                {
                    "part": k,
                    "command": [
                        str(PYTHON),
                        "benchmarks/synthetic.py",
                        "--size",
                        self.args.size,
                        "--part",
                        str(k),
                        "--seed",
                        str(self.args.seed),
                        "--out",
                        str(folder),
                    ],
                    "seconds": round(seconds, 2),
                    "studies": summary.studies,
                    "records": summary.records,
                    "estimated_triples": summary.estimated_triples,
                    "bytes": sum(p.stat().st_size for p in summary.files),
                }
            )
        self.results["generate"] = out
        self.save()

    def stats(self) -> dict[str, Any]:
        started = time.perf_counter()
        done = subprocess.run(
            self.whatworks("stats", "--json"), capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            return {"error": done.stderr[-2000:], "seconds": round(seconds, 2)}
        graphs: dict[str, int] = json.loads(done.stdout).get("graphs", {})
        return {
            "quads": sum(graphs.values()),
            "graphs": len(graphs),
            "sheet_triples": sum(n for g, n in graphs.items() if "/graph/synthetic." in g),
            "derived_triples": sum(n for g, n in graphs.items() if g.endswith("/graph/derived")),
            "store_bytes": folder_bytes(self.store),
            "stats_seconds": round(seconds, 2),
        }

    def ingest(self) -> None:
        calls: list[dict[str, Any]] = []
        self.results["ingest"] = calls
        for k in range(1, self.args.parts + 1):
            files = sorted(self.part_folder(k).glob("*.csv"))
            if not files:
                raise SystemExit(f"no sheets in {self.part_folder(k)}: run without --skip-generate")
            command = self.whatworks(
                "ingest", "--no-progress", "--id-base", SYNTHETIC_ID_BASE, *map(str, files)
            )
            log(f"ingest part {k}/{self.args.parts} (load average {load1()})")
            result = measure(
                command,
                log_to=self.logs / f"ingest-part{k}",
                timeout=self.args.step_timeout,
                rss_limit=self.rss_limit,
                interval=self.args.interval,
                env={"WHATWORKS_DEBUG_PHASES": "1"},
            )
            result["part"] = k
            if "phases" in result:
                result["phase_summary"] = coarse_phases(result["phases"])
            result["after"] = self.stats()
            calls.append(result)
            self.save()
            log(
                f"part {k}: rc {result['returncode']}, {result['wall_s']} s, "
                f"peak {result['max_rss_mb']} MB, {result['after'].get('quads')} quads"
            )
            if result["returncode"] != 0:
                log(f"part {k} failed; not ingesting the rest")
                break

    def validate(self) -> None:
        report = self.work / "validate.json"
        command = self.whatworks("validate", "--format", "json", "-o", str(report))
        log(f"validate (load average {load1()})")
        result = measure(
            command,
            log_to=self.logs / "validate",
            timeout=self.args.step_timeout,
            rss_limit=self.rss_limit,
            interval=self.args.interval,
        )
        with contextlib.suppress(OSError, ValueError):
            body = json.loads(report.read_text(encoding="utf-8"))
            result["conforms"] = body.get("conforms")
            result["violations"] = len(body.get("violations", []))
            result["warnings"] = len(body.get("warnings", []))
        self.results["validate"] = result
        self.save()
        log(
            f"validate: rc {result['returncode']}, {result['wall_s']} s, "
            f"peak {result['max_rss_mb']} MB, conforms {result.get('conforms')}"
        )

    def serve(self) -> None:
        import requests

        port = self.args.port or free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "WHATWORKS_QUERY_TIMEOUT": str(self.args.query_timeout)}
        command = self.whatworks("serve", "--port", str(port))
        out: dict[str, Any] = {
            "command": command,
            "url": base,
            "env": {"WHATWORKS_QUERY_TIMEOUT": str(self.args.query_timeout)},
            "requests": [],
        }
        self.results["serve"] = out
        log(f"serve on {base} (load average {load1()})")
        with (self.logs / "serve.log").open("wb") as server_log:
            started = time.perf_counter()
            process = subprocess.Popen(
                command,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
            sampler = Sampler(
                process.pid, interval=self.args.interval, limit=None, on_limit=lambda: None
            )
            try:
                session = requests.Session()
                ready = None
                while time.perf_counter() - started < 180 and process.poll() is None:
                    with contextlib.suppress(requests.RequestException):
                        probe = session.get(
                            f"{base}/sparql", params={"query": "ASK {}"}, timeout=10
                        )
                        if probe.status_code == 200:
                            ready = time.perf_counter() - started
                            break
                    time.sleep(0.3)
                if ready is None:
                    out["error"] = f"not ready (exit code {process.poll()})"
                    return
                out["ready_s"] = round(ready, 2)
                out["memory_when_ready"] = tree_memory(process.pid)
                for name, method, path, params, accept in requests_to_make():
                    for attempt in range(1, self.args.request_repeats + 1):
                        out["requests"].append(
                            self.request(session, base, name, method, path, params, accept)
                            | {"attempt": attempt, "memory_after": tree_memory(process.pid)}
                        )
                        last = out["requests"][-1]
                        log(
                            f"  {name} #{attempt}: {last.get('status')} in {last.get('seconds')} s"
                            f", server+workers RSS {last['memory_after']['rss_mb']} MB"
                        )
                        self.save()
                out["memory_at_end"] = tree_memory(process.pid)
            finally:
                sampler.stop()
                out["sampled_peak_rss_mb"] = round(sampler.peak() / MIB, 1)
                out["rss_timeline"] = sampler.timeline()
                out["load_average_mean_during"] = (
                    round(sum(sampler.loads) / len(sampler.loads), 2) if sampler.loads else None
                )
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=15)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
                self.save()

    def request(
        self,
        session: Any,
        base: str,
        name: str,
        method: str,
        path: str,
        params: dict[str, str],
        accept: str,
    ) -> dict[str, Any]:
        import requests

        out: dict[str, Any] = {"name": name, "method": method, "path": path, "params": params}
        started = time.perf_counter()
        try:
            if method == "POST":
                response = session.post(
                    base + path,
                    data=params,
                    headers={"Accept": accept},
                    timeout=self.args.request_timeout,
                )
            else:
                response = session.get(
                    base + path,
                    params=params,
                    headers={"Accept": accept},
                    timeout=self.args.request_timeout,
                )
            body = response.content
        except requests.RequestException as exc:
            out.update(seconds=round(time.perf_counter() - started, 3), error=str(exc))
            return out
        out.update(
            status=response.status_code,
            seconds=round(time.perf_counter() - started, 3),
            bytes=len(body),
            content_type=response.headers.get("Content-Type"),
        )
        if response.status_code >= 400:
            out["body_head"] = body[:400].decode("utf-8", errors="replace")
        elif name == "sparql_count":
            with contextlib.suppress(ValueError, KeyError, IndexError):
                out["count"] = int(json.loads(body)["results"]["bindings"][0]["n"]["value"])
        elif name in ("what_works_for_whom", "evidence_gaps"):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                out["rows"] = len(json.loads(body)["rows"])
        return out


def requests_to_make() -> list[tuple[str, str, str, dict[str, str], str]]:
    """(name, method, path, parameters, Accept) of the requests timed against the server."""
    html = "text/html"
    return [
        ("sparql_count", "POST", "/sparql", {"query": COUNT_QUERY}, SPARQL_JSON),
        ("api_catalogue", "GET", "/api/queries", {}, "application/json"),
        (
            "what_works_for_whom",
            "GET",
            "/api/queries/what_works_for_whom",
            {"outcome": "entry"},
            "application/json",
        ),
        ("evidence_gaps", "GET", "/api/queries/evidence_gaps", {}, "application/json"),
        ("explore", "GET", "/explore", {}, html),
        ("landing", "GET", "/", {}, html),
        ("gap_map", "GET", "/gap-map", {}, html),
        ("gap_map_json", "GET", "/gap-map.json", {}, "application/json"),
    ]


def _mb(value: Any) -> str:
    return "-" if value is None else f"{value:,.0f}"


def print_summary(results: dict[str, Any]) -> None:
    lines = [
        "",
        f"ingest of {results['parts']} parts of {results['part_size']} into {results['store']}",
        f"{'part':>4} {'rc':>3} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'quads after':>12}"
        f" {'load':>11}  {'prepare':>15} {'derive':>15}",
    ]
    for call in results.get("ingest", []):
        load = call["load_average"]
        ph = call.get("phase_summary", {})

        def cell(key: str, ph: dict[str, Any] = ph) -> str:
            piece = ph.get(key)
            return "-" if not piece else f"{piece['seconds']:.0f}s/{piece['peak_rss_mb']:,.0f}MB"

        lines.append(
            f"{call['part']:>4} {call['returncode']:>3} {call['wall_s']:>8.1f} "
            f"{call['cpu_s'] or 0:>8.1f} {_mb(call['max_rss_mb']):>8} "
            f"{call['after'].get('quads', 0):>12,} "
            f"{load['before']:>5.2f}/{load['mean_during'] or 0:<5.2f}"
            f"  {cell('prepare'):>15} {cell('derive'):>15}"
            + (f"  STOPPED: {call['stopped']}" if call.get("stopped") else "")
        )
    validate = results.get("validate")
    if validate:
        lines.append(
            f"validate: rc {validate['returncode']}, {validate['wall_s']:.1f} s wall, "
            f"{validate['cpu_s'] or 0:.1f} s CPU, peak {_mb(validate['max_rss_mb'])} MB, "
            f"conforms {validate.get('conforms')}, load {validate['load_average']['mean_during']}"
            + (f", STOPPED: {validate['stopped']}" if validate.get("stopped") else "")
        )
    serve = results.get("serve")
    if serve:
        lines.append(
            f"serve: ready in {serve.get('ready_s')} s, sampled peak RSS (server + workers) "
            f"{_mb(serve.get('sampled_peak_rss_mb'))} MB"
        )
        for req in serve.get("requests", []):
            memory = req["memory_after"]
            lines.append(
                f"  {req['name']:<20} #{req['attempt']} {req.get('status', 'ERR')!s:>4} "
                f"{req.get('seconds', 0):>8.2f} s {req.get('bytes', 0):>11,} B  "
                f"RSS {memory['rss_mb']:,.0f} MB (PSS {memory['pss_mb']:,.0f})"
            )
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Ingest synthetic parts one call each into one store; validate; serve."
    )
    parser.add_argument("--parts", type=int, default=5, help="number of parts (default 5)")
    parser.add_argument("--size", default="1m", help="size of each part: 10k, 100k, 1m, ...")
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/whatworks-ingest-parts"), help="work folder"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (sheets, store, logs)"
    )
    parser.add_argument(
        "--skip-generate", action="store_true", help="reuse the sheets already in the work folder"
    )
    parser.add_argument(
        "--skip-ingest",
        action="store_true",
        help="reuse the store in the work folder: validate and serve only",
    )
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument("--step-timeout", type=float, default=3600, help="seconds per command")
    parser.add_argument(
        "--rss-limit-gib",
        type=float,
        default=16,
        help="stop a command whose process tree passes this RSS (0: no limit)",
    )
    parser.add_argument("--interval", type=float, default=0.5, help="RSS sampling interval")
    parser.add_argument(
        "--query-timeout",
        type=float,
        default=120,
        help="WHATWORKS_QUERY_TIMEOUT for the server (its default is 10 s)",
    )
    parser.add_argument("--request-timeout", type=float, default=600)
    parser.add_argument(
        "--request-repeats", type=int, default=2, help="times each request is made (cold, warm)"
    )
    args = parser.parse_args(argv)
    if args.parts < 1:
        parser.error("--parts must be at least 1")
    try:
        parse_size(args.size)
    except ValueError as exc:
        parser.error(str(exc))
    if not WHATWORKS.exists():
        parser.error(f"{WHATWORKS} not found: run with the project's venv python")
    Run(args).run()
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
