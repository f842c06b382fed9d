"""rdflib-endpoint serving an N-Triples file, for the baseline over HTTP.

Runs in its OWN virtual environment (never the project's), started by benchmarks/run.py:

    python3 -m venv /tmp/rdflib-endpoint-venv
    /tmp/rdflib-endpoint-venv/bin/pip install "rdflib-endpoint==0.6.3" uvicorn
    /tmp/rdflib-endpoint-venv/bin/python benchmarks/rdflib_endpoint_app.py DATA.nt --port 18801

Listens on 127.0.0.1 only; the endpoint is at /sparql (rdflib-endpoint's default path
is "/"; it is set to /sparql here so both servers are queried the same way).
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    import uvicorn
    from rdflib import Graph
    from rdflib_endpoint import SparqlEndpoint

    started = time.perf_counter()
    graph = Graph()
    graph.parse(args.data, format="nt")
    print(
        f"loaded {len(graph)} triples in {time.perf_counter() - started:.2f} s",
        file=sys.stderr,
        flush=True,
    )
    app = SparqlEndpoint(graph=graph, path="/sparql", cors_enabled=False)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
