"""Check that the EMMIE ontology and a data graph are consistent, with the HermiT reasoner.

HermiT runs on Java through owlready2. SHACL (``shapes/``) checks the shape of each node
under a closed world; the reasoner checks what follows from the ontology's axioms: an
individual in two disjoint classes (a study that is also a finding, a facilitator that is
also a barrier), a literal outside a property's datatype, two values of a functional
property that cannot be the same.

Example::

    report = check_consistency(graph)
    if not report.consistent:
        print(report.message)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import owlready2
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from whatworks.core.namespaces import GRAPH

__all__ = [
    "ReasonerError",
    "ReasonerFailed",
    "ReasonerReport",
    "ReasonerUnavailable",
    "INCONSISTENT",
    "check_consistency",
    "reasoned_graphs",
]

# owlready2 keeps module-level state (its temporary-file handling, the Java settings), and
# we point the tempfile module at a private directory while it runs: one run at a time.
_LOCK = threading.Lock()
_EXPLANATION_LINES = 12
_EXPLANATION_TIMEOUT_SECONDS = 120

#: The first sentence of the message of an inconsistency.
INCONSISTENT = "HermiT: the ontology and the data are inconsistent."


class ReasonerError(Exception):
    """Base class of the errors raised by this module."""


class ReasonerUnavailable(ReasonerError):
    """No usable Java runtime, so HermiT cannot run."""


class ReasonerFailed(ReasonerError):
    """HermiT ran but stopped with an error other than an inconsistency.

    For example a literal whose datatype is outside the OWL 2 datatype map (``xsd:date``,
    ``xsd:gYear``) in a data property assertion.
    """


@dataclass(frozen=True)
class ReasonerReport:
    """What HermiT found.

    Attributes:
        consistent: False when no interpretation satisfies the ontology plus the data.
        seconds: wall-clock time of the HermiT run (Java start-up included).
        individuals: named individuals in the input (data individuals and concepts).
        unsatisfiable_classes: IRIs of classes that can have no member, sorted.
        message: one readable paragraph; for an inconsistency, the axioms that clash.
        clashing_axioms: for an inconsistency, the axioms of Pellet's first explanation,
            one per item (empty when it could not say).
    """

    consistent: bool
    seconds: float
    individuals: int
    unsatisfiable_classes: tuple[str, ...]
    message: str
    clashing_axioms: tuple[str, ...] = ()


def _default_ontology() -> Graph:
    text = files("whatworks.ontology").joinpath("emmie.ttl").read_text(encoding="utf-8")
    return Graph().parse(data=text, format="turtle")


def _count_individuals(graph: Graph) -> int:
    """Count IRIs typed with a declared class or as owl:NamedIndividual."""
    classes = set(graph.subjects(RDF.type, OWL.Class)) | {OWL.NamedIndividual}
    return len(
        {s for s, o in graph.subject_objects(RDF.type) if isinstance(s, URIRef) and o in classes}
    )


def _java() -> str:
    configured = str(owlready2.JAVA_EXE)
    java = shutil.which(configured)
    if java is None:
        raise ReasonerUnavailable(
            f"HermiT needs a Java runtime, and {configured!r} was not found on PATH: "
            "install one (Debian: apt-get install default-jre-headless) or set "
            "owlready2.JAVA_EXE to the java executable"
        )
    return java


def _explain(java: str, ntriples: Path) -> list[str]:
    """Ask Pellet (shipped with owlready2) which axioms clash; none if it cannot say.

    HermiT's command line reports an inconsistency without naming its cause; Pellet's
    ``explain`` names the asserted axioms, by local name, which is what a curator needs.
    """
    pellet = Path(owlready2.__file__).parent / "pellet"
    classpath = os.pathsep.join(str(jar) for jar in sorted(pellet.glob("*.jar")))
    command = [java, "-Xmx1000M", "-cp", classpath, "pellet.Pellet", "explain"]
    command += ["--ignore-imports", str(ntriples)]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=_EXPLANATION_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    _, found, explanation = result.stdout.partition("Explanation(s):")
    if not found:
        return []
    # Keep the first explanation. Pellet starts each axiom at one column and indents the
    # lines it wraps inside an axiom further: join those onto their axiom.
    first = re.split(r"\n\s*2\)\s", explanation, maxsplit=1)[0]
    axioms: list[str] = []
    start_column: int | None = None
    for raw in first.strip("\n").splitlines():
        line = re.sub(r"^(\s*)1\)", lambda m: m.group(1) + "  ", raw)
        text = line.strip()
        if not text:
            continue
        column = len(line) - len(line.lstrip())
        if start_column is None:
            start_column = column
        if axioms and column > start_column:
            axioms[-1] += " " + text
        else:
            axioms.append(text)
    if len(axioms) > _EXPLANATION_LINES:
        axioms = axioms[:_EXPLANATION_LINES] + [f"... ({len(axioms) - _EXPLANATION_LINES} more)"]
    return axioms


def reasoned_graphs(names: Iterable[URIRef]) -> list[URIRef]:
    """The graphs of a store that a consistency check of the whole store reasons over: the
    coded evidence, the derived results and the dataset description.

    Two kinds are left out, so that the check is complete in seconds and says something:

    * the local-authority statistics (``graph/la-*``, thousands of Data Cube observations):
      HermiT's time grows much faster than the number of individuals (2.3 s at 850, over
      200 s at 7,000; the whole bundled base did not finish in 400 s), and the ontology's
      axioms that could clash there (functional properties of an observation) are checked
      by their SHACL shapes;
    * the sources' provenance graphs (``.../provenance``): HermiT refuses their
      ``xsd:dateTime`` values with microseconds as malformed, and they hold no evidence.
    """
    statistics = str(GRAPH) + "la-"
    return [
        name
        for name in names
        if not str(name).startswith(statistics) and not str(name).endswith("/provenance")
    ]


def check_consistency(graph: Graph, *, ontology: Graph | None = None) -> ReasonerReport:
    """Run HermiT on the EMMIE ontology plus ``graph`` and report what it found.

    Args:
        graph: the data to check (may be empty, which checks the ontology alone).
        ontology: the ontology to check against; by default the installed
            ``ontology/emmie.ttl``.

    Returns:
        A :class:`ReasonerReport`. An inconsistency is a result, not an error: it comes
        back with ``consistent=False`` and a message naming the clashing axioms.

    Raises:
        ReasonerUnavailable: no Java runtime was found, or it could not be started.
        ReasonerFailed: HermiT stopped with another error (for example an unsupported
            datatype in the data), with Java's message.
    """
    java = _java()
    merged = Graph()
    for triple in ontology if ontology is not None else _default_ontology():
        merged.add(triple)
    for triple in graph:
        merged.add(triple)
    individuals = _count_individuals(merged)

    with _LOCK, tempfile.TemporaryDirectory(prefix="whatworks-hermit-") as tmp:
        ntriples = Path(tmp) / "input.nt"
        merged.serialize(destination=ntriples, format="nt", encoding="utf-8")
        world = owlready2.World()
        # owlready2 writes HermiT's input to a temporary file that it leaves behind when
        # HermiT fails; pointing tempfile at our directory removes it with the directory.
        saved_tempdir = tempfile.tempdir
        tempfile.tempdir = tmp
        try:
            world.get_ontology(ntriples.as_uri()).load()
            started = time.perf_counter()
            owlready2.sync_reasoner(world, infer_property_values=False, debug=0)
            seconds = time.perf_counter() - started
            unsatisfiable = tuple(sorted(str(c.iri) for c in world.inconsistent_classes()))
        except owlready2.OwlReadyInconsistentOntologyError:
            seconds = time.perf_counter() - started
            axioms = _explain(java, ntriples)
            message = INCONSISTENT
            if axioms:
                message += f" Clashing axioms (Pellet's explanation): {'; '.join(axioms)}"
            return ReasonerReport(False, seconds, individuals, (), message, tuple(axioms))
        except owlready2.OwlReadyJavaError as error:
            raise ReasonerFailed(_trim(str(error))) from error
        except OSError as error:
            raise ReasonerUnavailable(f"could not start Java ({java}): {error}") from error
        finally:
            tempfile.tempdir = saved_tempdir
            world.close()

    if unsatisfiable:
        message = (
            f"HermiT: consistent, but {len(unsatisfiable)} classes can have no member: "
            + ", ".join(unsatisfiable)
        )
    else:
        message = f"HermiT: consistent ({individuals} individuals, {seconds:.2f} s)."
    return ReasonerReport(True, seconds, individuals, unsatisfiable, message)


def _trim(java_message: str, *, lines: int = 6) -> str:
    """Keep the lines of a Java error that say what went wrong, not the stack trace."""
    text = java_message.replace("Java error message is:", "")
    kept = [
        re.sub(r'^Exception in thread "[^"]*" [\w.$]+: ', "", line.strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("at ")
    ]
    return "HermiT could not reason: " + " ".join(kept[:lines])
