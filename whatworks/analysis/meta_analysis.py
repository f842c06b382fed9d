"""Random-effects meta-analysis of effect estimates: pooling, a CSV reader, JSON and a forest plot.

The estimators come from well-kept libraries, never from formulas written here:
DerSimonian–Laird from statsmodels (``combine_effects(..., method_re="chi2")``), REML from
PyMARE (``VarianceBasedLikelihoodEstimator(method="REML")``, without its Knapp–Hartung
correction so that the standard error is the model-based one metafor reports). What this
module adds are the quantities that follow from an estimator's output in one line each:
the confidence interval (estimate ± z·se), the prediction interval, I² and the back
transformation of ratio measures. How each is computed, and why, is in
``docs/meta-analysis.md``; the numbers are checked against metafor's published results for
the BCG vaccine trials (``tests/test_meta_analysis.py``).

Example::

    >>> estimates = [
    ...     Estimate("trial A", "RR", 0.41, ci_lower=0.13, ci_upper=1.26),
    ...     Estimate("trial B", "risk_ratio", 0.20, ci_lower=0.09, ci_upper=0.49),
    ...     Estimate("trial C", "RR", 0.26, se=0.64),
    ... ]
    >>> result = pool(estimates, method="DL")
    >>> result.k, result.measure
    (3, 'RR')
    >>> round(result.estimate, 3)
    0.259
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from whatworks.analysis.forest_plot import FILE_LAYOUT, ForestRow, forest_plot_svg
from whatworks.core.errors import InputError, Problem, WhatworksError

if TYPE_CHECKING:
    import numpy as np

# NumPy, SciPy, statsmodels and PyMARE are imported by the functions that compute with
# them, not here: together they take over a second to import, which what imports this
# module without pooling anything (an ingest whose change reaches no pooled estimate)
# need not pay. tests/test_meta_analysis.py checks it.

__all__ = [
    "MEASURES",
    "Estimate",
    "EstimateError",
    "MetaAnalysisError",
    "MixedMeasuresError",
    "PooledResult",
    "PoolingFailedError",
    "TooFewEstimatesError",
    "UnknownMeasureError",
    "forest_svg",
    "measure_of",
    "pool",
    "read_estimates_csv",
    "result_as_json",
]

Measure = Literal["OR", "RR", "HR", "SMD", "MD", "RD"]
Method = Literal["REML", "DL"]
PredictionKind = Literal["normal", "riley"]

#: The effect measures that can be pooled. Each is its own family: estimates are pooled only
#: with estimates of the same measure.
MEASURES: tuple[Measure, ...] = ("OR", "RR", "HR", "SMD", "MD", "RD")
#: Measures pooled on the log scale and reported on the natural (ratio) scale.
RATIO_MEASURES: frozenset[str] = frozenset({"OR", "RR", "HR"})

#: Names accepted for each measure: the short codes (any case) and the codes of the
#: ontology's statistic scheme. Hedges' g is a standardised mean difference.
MEASURE_NAMES: dict[str, Measure] = {
    "or": "OR",
    "odds_ratio": "OR",
    "rr": "RR",
    "risk_ratio": "RR",
    "hr": "HR",
    "hazard_ratio": "HR",
    "smd": "SMD",
    "hedges_g": "SMD",
    "md": "MD",
    "mean_difference": "MD",
    "rd": "RD",
    "risk_difference": "RD",
}

#: Human names of the measures, for messages and plots.
MEASURE_LABELS: dict[str, str] = {
    "OR": "odds ratio",
    "RR": "risk ratio",
    "HR": "hazard ratio",
    "SMD": "standardised mean difference",
    "MD": "mean difference",
    "RD": "risk difference",
}

METHODS: tuple[Method, ...] = ("REML", "DL")


# ---------------------------------------------------------------------------------- errors


class MetaAnalysisError(WhatworksError):
    """Base of the errors of this module: the estimates cannot be pooled as asked."""

    exit_code = 1


class UnknownMeasureError(MetaAnalysisError):
    """A measure name that is none of :data:`MEASURE_NAMES`."""


class EstimateError(MetaAnalysisError):
    """One estimate is unusable (a ratio ≤ 0, an interval that excludes its estimate, ...).

    ``field`` names the offending input (``estimate``, ``se``, ``ci_lower``, ...).
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        self.field = field
        super().__init__(message)


class MixedMeasuresError(MetaAnalysisError):
    """The estimates belong to more than one measure family (e.g. odds and risk ratios)."""


class TooFewEstimatesError(MetaAnalysisError):
    """Fewer estimates than the analysis needs (two for pooling)."""


class PoolingFailedError(MetaAnalysisError):
    """The estimator gave no finite result (for example, it did not converge)."""

    exit_code = 2


def measure_of(name: str) -> Measure:
    """The measure family of ``name`` (``"OR"``, ``"odds_ratio"``, ``"hedges_g"`` ...).

    :raises UnknownMeasureError: ``name`` is not a measure that can be pooled.
    """
    measure = MEASURE_NAMES.get(name.strip().lower())
    if measure is None:
        allowed = ", ".join(MEASURES)
        raise UnknownMeasureError(
            f"unknown or unpoolable measure {name!r}: use one of {allowed} "
            "(or odds_ratio, risk_ratio, hazard_ratio, smd, hedges_g, mean_difference, "
            "risk_difference)"
        )
    return measure


def _z(level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + level / 2))


def _check_level(level: float, what: str) -> None:
    if not (isinstance(level, int | float) and math.isfinite(level) and 0 < level < 1):
        raise EstimateError(
            f"the {what} must be a proportion strictly between 0 and 1 (0.95, not 95)",
            field="ci_level",
        )


# ------------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class Estimate:
    """One study's effect estimate.

    ``estimate`` and the interval bounds are on the natural scale (ratios as ratios); ``se``
    is on the analysis scale (the log scale for OR, RR and HR). Give ``se`` or both interval
    bounds; when ``se`` is missing it is derived from the interval and ``ci_level``.
    ``measure`` accepts any name of :data:`MEASURE_NAMES` and is stored as its family code.

    :raises UnknownMeasureError: the measure cannot be pooled.
    :raises EstimateError: a value is not finite, a ratio is not positive, the interval is
        reversed or excludes the estimate, the standard error is not positive, or neither a
        standard error nor an interval is given.
    """

    label: str
    measure: str
    estimate: float
    se: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    ci_level: float = 0.95
    #: Where the estimate came from (e.g. a finding's IRI); not used in the computation.
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "measure", measure_of(self.measure))
        _check_level(self.ci_level, "confidence level")
        ratio = self.is_ratio
        for name in ("estimate", "se", "ci_lower", "ci_upper"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise EstimateError(f"{name} must be a number", field=name)
            if not math.isfinite(value):
                raise EstimateError(f"{name} must be a finite number", field=name)
            object.__setattr__(self, name, float(value))
            if ratio and name != "se" and value <= 0:
                raise EstimateError(
                    f"{name} of a {MEASURE_LABELS[self.measure]} must be greater than 0",
                    field=name,
                )
        if self.se is not None and self.se <= 0:
            raise EstimateError("the standard error must be greater than 0", field="se")
        if (self.ci_lower is None) != (self.ci_upper is None):
            missing = "ci_upper" if self.ci_upper is None else "ci_lower"
            raise EstimateError("give both interval bounds or neither", field=missing)
        if self.ci_lower is not None and self.ci_upper is not None:
            if not self.ci_lower < self.ci_upper:
                raise EstimateError(
                    "the lower interval bound must be below the upper one", field="ci_lower"
                )
            if not self.ci_lower <= self.estimate <= self.ci_upper:
                raise EstimateError("the estimate must lie within its interval", field="estimate")
        elif self.se is None:
            raise EstimateError(
                "give a standard error (se) or an interval (ci_lower and ci_upper)", field="se"
            )

    @property
    def is_ratio(self) -> bool:
        """True for OR, RR and HR, which are pooled on the log scale."""
        return self.measure in RATIO_MEASURES

    @property
    def y(self) -> float:
        """The estimate on the analysis scale (log for ratios)."""
        return _to_analysis(self.estimate, self.is_ratio)

    @property
    def analysis_se(self) -> float:
        """The standard error on the analysis scale: as given, or derived from the interval.

        From an interval at level L: ``(g(upper) − g(lower)) / (2 · z)``, with g the log for
        ratios (the identity otherwise) and z the standard normal quantile at (1 + L) / 2.
        """
        if self.se is not None:
            return self.se
        assert self.ci_lower is not None and self.ci_upper is not None
        ratio = self.is_ratio
        width = _to_analysis(self.ci_upper, ratio) - _to_analysis(self.ci_lower, ratio)
        return width / (2 * _z(self.ci_level))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The interval to show on the natural scale: as reported when at ``level``,
        otherwise estimate ± z·se on the analysis scale."""
        if self.ci_lower is not None and self.ci_upper is not None and self.ci_level == level:
            return self.ci_lower, self.ci_upper
        half = _z(level) * self.analysis_se
        return (
            _to_natural(self.y - half, self.is_ratio),
            _to_natural(self.y + half, self.is_ratio),
        )


def _to_analysis(value: float, ratio: bool) -> float:
    return math.log(value) if ratio else value


def _to_natural(value: float, ratio: bool) -> float:
    return math.exp(value) if ratio else value


# --------------------------------------------------------------------------------- pooling


@dataclass(frozen=True)
class PooledResult:
    """A random-effects pooled estimate.

    ``estimate``, the confidence interval (``ci_*``) and the prediction interval (``pi_*``)
    are on the natural scale (ratios as ratios); ``se`` and ``tau2`` are on the analysis
    scale (log for ratios). ``i2`` is a percentage floored at 0; ``q`` is Cochran's Q
    (inverse-variance weights), with ``q_df`` = k − 1 degrees of freedom and p-value
    ``q_p``.
    """

    k: int
    method: Method
    measure: Measure
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    tau2: float
    i2: float
    q: float
    q_df: int
    q_p: float
    level: float = 0.95
    prediction: PredictionKind = "normal"
    #: The library (and version) whose estimator produced tau² and the pooled estimate.
    software: str = ""

    @property
    def is_ratio(self) -> bool:
        return self.measure in RATIO_MEASURES

    @property
    def y(self) -> float:
        """The pooled estimate on the analysis scale."""
        return _to_analysis(self.estimate, self.is_ratio)


def pool(
    estimates: Sequence[Estimate],
    method: Method = "REML",
    *,
    level: float = 0.95,
    prediction: PredictionKind = "normal",
) -> PooledResult:
    """Pool ``estimates`` with a random-effects model.

    ``method`` is ``"REML"`` (PyMARE) or ``"DL"`` (DerSimonian–Laird, statsmodels). The
    confidence interval is estimate ± z·se. The prediction interval is, by default,
    estimate ± z·√(se² + τ²), as metafor's ``predict()`` computes it for ``rma()``;
    ``prediction="riley"`` uses a t distribution with k − 2 degrees of freedom instead
    (Riley et al. 2011; Higgins et al. 2009), which needs k ≥ 3.

    :raises MixedMeasuresError: the estimates are of more than one measure family.
    :raises TooFewEstimatesError: fewer than two estimates (three for a Riley interval).
    :raises MetaAnalysisError: an unknown method or prediction interval, or a level outside
        (0, 1).
    :raises PoolingFailedError: the estimator gave no finite result.
    """
    if method not in METHODS:
        raise MetaAnalysisError(f"unknown method {method!r}: use REML or DL")
    if prediction not in ("normal", "riley"):
        raise MetaAnalysisError(f"unknown prediction interval {prediction!r}: normal or riley")
    _check_level(level, "level")
    k = len(estimates)
    families = sorted({e.measure for e in estimates})
    if len(families) > 1:
        raise MixedMeasuresError(
            "cannot pool estimates of different measures together: found "
            + ", ".join(families)
            + "; pool each measure separately"
        )
    minimum = 3 if prediction == "riley" else 2
    if k < minimum:
        raise TooFewEstimatesError(
            f"pooling needs at least {minimum} estimates, got {k}"
            + (" (a Riley prediction interval uses k − 2 degrees of freedom)" if k == 2 else "")
        )
    import numpy as np
    from scipy import stats

    measure: Measure = estimates[0].measure  # type: ignore[assignment]
    y = np.array([e.y for e in estimates], dtype=float)
    v = np.array([e.analysis_se**2 for e in estimates], dtype=float)

    if method == "DL":
        mu, se, tau2, software = _fit_dl(y, v)
    else:
        mu, se, tau2, software = _fit_reml(y, v)
    q, q_p = _heterogeneity(y, v)
    if not all(math.isfinite(x) for x in (mu, se, tau2, q)) or se <= 0:
        raise PoolingFailedError(f"the {method} estimator gave no finite result")
    tau2 = max(tau2, 0.0)

    z = _z(level)
    crit = z if prediction == "normal" else float(stats.t.ppf(0.5 + level / 2, k - 2))
    half_pi = crit * math.sqrt(se**2 + tau2)
    ratio = measure in RATIO_MEASURES
    return PooledResult(
        k=k,
        method=method,
        measure=measure,
        estimate=_to_natural(mu, ratio),
        se=se,
        ci_lower=_to_natural(mu - z * se, ratio),
        ci_upper=_to_natural(mu + z * se, ratio),
        pi_lower=_to_natural(mu - half_pi, ratio),
        pi_upper=_to_natural(mu + half_pi, ratio),
        tau2=tau2,
        i2=_i_squared(v, tau2),
        q=q,
        q_df=k - 1,
        q_p=q_p,
        level=level,
        prediction=prediction,
        software=software,
    )


def _fit_dl(y: np.ndarray, v: np.ndarray) -> tuple[float, float, float, str]:
    result = _combine(y, v)
    software = f"statsmodels {_version('statsmodels')}"
    if float(result.tau2) < 0:
        # statsmodels (0.14, 0.15) leaves the DL moment estimate (Q − df) / c untruncated when
        # Q < df and weights the random-effects mean with that negative tau². DerSimonian and
        # Laird truncate at 0, where the random-effects model is the fixed-effect one: take
        # statsmodels' fixed-effect mean and standard error from the same fit.
        return float(result.mean_effect_fe), float(result.sd_eff_w_fe), 0.0, software
    return float(result.mean_effect_re), float(result.sd_eff_w_re), float(result.tau2), software


def _combine(y: np.ndarray, v: np.ndarray) -> Any:
    """statsmodels' DerSimonian-Laird fit (``method_re="chi2"``).

    Identical estimates give Q = 0, and statsmodels divides by it computing ratios we do
    not use (H², its own I²); the estimate, its SE and tau² are still defined.
    """
    import numpy as np
    from statsmodels.stats.meta_analysis import combine_effects

    with np.errstate(divide="ignore", invalid="ignore"):
        return combine_effects(y, v, method_re="chi2")


def _fit_reml(y: np.ndarray, v: np.ndarray) -> tuple[float, float, float, str]:
    with warnings.catch_warnings():
        # PyMARE 0.0.x opens a JSON file of its effect-size expressions at import time
        # without closing it; the ResourceWarning is about PyMARE's own file, not our data.
        warnings.filterwarnings(
            "ignore", category=ResourceWarning, message=r"unclosed file .*expressions\.json"
        )
        from pymare import Dataset
        from pymare.estimators import VarianceBasedLikelihoodEstimator

    import numpy as np

    estimator = VarianceBasedLikelihoodEstimator(method="REML", small_sample_correction="wald")
    estimator.fit_dataset(Dataset(y=y, v=v))
    summary = estimator.summary()
    return (
        float(np.ravel(summary.fe_params)[0]),
        float(np.ravel(summary.fe_se)[0]),
        float(np.ravel(summary.tau2)[0]),
        f"PyMARE {_version('PyMARE')}",
    )


def _heterogeneity(y: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """Cochran's Q and its p-value, from statsmodels (fixed-effect weights, as metafor)."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        test = _combine(y, v).test_homogeneity()
    return float(test.statistic), float(test.pvalue)


def _i_squared(v: np.ndarray, tau2: float) -> float:
    """I² = 100 · τ² / (τ² + s²), s² the 'typical' within-study variance (Higgins &
    Thompson 2002), as metafor reports it for every τ² estimator. For DerSimonian–Laird it
    equals 100 · (Q − df) / Q floored at 0."""
    w = 1 / v
    k = len(v)
    s2 = (k - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())
    return max(0.0, float(100 * tau2 / (tau2 + s2)))


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:  # pragma: no cover - both are dependencies
        return "unknown version"


# -------------------------------------------------------------------------------- CSV, JSON

CSV_COLUMNS = ("label", "measure", "estimate", "se", "ci_lower", "ci_upper", "ci_level")
REQUIRED_COLUMNS = ("label", "measure", "estimate")


def read_estimates_csv(path: str | Path) -> list[Estimate]:
    """Read estimates from a CSV file (UTF-8, a byte-order mark allowed).

    Columns: ``label``, ``measure`` (OR, RR, HR, SMD, MD, RD or a statistic code such as
    ``odds_ratio``), ``estimate`` (natural scale), and either ``se`` (analysis scale: log
    for ratios) or ``ci_lower`` and ``ci_upper`` (natural scale), with an optional
    ``ci_level`` (default 0.95). Row numbers count the header as row 1.

    :raises InputError: with every problem found, each located by file, row and column; or
        one problem about the whole file (missing, unreadable, empty, required columns
        absent).
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise InputError([Problem(name, "no such file")]) from exc
    except OSError as exc:
        raise InputError([Problem(name, f"cannot read the file: {exc.strerror}")]) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(name, f"not UTF-8 text (byte {exc.start}): save the file as CSV UTF-8")]
        ) from exc
    if not text.strip():
        raise InputError([Problem(name, "the file is empty: expected a header row and rows")])
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError([Problem(name, f"not a readable CSV file: {exc}")]) from exc
    header = [cell.strip().lower() for cell in table[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            [
                Problem(
                    name,
                    "required columns are missing: " + ", ".join(missing),
                    row=1,
                    found=", ".join(header),
                    expected="columns " + ", ".join(CSV_COLUMNS[:4]) + " or ci_lower/ci_upper",
                )
            ]
        )
    if "se" not in header and not ("ci_lower" in header and "ci_upper" in header):
        raise InputError(
            [
                Problem(
                    name,
                    "give a column se or both columns ci_lower and ci_upper",
                    row=1,
                    found=", ".join(header),
                )
            ]
        )
    estimates: list[Estimate] = []
    problems: list[Problem] = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = {col: (cells[i].strip() if i < len(cells) else "") for i, col in enumerate(header)}
        estimate = _row_estimate(name, number, row, problems)
        if estimate is not None:
            estimates.append(estimate)
    if problems:
        raise InputError(problems)
    if not estimates:
        raise InputError([Problem(name, "the file has a header but no estimates")])
    return estimates


def _row_estimate(
    name: str, number: int, row: dict[str, str], problems: list[Problem]
) -> Estimate | None:
    before = len(problems)

    def problem(column: str, message: str, found: str | None, expected: str = "") -> None:
        problems.append(Problem(name, message, row=number, column=column, found=found,
                                expected=expected))  # fmt: skip

    label = row.get("label", "")
    if not label:
        problem("label", "a label is required", None)
    measure_text = row.get("measure", "")
    if not measure_text:
        problem("measure", "a measure is required", None, "one of " + ", ".join(MEASURES))
    elif measure_text.lower() not in MEASURE_NAMES:
        problem("measure", "unknown measure", measure_text, "one of " + ", ".join(MEASURES))
    numbers: dict[str, float | None] = {}
    for column in ("estimate", "se", "ci_lower", "ci_upper", "ci_level"):
        text = row.get(column, "")
        if not text:
            numbers[column] = None
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            problem(column, "not a number", text, "a number with a decimal point, e.g. 0.85")
            numbers[column] = None
        else:
            numbers[column] = value
    if not row.get("estimate"):
        problem("estimate", "an estimate is required", None)
    if len(problems) > before:
        return None
    level = numbers["ci_level"]
    try:
        return Estimate(
            label,
            measure_text,
            numbers["estimate"],  # type: ignore[arg-type]
            se=numbers["se"],
            ci_lower=numbers["ci_lower"],
            ci_upper=numbers["ci_upper"],
            ci_level=0.95 if level is None else level,
        )
    except EstimateError as exc:
        column = exc.field or "estimate"
        problem(column, str(exc), row.get(column) or None)
        return None


def result_as_json(result: PooledResult) -> dict[str, Any]:
    """A JSON-ready dict of ``result``: the estimate and both intervals on the natural scale
    (ratios as ratios), ``se`` and ``tau2`` on the analysis scale (named by ``scale``)."""
    return {
        "k": result.k,
        "method": result.method,
        "measure": result.measure,
        "scale": "log" if result.is_ratio else "identity",
        "estimate": result.estimate,
        "se": result.se,
        "ci_lower": result.ci_lower,
        "ci_upper": result.ci_upper,
        "level": result.level,
        "pi_lower": result.pi_lower,
        "pi_upper": result.pi_upper,
        "prediction_interval": result.prediction,
        "tau2": result.tau2,
        "tau": math.sqrt(result.tau2),
        "i2": result.i2,
        "q": result.q,
        "q_df": result.q_df,
        "q_p": result.q_p,
        "software": result.software,
    }


# ------------------------------------------------------------------------------ forest plot


def forest_svg(
    estimates: Sequence[Estimate], result: PooledResult, *, title: str | None = None
) -> str:
    """A forest plot of ``estimates`` and their pooled ``result`` as standalone SVG text.

    One row per estimate (a square sized by its random-effects weight, its interval as a
    line), the pooled estimate as a diamond spanning its confidence interval, and the
    prediction interval as a line under it. Ratios are drawn on a log axis with a
    reference line at 1 (0 otherwise). Every mark carries a ``<title>`` with its numbers,
    the whole plot a ``<title>`` and ``<desc>``; nothing is fetched from elsewhere. The
    drawing is :func:`~whatworks.analysis.forest_plot.forest_plot_svg`'s; this says what
    to draw.
    """
    level = result.level
    weights = [1 / (e.analysis_se**2 + result.tau2) for e in estimates]
    total = sum(weights)
    name = MEASURE_LABELS[result.measure]
    pct = f"{level * 100:g}%"
    rows = []
    for estimate, weight in zip(estimates, weights, strict=True):
        low, high = estimate.interval(level)
        share = weight / total
        rows.append(
            ForestRow(
                estimate.label,
                estimate.estimate,
                low,
                high,
                weight=share,
                tip=f"{estimate.label}: {name} {_fmt(estimate.estimate)} ({pct} CI "
                f"{_fmt(low)} to {_fmt(high)}), weight {share * 100:.1f}%",
                numbers=f"{_fmt(estimate.estimate)} [{_fmt(low)}, {_fmt(high)}]",
            )
        )
    pooled = ForestRow(
        f"Random effects ({result.method})",
        result.estimate,
        result.ci_lower,
        result.ci_upper,
        tip=f"Pooled ({result.method}): {name} {_fmt(result.estimate)} ({pct} CI "
        f"{_fmt(result.ci_lower)} to {_fmt(result.ci_upper)})",
        numbers=f"{_fmt(result.estimate)} [{_fmt(result.ci_lower)}, {_fmt(result.ci_upper)}]",
    )
    prediction = ForestRow(
        "Prediction interval",
        result.estimate,
        result.pi_lower,
        result.pi_upper,
        tip=f"Prediction interval: {_fmt(result.pi_lower)} to {_fmt(result.pi_upper)} "
        f"(where {pct} of true effects in comparable settings are expected to lie)",
        numbers=f"[{_fmt(result.pi_lower)}, {_fmt(result.pi_upper)}]",
    )
    summary = (
        f"Pooled {name} {_fmt(result.estimate)} ({pct} CI {_fmt(result.ci_lower)} to "
        f"{_fmt(result.ci_upper)}; prediction interval {_fmt(result.pi_lower)} to "
        f"{_fmt(result.pi_upper)}); tau² {_fmt(result.tau2)}, I² {result.i2:.1f}%, "
        f"Q {result.q:.2f} on {result.q_df} df (p {_fmt_p(result.q_p)})."
    )
    return forest_plot_svg(
        rows,
        ratio=result.is_ratio,
        title=title or f"Forest plot: {name}, random effects ({result.method}), k = {result.k}",
        layout=FILE_LAYOUT,
        pooled=pooled,
        prediction=prediction,
        description=summary,
        numbers_heading=f"{name.capitalize()} [{pct} CI]",
        axis_label=name.capitalize(),
        ident="forest",
    )


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 0.01:
        return f"{value:.2f}"
    return f"{value:.2g}"


def _fmt_p(p: float) -> str:
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"
