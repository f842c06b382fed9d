"""The one list of EMMIE dimensions: read from the concept scheme, in EMMIE's order."""

from __future__ import annotations

import pytest

from whatworks.core import emmie
from whatworks.core.vocab import SCHEMES


def test_dimensions_are_the_scheme_in_emmie_order() -> None:
    assert set(emmie.DIMENSIONS) == set(SCHEMES["emmie-dimension"])
    assert emmie.DIMENSIONS == ("effect", "mechanism", "moderators", "implementation", "economic")


def test_a_dimension_unknown_to_the_order_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="_EMMIE_ORDER"):
        emmie._in_emmie_order([*emmie.DIMENSIONS, "evaluation"])
