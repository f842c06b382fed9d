"""Bad files: every input to a reader yields data or an InputError, never another exception.

Property-based fuzzing (hypothesis) of the CSV, XLSX, RIS, BibTeX and RDF readers (Turtle,
N-Triples, JSON-LD, RDF/XML), from random bytes and from valid files mutated in ways people
and programs really break them; then the same through ``whatworks ingest``; then bombs
(an XLSX that inflates to 1 GiB, "billion laughs" RDF/XML, very deep nesting) which must
be refused quickly and without eating memory.

Runs are reproducible (``derandomize``) and write no example database. The number of
examples per property is ``WHATWORKS_FUZZ_EXAMPLES`` (default 60, about 30 s in all on a
loaded machine); a long run, e.g. before a release::

    WHATWORKS_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_readers.py

Every input here is made up by the test (format examples of the coding sheet, mutated);
none of it is evidence.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import textwrap
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CLI, SYNTHETIC_BASE, run_command
from whatworks.core.errors import InputError
from whatworks.ingest.bibliography import read_bibtex, read_ris
from whatworks.ingest.coding_sheet import SHEETS_BY_NAME
from whatworks.ingest.pipeline import read_sources
from whatworks.ingest.rdf_source import MAX_NESTING, read_rdf
from whatworks.ingest.records import parse_sheet
from whatworks.ingest.tabular import RawSheet, read_csv, read_xlsx

EXAMPLES = int(os.environ.get("WHATWORKS_FUZZ_EXAMPLES", "60"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
#: Properties whose examples are slow (a workbook saved and loaded per example).
FUZZ_SLOW = settings(FUZZ, max_examples=max(10, EXAMPLES // 2))


# --- the contract -------------------------------------------------------------------------


@contextmanager
def scratch(name: str, data: bytes) -> Iterator[Path]:
    """``data`` written to a file called ``name`` in a fresh temporary folder."""
    with tempfile.TemporaryDirectory(prefix="whatworks-fuzz-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path


def read_or_refuse(path: Path, read: Callable[[], Any]) -> Any:
    """Call a reader: it returns data, or raises an InputError about ``path``; nothing else
    (any other exception fails the test with its traceback and hypothesis's minimal input)."""
    try:
        return read()
    except InputError as exc:
        assert exc.problems, "an InputError carries at least one problem"
        for problem in exc.problems:
            assert problem.file == str(path), problem
            assert problem.message and str(problem).startswith(str(path))
        assert exc.exit_code in (1, 2)
        return None


def parse_all(raws: list[RawSheet] | RawSheet | None) -> None:
    """Whatever a reader returned goes through the row parser without an exception."""
    if raws is None:
        return
    for raw in raws if isinstance(raws, list) else [raws]:
        records, problems = parse_sheet(raw)
        for problem in problems:
            assert problem.file == raw.file and problem.row is not None


def ingest_or_refuse(path: Path) -> None:
    """The whole read step of ``whatworks ingest`` (read, parse rows, map, skolemize)."""
    read_or_refuse(path, lambda: read_sources([path], base=SYNTHETIC_BASE))


# --- building blocks ----------------------------------------------------------------------

#: Cells people and programs really write: formulas (CSV injection), NULs, BOMs, stray
#: quotes, bidi overrides, numbers in every spelling, huge values, separators.
TRICKY_CELLS = [
    "",
    " ",
    "=1+1",
    '=HYPERLINK("http://example.invalid","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\x00",
    "a\x00b",
    "\ufeff",
    '"',
    'a"b',
    "\r",
    "\n",
    "a\r\nb",
    "\u202eevil",
    "\u0663\u0661",
    "1e999999",
    "9" * 5000,
    "-" + "9" * 30,
    "NaN",
    "Infinity",
    "-0",
    "1_000",
    "0x1F",
    "1,5",
    "81.7%",
    "2020-02-30",
    "2020-W01-1",
    "20200101",
    "yes;no",
    ";",
    ";;;",
    "TRUE",
    "#N/A",
    "#DIV/0!",
    "https://doi.org/",
    "doi:",
    "10.5555/" + "x" * 300,
    "x" * 70_000,
    "ü" * 1000,
    "\ud7ff\ue000\U0010ffff",
]

cell_text = st.one_of(
    st.sampled_from(TRICKY_CELLS),
    st.text(max_size=40),
    st.from_regex(r"[A-Za-z0-9_.;:% -]{0,20}", fullmatch=True),
)

KINDS = ["studies", "interventions", "findings", "emmie", "economic", "statistics"]


def example_row(kind: str) -> dict[str, str]:
    """One row made of the coding sheet's own documented example values."""
    return {c.name: c.example for c in SHEETS_BY_NAME[kind].columns}


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    """A coding-sheet table (header first), then damaged cell by cell and row by row."""
    kind = draw(st.sampled_from(KINDS))
    columns = [c.name for c in SHEETS_BY_NAME[kind].columns]
    header = list(columns)
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["drop", "duplicate", "rename", "add", "shuffle"]))
        if action == "drop" and header:
            header.pop(draw(st.integers(0, len(header) - 1)))
        elif action == "duplicate" and header:
            header.append(draw(st.sampled_from(header)))
        elif action == "rename" and header:
            header[draw(st.integers(0, len(header) - 1))] = draw(cell_text)
        elif action == "add":
            header.append(draw(cell_text))
        elif action == "shuffle":
            header = draw(st.permutations(header))
    rows = [header]
    for number in range(draw(st.integers(0, 6))):
        base = example_row(kind)
        base["key"] = f"{base['key']}-{number}"
        row = [base.get(name, "") for name in header]
        for _ in range(draw(st.integers(0, 4))):
            if row:
                row[draw(st.integers(0, len(row) - 1))] = draw(cell_text)
        if draw(st.booleans()) and draw(st.booleans()):
            cut = draw(st.integers(0, len(row) + 3))
            row = row[:cut] + [draw(cell_text) for _ in range(max(0, cut - len(row)))]
        rows.append(row)
    if draw(st.booleans()) and len(rows) > 1:
        rows.append(list(rows[1]))  # a duplicate key
    return kind, rows


def mutate_bytes(draw: st.DrawFn, data: bytes, *, at_most: int = 4) -> bytes:
    """A few random byte edits: flip, insert, delete, duplicate, truncate."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(0, at_most))):
        action = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate"]))
        if not buffer:
            buffer.extend(draw(st.binary(min_size=1, max_size=8)))
            continue
        at = draw(st.integers(0, len(buffer) - 1))
        if action == "flip":
            buffer[at] ^= draw(st.integers(1, 255))
        elif action == "insert":
            buffer[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del buffer[at : at + draw(st.integers(1, 64))]
        elif action == "duplicate":
            buffer[at:at] = buffer[at : at + draw(st.integers(1, 256))]
        else:
            del buffer[at:]
    return bytes(buffer)


def mutate_text(draw: st.DrawFn, text: str, tokens: list[str], *, at_most: int = 4) -> str:
    """A few edits of a text with grammar tokens of its format: insert, delete, duplicate."""
    for _ in range(draw(st.integers(0, at_most))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["token", "token", "text", "delete", "duplicate"]))
        if action == "token":
            text = text[:at] + draw(st.sampled_from(tokens)) + text[at:]
        elif action == "text":
            text = text[:at] + draw(st.text(max_size=12)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        else:
            text = text[:at] + text[at : at + draw(st.integers(1, 200))] + text[at:]
    return text


def encode(draw: st.DrawFn, text: str) -> bytes:
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")


# --- CSV ----------------------------------------------------------------------------------


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, bytes]:
    kind, rows = draw(tables())
    out = io.StringIO()
    if draw(st.booleans()):
        csv.writer(out, lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"]))).writerows(rows)
    else:  # written by hand, without quoting: commas and quotes in cells break the rows
        separator = draw(st.sampled_from([",", ",", ";", "\t"]))
        out.write("\n".join(separator.join(row) for row in rows))
    data = encode(draw, out.getvalue())
    if draw(st.booleans()):
        data = mutate_bytes(draw, data)
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" * draw(st.integers(1, 3)) + data
    return f"fuzz.{kind}.csv", data


@FUZZ
@given(st.binary(max_size=2000))
def test_csv_random_bytes(data: bytes) -> None:
    with scratch("random.studies.csv", data) as path:
        parse_all(read_or_refuse(path, lambda: read_csv(path)))


@FUZZ
@given(csv_files())
def test_csv_damaged_coding_sheets(case: tuple[str, bytes]) -> None:
    name, data = case
    with scratch(name, data) as path:
        parse_all(read_or_refuse(path, lambda: read_csv(path)))
        ingest_or_refuse(path)


@FUZZ
@given(csv_files(), st.sampled_from(["latin-1", "utf-16", "cp1252", "idna", "ascii", "nope"]))
def test_csv_named_encodings(case: tuple[str, bytes], encoding: str) -> None:
    name, data = case
    with scratch(name, data) as path:
        parse_all(read_or_refuse(path, lambda: read_csv(path, encoding=encoding)))


def test_csv_that_is_only_a_byte_order_mark(tmp_path: Path) -> None:
    """Found while fuzzing: a BOM alone passed the emptiness check and crashed (IndexError)."""
    path = tmp_path / "bom.studies.csv"
    path.write_bytes(b"\xef\xbb\xbf")
    with pytest.raises(InputError, match="bom.studies.csv: the file is empty"):
        read_csv(path)


def test_huge_whole_number_is_a_cell_problem(tmp_path: Path) -> None:
    """Found while fuzzing: int() refuses more than 4300 digits with a ValueError."""
    path = tmp_path / "big.findings.csv"
    row = example_row("findings") | {"n": "9" * 5000}
    out = io.StringIO()
    csv.writer(out).writerows([list(row), list(row.values())])
    path.write_text(out.getvalue())
    _, problems = parse_sheet(read_csv(path))
    assert [(p.row, p.column, p.message) for p in problems] == [(2, "n", "not a whole number")]


# --- XLSX ---------------------------------------------------------------------------------

XLSX_PARTS = [
    "[Content_Types].xml",
    "_rels/.rels",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/worksheets/sheet1.xml",
    "xl/sharedStrings.xml",
    "xl/styles.xml",
    "docProps/core.xml",
]

XML_TOKENS = [
    "<",
    ">",
    "</row>",
    "<row>",
    '<row r="1048577">',
    '<row r="99999999999">',
    '<c r="XFD1"><v>1</v></c>',
    '<c r="A1" t="s"><v>999999</v></c>',
    '<c t="inlineStr"><is><t>x</t></is></c>',
    '<c t="n"><v>nan</v></c>',
    '<c t="d"><v>not a date</v></c>',
    '<c t="b"><v>2</v></c>',
    '<c s="9999"><v>1</v></c>',
    '<dimension ref="A1:XFD1048576"/>',
    '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    "&b;",
    "&#0;",
    "<![CDATA[",
    '"',
    "\x00",
    'xmlns="urn:x"',
    '<sheet name="studies" sheetId="9" r:id="rId99"/>',
    '<sheet name="findings" sheetId="1" r:id="rId1"/>',
]


def workbook_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        worksheet = workbook.create_sheet(title)
        for row in rows:
            worksheet.append(
                [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row]
            )
    out = io.BytesIO()
    workbook.save(out)
    # The same workbook must give the same bytes (hypothesis replays draws that depend on
    # them): no save time in the properties, no clock in the zip.
    with zipfile.ZipFile(out) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members["docProps/core.xml"] = re.sub(
        rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2020-01-01T00:00:00Z", members["docProps/core.xml"]
    )
    return rezip(members)


cell_value = st.one_of(
    cell_text.map(lambda t: t[:32000]),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.none(),
)

SHEET_TITLES = ["studies", "findings", "interventions", "README", "_lists", "Sheet9", "Findings "]


@st.composite
def workbooks(draw: st.DrawFn) -> bytes:
    sheets: dict[str, list[list[Any]]] = {}
    for title in draw(st.lists(st.sampled_from(SHEET_TITLES), min_size=1, max_size=3, unique=True)):
        kind = title.strip().lower()
        if kind in SHEETS_BY_NAME:
            _, rows = draw(tables())
            header = rows[0]
            rows = [header] + [
                [draw(cell_value) if draw(st.integers(0, 5)) == 0 else v for v in row]
                for row in rows[1:]
            ]
        else:
            rows = draw(st.lists(st.lists(cell_value, max_size=4), max_size=4))
        sheets[title] = rows
    return workbook_bytes(sheets)


def rezip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, compression)
    return out.getvalue()


@st.composite
def damaged_workbooks(draw: st.DrawFn) -> bytes:
    data = draw(workbooks())
    how = draw(st.sampled_from(["part", "part", "bytes", "truncate", "drop", "stored"]))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    if how == "part":  # one XML part edited: the zip stays valid, the XML does not
        name = draw(st.sampled_from(sorted(members)))
        text = members[name].decode("utf-8", errors="replace")
        members[name] = mutate_text(draw, text, XML_TOKENS, at_most=3).encode(
            "utf-8", errors="surrogatepass"
        )
        return rezip(members)
    if how == "bytes":
        return mutate_bytes(draw, data)
    if how == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if how == "drop":
        members.pop(draw(st.sampled_from(sorted(members))))
        return rezip(members)
    return rezip(members, compression=zipfile.ZIP_STORED)


@st.composite
def random_zips(draw: st.DrawFn) -> bytes:
    names = draw(
        st.lists(
            st.one_of(st.sampled_from(XLSX_PARTS), st.text(min_size=1, max_size=20)),
            max_size=5,
            unique=True,
        )
    )
    members = {
        name: draw(st.one_of(st.binary(max_size=200), st.sampled_from(XML_TOKENS).map(str.encode)))
        for name in names
        if "\x00" not in name
    }
    return rezip(members)


@FUZZ
@given(st.binary(max_size=2000))
def test_xlsx_random_bytes(data: bytes) -> None:
    with scratch("random.xlsx", data) as path:
        parse_all(read_or_refuse(path, lambda: read_xlsx(path)))


@FUZZ
@given(random_zips())
def test_xlsx_random_zips(data: bytes) -> None:
    with scratch("zip.xlsx", data) as path:
        parse_all(read_or_refuse(path, lambda: read_xlsx(path)))


@FUZZ_SLOW
@given(workbooks())
def test_xlsx_workbooks_with_bad_cells(data: bytes) -> None:
    with scratch("cells.xlsx", data) as path:
        parse_all(read_or_refuse(path, lambda: read_xlsx(path)))
        ingest_or_refuse(path)


@FUZZ_SLOW
@given(damaged_workbooks())
def test_xlsx_damaged_workbooks(data: bytes) -> None:
    with scratch("damaged.xlsx", data) as path:
        parse_all(read_or_refuse(path, lambda: read_xlsx(path)))


def test_xlsx_damaged_sheet_part_is_located(tmp_path: Path) -> None:
    """Found while fuzzing: a broken sheet part raised from inside openpyxl's row iterator."""
    data = workbook_bytes({"studies": [["key", "title", "verified"], ["k1", "T", "no"]]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"][:-40]
    path = tmp_path / "cut.xlsx"
    path.write_bytes(rezip(members))
    with pytest.raises(InputError, match=r"cut.xlsx, sheet studies: cannot read this sheet"):
        read_xlsx(path)


# --- RIS ----------------------------------------------------------------------------------

RIS_TAGS = ["TY", "ID", "AU", "A1", "TI", "T1", "JO", "JF", "PY", "Y1", "DO", "PB", "UR"]
RIS_TAGS += ["KW", "N1", "AB", "SP", "EP", "VL", "IS", "ER", "T2", "DA", "ZZ", "  ", "TY"]


@st.composite
def ris_texts(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 4)):
            lines.append("TY  - " + draw(st.sampled_from(["JOUR", "RPRT", "BOOK", "", "x"])))
        for _ in range(draw(st.integers(0, 8))):
            tag = draw(st.one_of(st.sampled_from(RIS_TAGS), st.text(min_size=0, max_size=3)))
            separator = draw(st.sampled_from(["  - ", "  - ", " - ", "  -", "-", ""]))
            lines.append(tag + separator + draw(cell_text))
        if draw(st.integers(0, 4)):
            lines.append("ER  - ")
        lines.append(draw(st.sampled_from(["", "", " ", "\x0c", "\u2028"])))
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    return mutate_text(draw, text, ["TY  - JOUR\n", "ER  - \n", "\n", "AU  - ", "  - "])


@FUZZ
@given(st.text(max_size=1000))
def test_ris_random_text(text: str) -> None:
    path = Path("random.ris")
    parse_all(read_or_refuse(path, lambda: read_ris(path, text)))


@FUZZ
@given(ris_texts())
def test_ris_damaged_exports(text: str) -> None:
    path = Path("export.ris")
    parse_all(read_or_refuse(path, lambda: read_ris(path, text)))
    with scratch("export.ris", text.encode("utf-8", errors="surrogatepass")) as real:
        ingest_or_refuse(real)


# --- BibTeX -------------------------------------------------------------------------------

BIB_TOKENS = ["{", "}", "{" * 50, "}" * 50, "@", "@article{", ",", "=", '"', "#", "\\", "%"]
BIB_TOKENS += ["@string{x = {y}}", "@comment{", "@preamble{", "\n", "title = ", "author = "]


@st.composite
def bibtex_texts(draw: st.DrawFn) -> str:
    entries: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["article", "techreport", "misc", "ONLINE", "string", ""]))
        key = draw(st.one_of(st.from_regex(r"[A-Za-z0-9_:-]{0,12}", fullmatch=True), cell_text))
        fields = []
        for _ in range(draw(st.integers(0, 5))):
            name = draw(st.sampled_from(["title", "author", "year", "doi", "journal", "x", ""]))
            value = draw(cell_text)
            depth = draw(st.integers(0, 3)) ** 3
            wrap = draw(st.sampled_from(["{}", '""', "", "{{}}"]))
            if wrap:
                value = (
                    wrap[: len(wrap) // 2]
                    + "{" * depth
                    + value
                    + "}" * depth
                    + wrap[len(wrap) // 2 :]
                )
            fields.append(f"  {name} = {value}")
        entries.append(f"@{kind}{{{key},\n" + ",\n".join(fields) + "\n}")
    text = "\n\n".join(entries)
    return mutate_text(draw, text, BIB_TOKENS)


@FUZZ
@given(st.text(max_size=1000))
def test_bibtex_random_text(text: str) -> None:
    path = Path("random.bib")
    parse_all(read_or_refuse(path, lambda: read_bibtex(path, text)))


@FUZZ
@given(bibtex_texts())
def test_bibtex_damaged_exports(text: str) -> None:
    path = Path("export.bib")
    parse_all(read_or_refuse(path, lambda: read_bibtex(path, text)))
    with scratch("export.bib", text.encode("utf-8", errors="surrogatepass")) as real:
        ingest_or_refuse(real)


# --- RDF ----------------------------------------------------------------------------------

E = SYNTHETIC_BASE
TURTLE = f"""@prefix emmie: <https://w3id.org/whatworks/emmie#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{E}intervention/f1> a emmie:Intervention ; rdfs:label "Fuzz"@en , "x\\n\\u00e9" ;
    emmie:key "f1" ; rdfs:seeAlso [ rdfs:label "nested" ; rdfs:comment ( 1 2.5 true ) ] ;
    rdfs:comment "2020-01-01"^^xsd:date .
"""


def rdf_documents() -> dict[str, str]:
    from rdflib import Graph

    graph = Graph().parse(data=TURTLE, format="turtle")
    return {
        ".ttl": TURTLE,
        ".nt": graph.serialize(format="nt"),
        ".jsonld": graph.serialize(format="json-ld"),
        ".rdf": graph.serialize(format="xml"),
    }


DOCUMENTS = rdf_documents()

RDF_TOKENS = {
    ".ttl": ["[", "]", "(", ")", ".", ";", ",", "<<", ">>", "<<(", ")>>", "_:b", "a", "@prefix"]
    + ['"""', '"', "'", "#", "^^", "@en", "\\u0000", "<http://a b>", "<//x>", "<a:b>", "<>"]
    + ["@base <rel> .", "PREFIX x: <x:>", "x:", "1e999999", '"x"^^xsd:integer', "{|", "|}"],
    ".nt": ["<", ">", "<http://a b>", "<//x>", "_:", '"', "\\", "\\U0010FFFF", "\\uD800", "."]
    + ["<<(", ")>>", "@en--ltr", "^^", "\n", '"1"^^<http://www.w3.org/2001/XMLSchema#int>'],
    ".jsonld": ["{", "}", "[", "]", ",", ":", '"', '"@id"', '"@context"', '"@graph"', '"@list"']
    + ['"@type"', '"@value"', '"@language"', '"@reverse"', '"@vocab"', '"@base"', '"@import"']
    + ['"http://127.0.0.1:9/c.jsonld"', '"@nest"', '"@included"', "null", "1e999", '"\\ud800"'],
    ".rdf": ["<", ">", "</", "/>", "<rdf:Description>", "</rdf:Description>", 'rdf:about="']
    + ['rdf:parseType="Literal"', 'rdf:parseType="Collection"', 'rdf:parseType="Triple"']
    + ["&amp;", "&x;", "&#0;", "<![CDATA[", "<!--", "<?pi?>", "xml:lang=", "xml:base="]
    + ['<!DOCTYPE r [<!ENTITY x "y">]>', 'rdf:resource="http://a b"', 'rdf:nodeID="1"'],
}


@st.composite
def rdf_files(draw: st.DrawFn) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from(sorted(DOCUMENTS)))
    text = mutate_text(draw, DOCUMENTS[suffix], RDF_TOKENS[suffix], at_most=5)
    if draw(st.integers(0, 5)) == 0:  # a long literal
        text = text.replace("nested", "n" * draw(st.integers(0, 300_000)), 1)
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        data = mutate_bytes(draw, data, at_most=2)
    return "fuzz" + suffix, data


@st.composite
def nested_rdf(draw: st.DrawFn) -> tuple[str, bytes]:
    """Nesting around the limit, in every format and every way to nest."""
    depth = draw(st.integers(0, 3 * MAX_NESTING))
    s, p = f"<{E}x>", "<http://www.w3.org/2000/01/rdf-schema#seeAlso>"
    shape = draw(st.sampled_from(["ttl[", "ttl(", "nt<<", "json{", "json[", "xml"]))
    if shape == "ttl[":
        text = f"{s} {p} " + f"[ {p} " * depth + '"x"' + " ]" * depth + " ."
    elif shape == "ttl(":
        text = f"{s} {p} " + "( " * depth + '"x"' + " )" * depth + " ."
    elif shape == "nt<<":
        text = f"{s} {p} " + f"<<( {s} {p} " * depth + s + " )>>" * depth + " .\n"
    elif shape == "json{":
        text = f'{{"@id": "{E}x", "{p[1:-1]}": ' * depth + '"x"' + "}" * depth
    elif shape == "json[":
        text = f'{{"@id": "{E}x", "{p[1:-1]}": ' + "[" * depth + '"x"' + "]" * depth + "}"
    else:
        text = (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:r="http://www.w3.org/2000/01/rdf-schema#">'
            f'<rdf:Description rdf:about="{E}x">'
            + "<r:seeAlso><rdf:Description>" * depth
            + "</rdf:Description></r:seeAlso>" * depth
            + "</rdf:Description></rdf:RDF>"
        )
    suffix = {"ttl": ".ttl", "nt<": ".nt", "jso": ".jsonld", "xml": ".rdf"}[shape[:3]]
    return "nested" + suffix, text.encode()


@FUZZ
@given(st.sampled_from(sorted(DOCUMENTS)), st.binary(max_size=1000))
def test_rdf_random_bytes(suffix: str, data: bytes) -> None:
    path = Path("random" + suffix)
    read_or_refuse(path, lambda: read_rdf(path, data))


@FUZZ
@given(rdf_files())
def test_rdf_damaged_documents(case: tuple[str, bytes]) -> None:
    name, data = case
    path = Path(name)
    read_or_refuse(path, lambda: read_rdf(path, data))
    with scratch(name, data) as real:
        ingest_or_refuse(real)


@FUZZ
@given(nested_rdf())
def test_rdf_nesting(case: tuple[str, bytes]) -> None:
    name, data = case
    path = Path(name)
    read_or_refuse(path, lambda: read_rdf(path, data))


def test_rdf_triple_terms_are_refused_clearly() -> None:
    """Found while fuzzing: RDF 1.2 triple terms reached rdflib and raised a TypeError."""
    path = Path("star.ttl")
    data = f"<{E}a> <{E}b> <<( <{E}a> <{E}b> <{E}c> )>> .".encode()
    with pytest.raises(InputError, match=r"star.ttl, row 1: RDF 1.2 triple terms"):
        read_rdf(path, data)


def test_rdf_doctype_after_4_kib_is_still_refused() -> None:
    """Found while fuzzing: the DOCTYPE check looked at the first 4 KiB only."""
    path = Path("late.rdf")
    data = LATE_LAUGHS.encode()
    with pytest.raises(InputError, match=r"late.rdf, row 3: refused: RDF/XML with a DOCTYPE"):
        read_rdf(path, data)


def test_bibliography_in_a_codec_that_fails_oddly(tmp_path: Path) -> None:
    path = tmp_path / "odd.ris"
    path.write_bytes(b"TY  - JOUR\nTI  - a..b\nER  - \n")
    read_or_refuse(path, lambda: read_sources([path], encoding="punycode", base=SYNTHETIC_BASE))


# --- through the command line -------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n<!ENTITY a "aaaaaaaaaa">\n'
    + "".join(
        f'<!ENTITY {b} "{("&" + a + ";") * 10}">\n'
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + ']>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:r="http://www.w3.org/2000/01/rdf-schema#"><rdf:Description '
    f'rdf:about="{E}x"><r:label>&i;</r:label></rdf:Description></rdf:RDF>\n'
)

#: The same after 5,000 bytes of comment: the first check looked at 4 KiB only.
LATE_LAUGHS = BILLION_LAUGHS.replace("?>\n", "?>\n<!--" + " " * 5000 + "-->\n", 1)

BAD_FILES: dict[str, bytes] = {
    "bom.studies.csv": b"\xef\xbb\xbf",
    "ragged.studies.csv": b"key,title,verified\nk1,T,no,extra,cells\n",
    "latin.studies.csv": "key,title,verified\nk1,Café,no\n".encode("latin-1"),
    "huge.findings.csv": b'key,n\nk1,"' + b"9" * 200_000 + b'"\n',
    "notzip.xlsx": b"PK\x03\x04 this is not a zip",
    "cut.xlsx": b"",  # filled in below: a workbook cut in half
    "unbalanced.bib": b"@article{k1, title = {{{{never closed}\n",
    "nothing.ris": b"AU  - Nobody\n",
    "star.ttl": f"<{E}a> <{E}b> <<( <{E}a> <{E}b> <{E}c> )>> .".encode(),
    "deep.jsonld": b'{"@id": "http://e/a", "http://e/p": ' * 5000 + b"1" + b"}" * 5000,
    "deep.ttl": f"<{E}a> <{E}b> ".encode() + b"[ <http://e/p> " * 5000 + b"1" + b"]" * 5000,
    "laughs.rdf": LATE_LAUGHS.encode(),
    "broken.nt": b"<http://e/a> <http://e/b> \n",
}


def bad_files(folder: Path) -> list[Path]:
    paths = []
    for name, data in BAD_FILES.items():
        if name == "cut.xlsx":
            whole = workbook_bytes({"studies": [["key", "title", "verified"], ["k", "T", "no"]]})
            data = whole[: len(whole) // 2]
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_cli_refuses_each_bad_file_clearly(
    name: str, cli: CLI, tmp_path: Path, store_dir: Path
) -> None:
    path = next(p for p in bad_files(tmp_path) if p.name == name)
    result = cli("ingest", "--id-base", SYNTHETIC_BASE, str(path))
    assert result.exit_code in (1, 2), result.output
    assert "error:" in result.output and name in result.output
    assert "Traceback" not in result.output
    assert not store_dir.exists() or "nothing was written" in result.output


def test_cli_in_a_process_reports_every_bad_file_without_traceback(
    tmp_path: Path, store_dir: Path
) -> None:
    paths = bad_files(tmp_path)
    ill_typed = tmp_path / "illtyped.ttl"  # valid RDF; rdflib used to log a traceback
    ill_typed.write_text(
        f'<{E}intervention/x> <http://www.w3.org/2000/01/rdf-schema#comment> "abc"^^'
        "<http://www.w3.org/2001/XMLSchema#integer> .\n"
    )
    done = run_command(store_dir, "ingest", "--id-base", SYNTHETIC_BASE, *map(str, paths))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    for path in paths:
        assert path.name in done.stderr, path.name
    done = run_command(store_dir, "ingest", "--id-base", SYNTHETIC_BASE, str(ill_typed))
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr, done.stderr


# --- bombs --------------------------------------------------------------------------------

GIB = 1024**3


def raw_deflate(data: bytes) -> bytes:
    """``data`` as a raw deflate block that ends on a byte boundary with the history reset,
    so copies of it concatenate into one valid deflate stream."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)


def write_zip(
    path: Path, members: list[tuple[str, Callable[[], Iterator[bytes]], int, int]]
) -> None:
    """A zip written by hand, member by member from deflate chunks, so that a member can
    inflate to far more than the memory used to make it, and can declare any size.

    Each member is (name, chunks of raw deflate, declared size, CRC-32).
    """
    central = b""
    with path.open("wb") as out:
        for name, chunks, size, crc in members:
            offset = out.tell()
            encoded = name.encode()
            header = struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, 0, size, len(encoded), 0
            )
            out.write(header + encoded)
            start = out.tell()
            for chunk in chunks():
                out.write(chunk)
            out.write(b"\x03\x00")  # an empty final block ends the stream
            packed = out.tell() - start
            out.seek(offset + 18)
            out.write(struct.pack("<I", packed))
            out.seek(0, 2)
            central += (
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    20,
                    20,
                    0,
                    8,
                    0,
                    0x21,
                    crc,
                    packed,
                    size,
                    len(encoded),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + encoded
            )
        where = out.tell()
        out.write(central)
        out.write(
            struct.pack(
                "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), where, 0
            )
        )


def bomb_workbook(path: Path, *, declared: int | None = None, inflated: int = GIB) -> int:
    """A real workbook whose sheet XML inflates to ``inflated`` bytes (of rows) from about
    1 MB on disk. ``declared`` lies about the size in the zip's directory."""
    small = workbook_bytes({"studies": [["key", "title", "verified"]]})
    with zipfile.ZipFile(io.BytesIO(small)) as archive:
        parts = {i.filename: archive.read(i) for i in archive.infolist()}
    sheet_name = "xl/worksheets/sheet1.xml"
    head = parts[sheet_name].split(b"<sheetData>")[0] + b"<sheetData>"
    tail = b"</sheetData></worksheet>"
    unit = b'<row><c t="inlineStr"><is><t>laugh</t></is></c></row>'
    block = unit * (1024 * 1024 // len(unit))
    repeats = (inflated - len(head) - len(tail)) // len(block) + 1
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + repeats * len(block) + len(tail)
    packed_block = raw_deflate(block)

    def sheet_chunks() -> Iterator[bytes]:
        yield raw_deflate(head)
        for _ in range(repeats):
            yield packed_block
        yield raw_deflate(tail)

    members = []
    for name, data in parts.items():
        if name == sheet_name:
            members.append((name, sheet_chunks, size if declared is None else declared, crc))
        else:
            members.append(
                (name, lambda d=data: iter([raw_deflate(d)]), len(data), zlib.crc32(data))
            )
    write_zip(path, members)
    return size


def measure_in_a_process(kind: str, path: Path) -> dict[str, Any]:
    """Read ``path`` in a fresh interpreter; return the outcome, seconds and memory growth."""
    script = textwrap.dedent(
        f"""
        import json, resource, sys, time
        from pathlib import Path
        from whatworks.core.errors import InputError
        from whatworks.ingest.rdf_source import read_rdf
        from whatworks.ingest.tabular import read_xlsx
        path = Path({str(path)!r})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        try:
            {"read_xlsx(path)" if kind == "xlsx" else "read_rdf(path, path.read_bytes())"}
            outcome = "read"
        except InputError as exc:
            outcome = str(exc)
        seconds = time.perf_counter() - started
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(json.dumps({{"outcome": outcome, "seconds": seconds, "grown_mib": grown / 1024}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{path.name}: {result}")  # the figures, with pytest -s
    return result


@pytest.mark.slow
def test_xlsx_zip_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    inflated = bomb_workbook(path)
    assert inflated > GIB and path.stat().st_size < 4 * 1024 * 1024
    result = measure_in_a_process("xlsx", path)
    assert "bomb.xlsx" in result["outcome"] and "implausible size" in result["outcome"]
    assert result["seconds"] < 30, "generous: this is to catch a hang, not to time it"
    assert result["grown_mib"] < 200


@pytest.mark.slow
def test_xlsx_zip_bomb_that_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    """The directory claims 64 KiB; zipfile stops there and the CRC check fails."""
    path = tmp_path / "liar.xlsx"
    bomb_workbook(path, declared=64 * 1024, inflated=64 * 1024 * 1024)
    result = measure_in_a_process("xlsx", path)
    assert "liar.xlsx, sheet studies: cannot read this sheet" in result["outcome"], result
    assert result["seconds"] < 30 and result["grown_mib"] < 200


def test_xlsx_rows_below_a_too_small_dimension_are_read(tmp_path: Path) -> None:
    """Found while fuzzing: the read-only reader trusted <dimension> and silently dropped
    the rows below it (a workbook written by a careless tool lost records)."""
    data = workbook_bytes(
        {"studies": [["key", "title", "verified"], ["k1", "T", "no"], ["k2", "U", "no"]]}
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {i.filename: archive.read(i) for i in archive.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = re.sub(
        rb'<dimension ref="[^"]*" */>', b'<dimension ref="A1:A1"/>', sheet
    )
    path = tmp_path / "small-dimension.xlsx"
    path.write_bytes(rezip(parts))
    (raw,) = read_xlsx(path)
    assert raw.header == ("key", "title", "verified")
    assert raw.rows == ((2, ("k1", "T", "no")), (3, ("k2", "U", "no")))


def test_xlsx_claiming_a_billion_rows_is_refused(tmp_path: Path) -> None:
    """Found while fuzzing: a few bytes of sheet XML (a far row number, a wide dimension)
    made the reader fill in empty rows of 16,384 cells for minutes (killed after 60 s)."""
    data = workbook_bytes({"studies": [["key", "title", "verified"], ["k1", "T", "no"]]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {i.filename: archive.read(i) for i in archive.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    sheet = re.sub(rb'<dimension ref="[^"]*" */>', b'<dimension ref="A1:XFD1048576"/>', sheet)
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        b"</sheetData>", b'<row r="999999999"><c r="XFD999999999"><v>1</v></c></row></sheetData>'
    )
    path = tmp_path / "far.xlsx"
    path.write_bytes(rezip(parts))
    result = measure_in_a_process("xlsx", path)
    assert "far.xlsx, sheet studies" in result["outcome"] and "1048576 rows" in result["outcome"]
    assert result["seconds"] < 30 and result["grown_mib"] < 200


# Before the scan in rdf_source: the late DOCTYPE was expanded by Oxigraph (2 GB of memory,
# 5 s), the deep JSON-LD and the nested triple terms killed the interpreter (SIGSEGV, stack
# overflow in the parser) and the deep RDF/XML took more than a minute (cubic in depth).
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("laughs.rdf", BILLION_LAUGHS.encode(), "DOCTYPE"),
        ("late-laughs.rdf", LATE_LAUGHS.encode(), "DOCTYPE"),
        (
            "deep.jsonld",
            b'{"@id": "http://e/a", "http://e/p": ' * 100_000 + b"1" + b"}" * 100_000,
            "nested more than",
        ),
        (
            "deep.ttl",
            b"<http://e/a> <http://e/b> "
            + b"[ <http://e/p> " * 100_000
            + b"1"
            + b"]" * 100_000
            + b" .",
            "nested more than",
        ),
        (
            "deep.rdf",
            (
                '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
                '<rdf:Description rdf:about="http://e/a">'
                + "<e:p><rdf:Description>" * 100_000
                + "</rdf:Description></e:p>" * 100_000
                + "</rdf:Description></rdf:RDF>"
            ).encode(),
            "nested more than",
        ),
        (
            "star.nt",
            b"<http://e/a> <http://e/b> "
            + b"<<( <http://e/a> <http://e/b> " * 100_000
            + b"<http://e/c>"
            + b" )>>" * 100_000
            + b" .\n",
            "triple terms",
        ),
    ],
)
def test_rdf_bombs_are_refused_quickly(
    name: str, data: bytes, message: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = measure_in_a_process("rdf", path)
    assert name in result["outcome"] and message in result["outcome"], result
    assert result["seconds"] < 30, "generous: this is to catch a hang, not to time it"
    assert result["grown_mib"] < 200
