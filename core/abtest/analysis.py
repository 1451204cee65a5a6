"""The analysis of a cleaned exposure frame: per-arm figures and every arm against control.

statsmodels and scipy do the statistics wherever they have the test: the two-proportion z-test
(`proportions_ztest`, pooled variance), Wald / log-ratio intervals (`confint_proportions_2indep`), Welch's t-test
and its interval (`ttest_ind`/`CompareMeans`, usevar="unequal"), the sample-ratio chi-square (`scipy.stats.chisquare`)
and Holm (`multipletests`). What they lack is computed here: the exact Beta-Binomial chance to beat control and the
mixture SPRT always-valid p-value (Johari et al. 2017, "Peeking at A/B tests"), which a marketer may check daily.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import betaln, logsumexp
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

from core.abtest.planner import sample_size_plan
from core.i18n import Message, join_lines

SRM_THRESHOLD = 0.01  # a sample-ratio mismatch is flagged below this chi-square p-value
DEFAULT_MDE = 0.02  # the relative lift the verdict talks about ("… would detect a 2 % lift")
SEQUENTIAL_TAU = 0.1  # mSPRT mixing scale, relative to the control rate


@dataclass
class ArmStats:
    variant: str
    users: int
    conversions: int
    rate: float
    revenue: float
    revenue_per_user: float
    revenue_sd: float


@dataclass
class CupedResult:
    """Revenue (or conversion) difference after removing what the pre-period metric already explains."""

    metric: str
    theta: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    raw_diff: float
    variance_reduction: float  # share of the metric's variance removed (0.3 = 30 % fewer users needed)


@dataclass
class Comparison:
    """One arm against control. Lifts are arm minus control; relative lift is arm / control - 1."""

    variant: str
    control: str
    abs_lift: float
    abs_ci: tuple[float, float]
    rel_lift: float
    rel_ci: tuple[float, float]
    z: float
    p_conversion: float
    p_conversion_holm: float
    revenue_diff: float
    revenue_ci: tuple[float, float]
    t_revenue: float
    p_revenue: float
    p_revenue_holm: float
    chance_to_beat: float
    sequential_p: float
    significant: bool
    cuped: CupedResult | None = None
    # CUPED on conversion (the pre-period metric explains some of who converts); None without a pre_metric.
    cuped_conversion: CupedResult | None = None
    # Which p-values the Holm correction and the significance call used: "z-test/Welch" or "CUPED".
    p_source: str = "z-test/Welch"
    sequential_tau: float = float("nan")  # the mSPRT mixing scale, fixed for the experiment


@dataclass
class SrmResult:
    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float
    p_value: float
    flagged: bool


@dataclass
class Analysis:
    control: str
    alpha: float
    arms: list[ArmStats]
    comparisons: list[Comparison]
    srm: SrmResult
    verdict: str
    has_revenue: bool
    has_pre_metric: bool
    notes: list[str] = field(default_factory=list)

    def arms_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(a) for a in self.arms])

    def comparisons_frame(self) -> pd.DataFrame:
        rows = []
        for c in self.comparisons:
            d = asdict(c)
            d.pop("cuped")
            d.pop("cuped_conversion")
            for key in ("abs_ci", "rel_ci", "revenue_ci"):
                lo, hi = d.pop(key)
                d[f"{key}_low"], d[f"{key}_high"] = lo, hi
            rows.append(d)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return asdict(self)


# ---- single statistics ----------------------------------------------------------------------------------------
def chance_to_beat(conv_a: int, n_a: int, conv_b: int, n_b: int, prior: tuple[float, float] = (1.0, 1.0)) -> float:
    """P(rate_b > rate_a) under independent Beta(prior + successes, prior + failures) posteriors, exactly.

    Sum over i < alpha_b of B(alpha_a + i, beta_a + beta_b) / ((beta_b + i) B(1 + i, beta_b) B(alpha_a, beta_a))
    (Evan Miller, "Formulas for Bayesian A/B testing"), in log space so 10^5 conversions stay finite.
    """
    a_a, b_a = prior[0] + conv_a, prior[1] + n_a - conv_a
    a_b, b_b = prior[0] + conv_b, prior[1] + n_b - conv_b
    if a_b != int(a_b):
        raise ValueError("chance_to_beat needs an integer prior alpha (the exact sum runs over it)")
    i = np.arange(int(a_b), dtype=np.float64)
    terms = betaln(a_a + i, b_a + b_b) - np.log(b_b + i) - betaln(1 + i, b_b) - betaln(a_a, b_a)
    return float(min(1.0, max(0.0, math.exp(logsumexp(terms)))))


def msprt_p_value(diff: float, var: float, tau: float) -> float:
    """Always-valid p-value of one look: 1 / mixture likelihood ratio of N(0, tau^2) effects vs none, capped at 1.

    `diff` estimates the effect with sampling variance `var`. Take the running minimum over looks.
    """
    if var <= 0 or tau <= 0:
        return 1.0
    tau2 = tau * tau
    log_lr = 0.5 * math.log(var / (var + tau2)) + diff * diff * tau2 / (2 * var * (var + tau2))
    return float(min(1.0, math.exp(-log_lr)))


def srm_check(counts: dict[str, int], planned: dict[str, float] | None = None) -> SrmResult:
    """Chi-square of the observed users per arm against the planned split (equal when not given)."""
    variants = list(counts)
    observed = np.array([counts[v] for v in variants], dtype=np.float64)
    if planned is None:
        weights = np.ones(len(variants))
    else:
        missing = [v for v in variants if v not in planned]
        if missing:
            raise ValueError(f"planned split has no share for arm(s) {missing}; it names {list(planned)}")
        weights = np.array([float(planned[v]) for v in variants])
        if (weights <= 0).any():
            raise ValueError(f"planned split shares must be positive, got {planned}")
    expected = observed.sum() * weights / weights.sum()
    if len(variants) < 2:
        return SrmResult(dict(counts), dict(zip(variants, expected.tolist())), 0.0, 1.0, False)
    res = stats.chisquare(observed, expected)
    p = float(res.pvalue)
    return SrmResult(
        {v: int(c) for v, c in counts.items()},
        dict(zip(variants, expected.tolist())),
        float(res.statistic),
        p,
        p < SRM_THRESHOLD,
    )


def _welch(x_variant: np.ndarray, x_control: np.ndarray, alpha: float) -> tuple[float, float, float, float, float]:
    """(difference, ci_low, ci_high, t, p) of means, Welch's unequal-variance t-test."""
    diff = float(x_variant.mean() - x_control.mean())
    if len(x_variant) < 2 or len(x_control) < 2 or (x_variant.var() == 0 and x_control.var() == 0):
        return diff, diff, diff, 0.0, 1.0
    t, p, _ = ttest_ind(x_variant, x_control, usevar="unequal")
    lo, hi = CompareMeans(DescrStatsW(x_variant), DescrStatsW(x_control)).tconfint_diff(alpha=alpha, usevar="unequal")
    return diff, float(lo), float(hi), float(t), float(p)


def conversion_interval(conv_v: int, n_v: int, conv_c: int, n_c: int, alpha: float = 0.05):
    """Absolute lift and its Wald interval; relative lift and its log-ratio interval (statsmodels)."""
    abs_lo, abs_hi = confint_proportions_2indep(conv_v, n_v, conv_c, n_c, method="wald", compare="diff", alpha=alpha)
    if conv_c > 0 and conv_v > 0:
        r_lo, r_hi = confint_proportions_2indep(conv_v, n_v, conv_c, n_c, method="log", compare="ratio", alpha=alpha)
        rel_ci = (float(r_lo) - 1, float(r_hi) - 1)
    else:
        rel_ci = (float("nan"), float("nan"))
    return (float(abs_lo), float(abs_hi)), rel_ci


def _cuped(y: np.ndarray, x: np.ndarray, is_variant: np.ndarray, metric: str, alpha: float) -> CupedResult:
    """theta = cov(y, x) / var(x) pooled over both arms; compare y - theta (x - mean x) with Welch."""
    x = np.where(np.isnan(x), np.nanmean(x), x)
    var_x = float(np.var(x, ddof=1))
    theta = float(np.cov(y, x, ddof=1)[0, 1] / var_x) if var_x > 0 else 0.0
    adj = y - theta * (x - x.mean())
    diff, lo, hi, _, p = _welch(adj[is_variant], adj[~is_variant], alpha)
    var_y = float(np.var(y, ddof=1))
    reduction = 1 - float(np.var(adj, ddof=1)) / var_y if var_y > 0 else 0.0
    raw = float(y[is_variant].mean() - y[~is_variant].mean())
    return CupedResult(metric, theta, diff, lo, hi, p, raw, reduction)


# ---- cumulative series ----------------------------------------------------------------------------------------
def _tau(baseline: float) -> float:
    """mSPRT mixing scale: relative effects of about +-10 % of the control rate, where shop tests' effects sit.

    Much smaller (the 2 % a verdict plans for) makes the always-valid p-value slow to react even to large effects.
    """
    return max(SEQUENTIAL_TAU * max(baseline, 1e-3), 1e-4)


def sequential_scale(df: pd.DataFrame, control: str, variant: str, tau: float | None = None) -> float:
    """The mSPRT mixing scale, fixed for the whole experiment (the mixture must not change between looks).

    `tau` (absolute, in conversion-rate points): the user's choice, used as given. Default: SEQUENTIAL_TAU times
    the control rate at the *first* look (the earliest day both arms have users; the whole log when it has no
    timestamps), so later data never moves it. Re-deriving it from each look's control rate (the old behaviour)
    makes the mixture data-dependent and the p-value no longer always valid.
    """
    if tau is not None:
        if not tau > 0:
            raise ValueError(f"sequential mixing scale tau must be positive, got {tau!r}")
        return float(tau)
    part = df[df["variant"].isin([control, variant])]
    if "timestamp" in part and part["timestamp"].notna().any():
        part = part[part["timestamp"].notna()]
        day = pd.to_datetime(part["timestamp"]).dt.floor("D")
        is_v = part["variant"] == variant
        if is_v.any() and (~is_v).any():
            first_look = max(day[is_v].min(), day[~is_v].min())  # the first day both arms have users
            return _tau(float(part.loc[(day <= first_look) & ~is_v, "converted"].mean()))
    ctrl = part.loc[part["variant"] == control, "converted"]
    return _tau(float(ctrl.mean()) if len(ctrl) else 0.0)


def cumulative(df: pd.DataFrame, control: str, variant: str, alpha: float = 0.05, freq: str = "D",
               tau: float | None = None) -> pd.DataFrame:
    """Per day: cumulative users and conversions per arm, the lift with its interval, and the sequential p-value.

    Empty when the log has no timestamps. The last row equals the full analysis (same statsmodels calls).
    `tau`: the mSPRT mixing scale (see `sequential_scale`), one value for every look; column `tau` shows it.
    """
    if "timestamp" not in df or df["timestamp"].isna().all():
        return pd.DataFrame()
    part = df[df["variant"].isin([control, variant]) & df["timestamp"].notna()]
    day = pd.to_datetime(part["timestamp"]).dt.floor(freq)
    grouped = part.assign(day=day, is_v=part["variant"] == variant).groupby(["day", "is_v"])["converted"].agg(
        ["size", "sum"]
    )
    table = grouped.unstack("is_v", fill_value=0).sort_index().cumsum()
    rows = []
    scale = sequential_scale(df, control, variant, tau)
    best_seq = 1.0
    for when, r in table.iterrows():
        n_c, c_c = int(r.get(("size", False), 0)), int(r.get(("sum", False), 0))
        n_v, c_v = int(r.get(("size", True), 0)), int(r.get(("sum", True), 0))
        if n_c == 0 or n_v == 0:
            continue
        p_c, p_v = c_c / n_c, c_v / n_v
        (lo, hi), (rlo, rhi) = conversion_interval(c_v, n_v, c_c, n_c, alpha)
        z, p = proportions_ztest([c_v, c_c], [n_v, n_c]) if 0 < c_c + c_v < n_c + n_v else (0.0, 1.0)
        var = p_c * (1 - p_c) / n_c + p_v * (1 - p_v) / n_v
        best_seq = min(best_seq, msprt_p_value(p_v - p_c, var, scale))
        rows.append(
            {
                "day": when, "users_control": n_c, "conversions_control": c_c, "users_variant": n_v,
                "conversions_variant": c_v, "rate_control": p_c, "rate_variant": p_v, "abs_lift": p_v - p_c,
                "ci_low": lo, "ci_high": hi, "rel_lift": p_v / p_c - 1 if p_c > 0 else float("nan"),
                "rel_ci_low": rlo, "rel_ci_high": rhi, "p_value": float(p), "sequential_p": best_seq, "tau": scale,
            }
        )
    return pd.DataFrame(rows)


# ---- the whole analysis ---------------------------------------------------------------------------------------
def _arm(df: pd.DataFrame, variant: str) -> ArmStats:
    part = df[df["variant"] == variant]
    n = len(part)
    conv = int(part["converted"].sum())
    rev = part["revenue"].to_numpy(dtype=np.float64)
    return ArmStats(
        variant=variant, users=n, conversions=conv, rate=conv / n if n else float("nan"),
        revenue=float(rev.sum()), revenue_per_user=float(rev.mean()) if n else float("nan"),
        revenue_sd=float(rev.std(ddof=1)) if n > 1 else 0.0,
    )


def analyse(
    df: pd.DataFrame,
    control: str | None = None,
    planned_split: dict[str, float] | None = None,
    alpha: float = 0.05,
    mde: float = DEFAULT_MDE,
    power: float = 0.8,
    sequential_tau: float | None = None,
    use_cuped: bool = True,
) -> Analysis:
    """Analyse a cleaned exposure frame (one row per user: see core.abtest.hygiene.clean).

    `sequential_tau`: mSPRT mixing scale in rate points (default: 10 % of the first look's control rate, then fixed).
    `use_cuped`: with a pre_metric column, the CUPED-adjusted p-values (conversion and revenue) are the ones Holm
    corrects and the significance call reads; False keeps the unadjusted tests and shows CUPED beside them.
    """
    for col in ("user_id", "variant", "converted"):
        if col not in df:
            raise ValueError(f"exposure frame has no {col!r} column (columns: {', '.join(map(str, df.columns))})")
    if df["user_id"].duplicated().any():
        raise ValueError("exposure frame has several rows for some users; run core.abtest.hygiene.clean first")
    bad = ~df["converted"].isin([0, 1])
    if bad.any():
        raise ValueError(f"'converted' must be 0 or 1; row(s) {list(df.index[bad][:5])} are not")
    df = df.copy()
    df["variant"] = df["variant"].astype(str)
    has_revenue = "revenue" in df and bool(df["revenue"].fillna(0.0).ne(0.0).any())
    df["revenue"] = df["revenue"].fillna(0.0).astype(float) if has_revenue else 0.0
    has_pre = "pre_metric" in df and df["pre_metric"].notna().any()

    variants = sorted(df["variant"].unique().tolist())
    if len(variants) < 2:
        raise ValueError(f"an A/B test needs at least two arms; the log has {variants}")
    if control is None:
        lowered = {v.lower(): v for v in variants}
        control = next((lowered[w] for w in ("control", "baseline", "old", "a") if w in lowered), variants[0])
    if control not in variants:
        raise ValueError(f"control arm {control!r} is not in the log; arms are {variants}")
    others = [v for v in variants if v != control]
    arms = [_arm(df, v) for v in [control, *others]]
    by_name = {a.variant: a for a in arms}
    ctrl = by_name[control]
    srm = srm_check({a.variant: a.users for a in arms}, planned_split)

    comps: list[Comparison] = []
    for v in others:
        arm = by_name[v]
        part = df[df["variant"].isin([control, v])]
        is_v = (part["variant"] == v).to_numpy()
        if 0 < arm.conversions + ctrl.conversions < arm.users + ctrl.users:
            z, p = proportions_ztest([arm.conversions, ctrl.conversions], [arm.users, ctrl.users])
        else:
            z, p = 0.0, 1.0
        abs_ci, rel_ci = conversion_interval(arm.conversions, arm.users, ctrl.conversions, ctrl.users, alpha)
        rev = part["revenue"].to_numpy(dtype=np.float64)
        r_diff, r_lo, r_hi, t, p_rev = _welch(rev[is_v], rev[~is_v], alpha)
        var = ctrl.rate * (1 - ctrl.rate) / ctrl.users + arm.rate * (1 - arm.rate) / arm.users
        scale = sequential_scale(part, control, v, sequential_tau)
        seq = msprt_p_value(arm.rate - ctrl.rate, var, scale)
        cum = cumulative(part, control, v, alpha, tau=scale)
        if len(cum):
            seq = min(seq, float(cum["sequential_p"].min()))
        cuped = cuped_conv = None
        if has_pre:
            pre = part["pre_metric"].to_numpy(dtype=np.float64)
            conv_y = part["converted"].to_numpy(dtype=np.float64)
            cuped_conv = _cuped(conv_y, pre, is_v, "converted", alpha)
            cuped = _cuped(part["revenue"].to_numpy(dtype=np.float64), pre, is_v, "revenue", alpha) \
                if has_revenue else cuped_conv
        comps.append(
            Comparison(
                variant=v, control=control, abs_lift=arm.rate - ctrl.rate, abs_ci=abs_ci,
                rel_lift=arm.rate / ctrl.rate - 1 if ctrl.rate > 0 else float("nan"), rel_ci=rel_ci,
                z=float(z), p_conversion=float(p), p_conversion_holm=float(p), revenue_diff=r_diff,
                revenue_ci=(r_lo, r_hi), t_revenue=t, p_revenue=p_rev, p_revenue_holm=p_rev,
                chance_to_beat=chance_to_beat(ctrl.conversions, ctrl.users, arm.conversions, arm.users),
                sequential_p=seq, significant=False, cuped=cuped, cuped_conversion=cuped_conv,
                p_source="CUPED" if (use_cuped and cuped_conv is not None) else "z-test/Welch",
                sequential_tau=scale,
            )
        )
    # Holm across the arms (a no-op with one variant), on the CUPED p-values when CUPED is on.
    for attr in ("p_conversion", "p_revenue"):
        adjusted = multipletests([_tested_p(c, attr) for c in comps], alpha=alpha, method="holm")[1]
        for c, p_adj in zip(comps, adjusted):
            setattr(c, f"{attr}_holm", float(p_adj))
    for c in comps:
        c.significant = c.p_conversion_holm < alpha

    notes = []
    if len(others) > 1:
        notes.append(Message("{n} arms are compared with {control}: p-values are Holm-corrected.", n=len(others),
                             control=control))
    if comps and comps[0].p_source == "CUPED":
        notes.append(Message("CUPED is on: the corrected p-values and the significance call use the "
                             "pre-period-adjusted tests."))
    result = Analysis(control, alpha, arms, comps, srm, "", bool(has_revenue), bool(has_pre), notes)
    result.verdict = verdict(result, mde=mde, power=power)
    return result


def _tested_p(c: Comparison, attr: str) -> float:
    """The p-value a comparison is judged by: CUPED's when CUPED is on, else the plain test's."""
    if c.p_source == "CUPED":
        res = c.cuped_conversion if attr == "p_conversion" else (c.cuped if c.cuped and c.cuped.metric == "revenue"
                                                                 else None)
        if res is not None:
            return res.p_value
    return getattr(c, attr)


def _pct(x: float, digits: int = 1) -> str:
    return "n/a" if x != x else f"{x * 100:+.{digits}f} %"


def verdict(result: Analysis, mde: float = DEFAULT_MDE, power: float = 0.8) -> str:
    """What the test says, in words a marketer can act on."""
    lines = []
    if result.srm.flagged:
        lines.append(Message(
            "Warning: the arms' sizes do not match the planned split (sample-ratio mismatch, p = {p}). "
            "Assignment or logging is broken, so the figures below cannot be trusted until that is fixed.",
            p=f"{result.srm.p_value:.2g}"))
    ctrl = result.arms[0]
    for c in result.comparisons:
        arm = next(a for a in result.arms if a.variant == c.variant)
        ci = Message("95 % interval {low} to {high}", low=_pct(c.rel_ci[0]), high=_pct(c.rel_ci[1]))
        figures = dict(variant=c.variant, control=c.control, lift=f"{abs(c.rel_lift) * 100:.1f}",
                       before=f"{ctrl.rate * 100:.2f}", after=f"{arm.rate * 100:.2f}", ci=ci,
                       p=f"{c.p_conversion_holm:.2g}", chance=f"{c.chance_to_beat * 100:.0f}")
        if c.significant:
            if c.abs_lift > 0:
                lines.append(Message("{variant}: converts {lift} % more users than {control} ({before} % → {after} %, "
                                     "{ci}, p = {p}); chance to beat {control}: {chance} %.", **figures))
            else:
                lines.append(Message("{variant}: converts {lift} % fewer users than {control} ({before} % → {after} %, "
                                     "{ci}, p = {p}); chance to beat {control}: {chance} %.", **figures))
            continue
        text = Message("{variant}: no detectable difference in conversion from {control} ({before} % vs {after} %, "
                       "{ci}, p = {p})", **figures)
        if 0 < ctrl.rate < 1 and 0 < ctrl.rate * (1 + mde) < 1:
            need = sample_size_plan(ctrl.rate, mde, relative=True, power=power, alpha=result.alpha,
                        n_arms=len(result.arms)).n_per_arm
            have = min(ctrl.users, arm.users)
            if need > have:
                text = Message("{text}; about {more:,} more users per arm would detect a {mde} % lift.", text=text,
                               more=need - have, mde=f"{mde * 100:g}")
            else:
                text = Message("{text}; with {have:,} users per arm a {mde} % lift would have been found, so any effect "
                               "is smaller.", text=text, have=have, mde=f"{mde * 100:g}")
        else:
            text = Message("{text}.", text=text)
        lines.append(text)
    return join_lines(lines)


# ---- what the page and the CLI show ---------------------------------------------------------------------------
RATE_COLUMNS = ("conversion rate", "lift (points)", "lift low", "lift high", "relative lift", "relative low",
                "relative high", "chance to beat control", "variance removed", "planned share")
P_COLUMNS = ("p-value (z-test)", "p-value (Holm)", "p-value (Welch)", "revenue p (Holm)", "sequential p-value",
             "p-value")


def display_tables(result: Analysis) -> dict[str, pd.DataFrame]:
    """Unrounded figures under readable headers: 'arms', 'comparisons' (conversion), 'srm', and where the data
    has them 'revenue' (Welch) and 'cuped' (pre-period metric)."""
    multi = len(result.comparisons) > 1
    arms = pd.DataFrame(
        {
            "arm": [a.variant for a in result.arms],
            "users": [a.users for a in result.arms],
            "conversions": [a.conversions for a in result.arms],
            "conversion rate": [a.rate for a in result.arms],
        }
    )
    if result.has_revenue:
        arms["revenue per user"] = [a.revenue_per_user for a in result.arms]
    rows, revenue_rows = [], []
    for c in result.comparisons:
        row = {
            "arm": c.variant,
            "lift (points)": c.abs_lift, "lift low": c.abs_ci[0], "lift high": c.abs_ci[1],
            "relative lift": c.rel_lift, "relative low": c.rel_ci[0], "relative high": c.rel_ci[1],
            "z": c.z, "p-value (z-test)": c.p_conversion,
        }
        if multi:
            row["p-value (Holm)"] = c.p_conversion_holm
        row.update({"chance to beat control": c.chance_to_beat, "sequential p-value": c.sequential_p})
        rows.append(row)
        revenue = {"arm": c.variant, "revenue/user diff": c.revenue_diff, "revenue diff low": c.revenue_ci[0],
                   "revenue diff high": c.revenue_ci[1], "t": c.t_revenue, "p-value (Welch)": c.p_revenue}
        if multi:
            revenue["revenue p (Holm)"] = c.p_revenue_holm
        revenue_rows.append(revenue)
    total = sum(result.srm.observed.values())
    srm = pd.DataFrame(
        {
            "arm": list(result.srm.observed),
            "users": list(result.srm.observed.values()),
            "expected users": list(result.srm.expected.values()),
            "planned share": [e / total if total else float("nan") for e in result.srm.expected.values()],
        }
    )
    out = {"arms": arms, "comparisons": pd.DataFrame(rows), "srm": srm}
    if result.has_revenue:
        out["revenue"] = pd.DataFrame(revenue_rows)
    cuped = [(c, r) for c in result.comparisons
             for r in (c.cuped_conversion, c.cuped if c.cuped is not c.cuped_conversion else None) if r is not None]
    if cuped:
        out["cuped"] = pd.DataFrame(
            {
                "arm": [c.variant for c, _ in cuped],
                "metric": [r.metric for _, r in cuped],
                "raw difference": [r.raw_diff for _, r in cuped],
                "CUPED difference": [r.diff for _, r in cuped],
                "low": [r.ci_low for _, r in cuped],
                "high": [r.ci_high for _, r in cuped],
                "p-value": [r.p_value for _, r in cuped],
                "variance removed": [r.variance_reduction for _, r in cuped],
                "used for the decision": [c.p_source == "CUPED" for c, _ in cuped],
            }
        )
    return out


def parse_split(text: str) -> dict[str, float] | None:
    """'control=50,treatment=50' -> {'control': 50.0, 'treatment': 50.0}; blank -> None (equal split)."""
    if not text or not text.strip():
        return None
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, share = part.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(share)
        except ValueError:
            raise ValueError(f"planned split entry {part!r} is not arm=share (e.g. control=50)") from None
    return out
