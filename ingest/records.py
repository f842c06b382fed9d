"""Turning raw rows into typed records, collecting every problem with its cell.

A record is one row of one sheet with each filled cell parsed to a Python value of its
column's kind. Whether the values make sense together (an interval around its estimate, a
DOI's syntax, a plausible year) is for the SHACL shapes, which see the RDF built from it;
except an inverted interval (``ci_lower`` above ``ci_upper``), caught here so that it is
reported once, as what it is, naming both columns.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from whatworks.core.errors import Problem

from .coding_sheet import KEY_PATTERN, LIST_SEPARATOR, Column, Kind, Sheet
from .tabular import RawSheet, iter_progress

Value = str | int | Decimal | bool | date

_KEY = re.compile(KEY_PATTERN)
_YEAR = re.compile(r"[0-9]{4}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_DOI_PREFIXES = (
    "https://doi.org/",
    "http://doi.org/",
    "https://dx.doi.org/",
    "http://dx.doi.org/",
    "doi:",
)


@dataclass(frozen=True)
class Record:
    """One row of a sheet, parsed. ``values`` holds only filled cells; lists for ``multiple``."""

    file: str
    sheet: Sheet
    sheet_label: str
    row: int
    values: dict[str, Value | tuple[Value, ...]]
    #: The cells as written, for error messages.
    raw: dict[str, str]

    @property
    def key(self) -> str:
        key = self.values["key"]
        assert isinstance(key, str)
        return key

    def problem(
        self, message: str, *, column: str, found: str | None = None, expected: str = ""
    ) -> Problem:
        """A problem located at this record's row and ``column``."""
        return Problem(
            self.file,
            message,
            sheet=self.sheet_label,
            row=self.row,
            column=column,
            found=found,
            expected=expected,
        )


def parse_sheet(raw: RawSheet, *, progress: bool = False) -> tuple[list[Record], list[Problem]]:
    """Parse every row of ``raw``; return the records and every problem found.

    Rows whose cells are all empty are skipped. A row with any problem yields no record.
    """
    sheet = raw.sheet
    problems = _check_header(raw)
    if problems:
        return [], problems
    positions = {name: i for i, name in enumerate(raw.header) if name}
    records: list[Record] = []
    first_row_of_key: dict[str, int] = {}
    label = f"{raw.file} [{raw.sheet_label}]"
    for number, cells in iter_progress(raw.rows, label, enabled=progress):
        if not any(c.strip() for c in cells):
            continue
        values: dict[str, Value | tuple[Value, ...]] = {}
        row_raw: dict[str, str] = {}
        row_problems: list[Problem] = []
        extending = _extends(cells, positions)
        for col in sheet.columns:
            pos = positions.get(col.name)
            text = cells[pos].strip() if pos is not None and pos < len(cells) else ""
            row_raw[col.name] = text
            if not text:
                if col.required and not (extending and col.name != "key"):
                    row_problems.append(_problem(raw, number, col, text, "a value is required"))
                continue
            parsed = _parse_cell(raw, number, col, text, row_problems)
            if parsed is not None:
                values[col.name] = parsed
        row_problems.extend(_inverted_interval(raw, number, values))
        key = values.get("key")
        if isinstance(key, str):
            if key in first_row_of_key:
                row_problems.append(
                    _problem(
                        raw,
                        number,
                        sheet.column("key"),
                        key,
                        f"duplicate key: row {first_row_of_key[key]} already uses it",
                        expected="a key used once in this sheet",
                    )
                )
            else:
                first_row_of_key[key] = number
        if row_problems:
            problems.extend(row_problems)
        else:
            records.append(Record(raw.file, sheet, raw.sheet_label, number, values, row_raw))
    return records, problems


def _extends(cells: tuple[str, ...], positions: dict[str, int]) -> bool:
    """Whether the row says it adds to a record that another source file defines (then it
    needs only its key; the pipeline checks that there is such a record)."""
    pos = positions.get("extends")
    if pos is None or pos >= len(cells):
        return False
    return cells[pos].strip().lower() in ("yes", "true", "y", "1")


def _inverted_interval(
    raw: RawSheet, row: int, values: dict[str, Value | tuple[Value, ...]]
) -> list[Problem]:
    """An interval whose lower limit is above its upper one, as one fault naming both
    columns. (The shapes would report it as the estimate exceeding one limit or the other,
    naming one column, or not at all without an estimate.)"""
    lower, upper = values.get("ci_lower"), values.get("ci_upper")
    if not isinstance(lower, Decimal) or not isinstance(upper, Decimal) or lower <= upper:
        return []
    return [
        Problem(
            raw.file,
            "inverted interval: ci_lower is above ci_upper (are the limits swapped?)",
            sheet=raw.sheet_label,
            row=row,
            column="ci_lower",
            found=f"ci_lower {lower}, ci_upper {upper}",
            expected="ci_lower at most ci_upper",
        )
    ]


def _check_header(raw: RawSheet) -> list[Problem]:
    sheet = raw.sheet
    known = [c.name for c in sheet.columns]
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in raw.header:
        if not name:
            continue
        if name in seen:
            problems.append(
                Problem(
                    raw.file,
                    "the column appears twice in the header",
                    sheet=raw.sheet_label,
                    row=1,
                    column=name,
                )
            )
        seen.add(name)
        if name not in known:
            guess = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            problems.append(
                Problem(
                    raw.file,
                    f"unknown column{hint}",
                    sheet=raw.sheet_label,
                    row=1,
                    column=name,
                    found=name,
                    expected="columns of the " + sheet.name + " sheet: " + ", ".join(known),
                )
            )
    for name in sheet.header_required:
        if name not in seen:
            problems.append(
                Problem(
                    raw.file,
                    "a required column is missing from the header",
                    sheet=raw.sheet_label,
                    row=1,
                    column=name,
                    expected=f"a column named {name!r}",
                )
            )
    return problems


def _parse_cell(
    raw: RawSheet, row: int, col: Column, text: str, problems: list[Problem]
) -> Value | tuple[Value, ...] | None:
    if col.multiple:
        parts = [p.strip() for p in text.split(LIST_SEPARATOR) if p.strip()]
        parsed = [_parse_one(raw, row, col, p, problems) for p in parts]
        if any(v is None for v in parsed):
            return None
        return tuple(v for v in parsed if v is not None)
    return _parse_one(raw, row, col, text, problems)


def _parse_one(
    raw: RawSheet, row: int, col: Column, text: str, problems: list[Problem]
) -> Value | None:
    kind = col.kind
    if kind in (Kind.KEY, Kind.REF):
        if _KEY.match(text):
            return text
        problems.append(
            _problem(
                raw,
                row,
                col,
                text,
                "not a valid key",
                expected="letters, digits, '_', '.' or '-', no spaces",
            )
        )
        return None
    if kind is Kind.TEXT:
        return text
    if kind in (Kind.INTEGER, Kind.YEAR):
        cleaned = text[:-2] if text.endswith(".0") else text
        # ASCII digits only, and few enough of them: int() refuses strings of more than
        # 4300 digits with a ValueError, and no count in a coding sheet needs 19.
        ok = (_YEAR if kind is Kind.YEAR else _INTEGER).fullmatch(cleaned)
        if ok:
            return int(cleaned)
        expected = "a four-digit year" if kind is Kind.YEAR else "a whole number"
        problems.append(_problem(raw, row, col, text, f"not {expected}", expected=expected))
        return None
    if kind is Kind.DECIMAL:
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite() and not re.search(r"[eE]", text):
            return number
        hint = " (write 81.7% as 0.817 or 81.7 as the column says)" if "%" in text else ""
        problems.append(
            _problem(
                raw, row, col, text, "not a number" + hint, expected="a number like 1.25 or -0.4"
            )
        )
        return None
    if kind is Kind.BOOLEAN:
        lowered = text.lower()
        if lowered in ("yes", "true", "y", "1"):
            return True
        if lowered in ("no", "false", "n", "0"):
            return False
        problems.append(_problem(raw, row, col, text, "not yes or no", expected="yes or no"))
        return None
    if kind is Kind.DATE:
        try:
            return date.fromisoformat(text)
        except ValueError:
            problems.append(_problem(raw, row, col, text, "not a date", expected="YYYY-MM-DD"))
            return None
    if kind is Kind.DOI:
        lowered = text.lower()
        for prefix in _DOI_PREFIXES:
            if lowered.startswith(prefix):
                return text[len(prefix) :]
        return text
    if kind in (Kind.CONCEPT, Kind.CHOICE):
        allowed = col.allowed()
        if text in allowed:
            return text
        folded = {a.lower(): a for a in allowed}
        if text.lower() in folded:
            return folded[text.lower()]
        problems.append(
            _problem(
                raw, row, col, text, "not an allowed value", expected="one of " + ", ".join(allowed)
            )
        )
        return None
    raise AssertionError(f"unhandled column kind {kind}")


def _problem(
    raw: RawSheet, row: int, col: Column, text: str, message: str, *, expected: str = ""
) -> Problem:
    return Problem(
        raw.file,
        message,
        sheet=raw.sheet_label,
        row=row,
        column=col.name,
        found=text if text else None,
        expected=expected or col.type_text(),
    )


def all_records(
    parsed: Iterable[tuple[list[Record], list[Problem]]],
) -> tuple[list[Record], list[Problem]]:
    """Concatenate the results of several :func:`parse_sheet` calls."""
    records: list[Record] = []
    problems: list[Problem] = []
    for recs, probs in parsed:
        records.extend(recs)
        problems.extend(probs)
    return records, problems
