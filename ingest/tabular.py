"""Reading CSV files and XLSX workbooks into raw rows of text, refusing clearly what cannot be read.

Nothing here knows what a column means: that is :mod:`whatworks.ingest.records`. What
this module guarantees is that text arrives as the author wrote it (UTF-8, with or without
a byte-order mark, or an encoding the user names) and never as mojibake.
"""

from __future__ import annotations

import contextlib
import csv
import io
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from whatworks.core.errors import InputError, Problem

from .coding_sheet import SHEETS_BY_NAME, Sheet, sheet_for_file_stem

#: Sheets of a workbook that hold notes for people, not records.
IGNORED_SHEETS = frozenset({"readme", "about", "notes", "lists"})

#: Refuse workbooks that would inflate beyond this (zip bombs).
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_XLSX_RATIO = 200
#: Excel's own limits: a sheet claiming more rows is corrupt or hostile (a few bytes of XML
#: can claim row 10⁹ and make a reader fill the gap with empty rows).
MAX_XLSX_ROWS = 1_048_576
#: Widest header read: coding sheets have a few dozen columns; a sheet whose dimension
#: claims 16,384 would otherwise pad every row to that width.
MAX_XLSX_COLUMNS = 1024


@dataclass(frozen=True)
class RawSheet:
    """The cells of one sheet (or CSV file) as text. Row numbers count the header as row 1."""

    file: str
    sheet: Sheet
    #: The sheet's name as the user wrote it (the workbook tab, or the CSV file's kind).
    sheet_label: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]


def read_csv(path: Path, *, kind: str | None = None, encoding: str | None = None) -> RawSheet:
    """Read one CSV file of the coding sheet.

    The kind of records comes from ``kind`` or else from the file name (``studies.csv``,
    ``review.findings.csv``). Text must be UTF-8 (a byte-order mark is removed) unless
    ``encoding`` names another.

    :raises InputError: the file is missing, empty, not in the expected encoding, of an
        unknown kind, or ragged (a row with more cells than the header).
    """
    name = str(path)
    sheet = _sheet_for(path, kind)
    data = _read_bytes(path)
    if not data.strip():
        raise InputError([Problem(name, "the file is empty: expected a header row and records")])
    text = _decode(name, data, encoding)
    if not text.strip():  # only a byte-order mark, or whitespace in another encoding
        raise InputError([Problem(name, "the file is empty: expected a header row and records")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        table = list(reader)
    except csv.Error as exc:
        row = reader.line_num or None
        raise InputError([Problem(name, f"not a readable CSV file: {exc}", row=row)]) from exc
    if not table:
        raise InputError([Problem(name, "the file is empty: expected a header row and records")])
    header = tuple(cell.strip() for cell in table[0])
    problems: list[Problem] = []
    if len(header) == 1 and ";" in header[0]:
        problems.append(
            Problem(
                name,
                "the header has one column containing ';': save the file with commas as "
                "separators (CSV UTF-8)",
                row=1,
                found=header[0][:80],
            )
        )
    rows: list[tuple[int, tuple[str, ...]]] = []
    for number, cells in enumerate(table[1:], start=2):
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            problems.append(
                Problem(
                    name,
                    "the row has more cells than the header has columns",
                    row=number,
                    found=str(len(cells)),
                    expected=f"at most {len(header)} cells",
                )
            )
            continue
        rows.append((number, tuple(cells[: len(header)])))
    if problems:
        raise InputError(problems)
    return RawSheet(name, sheet, sheet.name, header, tuple(rows))


def read_xlsx(path: Path) -> list[RawSheet]:
    """Read every sheet of an XLSX workbook whose name is a kind of record.

    Sheets named README, about, notes or lists, or starting with ``_``, are skipped.

    :raises InputError: the file is not an XLSX workbook (not a zip, or not a workbook
        inside), would inflate to an implausible size, is damaged inside, or has a sheet
        of unknown kind.
    """
    name = str(path)
    _read_bytes(path)  # existence and readability, with our message
    if not zipfile.is_zipfile(path):
        raise InputError([Problem(name, "not an XLSX workbook: the file is not a zip archive")])
    _refuse_zip_bomb(path)
    # openpyxl warns about features it drops (data validation extensions, …) and raises
    # many kinds of exception for damaged parts, while loading and, in read-only mode,
    # while iterating rows: all of it becomes one located InputError.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for broken workbooks
            raise InputError(
                [Problem(name, f"not a readable XLSX workbook: {_describe(exc)}")]
            ) from exc
        try:
            return _read_worksheets(name, workbook)
        finally:
            # closing a damaged archive must not hide the real problem
            with contextlib.suppress(Exception):
                workbook.close()


def _read_worksheets(name: str, workbook: Any) -> list[RawSheet]:
    sheets: list[RawSheet] = []
    problems: list[Problem] = []
    try:
        worksheets = list(workbook.worksheets)
    except Exception as exc:
        raise InputError(
            [Problem(name, f"not a readable XLSX workbook: {_describe(exc)}")]
        ) from exc
    for worksheet in worksheets:
        label = str(worksheet.title)
        if label.lower() in IGNORED_SHEETS or label.startswith("_"):
            continue
        sheet = SHEETS_BY_NAME.get(label.strip().lower())
        if sheet is None:
            problems.append(
                Problem(
                    name,
                    "unknown sheet",
                    sheet=label,
                    found=label,
                    expected="one of " + ", ".join(SHEETS_BY_NAME),
                )
            )
            continue
        progress = [0]
        try:
            raw = _read_sheet(name, sheet, label, worksheet, progress)
        except InputError:
            raise
        except Exception as exc:  # a damaged sheet part: bad XML, bad zip member, …
            after = f" after row {progress[0]}" if progress[0] else ""
            problems.append(
                Problem(name, f"cannot read this sheet{after}: {_describe(exc)}", sheet=label)
            )
            continue
        if raw is not None:
            sheets.append(raw)
    if problems:
        raise InputError(problems)
    if not sheets:
        raise InputError(
            [
                Problem(
                    name,
                    "the workbook has no sheet of records",
                    expected="sheets named " + ", ".join(SHEETS_BY_NAME),
                )
            ]
        )
    return sheets


def _read_sheet(
    name: str, sheet: Sheet, label: str, worksheet: Any, progress: list[int]
) -> RawSheet | None:
    """One worksheet's cells as text; ``progress[0]`` is the last row reached.

    The header row is read first, then only as many columns as it has, so a damaged or
    hostile sheet with a cell far to the right does not pad every row out to it.
    """
    # The read-only reader trusts the sheet's <dimension>: rows below a too-small one would
    # be dropped without a word, a too-large one pads every row. Ignore it.
    worksheet.reset_dimensions()
    first = next(
        iter(worksheet.iter_rows(max_row=1, max_col=MAX_XLSX_COLUMNS, values_only=True)), ()
    )
    progress[0] = 1
    header = tuple(_cell_text(v).strip() for v in first)
    while header and not header[-1]:
        header = header[:-1]
    width = len(header)
    rows: list[tuple[int, tuple[str, ...]]] = []
    cells = worksheet.iter_rows(min_row=2, max_col=max(width, 1), values_only=True)
    for number, values in enumerate(cells, start=2):
        progress[0] = number
        if number > MAX_XLSX_ROWS:
            raise InputError(
                [
                    Problem(
                        name,
                        f"the sheet claims more than {MAX_XLSX_ROWS} rows, Excel's limit: "
                        "the workbook is damaged",
                        sheet=label,
                    )
                ]
            )
        values = tuple(values[:width])
        if values.count(None) == len(values):
            continue  # empty rows are skipped when parsed anyway
        row = tuple(_cell_text(v) for v in values)
        if any(row):
            rows.append((number, row))
    if not header and not rows:
        return None
    return RawSheet(name, sheet, label, header, tuple(rows))


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


def iter_progress(
    rows: tuple[tuple[int, tuple[str, ...]], ...], label: str, *, enabled: bool
) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Iterate rows, showing a progress bar on a terminal for long sheets."""
    if enabled and len(rows) >= 5000:
        from tqdm import tqdm

        yield from tqdm(rows, desc=label, unit=" rows", leave=False)
    else:
        yield from rows


def _sheet_for(path: Path, kind: str | None) -> Sheet:
    if kind is not None:
        sheet = SHEETS_BY_NAME.get(kind)
        if sheet is None:
            raise InputError(
                [
                    Problem(
                        str(path),
                        "unknown kind of records",
                        found=kind,
                        expected="one of " + ", ".join(SHEETS_BY_NAME),
                    )
                ]
            )
        return sheet
    found = sheet_for_file_stem(path.stem)
    if found is None:
        raise InputError(
            [
                Problem(
                    str(path),
                    "cannot tell which kind of records this CSV holds: end its name with the "
                    "kind (e.g. review.findings.csv) or pass --kind",
                    found=path.name,
                    expected="a name ending in one of " + ", ".join(SHEETS_BY_NAME),
                )
            ]
        )
    return found


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError([Problem(str(path), "no such file")]) from exc
    except IsADirectoryError as exc:
        raise InputError([Problem(str(path), "is a folder, not a file")]) from exc
    except OSError as exc:
        raise InputError([Problem(str(path), f"cannot read the file: {exc.strerror}")]) from exc


def _decode(name: str, data: bytes, encoding: str | None) -> str:
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError as exc:
            raise InputError([Problem(name, "unknown encoding", found=encoding)]) from exc
        except UnicodeDecodeError as exc:
            raise InputError([_decode_problem(name, data, exc, encoding)]) from exc
        except ValueError as exc:  # other codec failures (idna, …), a NUL in the name
            raise InputError(
                [Problem(name, f"cannot decode the file as {encoding}: {exc}", found=encoding)]
            ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([_decode_problem(name, data, exc, "UTF-8")]) from exc


def _decode_problem(name: str, data: bytes, exc: UnicodeDecodeError, encoding: str) -> Problem:
    line = data.count(b"\n", 0, exc.start) + 1
    bad = data[exc.start : exc.start + 1].hex().upper()
    hint = (
        "; it may be Latin-1 or Windows-1252: save it as CSV UTF-8, or pass "
        "--encoding cp1252 if you are sure"
        if encoding == "UTF-8"
        else ""
    )
    return Problem(
        name,
        f"the file is not valid {encoding} text (byte 0x{bad} at offset {exc.start}){hint}",
        row=None,
        found=f"line {line}",
    )


def _refuse_zip_bomb(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except Exception as exc:  # BadZipFile, but also OSError, ValueError, … on damaged zips
        raise InputError(
            [Problem(str(path), f"not a readable XLSX workbook: {_describe(exc)}")]
        ) from exc
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_XLSX_UNCOMPRESSED or (
        total > 50 * 1024 * 1024 and total / packed > MAX_XLSX_RATIO
    ):
        raise InputError(
            [
                Problem(
                    str(path),
                    "refused: the workbook would inflate to an implausible size "
                    f"({total} bytes from {packed})",
                )
            ]
        )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
