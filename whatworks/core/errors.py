"""The kinds of failure whatworks reports. The CLI turns each into one clear message and an
exit code; nothing here is ever shown to a user as a traceback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class WhatworksError(Exception):
    """Base of every error whatworks raises on purpose."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows.

    ``row`` is the spreadsheet row number (the header is row 1) or the line of a text
    file; ``column`` is the column's header name. Any of the location fields may be empty
    when the problem is about the whole file.
    """

    file: str
    message: str
    sheet: str = ""
    row: int | None = None
    column: str = ""
    found: str | None = None
    expected: str = ""
    shape_id: str = ""

    def location(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.found is not None:
            text += f" (found {self.found!r}"
            text += f", expected {self.expected})" if self.expected else ")"
        elif self.expected:
            text += f" (expected {self.expected})"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sheet": self.sheet or None,
            "row": self.row,
            "column": self.column or None,
            "found": self.found,
            "expected": self.expected or None,
            "shape": self.shape_id or None,
            "message": self.message,
        }


#: How many problems a text report shows, in reading order (file, sheet, row, column),
#: before it says how many more there are. A sheet with a systematic fault (a column
#: shifted by one) gives one problem a row; the first screens show what to fix.
SHOWN_PROBLEMS = 200


def shown(problems: Sequence[Problem], limit: int = SHOWN_PROBLEMS) -> list[str]:
    """The lines of a text report of ``problems``: the first ``limit``, then a line saying
    how many more there are.

    >>> shown([Problem("a.csv", "bad", row=2), Problem("a.csv", "bad", row=3)], limit=1)
    ['a.csv, row 2: bad', '... and 1 more problem (not shown)']
    """
    lines = [str(p) for p in problems[:limit]]
    more = len(problems) - limit
    if more > 0:
        lines.append(f"... and {more} more problem{'s' if more > 1 else ''} (not shown)")
    return lines


class InputError(WhatworksError):
    """An input could not be read or mapped. Carries every problem found, not just the first.

    The exit code is 1 when every problem sits in a row or is a SHACL result (the data
    broke the rules) and 2 when a file as a whole could not be read.
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        first = str(self.problems[0]) if self.problems else "invalid input"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problems)" if more > 0 else ""))

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 1 if all(p.row is not None or p.shape_id for p in self.problems) else 2


class ValidationFailed(WhatworksError):
    """The SHACL shapes found violations; nothing was written."""

    exit_code = 1

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} SHACL violations; nothing was written")


class StoreError(WhatworksError):
    """The store could not be opened, read or written."""

    exit_code = 2


# -- failures of a bounded query (Store.run_bounded) ------------------------------------
# Each is its own class so that a caller (the server) maps every failure to one answer
# without reading messages; the messages are written to be shown as they are.


class StoreUnavailable(StoreError):
    """The store could not be reached, or stayed busy, through every retry."""


class QueryRefused(StoreError):
    """The store refused the query as malformed (a syntax error, HTTP 400)."""


class ServiceRefused(QueryRefused):
    """The query calls a SERVICE the store does not allow."""


class AnswerTooLarge(StoreError):
    """The answer was larger than the caller accepts (it is never cut to fit)."""


class PartialResult(StoreError):
    """The store cut the result short (Virtuoso's ResultSetMaxRows, an anytime query)."""


class QueryBusy(StoreError):
    """Every query worker stayed busy through the queue timeout."""


class QueryTimeout(StoreError):
    """The query ran past its time limit and was stopped."""


class NoAcceptableFormat(StoreError):
    """None of the requested media types can carry this kind of result."""


class WorkerDied(StoreError):
    """The process running the query died under it (the engine overflowed its stack or
    memory); it has been replaced."""


class QueryFailed(StoreError):
    """The engine failed the query for a reason of its own."""
