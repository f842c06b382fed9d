"""Build a ~5M-quad embedded store from renamed copies of an ingested 100k store, to measure
validation, serving and queries at 5M (BENCHMARKS.md). Benchmark only: the copies stay in
the synthetic namespace (``…/synthetic/id/c<N>/``, graphs ``synthetic-c<N>.*``); the real
evidence in the source store is not copied. The store is bulk-loaded, not ingested.

    python benchmarks/build_5m_store.py SOURCE_STORE TARGET_STORE 39
"""

import os
import sys
import time
from pathlib import Path

import pyoxigraph as ox

from whatworks.core.engine import engine_folder

src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
SYN = "https://w3id.org/whatworks/synthetic/id/"
GRAPH = "https://w3id.org/whatworks/graph/"
base = ox.Store.read_only(str(engine_folder(Path(src))))  # either layout (decision 0019)
quads = [q for q in base if q.graph_name != ox.DefaultGraph()]
print("source quads", len(quads), file=sys.stderr)


def ren(t, i):
    if isinstance(t, ox.NamedNode):
        v = t.value
        if v.startswith(SYN):
            return ox.NamedNode(f"{SYN}c{i}/{v[len(SYN) :]}")
        if v.startswith(GRAPH + "synthetic."):
            return ox.NamedNode(v.replace(GRAPH + "synthetic.", f"{GRAPH}synthetic-c{i}.", 1))
    return t


out = ox.Store(dst)  # a store of the first layout: whatworks opens it as it is
t = time.time()


def gen():
    for i in range(copies):
        for q in quads:
            if i == 0:
                yield q
            else:
                s = ren(q.subject, i)
                o = ren(q.object, i)
                g = ren(q.graph_name, i)
                if s.value.startswith(SYN) or (
                    isinstance(o, ox.NamedNode) and o.value.startswith(SYN)
                ):
                    yield ox.Quad(s, q.predicate, o, g)


nq = os.path.join(os.path.dirname(dst), "data.nq")
with open(nq, "wb") as f:
    ox.serialize(gen(), f, ox.RdfFormat.N_QUADS)
print("serialized", round(time.time() - t, 1), file=sys.stderr)
out.bulk_load(path=nq, format=ox.RdfFormat.N_QUADS)
out.flush()
out.optimize()
print("quads", len(out), "seconds", round(time.time() - t, 1), file=sys.stderr)
