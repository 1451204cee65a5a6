"""Sample size and duration of a conversion A/B test, from statsmodels' normal power calculation (Cohen's h)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import multivariate_normal, norm
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize


@dataclass(frozen=True)
class SampleSizePlan:
    """How many users each arm needs and how long the test runs at the given traffic."""

    baseline: float
    target: float  # the treatment rate the test should be able to detect
    effect_size: float  # Cohen's h
    alpha: float
    power: float
    n_arms: int
    n_per_arm: int
    n_total: int
    days: int | None  # None when no daily traffic was given
    correction: str = "bonferroni"  # how alpha is split over the (n_arms - 1) comparisons with control
    per_test_alpha: float = float("nan")

    def to_dict(self) -> dict:
        return asdict(self)


def _check_rate(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a rate strictly between 0 and 1, got {value!r}")


def sample_size_plan(
    baseline: float,
    mde: float,
    relative: bool = True,
    power: float = 0.8,
    alpha: float = 0.05,
    daily_traffic: float | None = None,
    n_arms: int = 2,
    correction: str = "bonferroni",
) -> SampleSizePlan:
    """Users per arm to detect a change of `mde` (relative: 0.02 = +2 %; absolute: 0.02 = +2 points) two-sided.

    With more than two arms each of the (arms - 1) comparisons against control gets a share of alpha:
    "bonferroni" (default): alpha / (arms - 1), conservative for the Holm correction the analysis applies;
    "dunnett": the per-test alpha at which the family-wise error of the arms-vs-control z-tests, which share the
    control arm (correlation 1/2 with equal arms), is exactly alpha (Dunnett 1955), a little less conservative.
    """
    _check_rate("baseline", baseline)
    _check_rate("power", power)
    _check_rate("alpha", alpha)
    if n_arms < 2:
        raise ValueError(f"n_arms must be at least 2 (control + one variant), got {n_arms}")
    if mde == 0:
        raise ValueError("mde (minimum detectable effect) must not be 0")
    target = baseline * (1 + mde) if relative else baseline + mde
    _check_rate("baseline + mde", target)
    h = abs(float(proportion_effectsize(target, baseline)))
    per_test_alpha = per_comparison_alpha(alpha, n_arms - 1, correction)
    n = NormalIndPower().solve_power(effect_size=h, alpha=per_test_alpha, power=power, ratio=1.0)
    n_per_arm = int(math.ceil(float(n) - 1e-9))
    n_total = n_per_arm * n_arms
    days = None
    if daily_traffic is not None:
        if daily_traffic <= 0:
            raise ValueError(f"daily_traffic must be positive, got {daily_traffic!r}")
        days = int(math.ceil(n_total / daily_traffic))
    return SampleSizePlan(baseline, target, h, alpha, power, n_arms, n_per_arm, n_total, days, correction, per_test_alpha)


def dunnett_critical(n_comparisons: int, alpha: float = 0.05) -> float:
    """Two-sided critical |z| for `n_comparisons` equal-sized arms against one control (infinite df).

    P(max_i |Z_i| < c) = 1 - alpha with Z equicorrelated at 1/2, solved with scipy's multivariate normal.
    """
    if n_comparisons == 1:
        return float(norm.ppf(1 - alpha / 2))
    k = n_comparisons
    cov = np.full((k, k), 0.5) + 0.5 * np.eye(k)
    mvn = multivariate_normal(mean=np.zeros(k), cov=cov)

    def coverage(c: float) -> float:
        return float(mvn.cdf(np.full(k, c), lower_limit=np.full(k, -c))) - (1 - alpha)

    lo, hi = float(norm.ppf(1 - alpha / 2)), float(norm.ppf(1 - alpha / (2 * k))) + 0.01
    return float(brentq(coverage, lo, hi, xtol=1e-6))


def per_comparison_alpha(alpha: float, n_comparisons: int, correction: str = "bonferroni") -> float:
    """The two-sided alpha each arm-vs-control test is planned at, so the whole family errs at most `alpha`."""
    if correction == "bonferroni":
        return alpha / n_comparisons
    if correction == "dunnett":
        return float(2 * norm.sf(dunnett_critical(n_comparisons, alpha)))
    raise ValueError(f"correction must be 'bonferroni' or 'dunnett', got {correction!r}")


def detectable_lift(baseline: float, n_per_arm: int, power: float = 0.8, alpha: float = 0.05) -> float:
    """The smallest relative lift (e.g. 0.031 = +3.1 %) a test with `n_per_arm` users per arm detects at `power`."""
    _check_rate("baseline", baseline)
    if n_per_arm < 2:
        raise ValueError(f"n_per_arm must be at least 2, got {n_per_arm}")
    h = float(NormalIndPower().solve_power(nobs1=n_per_arm, alpha=alpha, power=power, ratio=1.0))
    # Invert Cohen's h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1)) for p2 above the baseline.
    p2 = math.sin(min(math.pi / 2, math.asin(math.sqrt(baseline)) + h / 2)) ** 2
    return p2 / baseline - 1
