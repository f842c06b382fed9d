"""The ``whatworks`` command.

Exit codes: 0 success (and, for ``validate``, the data conform); 1 the data break the
rules (SHACL violations, rows that break the coding-sheet format); 2 usage or I/O errors
(unreadable files, a store that cannot be opened).
"""

from __future__ import annotations

import atexit
import errno
import gc
import json
import os
import shutil
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
import pyoxigraph as ox

from whatworks import __version__
from whatworks.core.config import (
    STORE_ENV,
    VALIDATE_BATCH_TRIPLES,
    bundled_evidence,
    bundled_statistics,
    is_remote,
    open_configured_store,
    store_target,
)
from whatworks.core.errors import InputError, Problem, ValidationFailed, WhatworksError, shown
from whatworks.core.store import EXPORT_FORMATS, Store, union_graph

if TYPE_CHECKING:
    from whatworks.core.validation import Engine
    from whatworks.ingest.pipeline import Source

# The process ends with the command: leave what the command built to the operating system
# rather than to a last collection (docs/decisions/0010-gc-freeze.md).
atexit.register(gc.freeze)


def _fail(error: WhatworksError) -> NoReturn:
    problems: Sequence[Problem] = getattr(error, "problems", ())
    if problems:
        click.echo(f"error: {len(problems)} problem(s); nothing was written:", err=True)
        for line in shown(problems):
            click.echo(f"  {line}", err=True)
    else:
        click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


class Context:
    def __init__(self, store: str | None = None):
        self.store_option = store

    def open(self, *, read_only: bool = False) -> Store:
        return open_configured_store(self.store_option, read_only=read_only)


def _remember_store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # The group's --store is read first, a command's after it: the one after the command wins.
    if value is not None:
        ctx.ensure_object(Context).store_option = value


F = TypeVar("F", bound=Callable[..., Any])


def validator_option(function: F) -> F:
    """``--validator``: how the SHACL shapes are run (ingest, validate)."""
    return click.option(
        "--validator",
        type=click.Choice(["compiled", "pyshacl"]),
        default="compiled",
        show_default=True,
        help="How the SHACL shapes run: compiled (fast; the same results as pySHACL, "
        "docs/decisions/0020-compiled-shapes.md) or pyshacl (the reference, slower).",
    )(function)


def store_option(function: F) -> F:
    """``--store``, accepted before the command (``whatworks --store X load``) and after it
    (``whatworks load --store X``): one definition, on the group and on each command that
    opens the store; its value is kept in the context's :class:`Context`."""
    return click.option(
        "--store",
        metavar="PATH|URL",
        default=None,
        expose_value=False,
        callback=_remember_store,
        help=f"Store folder, or the query URL of a SPARQL store (docs/remote-stores.md) "
        f"(default: ${STORE_ENV}, else ~/.local/share/whatworks/store). Accepted before or "
        f"after the command.",
    )(function)


class _Group(click.Group):
    """The command group; a reader that closes the pipe early (``| head``) ends the
    command quietly, with status 0."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
        except BrokenPipeError:
            _stdout_gone()
        return result


def _stdout_gone() -> NoReturn:
    """Standard output's reader went away: point it at /dev/null (so that the flush at exit
    cannot fail again) and end with status 0, as `head` expects of a writer."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    sys.exit(0)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="whatworks")
@store_option
@click.pass_context
def main(ctx: click.Context) -> None:
    """whatworks: an EMMIE-coded evidence base for children's social care, as a knowledge graph.

    Load the bundled evidence with `whatworks load`, check it with `whatworks validate`, and
    ask it questions with `whatworks query`.
    """
    ctx.ensure_object(Context)


@main.command()
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@store_option
@click.pass_obj
def load(obj: Context, quiet: bool) -> None:
    """Load the bundled evidence base into the store (replacing its earlier version).

    The base is the coding sheets and the local-authority statistics (an RDF Data Cube),
    validated together and published in one step, as ingest publishes.
    """
    from whatworks.ingest.la_statistics import read_statistics

    try:
        statistics = read_statistics(bundled_statistics())
    except WhatworksError as exc:
        _fail(exc)
    _run_ingest(obj, bundled_evidence(), quiet=quiet, extra=statistics)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--kind",
    metavar="SHEET",
    help="Kind of records in CSV files whose name does not say (studies, findings, emmie, ...).",
)
@click.option(
    "--encoding",
    metavar="NAME",
    help="Text encoding of CSV/RIS/BibTeX files "
    "(default UTF-8, with or without a byte-order mark).",
)
@click.option("--graph", metavar="NAME", help="Graph name for a single file (default: its name).")
@click.option(
    "--id-base",
    metavar="IRI",
    default=None,
    help="Mint record IRIs under this base instead of https://w3id.org/whatworks/id/ "
    "(for synthetic or test data, e.g. https://w3id.org/whatworks/synthetic/id/).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show progress bars for long sheets (default: when on a terminal).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse on warnings too: a DOI that another work gives (the same work coded "
    "under two keys), SHACL warnings.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@validator_option
@store_option
@click.pass_obj
def ingest(
    obj: Context,
    paths: tuple[Path, ...],
    kind: str | None,
    encoding: str | None,
    graph: str | None,
    id_base: str | None,
    progress: bool | None,
    strict: bool,
    quiet: bool,
    validator: Engine,
) -> None:
    """Ingest coding sheets (CSV, XLSX), bibliographies (RIS, BibTeX) or RDF files.

    Each file becomes one named graph, replacing the graph of the same name; all files of
    one call are validated together and published in one step, or not at all: the store
    switches to a copy holding the new version with one rename (a remote store takes one
    update request). Readers see the old version or the new one, never a mixture.

    Every fault is reported in one run: rows that break the coding-sheet rules, references
    to nothing and keys another file uses, and SHACL violations of the rows that keep the
    rules, ordered by file, sheet, row and column (the first 200, then how many more).

    A file with no records (such as the blank sheet of `whatworks template`) is left out
    with a warning, and the store keeps its graph of that name as it was. When no file has
    any record, nothing is written and the exit status is 1.
    """
    _run_ingest(
        obj,
        list(paths),
        kind=kind,
        encoding=encoding,
        graph=graph,
        quiet=quiet,
        base=id_base,
        progress=progress,
        strict=strict,
        engine=validator,
    )


def _run_ingest(
    obj: Context,
    paths: Sequence[Path],
    *,
    quiet: bool,
    kind: str | None = None,
    encoding: str | None = None,
    graph: str | None = None,
    base: str | None = None,
    progress: bool | None = None,
    extra: Sequence[Source] = (),
    strict: bool = False,
    engine: Engine = "compiled",
) -> None:
    from whatworks.core.namespaces import ID
    from whatworks.ingest.pipeline import ingest as run

    try:
        store = obj.open()
        try:
            report = run(
                paths,
                store,
                encoding=encoding,
                kind=kind,
                graph=graph,
                progress=sys.stderr.isatty() if progress is None else progress,
                base=base or str(ID),
                extra=extra,
                strict=strict,
                engine=engine,
            )
        finally:
            store.close()
    except WhatworksError as exc:
        _fail(exc)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for path in report.empty:
        click.echo(f"warning: {path}: no records (a blank coding sheet?); left out", err=True)
    if not report.graphs:
        click.echo("error: no records in the files given; nothing was written", err=True)
        sys.exit(1)
    if not quiet:
        click.echo(
            f"ingested {len(report.graphs)} file(s): {report.records} records, "
            f"{report.triples} triples into {store.location} (version {report.version})"
        )


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write the report here.")
@click.option("--kind", metavar="SHEET", help="Kind of records in CSV files (see ingest).")
@click.option("--encoding", metavar="NAME", help="Text encoding of CSV files.")
@click.option("--id-base", metavar="IRI", default=None, help="As for ingest.")
@click.option(
    "--batch-triples",
    type=click.IntRange(min=1),
    default=VALIDATE_BATCH_TRIPLES,
    show_default=True,
    help="Validating the store: at most this many triples in memory at once "
    "(whole graphs, each batch with the classes of what it links to; ~1.6 KB a triple).",
)
@click.option(
    "--reason",
    is_flag=True,
    help="Check OWL consistency with the HermiT reasoner (needs Java) instead of the SHACL "
    "shapes: one line of result, exit 1 when inconsistent (with the clashing axioms), 2 when "
    "HermiT cannot run. Of the store, the local-authority statistics (too many individuals "
    "for HermiT; their shapes check them) and the provenance graphs (HermiT refuses their "
    "timestamps) are left out.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse on warnings too: a DOI that another work gives (the same work coded "
    "under two keys), SHACL warnings.",
)
@validator_option
@store_option
@click.pass_obj
def validate(
    obj: Context,
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    kind: str | None,
    encoding: str | None,
    id_base: str | None,
    batch_triples: int,
    reason: bool,
    strict: bool,
    validator: Engine,
) -> None:
    """Validate files (without storing them), or the whole store when no file is given.

    Files are checked as ingest checks them, every fault in one run. The text report shows
    the first 200 problems in reading order, then how many more; json and junit list all.
    Exit 0 when everything conforms, 1 on violations, 2 on usage or I/O errors.
    """
    from whatworks.core.namespaces import ID
    from whatworks.ingest.pipeline import prepare, validate_store

    if reason:
        if fmt != "text":
            raise click.UsageError("--reason reports in text only")
        _reason(obj, paths, output, kind=kind, encoding=encoding, id_base=id_base)
    target = ", ".join(map(str, paths)) if paths else "store"
    problems: list[Problem] = []
    warnings: list[Problem] = []
    try:
        if paths:
            location = store_target(obj.store_option)
            store = (
                open_configured_store(location, read_only=True)
                if is_remote(location) or Path(location).exists()
                else None
            )
            try:
                _, warnings = prepare(
                    list(paths),
                    store,
                    encoding=encoding,
                    kind=kind,
                    base=id_base or str(ID),
                    strict=strict,
                    engine=validator,
                )
            except (InputError, ValidationFailed) as exc:
                if exc.exit_code == 2:
                    raise
                problems = list(exc.problems)
            finally:
                if store is not None:
                    store.close()
        else:
            store = obj.open(read_only=True)
            try:
                problems, warnings = validate_store(
                    store, batch_triples=batch_triples, engine=validator
                )
                if strict:
                    problems, warnings = [*problems, *warnings], []
                target = f"store {store.location}"
            finally:
                store.close()
    except WhatworksError as exc:
        _fail(exc)
    text = _render_report(target, problems, warnings, fmt)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    sys.exit(1 if problems else 0)


def _reason(
    obj: Context,
    paths: tuple[Path, ...],
    output: Path | None,
    *,
    kind: str | None,
    encoding: str | None,
    id_base: str | None,
) -> NoReturn:
    """``validate --reason``: HermiT on the ontology plus the files, or the store's evidence;
    exit 0 consistent, 1 inconsistent (or a class that can have no member), 2 when it
    cannot run."""
    from rdflib import Graph

    from whatworks.core.namespaces import ID
    from whatworks.core.reasoner import (
        INCONSISTENT,
        ReasonerError,
        check_consistency,
        reasoned_graphs,
    )
    from whatworks.ingest.pipeline import read_sources

    try:
        if paths:
            target = ", ".join(map(str, paths))
            graph = Graph()
            for source in read_sources(
                list(paths), encoding=encoding, kind=kind, base=id_base or str(ID)
            ):
                graph += source.graph
        else:
            store = obj.open(read_only=True)
            try:
                target = f"store {store.location}"
                graph = union_graph(store, reasoned_graphs(store.graph_names()))
            finally:
                store.close()
        report = check_consistency(graph)
    except WhatworksError as exc:
        _fail(exc)
    except ReasonerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    # an inconsistency's message runs on with the clashing axioms: one line each here
    lines = [f"{target}: {report.message if report.consistent else INCONSISTENT}"]
    lines += [f"  {axiom}" for axiom in report.clashing_axioms]
    text = "\n".join(lines) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    sys.exit(0 if report.consistent and not report.unsatisfiable_classes else 1)


def _render_report(target: str, problems: list[Problem], warnings: list[Problem], fmt: str) -> str:
    if fmt == "json":
        return (
            json.dumps(
                {
                    "target": target,
                    "conforms": not problems,
                    "violations": [p.as_dict() for p in problems],
                    "warnings": [p.as_dict() for p in warnings],
                },
                indent=2,
            )
            + "\n"
        )
    if fmt == "junit":
        from xml.sax.saxutils import escape, quoteattr

        cases = "".join(
            f"  <testcase classname={quoteattr(p.file)} name={quoteattr(p.location())}>"
            f"<failure message={quoteattr(p.message)} type={quoteattr(p.shape_id or 'input')}>"
            f"{escape(str(p))}</failure></testcase>\n"
            for p in problems
        )
        if not problems:
            cases = f'  <testcase classname="whatworks" name={quoteattr(target)}/>\n'
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuite name="whatworks validate" tests="{max(1, len(problems))}" '
            f'failures="{len(problems)}">\n{cases}</testsuite>\n'
        )
    lines = [f"violation: {line}" for line in shown(problems)]
    lines += [f"warning: {line}" for line in shown(warnings)]
    verdict = "conforms" if not problems else f"{len(problems)} violation(s)"
    lines.append(f"{target}: {verdict}" + (f", {len(warnings)} warning(s)" if warnings else ""))
    return "\n".join(lines) + "\n"


@main.command()
@click.argument("source", metavar="NAME|FILE.rq|-", required=False)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter of a catalogue query (repeatable).",
)
@click.option("--list", "list_queries", is_flag=True, help="List the catalogue's queries.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "turtle"]),
    default="table",
    show_default=True,
    help="table/csv/json for SELECT and ASK (table: to read, IRIs as prefix:name, cells "
    "shortened to fit the terminal; json: for a catalogue query, the same answer as the "
    "API); turtle for CONSTRUCT and DESCRIBE.",
)
@store_option
@click.pass_obj
def query(
    obj: Context, source: str | None, params: tuple[str, ...], list_queries: bool, fmt: str
) -> None:
    """Run a catalogue query by NAME, or a SPARQL query from a file or standard input (-).

    The project's prefixes (emmie:, wwid:, concept:, prov:, dcterms:, ...) are declared for
    you. `whatworks query --list` shows the catalogue and its parameters.
    """
    from whatworks.core import catalogue
    from whatworks.core.namespaces import sparql_prologue

    if list_queries:
        for entry in catalogue.catalogue().values():
            click.echo(f"{entry.name}: {entry.summary}")
            for p in entry.params:
                extra = f" ({', '.join(p.allowed())})" if p.allowed() else ""
                click.echo(
                    f"    --param {p.name}=<{p.type}>{' required' if p.required else ''}{extra}"
                )
        return
    if source is None:
        raise click.UsageError("give a query NAME, a FILE.rq or - (or --list)")
    given: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        given[key.strip()] = value.strip()
    named: catalogue.NamedQuery | None = None
    if source == "-":
        text = sys.stdin.read()
    elif source.endswith(".rq") or Path(source).exists():
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            _fail(WhatworksError(f"cannot read {source}: {exc.strerror}"))
    else:
        try:
            named = catalogue.get(source)
        except WhatworksError as exc:
            _fail(exc)
        text = named.text
    if given and named is None:
        raise click.UsageError("--param is for catalogue queries (give a query NAME)")
    try:
        bindings = named.bindings(given) if named is not None else {}
        store = obj.open(read_only=True)
        try:
            result = store.query(sparql_prologue() + text, parameters=bindings)
            if named is not None and fmt == "json" and isinstance(result, ox.QuerySolutions):
                answer = catalogue.envelope(
                    named,
                    given,
                    store.dataset_version(),
                    json.loads(result.serialize(format=ox.QueryResultsFormat.JSON) or b"{}"),
                )
                click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
            else:
                _print_result(result, fmt)
        finally:
            store.close()
    except WhatworksError as exc:
        _fail(exc)


def _print_result(result: object, fmt: str) -> None:
    out = sys.stdout.buffer
    if isinstance(result, ox.QueryBoolean):
        if fmt == "json":
            out.write(result.serialize(format=ox.QueryResultsFormat.JSON) or b"")
            out.write(b"\n")
        else:
            click.echo("true" if bool(result) else "false")
        return
    if isinstance(result, ox.QueryTriples):
        rdf_format = ox.RdfFormat.TURTLE if fmt in ("turtle", "table") else ox.RdfFormat.N_TRIPLES
        if fmt == "json":
            rdf_format = ox.RdfFormat.JSON_LD
        ox.serialize(result, out, rdf_format)
        return
    assert isinstance(result, ox.QuerySolutions)
    if fmt == "json":
        result.serialize(out, ox.QueryResultsFormat.JSON)
        out.write(b"\n")
        return
    if fmt == "csv":
        result.serialize(out, ox.QueryResultsFormat.CSV)
        return
    if fmt == "turtle":
        _fail(WhatworksError("--format turtle is for CONSTRUCT and DESCRIBE queries"))
    names = [v.value for v in result.variables]
    rows = [[_cell(sol[name]) for name in names] for sol in result]
    widths = _fit([max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)])
    click.echo(_table_line(names, widths))
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo(_table_line(row, widths))
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def _fit(widths: list[int]) -> list[int]:
    """Column widths that fit the terminal ($COLUMNS, else the terminal's width; no limit
    when standard output is not a terminal): the widest columns are narrowed first, to one
    width for all of them."""
    limit = shutil.get_terminal_size(fallback=(0, 0)).columns
    room = limit - 2 * (len(widths) - 1)
    if limit <= 0 or sum(widths) <= room:
        return widths
    cap = max(widths)
    while cap > 1 and sum(min(w, cap) for w in widths) > room:
        cap -= 1
    return [min(w, cap) for w in widths]


def _table_line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(
        (c if len(c) <= w else c[: w - 1] + "\u2026").ljust(w)
        for c, w in zip(cells, widths, strict=True)
    ).rstrip()


def _cell(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return _curie(term.value)
    value = getattr(term, "value", None)
    text = str(value) if value is not None else str(term)
    return " ".join(text.split())  # one line a row: a cell's line breaks and tabs as spaces


def _curie(iri: str) -> str:
    """``iri`` as prefix:name with the project's prefixes (the longest base that matches),
    or whole when none does."""
    from whatworks.core.namespaces import PREFIXES

    best = max(
        ((p, base) for p, base in PREFIXES.items() if iri.startswith(base) and iri != base),
        key=lambda item: len(item[1]),
        default=None,
    )
    return f"{best[0]}:{iri[len(best[1]) :]}" if best else iri


#: File suffixes that make ``export --out`` write one file (the single-format mode).
_RDF_SUFFIXES = (".nq", ".nquads", ".trig", ".ttl", ".turtle", ".nt", ".ntriples")


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(EXPORT_FORMATS)),
    default=None,
    help="RDF format of a single file (N-Quads and TriG keep the named graphs) [default: nquads].",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="File to write (default: standard output); or a release folder: any path without "
    "an RDF file suffix (.nq .trig .ttl .nt), when --format is not given.",
)
@click.option("--force", is_flag=True, help="Release: replace a non-empty folder.")
@click.option(
    "--licence",
    metavar="IRI",
    default=None,
    help="Release: the dataset's licence (dcterms:license). Default: none claimed; see "
    "docs/releases.md.",
)
@click.option(
    "--endpoint",
    metavar="URL",
    default=None,
    help="Release: the public SPARQL endpoint (void:sparqlEndpoint). Default: none stated.",
)
@store_option
@click.pass_obj
def export(
    obj: Context,
    fmt: str | None,
    out: Path | None,
    force: bool,
    licence: str | None,
    endpoint: str | None,
) -> None:
    """Export the whole store as RDF: one file, or a release folder.

    A release folder holds N-Quads, TriG, Turtle, N-Triples, JSON-LD and RDF/XML dumps, the
    JSON-LD context, a VoID and DCAT description (void.ttl) and SHA256SUMS; it is written
    beside the target and renamed at the end (docs/releases.md).
    """
    release = (
        out is not None
        and fmt is None
        and (out.is_dir() or out.suffix.lower() not in _RDF_SUFFIXES)
    )
    if not release and (force or licence or endpoint):
        raise click.UsageError(
            "--force, --licence and --endpoint need a release folder (--out DIR)"
        )
    try:
        store = obj.open(read_only=True)
        try:
            if release:
                assert out is not None
                _export_release(store, out, force=force, licence=licence, endpoint=endpoint)
            elif out is None:
                store.export(sys.stdout.buffer, format=fmt or "nquads")
            else:
                tmp = out.with_name(out.name + ".part")
                with tmp.open("wb") as handle:
                    store.export(handle, format=fmt or "nquads")
                tmp.replace(out)
        finally:
            store.close()
    except WhatworksError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(WhatworksError(f"cannot write {out}: {exc.strerror}"))


def _export_release(
    store: Store, out: Path, *, force: bool, licence: str | None, endpoint: str | None
) -> None:
    from whatworks.publishing.release import write_release

    for name, value in (("--licence", licence), ("--endpoint", endpoint)):
        if value is not None and not value.startswith(("http://", "https://", "urn:")):
            raise click.BadParameter(f"{value!r} is not an absolute IRI", param_hint=name)
    done = write_release(store, out, force=force, licence=licence, endpoint=endpoint)
    total = sum(f.byte_size for f in done.files)
    click.echo(
        f"release {done.version or '(empty store)'}: {done.stats.triples} triples "
        f"({done.stats.quads} in {len(done.stats.graphs)} named graphs), "
        f"{len(done.files) + 2} files, {total} bytes in {done.folder}"
    )


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsx", "csv"]),
    default="xlsx",
    show_default=True,
    help="A workbook with a sheet per kind, or a folder of CSVs.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="The workbook file, or the folder for CSV files.",
)
def template(fmt: str, out: Path) -> None:
    """Write a blank coding sheet: every sheet with its columns, and a README."""
    from whatworks.ingest.template import write_csv_template, write_xlsx_template

    try:
        written = write_xlsx_template(out) if fmt == "xlsx" else write_csv_template(out)
    except OSError as exc:
        _fail(WhatworksError(f"cannot write {out}: {exc.strerror}"))
    click.echo(f"wrote {written}")


@main.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@store_option
@click.pass_obj
def backup(obj: Context, folder: Path, quiet: bool) -> None:
    """Write a backup of the store to DIR, a folder that must not exist yet.

    The engine's own backup: the store's table files, hard-linked when DIR is on the same
    file system as the store (so it is quick and small), copied otherwise. DIR appears only
    once the backup is whole; a backup that fails or is killed leaves nothing there and the
    store as it was. It may run while `whatworks serve` reads the store. Embedded stores
    only: for a remote store use `whatworks export` (N-Quads) or the server's own tools.
    """
    from whatworks.core.errors import StoreError
    from whatworks.core.store import EmbeddedStore

    if is_remote(store_target(obj.store_option)):
        _fail(
            StoreError(
                "backup works on the embedded store only; for a remote store use "
                "`whatworks export --format nquads` or the server's own backup"
            )
        )
    try:
        store = obj.open(read_only=True)
        try:
            assert isinstance(store, EmbeddedStore)
            store.backup(folder)
            version = store.dataset_version()
        finally:
            store.close()
    except WhatworksError as exc:
        _fail(exc)
    if not quiet:
        click.echo(f"backed up {store.location} (version {version}) to {folder}")


@main.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@store_option
@click.pass_obj
def restore(obj: Context, folder: Path, quiet: bool) -> None:
    """Replace the store with the backup in DIR (made by `whatworks backup`).

    The backup is copied beside the store and opened there first; the store is swapped
    for it only then, and the old store is removed after the swap. A restore that fails
    or is killed before the swap leaves the store as it was (one killed during the swap
    is finished by the next command that writes to the store, such as `ingest` or
    `restore`). DIR is not changed. Stop any
    ingest first: a store in use is refused. Embedded stores only.
    """
    from whatworks.core.errors import StoreError
    from whatworks.core.store import restore_store

    target = store_target(obj.store_option)
    if is_remote(target):
        _fail(
            StoreError(
                "restore works on the embedded store only; for a remote store load an "
                "N-Quads export with the server's own tools"
            )
        )
    try:
        version = restore_store(folder, Path(target))
    except WhatworksError as exc:
        _fail(exc)
    if not quiet:
        click.echo(f"restored {folder} (version {version}) to {target}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@store_option
@click.pass_obj
def stats(obj: Context, as_json: bool) -> None:
    """Counts per class and per named graph."""
    from whatworks.core.catalogue import internal

    try:
        store = obj.open(read_only=True)
        try:
            classes = [
                (str(r["c"]), int(str(r["n"])))
                for r in store.select(internal("cli_class_counts").sparql())
            ]
            graphs = [
                (str(r["g"]), int(str(r["n"])))
                for r in store.select(internal("cli_graph_sizes").sparql())
            ]
            version = store.dataset_version()
            location = store.location
        finally:
            store.close()
    except WhatworksError as exc:
        _fail(exc)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "store": location,
                    "version": version,
                    "classes": dict(classes),
                    "graphs": dict(graphs),
                },
                indent=2,
            )
        )
        return
    click.echo(f"store {location}, version {version}")
    click.echo(f"{sum(n for _, n in graphs)} triples in {len(graphs)} graphs")
    click.echo("\nrecords per class:")
    for cls, n in classes:
        click.echo(f"  {n:>7}  {_curie(cls)}")
    click.echo("\ntriples per graph:")
    for graph, n in graphs:
        click.echo(f"  {n:>7}  {_curie(graph)}")


@main.command()
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(path_type=Path))
@click.option(
    "--method",
    type=click.Choice(["REML", "DL"], case_sensitive=False),
    default="REML",
    show_default=True,
    help="Random-effects estimator: REML (PyMARE) or DerSimonian-Laird (statsmodels).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--svg", type=click.Path(path_type=Path), help="Write a forest plot (SVG) here.")
def meta(csv_file: Path, method: str, as_json: bool, svg: Path | None) -> None:
    """Pool a CSV of effect estimates with a random-effects meta-analysis.

    Columns: label, measure (OR, RR, HR, SMD, MD, RD), estimate, and either se (on the
    analysis scale: log for ratios) or ci_lower and ci_upper (natural scale; ci_level
    optional, default 0.95). Ratio results are reported on the natural scale.
    """
    from whatworks.analysis.meta_analysis import (
        forest_svg,
        pool,
        read_estimates_csv,
        result_as_json,
    )

    try:
        estimates = read_estimates_csv(csv_file)
        result = pool(estimates, method="DL" if method.upper() == "DL" else "REML")
    except WhatworksError as exc:
        _fail(exc)
    data = result_as_json(result)
    if svg is not None:
        svg.write_text(forest_svg(estimates, result), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key:>12}  {value}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=int,
    help="Request threads (queries run in separate worker processes).",
)
@store_option
@click.pass_obj
def serve(obj: Context, host: str, port: int, threads: int) -> None:
    """Serve the SPARQL endpoint (read-only) on a production WSGI server (waitress).

    Settings come from defaults, a TOML file named by $WHATWORKS_SETTINGS, and
    WHATWORKS_* variables (docs/server.md). The port is taken before anything starts: a
    port in use is one line of error and exit 2. The last line printed before serving is the
    address to open in a browser.
    """
    import waitress

    # Listening first: a busy port is said before the server and its query workers start.
    try:
        sockets = _listen(host, port)
    except WhatworksError as exc:
        _fail(exc)
    port = sockets[0].getsockname()[1]  # the one the system chose for --port 0
    try:
        from whatworks.server import create_app
        from whatworks.server.gap_map import keep_warm
        from whatworks.server.what_works import table as what_works_table

        try:
            app = create_app({"store": store_target(obj.store_option)})
        except WhatworksError as exc:
            _fail(exc)
        url = f"http://{_browsable(host)}:{port}/"
        click.echo(f"whatworks {__version__}: SPARQL endpoint at {url}sparql", err=True)
        click.echo(f"Open {url} in a browser (Ctrl-C to stop)", err=True)
        sys.stderr.flush()
        # The landing page's and the gap map's summaries, computed ahead of readers (at start
        # and after each ingest), so that the first reader of a large base does not wait.
        keep_warm(app, also=(what_works_table,))
        waitress.serve(
            app,
            sockets=sockets,
            threads=threads,
            ident="whatworks",
            clear_untrusted_proxy_headers=True,
            # waitress would buffer up to 1 GiB before the app could answer 413; past our own
            # limit plus 16 MiB it answers 413 itself (plain text) without buffering more
            max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 16 * 1024 * 1024,
            _quiet=True,
        )
    finally:
        for sock in sockets:
            sock.close()


def _listen(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address of ``host`` on ``port`` (as waitress would bind them).

    :raises WhatworksError: the port is in use or not allowed, or the host has no address.
    """
    try:
        addresses = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise WhatworksError(f"cannot listen on {host}: {exc.strerror}; see --host") from exc
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in bound:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = f"port {port} is in use on {host}; choose another with --port"
        elif exc.errno == errno.EACCES:
            reason = f"port {port} on {host} needs privileges; choose another with --port"
        else:
            reason = f"cannot listen on {host} port {port}: {exc.strerror}; see --host, --port"
        raise WhatworksError(reason) from exc
    return bound


def _browsable(host: str) -> str:
    """The host part of the address to open for a server listening on ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":  # pragma: no cover
    main()
