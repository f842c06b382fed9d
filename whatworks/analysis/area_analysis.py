"""Area-level associations of the change in children looked after, from the statistics cube.

Reproduces the seed's exploratory analysis from the graph (``whatworks load`` puts the
local-authority statistics in the store): for each local authority, the change in the
official rate per 10,000 children 2015→2017 and the percentage change in the count at
31 March 2012→2017, regressed (ordinary least squares, statsmodels) on one factor at a time:
the first Ofsted SIF judgement (dummies, reference "good"), Innovation Programme
participation (the partial list; successor-programme projects do not count) and the IMD 2019
average score (per 10 points). Each association comes with n, the estimate and its 95%
confidence interval.

These are associations between areas, not effects: an area-level association says nothing
about what happens to a child or within an authority (the ecological fallacy), and none of
the factors was assigned at random.

Example::

    >>> from whatworks.analysis.area_analysis import analyse          # doctest: +SKIP
    >>> result = analyse(store)                               # doctest: +SKIP
    >>> result.associations[0].n                              # doctest: +SKIP
    148
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

from whatworks.core.catalogue import internal
from whatworks.core.namespaces import concept
from whatworks.core.store import Store

CAVEAT = (
    "Area-level associations between local authorities (ordinary least squares, one factor "
    "at a time), not effects: they say nothing about individual children or about what would "
    "happen in an authority that changed, and the Innovation Programme list is partial."
)

OUTCOMES = {
    "rate_change_2015_2017": "change in the official rate per 10,000 children, 2015 to 2017",
    "count_percent_change_2012_2017": "percentage change in the count at 31 March, 2012 to 2017",
}

#: The internal query of the authorities' factors and outcomes
#: (``queries/internal/area_factors.rq``).
QUERY = "area_factors"

_JUDGEMENTS = ("outstanding", "requires_improvement", "inadequate")  # reference: good


@dataclass(frozen=True)
class Association:
    """One coefficient: ``estimate`` is the difference in ``outcome`` per unit of ``term``."""

    outcome: str
    factor: str
    term: str
    n: int
    estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float
    #: the concept the term stands for (an Ofsted judgement), when it is one
    concept: str | None = None


@dataclass(frozen=True)
class AreaAnalysis:
    """The associations, the number of local authorities read, and the caveat to print."""

    associations: tuple[Association, ...]
    authorities: int
    caveat: str = CAVEAT


def _rows(store: Store) -> list[dict[str, str]]:
    return [
        {k: str(v) for k, v in row.items() if v is not None}
        for row in store.select(internal(QUERY).sparql())
    ]


def _outcome(row: dict[str, str], name: str) -> float | None:
    if name == "rate_change_2015_2017":
        if "rate_2015" in row and "rate_2017" in row:
            return float(row["rate_2017"]) - float(row["rate_2015"])
        return None
    if "count_2012" in row and "count_2017" in row and float(row["count_2012"]) > 0:
        return 100 * (float(row["count_2017"]) / float(row["count_2012"]) - 1)
    return None


def _factor(row: dict[str, str], factor: str) -> list[float] | None:
    if factor == "ofsted":
        if "judgement" not in row:
            return None
        code = row["judgement"].rsplit("/", 1)[1]
        return [1.0 if code == j else 0.0 for j in _JUDGEMENTS]
    if factor == "innovation_programme":
        return [1.0 if row.get("innovation") == "true" else 0.0]
    return [float(row["imd"]) / 10] if "imd" in row else None


_TERMS = {
    "ofsted": [f"ofsted {j} (vs good)" for j in _JUDGEMENTS],
    "innovation_programme": ["Innovation Programme participant (partial list)"],
    "imd": ["IMD 2019 average score, per 10 points"],
}


def analyse(store: Store, *, alpha: float = 0.05) -> AreaAnalysis:
    """Fit one OLS model per outcome and factor; return every coefficient with its interval."""
    return analyse_rows(_rows(store), alpha=alpha)


def analyse_rows(rows: list[dict[str, str]], *, alpha: float = 0.05) -> AreaAnalysis:
    """:func:`analyse` on the rows of :data:`QUERY` already read (values as text, unbound
    variables absent), e.g. by the server's bounded query workers."""
    associations: list[Association] = []
    for outcome in OUTCOMES:
        for factor, terms in _TERMS.items():
            ys: list[float] = []
            xs: list[list[float]] = []
            for row in rows:
                y, x = _outcome(row, outcome), _factor(row, factor)
                if y is not None and x is not None:
                    ys.append(y)
                    xs.append(x)
            design = sm.add_constant(np.asarray(xs), has_constant="add")
            fit = sm.OLS(np.asarray(ys), design).fit()
            intervals = fit.conf_int(alpha=alpha)
            for index, term in enumerate(terms, start=1):
                associations.append(
                    Association(
                        outcome=outcome,
                        factor=factor,
                        term=term,
                        n=len(ys),
                        estimate=float(fit.params[index]),
                        ci_lower=float(intervals[index][0]),
                        ci_upper=float(intervals[index][1]),
                        p_value=float(fit.pvalues[index]),
                        concept=str(concept("ofsted-judgement", _JUDGEMENTS[index - 1]))
                        if factor == "ofsted"
                        else None,
                    )
                )
    return AreaAnalysis(associations=tuple(associations), authorities=len(rows))


def report(analysis: AreaAnalysis) -> str:
    """The associations as plain text, one line each, with the caveat first."""
    lines = [analysis.caveat, ""]
    for a in analysis.associations:
        lines.append(
            f"{OUTCOMES[a.outcome]} | {a.term}: {a.estimate:+.2f} "
            f"(95% CI {a.ci_lower:+.2f} to {a.ci_upper:+.2f}), n = {a.n}"
        )
    return "\n".join(lines)
