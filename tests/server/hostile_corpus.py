"""A corpus of hostile requests, one table: what each attacks, the request exactly, and the
status docs/server.md documents for it.

tests/server/test_hostile.py sends every case to a real server over HTTP and checks the
status (and the one JSON error shape), the time to answer, that other clients are still
answered, that nothing outside the store was read (a loopback listener, a canary file and
a canary FIFO named by ``file:`` IRIs) and that the store did not change.

Placeholders, filled in when a case is sent: ``@LISTENER@`` is the loopback listener's URL
(``http://127.0.0.1:<port>/``), ``@CANARY@`` a ``file:`` IRI of a Turtle file that holds
:data:`CANARY_MARK`, ``@FIFO@`` a ``file:`` IRI of a named pipe that records any reader.

The server these cases expect (see test_hostile.py): query time limit :data:`TIMEOUT`,
results capped at :data:`MAX_RESULT_BYTES`, the default body and query limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

#: The query time limit of the corpus's server, in seconds.
TIMEOUT = 3.0
#: The result cap of the corpus's server, in bytes (small, so whole-store results hit it).
MAX_RESULT_BYTES = 1_000_000
#: The server's defaults (docs/server.md).
MAX_QUERY_LENGTH = 65536
MAX_BODY_BYTES = 1024 * 1024
#: What waitress accepts as request line plus headers.
MAX_HEADER_BYTES = 262144

SYN = "https://w3id.org/whatworks/synthetic/id/"
EMMIE = "https://w3id.org/whatworks/emmie#"
#: A word in the canary file: an answer holding it read the file.
CANARY_MARK = "canary-8c1f4e2a"

SPARQL = "/sparql"
API = "/api/queries/what_works_for_whom"
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
DIRECT = (("Content-Type", "application/sparql-query"),)
UPDATE_BODY = (("Content-Type", "application/sparql-update"),)


@dataclass(frozen=True)
class Case:
    """One hostile request and what the server must answer."""

    id: str
    #: The kind of attack (for the report's breakdown).
    category: str
    #: What it attacks, in a few words.
    attack: str
    method: str
    route: str
    #: The documented status; more than one only where the outcome is a race between two
    #: documented bounds (e.g. the engine overflowing vs the time limit).
    expected: tuple[int, ...]
    #: Query-string parameters (percent-encoded by the client).
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    #: The request target sent byte for byte (latin-1), for what a client would escape.
    raw_target: str | None = None
    #: Expected to run until the time limit (run concurrently with the other slow ones).
    slow: bool = False
    #: An error answer is the application's JSON; False: waitress answers, in plain text.
    json_error: bool = True
    #: A 200 answer must have no solutions (nothing was read from outside the store).
    empty: bool = False


CASES: list[Case] = []


def _add(case: Case) -> None:
    CASES.append(case)


def _query(
    id: str,
    category: str,
    attack: str,
    query: str,
    expected: int | tuple[int, ...],
    *,
    how: str = "get",
    slow: bool = False,
    empty: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
    params: tuple[tuple[str, str], ...] = (),
) -> None:
    """A query sent to /sparql by GET, POST form or POST direct (``how``)."""
    statuses = expected if isinstance(expected, tuple) else (expected,)
    if how == "get":
        _add(
            Case(
                id,
                category,
                attack,
                "GET",
                SPARQL,
                statuses,
                (("query", query), *params),
                headers,
                slow=slow,
                empty=empty,
            )
        )
    elif how == "form":
        body = urlencode({"query": query}).encode()
        _add(
            Case(
                id,
                category,
                attack,
                "POST",
                SPARQL,
                statuses,
                params,
                FORM + headers,
                body,
                slow=slow,
                empty=empty,
            )
        )
    else:
        _add(
            Case(
                id,
                category,
                attack,
                "POST",
                SPARQL,
                statuses,
                params,
                DIRECT + headers,
                query.encode(),
                slow=slow,
                empty=empty,
            )
        )


# --- SPARQL Update, every form, on every route that takes input: 403 ---------------------

UPDATES = {
    "insert-data": f'INSERT DATA {{ <{SYN}x> <{SYN}p> "x" }}',
    "insert-data-graph": f'INSERT DATA {{ GRAPH <{SYN}g> {{ <{SYN}x> <{SYN}p> "x" }} }}',
    "delete-data": f"DELETE DATA {{ <{SYN}x> <{SYN}p> <{SYN}y> }}",
    "delete-insert-where": (
        "WITH <urn:g> DELETE { ?s ?p ?o } INSERT { ?o ?p ?s } WHERE { ?s ?p ?o }"
    ),
    "delete-where": "DELETE WHERE { ?s ?p ?o }",
    "insert-where-subquery": "INSERT { ?s ?p ?o } WHERE { SELECT * { ?s ?p ?o } }",
    "load-file": "LOAD <@CANARY@>",
    "load-fifo": "LOAD SILENT <@FIFO@> INTO GRAPH <urn:g>",
    "load-loopback": "LOAD SILENT <@LISTENER@data.ttl> INTO GRAPH <urn:g>",
    "clear": "CLEAR ALL",
    "create": f"CREATE GRAPH <{SYN}new>",
    "drop": "DROP SILENT ALL",
    "copy": "COPY DEFAULT TO <urn:g>",
    "move": "MOVE DEFAULT TO <urn:g>",
    "add": "ADD DEFAULT TO <urn:g>",
    "after-comments": "# SELECT * { ?s ?p ?o }\n# ASK {}\n\n   CLEAR DEFAULT",
    "lowercase": f'insert data {{ <{SYN}x> <{SYN}p> "lower" }}',
    "prefixes": (
        f"PREFIX syn: <{SYN}>\nBASE <{SYN}>\nPREFIX ex: <http://example.org/>\n"
        'INSERT DATA { syn:x ex:p "prefixed" }'
    ),
    "two-operations": f"CREATE SILENT GRAPH <{SYN}a> ; DROP SILENT GRAPH <{SYN}a>",
}

for _name, _update in UPDATES.items():
    _form_query = urlencode({"query": _update}).encode()
    for _route, _case in {
        "get": Case("", "", "", "GET", SPARQL, (403,), (("query", _update),)),
        "head": Case("", "", "", "HEAD", SPARQL, (403,), (("query", _update),)),
        "form": Case("", "", "", "POST", SPARQL, (403,), (), FORM, _form_query),
        "direct": Case("", "", "", "POST", SPARQL, (403,), (), DIRECT, _update.encode()),
        "update-form": Case(
            "", "", "", "POST", SPARQL, (403,), (), FORM, urlencode({"update": _update}).encode()
        ),
        "update-body": Case("", "", "", "POST", SPARQL, (403,), (), UPDATE_BODY, _update.encode()),
        "update-get": Case("", "", "", "GET", SPARQL, (403,), (("update", _update),)),
        # the catalogue takes only its own typed parameters: no query, no update
        "api-query": Case(
            "", "", "", "GET", API, (400,), (("outcome", "entry"), ("query", _update))
        ),
    }.items():
        _add(
            Case(
                f"update-{_name}-{_route}",
                "update",
                f"write with {_name} via {_route}",
                _case.method,
                _case.route,
                _case.expected,
                _case.params,
                _case.headers,
                _case.body,
            )
        )

_add(
    Case(
        "update-api-update-param",
        "update",
        "update= on the catalogue",
        "GET",
        API,
        (400,),
        (("outcome", "entry"), ("update", "CLEAR ALL")),
    )
)
# a string parameter is bound as a literal, never spliced into the query text
_add(
    Case(
        "update-api-string-value",
        "update",
        "update text as a string parameter",
        "GET",
        API,
        (200,),
        (("outcome", "entry"), ("country", "x' } ; CLEAR ALL ; SELECT * { '")),
    )
)
_add(
    Case(
        "update-api-iri-value",
        "update",
        "update text as an IRI parameter",
        "GET",
        "/api/queries/provenance_of_claim",
        (400,),
        (("claim", "http://x/> } ; CLEAR ALL #"),),
    )
)
# an update after a query, or a query form glued to one, is not a query: malformed
_query(
    "update-after-query", "update", "update after a query", "ASK {} ; CLEAR ALL", 400, how="direct"
)
_query(
    "update-glued-to-select", "update", "update glued after SELECT", "SELECT * {} CLEAR ALL", 400
)
_query(
    "update-unicode-escaped",
    "update",
    "\\u-escaped update keyword",
    f'\\u0049NSERT DATA {{ <{SYN}x> <{SYN}p> "x" }}',
    400,
    how="direct",
)
_add(
    Case(
        "update-query-and-update",
        "update",
        "query= and update= together",
        "POST",
        SPARQL,
        (403,),
        (),
        FORM,
        urlencode({"query": "ASK {}", "update": "CLEAR ALL"}).encode(),
    )
)
_add(
    Case(
        "update-using-graph-uri",
        "update",
        "update-only protocol parameter",
        "GET",
        SPARQL,
        (403,),
        (("query", "ASK {}"), ("using-graph-uri", "urn:g")),
    )
)

# --- SERVICE: refused, never called ------------------------------------------------------

_query(
    "service-loopback",
    "service",
    "SERVICE to a loopback listener",
    "SELECT * { SERVICE <@LISTENER@sparql> { ?s ?p ?o } }",
    403,
)
_query(
    "service-loopback-silent-form",
    "service",
    "SERVICE SILENT to loopback, POST form",
    "select * { service silent <@LISTENER@> { ?s ?p ?o } }",
    403,
    how="form",
)
_query(
    "service-file",
    "service",
    "SERVICE to a file: IRI",
    "SELECT * { SERVICE <@CANARY@> { ?s ?p ?o } }",
    403,
    how="direct",
)
_query(
    "service-fifo",
    "service",
    "SERVICE to a FIFO file: IRI",
    "SELECT * { SERVICE <@FIFO@> { ?s ?p ?o } }",
    403,
)
_query(
    "service-variable",
    "service",
    "SERVICE to a variable bound to loopback",
    "SELECT * { BIND(<@LISTENER@> AS ?e) SERVICE ?e { ?s ?p ?o } }",
    403,
)
_query(
    "service-in-exists",
    "service",
    "SERVICE hidden in FILTER EXISTS",
    "ASK { FILTER NOT EXISTS { SERVICE <@LISTENER@> { ?s ?p ?o } } }",
    403,
    how="form",
)

# --- FROM, FROM NAMED and the graph parameters: the store's graphs only ------------------

_query(
    "from-etc-passwd",
    "dataset",
    "FROM <file:///etc/passwd>",
    "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    200,
    empty=True,
)
_query(
    "from-canary",
    "dataset",
    "FROM a local Turtle file",
    "SELECT * FROM <@CANARY@> WHERE { ?s ?p ?o }",
    200,
    empty=True,
    how="direct",
)
_query(
    "from-fifo",
    "dataset",
    "FROM a named pipe",
    "SELECT * FROM <@FIFO@> WHERE { ?s ?p ?o }",
    200,
    empty=True,
)
_query(
    "from-loopback",
    "dataset",
    "FROM a loopback URL",
    "SELECT * FROM <@LISTENER@data.ttl> WHERE { ?s ?p ?o }",
    200,
    empty=True,
    how="form",
)
_query(
    "from-named-canary",
    "dataset",
    "FROM NAMED a local file",
    "SELECT * FROM NAMED <@CANARY@> WHERE { GRAPH ?g { ?s ?p ?o } }",
    200,
    empty=True,
)
_query(
    "from-named-loopback",
    "dataset",
    "FROM NAMED a loopback URL",
    "SELECT * FROM NAMED <@LISTENER@> WHERE { GRAPH ?g { ?s ?p ?o } }",
    200,
    empty=True,
)
_query(
    "graph-canary",
    "dataset",
    "GRAPH <file:...> in the pattern",
    "SELECT * { GRAPH <@CANARY@> { ?s ?p ?o } }",
    200,
    empty=True,
)
_query(
    "default-graph-uri-file",
    "dataset",
    "default-graph-uri=file:",
    "SELECT * WHERE { ?s ?p ?o }",
    200,
    empty=True,
    params=(("default-graph-uri", "@CANARY@"),),
)
_query(
    "default-graph-uri-passwd",
    "dataset",
    "default-graph-uri=file:///etc/passwd",
    "SELECT * WHERE { ?s ?p ?o }",
    200,
    empty=True,
    how="form",
    params=(("default-graph-uri", "file:///etc/passwd"),),
)
_query(
    "named-graph-uri-loopback",
    "dataset",
    "named-graph-uri=http://loopback",
    "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
    200,
    empty=True,
    params=(("named-graph-uri", "@LISTENER@"),),
)
_query(
    "named-graph-uri-fifo",
    "dataset",
    "named-graph-uri=file: (a FIFO)",
    "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
    200,
    empty=True,
    how="direct",
    params=(("named-graph-uri", "@FIFO@"),),
)
_query(
    "graph-uri-not-an-iri",
    "dataset",
    "default-graph-uri that is not an IRI",
    "ASK {}",
    400,
    params=(("default-graph-uri", "not an IRI"),),
)

# --- queries that never end: stopped at the time limit (504) ------------------------------
# (Few on purpose: each one costs a query worker, and a replaced worker takes seconds of
# CPU to start. (!<x>)* alone, REGEX, BIND(UUID()), VALUES and OFFSET over products end
# the same way; the fast cases below take those on without running into the limit.)

_query(
    "cartesian-3",
    "time",
    "cartesian product of the store, three times",
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    504,
    slow=True,
)
_query(
    "path-any-closure",
    "time",
    "(<p>|!<p>)* over everything",
    "SELECT (COUNT(*) AS ?n) { ?a (<urn:p>|!<urn:p>)* ?b . ?c (<urn:p>|!<urn:p>)* ?d }",
    504,
    slow=True,
    how="form",
)
_query(
    "path-star-sequence",
    "time",
    "(!<x>)* and <p>*/<p>* blow-ups: any path, twice, over everything",
    "SELECT (COUNT(*) AS ?n) { ?a (!<urn:x>)*/(!<urn:x>)* ?b }",
    504,
    slow=True,
    how="direct",
)
# ~9000 triple patterns in one group: the engine's join recursion overflows its stack and
# takes the worker down (422), unless the time limit comes first (504)
_query(
    "flat-bgp-9000",
    "time",
    "9000 triple patterns in one group",
    "ASK { ?s <urn:p> " + "1 , " * 9000 + "1 }",
    (422, 504),
    slow=True,
    how="direct",
)

# --- catastrophic regular expressions (the engine's regex is linear: fast answers) -------

_LONG = '"a"'
for _ in range(7):  # 8^7 = 2 MiB of "a"
    _LONG = f'REPLACE({_LONG}, "a", "aaaaaaaa")'
_query(
    "regex-nested-quantifier-long",
    "regex",
    "(a+)+$ on a 2 MiB string that fails",
    f'SELECT (STRLEN(?x) AS ?n) (REGEX(CONCAT(?x, "b"), "(a+)+$") AS ?m) {{ BIND({_LONG} AS ?x) }}',
    200,
    how="direct",
)
_query(
    "regex-backreference-like",
    "regex",
    "(a|aa)+$ and (.*)*x on long strings",
    f'ASK {{ BIND({_LONG} AS ?x) FILTER(REGEX(?x, "^(a|aa)+$") && !REGEX(?x, "(.*)*x")) }}',
    200,
    how="form",
)
_query(
    "regex-huge-compile",
    "regex",
    "a regex that compiles to gigabytes",
    'ASK { FILTER(REGEX("a", "((a{100}){100}){100}")) }',
    200,
)
_query("regex-invalid", "regex", "an invalid regex", 'ASK { FILTER(REGEX("a", "(((")) }', 200)

# --- limits and offsets ----------------------------------------------------------------

_query(
    "limit-10e12",
    "limits",
    "LIMIT 10^12",
    f"SELECT ?s {{ ?s a <{EMMIE}Study> }} LIMIT 1000000000000",
    200,
)
_query(
    "offset-10e12",
    "limits",
    "OFFSET 10^12",
    "SELECT * { ?s ?p ?o } OFFSET 1000000000000",
    200,
    empty=True,
)
_query(
    "limit-10e26",
    "limits",
    "LIMIT past 64 bits",
    "SELECT * { ?s ?p ?o } LIMIT 100000000000000000000000000",
    400,
)
_query(
    "limit-whole-store",
    "limits",
    "LIMIT 10^12 over the whole store (result cap)",
    "SELECT * { ?s ?p ?o } LIMIT 1000000000000",
    422,
    how="form",
)

# --- deep nesting: refused before the engine (400), or the worker stops (422) ------------

_query(
    "nested-groups-5000",
    "nesting",
    "5000 nested { }",
    "SELECT * WHERE " + "{" * 5000 + " ?s ?p ?o " + "}" * 5000,
    400,
    how="direct",
)
_query(
    "nested-subqueries-1000",
    "nesting",
    "1000 nested subqueries",
    "SELECT * WHERE { " + "{ SELECT * WHERE " * 1000 + "{ ?s ?p ?o }" + " }" * 1000 + " }",
    400,
    how="direct",
)
_query(
    "nested-parens-5000",
    "nesting",
    "FILTER(((((...))))) 5000 deep",
    "ASK { FILTER(" + "(" * 5000 + "true" + ")" * 5000 + ") }",
    400,
)
_query(
    "nested-functions-2000",
    "nesting",
    "STR(STR(...)) 2000 deep",
    "ASK { FILTER(" + "STR(" * 2000 + "1" + ")" * 2000 + " = '1') }",
    400,
    how="form",
)
_query(
    "nested-not-10000",
    "nesting",
    "!!!!...true, 10000 deep",
    "ASK { FILTER(" + "!" * 10000 + "true) }",
    400,
    how="direct",
)
_query(
    "nested-optional-2000",
    "nesting",
    "2000 nested OPTIONALs",
    "SELECT * { ?s ?p ?o " + "OPTIONAL { ?s ?p ?o " * 2000 + "}" * 2000 + " }",
    400,
    how="direct",
)
_query(
    "nested-collections-3000",
    "nesting",
    "3000 nested RDF collections",
    "ASK { ?s <urn:p> " + "( " * 3000 + "1" + " )" * 3000 + " }",
    400,
    how="direct",
)
_query(
    "nested-blank-nodes-3000",
    "nesting",
    "3000 nested [ ] blank nodes",
    "ASK { ?s <urn:p> " + "[ <urn:p> " * 3000 + "1" + " ]" * 3000 + " }",
    400,
    how="direct",
)
_query(
    "nested-hidden-in-iri",
    "nesting",
    "parens the lexer could read as an IRI",
    "ASK { BIND(1 AS ?a) FILTER(?a<" + "(" * 3000 + "1" + ")" * 3000 + "&&1>0) }",
    400,
    how="direct",
)
_query(
    "nested-within-limit",
    "nesting",
    "200 nested groups (allowed)",
    "ASK " + "{" * 200 + "}" * 200,
    200,
)

# --- size: bodies, queries, results ------------------------------------------------------

_TEN_MB = 10 * 1024 * 1024
_add(
    Case(
        "body-10mb-direct",
        "size",
        "10 MB query body",
        "POST",
        SPARQL,
        (413,),
        (),
        DIRECT,
        b"ASK {} #" + b"x" * _TEN_MB,
    )
)
_add(
    Case(
        "body-10mb-form",
        "size",
        "10 MB form body",
        "POST",
        SPARQL,
        (413,),
        (),
        FORM,
        b"query=ASK+%7B%7D+%23" + b"x" * _TEN_MB,
    )
)
_add(
    Case(
        "body-over-cap-update",
        "size",
        "body over the cap as an update",
        "POST",
        SPARQL,
        (413,),
        (),
        UPDATE_BODY,
        b"CLEAR ALL #" + b"x" * (MAX_BODY_BYTES + 1),
    )
)
_query(
    "query-over-length-get",
    "size",
    "GET query over max_query_length",
    "ASK {} #" + "x" * MAX_QUERY_LENGTH,
    414,
)
_query(
    "query-over-length-direct",
    "size",
    "POSTed query over max_query_length",
    "ASK {} #" + "x" * MAX_QUERY_LENGTH,
    413,
    how="direct",
)
_add(
    Case(
        "get-over-waitress-limit",
        "size",
        "a URL longer than the server reads",
        "GET",
        SPARQL,
        (431,),
        (("query", "ASK {} #" + "x" * MAX_HEADER_BYTES),),
        json_error=False,
    )
)
_add(
    Case(
        "header-over-waitress-limit",
        "size",
        "one enormous header",
        "GET",
        SPARQL,
        (431,),
        (("query", "ASK {}"),),
        (("X-Padding", "x" * MAX_HEADER_BYTES),),
        json_error=False,
    )
)
_query(
    "many-variables",
    "size",
    "SELECT of 1000 variables",
    "SELECT " + " ".join(f"?v{i}" for i in range(1000)) + " {}",
    200,
    how="direct",
)
_query(
    "many-projections",
    "size",
    "1000 projected expressions",
    "SELECT " + " ".join(f"(1 AS ?v{i})" for i in range(1000)) + " {}",
    200,
    how="direct",
)
_query(
    "many-group-keys",
    "size",
    "GROUP BY 500 expressions",
    "SELECT (COUNT(*) AS ?n) { VALUES ?x { 1 2 3 } } GROUP BY "
    + " ".join(f"(?x + {i})" for i in range(500)),
    200,
    how="direct",
)
_query(
    "describe-everything",
    "size",
    "DESCRIBE * over the whole store (result cap)",
    "DESCRIBE * WHERE { ?s ?p ?o }",
    422,
)
_query(
    "construct-product",
    "size",
    "CONSTRUCT of the cartesian product (result cap)",
    "CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }",
    422,
    how="form",
)
_query(
    "uuid-many",
    "size",
    "three UUIDs per triple of the store (result cap)",
    "SELECT ?u1 ?u2 ?u3 { ?s ?p ?o BIND(UUID() AS ?u1) BIND(UUID() AS ?u2) "
    "BIND(STRUUID() AS ?u3) }",
    422,
)
_query(
    "values-12000",
    "size",
    "a 12000-row VALUES block",
    "SELECT (COUNT(*) AS ?n) { VALUES ?x { " + " ".join(map(str, range(12000))) + " } }",
    200,
    how="direct",
)
_query(
    "values-wide",
    "size",
    "VALUES with 500 variables",
    "SELECT * { VALUES ("
    + " ".join(f"?v{i}" for i in range(500))
    + ") { ("
    + " ".join(["1"] * 500)
    + ") } }",
    200,
    how="direct",
)

# --- encoding: invalid UTF-8, NUL ------------------------------------------------------

_add(
    Case(
        "utf8-invalid-get",
        "encoding",
        "%FF in the GET query string",
        "GET",
        SPARQL,
        (400,),
        raw_target="/sparql?query=ASK%20%7B%7D%FF",
    )
)
_add(
    Case(
        "utf8-overlong-get",
        "encoding",
        "overlong UTF-8 (%C0%AF)",
        "GET",
        SPARQL,
        (400,),
        raw_target="/sparql?query=ASK%20%7B%7D%C0%AF",
    )
)
_add(
    Case(
        "utf8-surrogate-get",
        "encoding",
        "an encoded surrogate (%ED%A0%80)",
        "GET",
        SPARQL,
        (400,),
        raw_target="/sparql?query=ASK%20%7B%7D%ED%A0%80",
    )
)
_add(
    Case(
        "utf8-raw-byte-target",
        "encoding",
        "a raw 0xFF byte in the request line",
        "GET",
        SPARQL,
        (400,),
        raw_target="/sparql?query=ASK%20%7B%7D\xff",
        json_error=False,
    )
)
for _id, _target in (
    ("utf8-invalid-api", "/api/queries/what_works_for_whom?outcome=entry%FF"),
    ("utf8-overlong-page", "/explore?outcome=%C0%AF"),
    ("utf8-invalid-gap-map", "/gap-map.json?country=%FF"),
):
    _add(
        Case(
            _id,
            "encoding",
            f"invalid UTF-8 in a query string ({_target.split('?')[0]})",
            "GET",
            _target.split("?")[0],
            (400,),
            raw_target=_target,
        )
    )
_add(
    Case(
        "utf8-invalid-direct",
        "encoding",
        "invalid UTF-8 in a POSTed query",
        "POST",
        SPARQL,
        (400,),
        (),
        DIRECT,
        b"ASK {} # \xff\xfe",
    )
)
_add(
    Case(
        "utf8-invalid-form-escaped",
        "encoding",
        "%FF in a form body",
        "POST",
        SPARQL,
        (400,),
        (),
        FORM,
        b"query=ASK%20%7B%7D%FF",
    )
)
_add(
    Case(
        "utf8-invalid-form-raw",
        "encoding",
        "a raw 0xFF byte in a form body",
        "POST",
        SPARQL,
        (400,),
        (),
        FORM,
        b"query=ASK+{}\xff",
    )
)
_add(
    Case(
        "charset-latin1",
        "encoding",
        "a query declared latin-1",
        "POST",
        SPARQL,
        (415,),
        (),
        (("Content-Type", "application/sparql-query; charset=latin-1"),),
        b"ASK {}",
    )
)
_query(
    "nul-in-string",
    "encoding",
    "a raw NUL in a string literal",
    'SELECT ("a\x00b" AS ?x) {}',
    200,
    how="direct",
)
_query(
    "nul-escaped", "encoding", "\\u0000 in a string literal", 'SELECT ("a\\u0000b" AS ?x) {}', 200
)
_query(
    "nul-in-iri",
    "encoding",
    "a NUL inside an IRI",
    "SELECT * { <urn:a\x00b> ?p ?o }",
    400,
    how="form",
)
_query("nul-after-query", "encoding", "a NUL after the query", "ASK {}\x00", 400)

# --- protocol: content types, Accept, methods ------------------------------------------

for _type in (
    "text/plain",
    "application/json",
    "application/sparql-results+json",
    "text/turtle",
    "multipart/form-data; boundary=x",
    "application/xml",
):
    _add(
        Case(
            f"content-type-{_type.split(';')[0].replace('/', '-')}",
            "protocol",
            f"POST as {_type}",
            "POST",
            SPARQL,
            (415,),
            (),
            (("Content-Type", _type),),
            b"ASK {}",
        )
    )
_add(
    Case(
        "content-type-missing",
        "protocol",
        "POST with no Content-Type",
        "POST",
        SPARQL,
        (415,),
        (),
        (),
        b"ASK {}",
    )
)
_add(
    Case(
        "post-without-query",
        "protocol",
        "a form POST with no query",
        "POST",
        SPARQL,
        (400,),
        (),
        FORM,
        b"format=json",
    )
)
_add(
    Case(
        "two-queries",
        "protocol",
        "two query= parameters",
        "GET",
        SPARQL,
        (400,),
        (("query", "ASK {}"), ("query", "SELECT * {}")),
    )
)
_query(
    "accept-html-select",
    "protocol",
    "Accept: text/html for SELECT",
    "SELECT * {}",
    406,
    headers=(("Accept", "text/html"),),
)
_query(
    "accept-turtle-ask",
    "protocol",
    "Accept: text/turtle for ASK",
    "ASK {}",
    406,
    headers=(("Accept", "text/turtle"),),
    how="direct",
)
_query(
    "accept-results-construct",
    "protocol",
    "SPARQL results for CONSTRUCT",
    "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1",
    406,
    headers=(("Accept", "application/sparql-results+json"),),
)
_query(
    "accept-q-zero",
    "protocol",
    "every type refused with q=0",
    "SELECT * {}",
    406,
    headers=(("Accept", "*/*;q=0"),),
    how="form",
)
_query("format-pdf", "protocol", "format=pdf", "SELECT * {}", 406, params=(("format", "pdf"),))
_add(
    Case(
        "accept-api-png",
        "protocol",
        "Accept: image/png on the catalogue",
        "GET",
        API,
        (406,),
        (("outcome", "entry"),),
        (("Accept", "image/png"),),
    )
)
for _method in ("PUT", "DELETE", "PATCH"):
    _add(
        Case(
            f"method-{_method.lower()}-sparql",
            "protocol",
            f"{_method} /sparql with an update",
            _method,
            SPARQL,
            (405,),
            (),
            UPDATE_BODY,
            b"CLEAR ALL",
        )
    )
_add(
    Case(
        "method-post-api",
        "protocol",
        "POST to the catalogue with an update",
        "POST",
        API,
        (405,),
        (),
        UPDATE_BODY,
        b"CLEAR ALL",
    )
)

# --- other routes: their inputs are data, files are theirs only -------------------------

_add(
    Case(
        "api-claim-file",
        "routes",
        "a file: IRI as a catalogue IRI parameter",
        "GET",
        "/api/queries/provenance_of_claim",
        (400,),
        (("claim", "@CANARY@"),),
    )
)
_add(
    Case(
        "api-claim-loopback",
        "routes",
        "a loopback URL as a catalogue IRI parameter",
        "GET",
        "/api/queries/provenance_of_claim",
        (200,),
        (("claim", "@LISTENER@"),),
    )
)
_add(
    Case(
        "api-unknown-query",
        "routes",
        "a catalogue name that is an update",
        "GET",
        "/api/queries/" + quote("CLEAR ALL", safe=""),
        (404,),
    )
)
_add(
    Case(
        "api-huge-integer",
        "routes",
        "an integer parameter past 64 bits",
        "GET",
        API,
        (400,),
        (("outcome", "entry"), ("age", "9" * 40)),
    )
)
_add(
    Case(
        "static-traversal",
        "routes",
        "../ out of /static",
        "GET",
        "/static/x",
        (404,),
        raw_target="/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    )
)
_add(
    Case(
        "vendor-traversal",
        "routes",
        "../ out of the YASGUI files",
        "GET",
        "/vendor/x",
        (404,),
        raw_target="/vendor/yasgui/..%2F..%2Fpackage.json",
    )
)
_add(
    Case(
        "id-traversal",
        "routes",
        "../ in a resource path",
        "GET",
        "/id/x",
        (404,),
        raw_target="/id/..%2F..%2F..%2Fetc%2Fpasswd",
        json_error=False,
    )
)


def check_corpus() -> None:
    """Every id is distinct; every expected status is documented."""
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    documented = {200, 400, 403, 404, 405, 406, 413, 414, 415, 422, 431, 504}
    for case in CASES:
        assert set(case.expected) <= documented, case.id


check_corpus()
