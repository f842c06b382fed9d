"""Study metadata from RIS and BibTeX files (Zotero, EndNote, Mendeley exports).

Each entry becomes a row of the ``studies`` sheet, then goes through the same parsing and
checks as a hand-coded sheet. Imported studies are marked ``verified = no``: nobody has
read them yet. Row numbers in messages are the line where the entry starts.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from whatworks.core.errors import InputError, Problem

from .coding_sheet import SHEETS_BY_NAME
from .tabular import RawSheet

STUDIES = SHEETS_BY_NAME["studies"]

RIS_TYPES = {
    "JOUR": "journal_article",
    "JFULL": "journal_article",
    "EJOUR": "journal_article",
    "RPRT": "report",
    "GOVDOC": "report",
    "CONF": "conference_abstract",
    "CPAPER": "conference_abstract",
    "ABST": "conference_abstract",
    "CHAP": "book_chapter",
    "THES": "thesis",
    "ELEC": "web_page",
    "WEB": "web_page",
}
BIBTEX_TYPES = {
    "article": "journal_article",
    "techreport": "report",
    "report": "report",
    "inproceedings": "conference_abstract",
    "conference": "conference_abstract",
    "incollection": "book_chapter",
    "inbook": "book_chapter",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "thesis": "thesis",
    "online": "web_page",
}


def read_ris(path: Path, text: str) -> RawSheet:
    """The entries of a RIS file as rows of the studies sheet.

    :raises InputError: the file has no entries or is not RIS.
    """
    import rispy

    name = str(path)
    starts = [i + 1 for i, line in enumerate(text.splitlines()) if line.startswith("TY  -")]
    try:
        entries = rispy.loads(text)
    except Exception as exc:  # rispy raises plain IOError/ValueError subclasses
        raise InputError([Problem(name, f"not a readable RIS file: {exc}")]) from exc
    if not entries:
        raise InputError([Problem(name, "no RIS entries found (expected lines like 'TY  - JOUR')")])
    rows = []
    used: set[str] = set()
    for index, entry in enumerate(entries):
        line = starts[index] if index < len(starts) else index + 1
        authors = entry.get("authors") or entry.get("first_authors") or []
        title = entry.get("title") or entry.get("primary_title") or ""
        year = str(entry.get("year") or entry.get("publication_year") or "").split("/")[0]
        key = entry.get("id") or _derived_key(authors, year, title, used)
        venue = (
            entry.get("journal_name")
            or entry.get("secondary_title")
            or entry.get("publisher")
            or ""
        )
        rows.append(
            (
                line,
                _row(
                    key,
                    title,
                    "; ".join(authors),
                    year,
                    venue,
                    entry.get("doi", ""),
                    RIS_TYPES.get(entry.get("type_of_reference", ""), "other"),
                ),
            )
        )
        used.add(key)
    return _sheet(name, rows)


def read_bibtex(path: Path, text: str) -> RawSheet:
    """The entries of a BibTeX file as rows of the studies sheet.

    :raises InputError: the file has no entries, or has blocks that failed to parse.
    """
    import bibtexparser

    name = str(path)
    library = bibtexparser.parse_string(text)  # type: ignore[attr-defined]
    problems = [
        Problem(
            name,
            f"cannot parse this BibTeX block: {type(block).__name__}",
            row=(block.start_line or 0) + 1,
        )
        for block in library.failed_blocks
    ]
    if problems:
        raise InputError(problems)
    if not library.entries:
        raise InputError([Problem(name, "no BibTeX entries found (expected @article{key, ...})")])
    rows = []
    for entry in library.entries:
        fields = {k.lower(): str(v.value) for k, v in entry.fields_dict.items()}
        authors = "; ".join(a.strip() for a in _clean(fields.get("author", "")).split(" and "))
        venue = (
            fields.get("journal")
            or fields.get("booktitle")
            or fields.get("institution")
            or fields.get("publisher")
            or ""
        )
        rows.append(
            (
                (entry.start_line or 0) + 1,
                _row(
                    entry.key,
                    _clean(fields.get("title", "")),
                    authors,
                    fields.get("year", ""),
                    _clean(venue),
                    fields.get("doi", ""),
                    BIBTEX_TYPES.get(entry.entry_type.lower(), "other"),
                ),
            )
        )
    return _sheet(name, rows)


def _row(
    key: str, title: str, authors: str, year: str, venue: str, doi: str, work_type: str
) -> dict[str, str]:
    return {
        "key": _safe_key(key),
        "title": title.strip(),
        "authors": authors.strip(),
        "year": year.strip(),
        "venue": venue.strip(),
        "doi": doi.strip(),
        "work_type": work_type,
        "verified": "no",
    }


def _sheet(name: str, rows: list[tuple[int, dict[str, str]]]) -> RawSheet:
    header = tuple(c.name for c in STUDIES.columns)
    return RawSheet(
        name,
        STUDIES,
        "bibliography",
        header,
        tuple((line, tuple(row.get(col, "") for col in header)) for line, row in rows),
    )


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("{", "").replace("}", "")).strip()


def _safe_key(key: str) -> str:
    ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", ascii_key).strip("_.-")
    return cleaned or key


def _derived_key(authors: list[str], year: str, title: str, used: set[str]) -> str:
    surname = authors[0].split(",")[0] if authors else "anon"
    word = next((w for w in re.findall(r"[A-Za-z]+", title) if len(w) > 3), "work")
    base = _safe_key(f"{surname}{year}_{word}".lower())
    key, n = base, 0
    while key in used:
        n += 1
        key = f"{base}{chr(ord('a') + n - 1)}"
    return key
