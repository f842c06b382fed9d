"""Choosing a response's media type, for every route: the URL suffix, else the ``format``
parameter, else ``Accept`` (q-values, wildcards and aliases), else the route's default.
What cannot be served gets a 406 listing what can, except on pages, which answer their
default (a browser asking oddly still gets the page).

This module is the only reader of the ``Accept`` header. Routes differ only in what they
offer, declared once per route as an :class:`Offer` with :func:`offers` (which the
structure tests read). The media types themselves, their names, suffixes and aliases, are
:mod:`whatworks.core.formats`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from flask import request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from whatworks.core.formats import (
    BY_SUFFIX,
    CSV,
    FORMATS,
    HTML,
    JSON,
    JSON_LD,
    N_QUADS,
    N_TRIPLES,
    RDF_XML,
    SPARQL_JSON,
    SPARQL_XML,
    TRIG,
    TSV,
    TURTLE,
    media_format,
)

from .api_error import ApiError

#: The SPARQL endpoint's refusal (W3C protocol clients read it).
_NONE_SERVED = "none of the requested formats can be served; available: {media}"


@dataclass(frozen=True)
class Offer:
    """What a route can answer with, and how it refuses.

    ``media`` are negotiable (suffix, ``format=``, ``Accept``), the first the default;
    ``downloads`` are served only at their own URL suffix, never negotiated. A ``page``
    never refuses: what it cannot serve gets its default. ``fixed`` routes answer their
    one type whatever is asked (no negotiation), ``media=()`` with ``fixed``: files,
    in the type of the file. The two messages are formatted with ``name`` (the
    ``format=`` value), ``names`` (the short names the route takes) and ``media``.
    """

    media: tuple[str, ...]
    downloads: tuple[str, ...] = ()
    page: bool = False
    fixed: bool = False
    unknown_format: str = _NONE_SERVED
    unacceptable: str = _NONE_SERVED
    #: Offered types' aliases, in the order they compete, each with the type it means.
    aliases: dict[str, str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Aliases compete in the registry's order (what a client means by an alias it
        # ranks as high as another is the registry's call, the same on every route).
        aliases: dict[str, str] = {}
        for alias in dict.fromkeys(a for fmt in FORMATS for a in fmt.aliases):
            if alias in self.media:
                continue  # offered as itself
            for fmt in FORMATS:
                if alias in fmt.aliases and fmt.media_type in self.media:
                    aliases[alias] = fmt.media_type
                    break
        object.__setattr__(self, "aliases", aliases)

    @property
    def default(self) -> str:
        return self.media[0]

    @property
    def suffixes(self) -> dict[str, str]:
        """URL suffix -> media type, for what this route serves at a suffix."""
        served = (*self.media, *self.downloads)
        return {s: f.media_type for s, f in BY_SUFFIX.items() if f.media_type in served}

    def named(self, name: str) -> str | None:
        """The offered type a ``format=`` short name means here, if any."""
        for fmt in FORMATS:
            if name in fmt.names and fmt.media_type in self.media:
                return fmt.media_type
        return None

    @property
    def names(self) -> list[str]:
        """The short names this route takes, grouped by the type they mean."""
        return [n for m in self.media for n in media_format(m).names if self.named(n) == m]

    def split(self, path: str) -> tuple[str, str | None]:
        """``path`` without the suffix of a type served here, and that suffix's type."""
        for suffix, media in self.suffixes.items():
            if path.endswith(suffix):
                return path[: -len(suffix)], media
        return path, None


class NotAcceptable(ApiError):
    """406: the suffix, ``format`` or ``Accept`` asks only for what is not offered."""

    def __init__(self, offer: Offer, template: str, name: str = ""):
        names, media = ", ".join(offer.names), ", ".join(offer.media)
        super().__init__(406, template.format(name=name, names=names, media=media))
        self.offered = offer.media


def choose(
    offer: Offer, *, suffix_media: str | None = None, format_param: str | None = None
) -> str:
    """The media type to answer this request with, among ``offer``.

    ``suffix_media`` is the type the URL's suffix names (see :meth:`Offer.split`); it
    wins. ``format_param`` is the route's ``format`` parameter, if it takes one: a short
    name, a media type, or a list of them as in ``Accept`` (SPARQLWrapper sends its
    ``Accept`` there).

    :raises NotAcceptable: nothing acceptable is offered (never for a page).
    """
    if suffix_media:
        return suffix_media
    accept = request.accept_mimetypes
    if format_param:
        name = format_param.strip().lower()
        wanted = offer.named(name)
        if wanted is not None:
            return wanted
        if "/" in name:
            accept = parse_accept_header(name, MIMEAccept)
            if not accept and not offer.page:
                raise NotAcceptable(offer, offer.unacceptable)
        elif not offer.page:
            raise NotAcceptable(offer, offer.unknown_format, format_param)
    if not accept:
        return offer.default
    best = accept.best_match([*offer.media, *offer.aliases])
    if best is None:
        if offer.page:
            return offer.default
        raise NotAcceptable(offer, offer.unacceptable)
    return offer.aliases.get(best, best)


_View = TypeVar("_View", bound=Callable[..., object])
_OFFERS: dict[Callable[..., object], Offer] = {}


def offers(offer: Offer) -> Callable[[_View], _View]:
    """Declare what a view answers with (read by :func:`offer_of`; the view is unchanged)."""

    def declare(view: _View) -> _View:
        _OFFERS[view] = offer
        return view

    return declare


def offer_of(view: Callable[..., object]) -> Offer | None:
    """What ``view`` declared with :func:`offers`."""
    return _OFFERS.get(view)


#: ``/sparql``: per query form; its service description and ``/void`` offer GRAPHS.
RESULTS = Offer((SPARQL_JSON, SPARQL_XML, CSV, TSV))
BOOLEAN_RESULTS = Offer((SPARQL_JSON, SPARQL_XML))
GRAPHS = Offer((TURTLE, N_TRIPLES, JSON_LD, RDF_XML, TRIG, N_QUADS))
#: ``/id/...`` and ``/ontology``: HTML for browsers (and without ``Accept``), else RDF.
RESOURCE = Offer(
    (HTML, TURTLE, JSON_LD, N_TRIPLES, RDF_XML),
    unknown_format="unknown format {name!r}; formats: {names}",
    unacceptable="available: {media}",
)
#: ``/api/queries/<name>``: the answer envelope, SPARQL JSON, CSV.
API = Offer(
    (JSON, SPARQL_JSON, CSV),
    unknown_format="unknown format {name!r}; formats: {names}",
    unacceptable="available: {media}",
)
#: A page with a JSON view (``/explore``; a resource's 404): HTML unless JSON is preferred.
PAGE = Offer((HTML, JSON), page=True)
#: ``/gap-map``: a page, its JSON, and a CSV download at ``.csv``.
GAP_MAP = Offer((HTML, JSON), downloads=(CSV,), page=True)
#: Routes that answer one type, whatever is asked.
HTML_ONLY = Offer((HTML,), fixed=True)
JSON_ONLY = Offer((JSON,), fixed=True)
JSON_LD_ONLY = Offer((JSON_LD,), fixed=True)
#: Files handed out as they are, in their own type.
FILES = Offer((), fixed=True)


def prefers_html() -> bool:
    """Whether the client prefers HTML to JSON (browsers do; scripts asking for JSON not)."""
    return choose(PAGE) == HTML


def html_ranked_above(others: Iterable[str]) -> bool:
    """Whether the request's ``Accept`` ranks HTML strictly above each of ``others``: a
    browser's ``text/html, ..., */*;q=0.8`` does; ``*/*``, no ``Accept`` and
    ``application/json`` do not, so scripts keep the machine-readable answer."""
    accept = request.accept_mimetypes
    html = accept.quality(HTML)
    return html > 0 and all(html > accept.quality(media) for media in others)


#: Every type (aliases included) that asks for RDF: what HTML must beat at ``/sparql``.
RDF_WANTED = tuple(
    dict.fromkeys(m for media in GRAPHS.media for m in (media, *media_format(media).aliases))
)
