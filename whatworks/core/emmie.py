"""The EMMIE dimensions, read from the ontology's ``emmie-dimension`` concept scheme (via
the generated :mod:`whatworks.core.vocab`) and put in the order EMMIE names them.

Every list of dimensions in whatworks (the derived ratings, the explorer's profile, the gap
map's columns and tables) is this one, so a page shows them in one order and a dimension
added to the ontology cannot be missed by one of them.
"""

from __future__ import annotations

from whatworks.core.vocab import SCHEMES

__all__ = ["DIMENSIONS"]

# The generated vocabulary lists a scheme's codes alphabetically; EMMIE's own order
# (Effect, Mechanism, Moderators, Implementation, Economic: Johnson, Tilley and Bowers,
# 2015) is not in the ontology, so it is kept here and checked against the scheme below.
_EMMIE_ORDER = ("effect", "mechanism", "moderators", "implementation", "economic")


def _in_emmie_order(codes: list[str]) -> tuple[str, ...]:
    if sorted(codes) != sorted(_EMMIE_ORDER):
        raise RuntimeError(
            f"the emmie-dimension scheme has {sorted(codes)}, whatworks knows the order of "
            f"{sorted(_EMMIE_ORDER)}: update _EMMIE_ORDER in {__name__}"
        )
    return tuple(sorted(codes, key=_EMMIE_ORDER.index))


#: The codes of the EMMIE dimensions, in EMMIE's order.
DIMENSIONS: tuple[str, ...] = _in_emmie_order(list(SCHEMES["emmie-dimension"]))
