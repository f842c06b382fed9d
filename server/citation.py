"""How a study is named on the pages: by its authors and year ("Fonagy et al. 2018"), as a
reader cites it, with its key or label kept for tooltips and data."""

from __future__ import annotations

import re

#: A trailing run of initials, as the coding sheet writes authors ("Fonagy P", "Goodyer IM").
_INITIALS = re.compile(r"\s+(?:[A-Z]{1,3}|(?:[A-Z]\.\s?){1,3})$")


def surname(author: str) -> str:
    """``"Fonagy P"`` gives ``"Fonagy"``; an organisation (``"Westat"``) is kept whole."""
    return _INITIALS.sub("", author.strip()).strip()


def author_year(authors: str | None, year: object | None) -> str:
    """``"Fonagy P; Butler S; Cottrell D"`` and 2018 give ``"Fonagy et al. 2018"``; two
    authors ``"Dawe and Harnett 2007"``; one ``"Westat 2002"``. Empty when neither the
    authors nor the year is coded (the caller then names the study by its label)."""
    names = [
        surname(a)
        for a in (authors or "").split(";")
        if a.strip() and a.strip() not in ("...", "…", "et al", "et al.")
    ]
    names = [n for n in names if n]
    if not names:
        who = ""
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    when = str(year).strip() if year not in (None, "") else ""
    if who and when:
        return f"{who} {when}"
    if who:
        return f"{who} (no year coded)"
    return ""
