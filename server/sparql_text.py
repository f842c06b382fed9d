"""What a SPARQL request is, read from its text before any engine sees it.

A small lexer (comments, strings, IRIs, variables and prefixed names are skipped whole) is
enough to tell the query form (to negotiate the response format), whether it is an update
(refused: the endpoint is read-only) and which SERVICE endpoints it calls (refused unless
allow-listed). It does not validate the query; the engine does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
  | (?P<pname>[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7-\uFFFF]*:[\w.\-:%\\\u00B7-\uFFFF]*|:[\w.\-:%\\]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_WORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
)


@dataclass(frozen=True)
class QueryText:
    """What the lexer found: the form, update keywords, SERVICE endpoints (None = a variable)."""

    form: str | None
    update_words: tuple[str, ...]
    services: tuple[str | None, ...]


def read_query(text: str) -> QueryText:
    """Lex ``text``: its query form, any update keywords before it, its SERVICE calls."""
    form: str | None = None
    updates: list[str] = []
    services: list[str | None] = []
    expect_service = False
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group()
        if kind in ("comment", "string"):
            continue
        if expect_service:
            if kind == "word" and value.upper() == "SILENT":
                continue
            services.append(value[1:-1] if kind == "iri" else None)
            expect_service = False
            continue
        if kind != "word":
            continue
        upper = value.upper()
        if upper == "SERVICE":
            expect_service = True
        elif form is None and upper in QUERY_FORMS:
            form = upper
        elif form is None and upper in UPDATE_WORDS:
            updates.append(upper)
    return QueryText(form, tuple(updates), tuple(services))
