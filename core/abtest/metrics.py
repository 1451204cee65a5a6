"""Several metrics per arm against control: proportions, means (capped if asked), ratios (delta method), guardrails.

A per-user frame holds one row per user and the columns the metrics read (converted, revenue, orders, ...).
statsmodels does each test it has: the two-proportion z-test and Wald interval, Welch's t-test and interval, and the
non-inferiority forms of both (`test_proportions_2indep(value=-margin, alternative="larger")`,
`CompareMeans.ttest_ind(value=-margin, alternative="larger")`). The ratio metric (sum of numerators over sum of
denominators per arm, e.g. revenue per order) has no statsmodels test: its variance is the delta method's
(Deng et al. 2018, "Applying the Delta Method in Metric Analytics"), and the test is a z-test on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportions_ztest,
    test_proportions_2indep,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

KINDS = ("proportion", "mean", "ratio")


@dataclass(frozen=True)
class MetricSpec:
    """One metric: `column` per user (proportion: 0/1; mean: any number); ratio: sum(column) / sum(denominator)."""

    name: str
    kind: str
    column: str
    denominator: str | None = None
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == "ratio") != (self.denominator is not None):
            raise ValueError(f"metric {self.name!r}: a ratio needs a denominator column, other kinds none")


@dataclass
class MetricResult:
    """One metric, one arm against control. diff = arm - control; rel_diff = arm / control - 1."""

    metric: str
    kind: str
    variant: str
    control: str
    value_control: float
    value_variant: float
    diff: float
    ci_low: float
    ci_high: float
    rel_diff: float
    se: float
    p_value: float
    p_adjusted: float = float("nan")
    significant: bool = False
    method: str = ""


@dataclass
class GuardrailResult:
    """Non-inferiority: H0 the arm is worse than control by at least `margin` (relative to control's value)."""

    metric: str
    variant: str
    control: str
    margin: float  # relative, 0.02 = the arm may be at most 2 % worse
    margin_abs: float
    diff: float
    ci_low: float  # two-sided interval at the report's alpha
    ci_high: float
    p_value: float  # one-sided non-inferiority p-value
    p_adjusted: float = float("nan")
    non_inferior: bool = False
    higher_is_better: bool = True


def cap_values(x: np.ndarray, quantile: float | None = None, value: float | None = None) -> tuple[np.ndarray, float]:
    """Winsorise heavy-tailed money from above at a pooled quantile (of the non-zero values, so 99 % zeros do not
    make the cap 0) or at a fixed value; returns (capped values, cap used; inf when none)."""
    x = np.asarray(x, dtype=np.float64)
    if quantile is not None and value is not None:
        raise ValueError("cap revenue by a quantile or by a value, not both")
    if value is not None:
        if not value > 0:
            raise ValueError(f"revenue cap must be positive, got {value!r}")
        cap = float(value)
    elif quantile is not None:
        if not 0.5 <= quantile < 1.0:
            raise ValueError(f"revenue cap quantile must be in [0.5, 1), got {quantile!r}")
        positive = x[x > 0]
        cap = float(np.quantile(positive, quantile)) if len(positive) else float("inf")
    else:
        return x, float("inf")
    return np.minimum(x, cap), cap


def ratio_delta(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """(ratio, variance) of sum(num) / sum(den) over n users by the delta method.

    Var(R) ~ (var(num) - 2 R cov(num, den) + R^2 var(den)) / (n mean(den)^2), users independent.
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    n = len(num)
    if n < 2 or den.sum() <= 0:
        return float("nan"), float("nan")
    mu_d = den.mean()
    r = num.sum() / den.sum()
    cov = np.cov(num, den, ddof=1)
    var = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (n * mu_d * mu_d)
    return float(r), float(max(var, 0.0))


def _rel(v: float, c: float) -> float:
    return v / c - 1 if c else float("nan")


def compare_metric(spec: MetricSpec, variant: pd.DataFrame, control: pd.DataFrame, names: tuple[str, str],
                   alpha: float = 0.05) -> MetricResult:
    """The metric in both arms, the difference with its interval and the two-sided superiority p-value."""
    v_name, c_name = names
    if spec.kind == "proportion":
        cv, nv = int(variant[spec.column].sum()), len(variant)
        cc, nc = int(control[spec.column].sum()), len(control)
        pv, pc = cv / nv, cc / nc
        lo, hi = confint_proportions_2indep(cv, nv, cc, nc, method="wald", compare="diff", alpha=alpha)
        p = float(proportions_ztest([cv, cc], [nv, nc])[1]) if 0 < cv + cc < nv + nc else 1.0
        se = float(np.sqrt(pv * (1 - pv) / nv + pc * (1 - pc) / nc))
        return MetricResult(spec.name, spec.kind, v_name, c_name, pc, pv, pv - pc, float(lo), float(hi),
                            _rel(pv, pc), se, p, method="two-proportion z-test, Wald interval")
    if spec.kind == "mean":
        xv = variant[spec.column].to_numpy(dtype=np.float64)
        xc = control[spec.column].to_numpy(dtype=np.float64)
        mv, mc = float(xv.mean()), float(xc.mean())
        if len(xv) < 2 or len(xc) < 2 or (xv.var() == 0 and xc.var() == 0):
            return MetricResult(spec.name, spec.kind, v_name, c_name, mc, mv, mv - mc, mv - mc, mv - mc,
                                _rel(mv, mc), 0.0, 1.0, method="Welch t-test")
        cm = CompareMeans(DescrStatsW(xv), DescrStatsW(xc))
        _, p, _ = cm.ttest_ind(usevar="unequal")
        lo, hi = cm.tconfint_diff(alpha=alpha, usevar="unequal")
        se = float(cm.std_meandiff_separatevar)
        return MetricResult(spec.name, spec.kind, v_name, c_name, mc, mv, mv - mc, float(lo), float(hi),
                            _rel(mv, mc), se, float(p), method="Welch t-test")
    rv, var_v = ratio_delta(variant[spec.column], variant[spec.denominator])
    rc, var_c = ratio_delta(control[spec.column], control[spec.denominator])
    diff = rv - rc
    se = float(np.sqrt(var_v + var_c))
    if not se > 0:
        return MetricResult(spec.name, spec.kind, v_name, c_name, rc, rv, diff, diff, diff, _rel(rv, rc),
                            0.0, 1.0 if diff == diff else float("nan"), method="delta method z-test")
    z = stats.norm.ppf(1 - alpha / 2)
    p = float(2 * stats.norm.sf(abs(diff) / se))
    return MetricResult(spec.name, spec.kind, v_name, c_name, rc, rv, diff, diff - z * se, diff + z * se,
                        _rel(rv, rc), se, p, method="delta method z-test")


def non_inferiority(spec: MetricSpec, variant: pd.DataFrame, control: pd.DataFrame, names: tuple[str, str],
                    margin: float, alpha: float = 0.05) -> GuardrailResult:
    """One-sided test that the arm is not worse than control by `margin` x control's value (statsmodels where it
    has the test). "Worse" is lower for higher-is-better metrics, higher otherwise."""
    if not margin > 0:
        raise ValueError(f"guardrail {spec.name!r}: the non-inferiority margin must be positive, got {margin!r}")
    base = compare_metric(spec, variant, control, names, alpha)
    m_abs = margin * abs(base.value_control)
    sign = 1.0 if spec.higher_is_better else -1.0
    alternative = "larger" if spec.higher_is_better else "smaller"
    if spec.kind == "proportion":
        cv, nv = int(variant[spec.column].sum()), len(variant)
        cc, nc = int(control[spec.column].sum()), len(control)
        res = test_proportions_2indep(cv, nv, cc, nc, value=-sign * m_abs, method="wald", compare="diff",
                                      alternative=alternative)
        p = float(res.pvalue)
    elif spec.kind == "mean" and base.se > 0:
        cm = CompareMeans(DescrStatsW(variant[spec.column].to_numpy(dtype=np.float64)),
                          DescrStatsW(control[spec.column].to_numpy(dtype=np.float64)))
        p = float(cm.ttest_ind(alternative=alternative, usevar="unequal", value=-sign * m_abs)[1])
    elif base.se > 0:
        p = float(stats.norm.sf(sign * (base.diff + sign * m_abs) / base.se))
    else:
        p = 0.0 if sign * base.diff > -m_abs else 1.0
    return GuardrailResult(spec.name, base.variant, base.control, margin, m_abs, base.diff, base.ci_low,
                           base.ci_high, p, higher_is_better=spec.higher_is_better)


def default_metrics(frame: pd.DataFrame) -> list[MetricSpec]:
    """Conversion always; revenue per user, orders per user and average order value where the columns exist."""
    specs = [MetricSpec("conversion", "proportion", "converted")]
    if "revenue" in frame:
        specs.append(MetricSpec("revenue per user", "mean", "revenue"))
    if "orders" in frame:
        specs.append(MetricSpec("orders per user", "mean", "orders"))
        if "revenue" in frame:
            specs.append(MetricSpec("average order value", "ratio", "revenue", denominator="orders"))
    return specs


def results_frame(rows: list[MetricResult] | list[GuardrailResult]) -> pd.DataFrame:
    return pd.DataFrame([asdict(r) for r in rows])
