"""What a SPARQL request is, read from its text before any engine sees it.

A small lexer (comments, strings, IRIs, variables and prefixed names are read whole) is
enough to tell the query form (to negotiate the response format), whether the text is an
update (refused: the endpoint is read-only), whether it names its own dataset (``FROM``)
and which SERVICE endpoints it calls (refused unless allow-listed). It does not validate
the query; the engine does that.

``<`` starts an IRI or is the less-than operator, so the SERVICE check follows *every*
reading: at each ``<`` that could start an IRI it reads on both ways, and a SERVICE found
in any reading counts (positions already read are not read again: linear). Escapes are
read as the engine reads them (``\\u`` in IRIs, ``\\'`` or ``\\#`` in prefixed names), and
``SERVICE:x {`` is the keyword and the endpoint ``:x``. It also measures how deeply the
text nests (brackets, and runs of prefix operators such as ``!!!!``), refused beyond
:data:`MAX_NESTING`.

Why a lexer, what it refuses and why: docs/decisions/0006-service-lexer.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
  | (?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
  | (?P<pname>(?:[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7-\uFFFF]*)?:(?:[\w.\-:%\u00B7-\uFFFF]|\\.)*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
#: Deepest nesting accepted: far beyond any real query (a few dozen levels), far below
#: where the engine's stack overflows (about a thousand levels of nested function calls).
MAX_NESTING = 256
_OPEN, _CLOSE = frozenset("{(["), frozenset("})]")
#: Prefix operators (negation, sign, inverse path) that nest without brackets.
_PREFIX_OPERATORS = frozenset("!-+^")
UPDATE_WORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
)


@dataclass(frozen=True)
class QueryText:
    """What the lexer found.

    ``form``: SELECT, ASK, CONSTRUCT, DESCRIBE or None. ``update_words``: update keywords
    before any query form (so the text is an update). ``services``: each SERVICE endpoint,
    as an absolute IRI when the text gives one plainly, else None (a variable, or an IRI
    that cannot be checked). ``dataset_clause``: the text has FROM or FROM NAMED.
    ``depth``: the deepest nesting of brackets and prefix operators.
    """

    form: str | None
    update_words: tuple[str, ...]
    services: tuple[str | None, ...]
    dataset_clause: bool = False
    depth: int = 0


@dataclass(frozen=True)
class _Token:
    kind: str
    value: str
    end: int

    @property
    def keyword(self) -> str:
        return self.value.upper() if self.kind == "word" else ""


def _token_at(text: str, position: int) -> _Token | None:
    """The next significant token at or after ``position`` (reading ``<`` as an IRI when it
    can be one), or None at the end."""
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None  # "other" matches any character
        position = match.end()
        if match.lastgroup not in ("space", "comment"):
            return _Token(match.lastgroup or "other", match.group(), position)
    return None


def _tokens(text: str) -> list[_Token]:
    tokens = []
    token = _token_at(text, 0)
    while token is not None:
        tokens.append(token)
        token = _token_at(text, token.end)
    return tokens


def read_query(text: str) -> QueryText:
    """Lex ``text``: its query form, any update keywords before it, its SERVICE calls."""
    form: str | None = None
    updates: list[str] = []
    prefixes: dict[str, str | None] = {}
    dataset = False
    tokens = _tokens(text)
    for index, token in enumerate(tokens):
        word = token.keyword
        if form is None and word == "PREFIX" and index + 2 < len(tokens):
            name, iri = tokens[index + 1], tokens[index + 2]
            if name.kind == "pname" and name.value.endswith(":"):
                prefixes[name.value[:-1]] = _absolute(iri)
        elif word == "FROM":
            dataset = True
        elif form is None and word in QUERY_FORMS:
            form = word
        elif form is None and word in UPDATE_WORDS:
            updates.append(word)
    return QueryText(form, tuple(updates), _services(text, prefixes), dataset, _depth(tokens))


def _depth(tokens: list[_Token]) -> int:
    """The deepest nesting: open brackets, plus the prefix operators in a row at a point.

    Brackets inside an IRI count too: read with ``<`` as less-than, ``<((((1))))&&1>`` is
    code. (Other readings that hide brackets from this count end, at worst, in a query
    worker the engine overflowed: it is replaced, and the client is told; see
    :mod:`server.execution`.)
    """
    deepest = brackets = operators = 0
    for token in tokens:
        if token.kind == "iri":
            for char in token.value:
                if char in _OPEN:
                    brackets += 1
                    deepest = max(deepest, brackets)
                elif char in _CLOSE:
                    brackets = max(0, brackets - 1)
            operators = 0
            continue
        value = token.value if token.kind == "other" else ""
        if value in _PREFIX_OPERATORS:
            operators += 1
        else:
            operators = 0
            if value in _OPEN:
                brackets += 1
            elif value in _CLOSE:
                brackets = max(0, brackets - 1)
        deepest = max(deepest, brackets + operators)
    return deepest


def _services(text: str, prefixes: dict[str, str | None]) -> tuple[str | None, ...]:
    """The endpoint of every SERVICE call in any reading of ``text`` (see the module doc)."""
    found: list[str | None] = []
    seen: set[int] = set()
    todo = [0]
    while todo:
        position = todo.pop()
        if position in seen:
            continue
        seen.add(position)
        token = _token_at(text, position)
        if token is None:
            continue
        todo.append(token.end)
        if token.kind == "iri":  # or "<" the operator: read on from just after it too
            todo.append(token.end - len(token.value) + 1)
        found.extend(_service_call(text, token, prefixes))
    return tuple(dict.fromkeys(found))


def _service_call(text: str, token: _Token, prefixes: dict[str, str | None]) -> list[str | None]:
    """If ``token`` starts ``SERVICE [SILENT] endpoint {``: [the endpoint] (None: unknown);
    else []."""
    if token.keyword == "SERVICE":
        target = _token_at(text, token.end)
        if target is not None and target.keyword == "SILENT":
            target = _token_at(text, target.end)
    elif token.kind == "pname" and token.value[:8].upper() == "SERVICE:":
        # "SERVICE:x {": the engine reads the keyword, then ":x"
        target = _Token("pname", token.value[7:], token.end)
    else:
        return []
    if target is None or target.kind not in ("iri", "pname", "var"):
        return []  # not a SERVICE call in this reading
    after = _token_at(text, target.end)
    if after is None or after.value != "{":
        return []  # not a SERVICE call in this reading
    if target.kind == "pname":
        prefix, _, local = target.value.partition(":")
        if prefix.upper() == "SILENT":  # "SERVICE SILENT:x": SILENT, then ":x"
            prefix = ""
        namespace = prefixes.get(prefix)
        if namespace is None or "\\" in local or "%" in local:
            return [None]
        return [namespace + local]
    return [_absolute(target)]


def _absolute(token: _Token) -> str | None:
    """An IRI token's text if it is absolute and has no escapes, else None (unknown)."""
    if token.kind != "iri" or "\\" in token.value or ":" not in token.value:
        return None
    return token.value[1:-1]
