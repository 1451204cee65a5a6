"""The whole experiment report from one per-user frame: the one entry point the page, the CLI and the API share.

`experiment_report(frame, options)` runs, on one row per user:
- the core analysis (core.abtest.analysis.analyse: conversion z-test, Welch revenue, SRM, CUPED, mSPRT, verdict),
- several metrics per arm against control with one multiple-testing correction over metrics x arms,
- guardrails (non-inferiority with a margin), revenue capping, ratio metrics by the delta method,
- segment breakdowns with corrected p-values and Cochran's Q heterogeneity test,
- Bayesian decisions (informative Beta prior, probability of being best, expected loss),
- the "users still needed" plan for the real number of arms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from core.abtest.analysis import DEFAULT_MDE, Analysis, _cuped, analyse
from core.abtest.bayes import N_DRAWS, BayesDecision, BetaPrior, conversion_decision, mean_decision
from core.abtest.metrics import (
    GuardrailResult,
    MetricResult,
    MetricSpec,
    cap_values,
    compare_metric,
    default_metrics,
    non_inferiority,
)
from core.abtest.planner import SampleSizePlan, sample_size_plan
from core.abtest.segments import MIN_USERS, SegmentBreakdown, breakdown
from core.i18n import Message, join_lines

CORRECTIONS = ("holm", "bonferroni", "fdr_bh")


@dataclass
class ReportOptions:
    """Everything a user may choose; every default is what the page shows before anything is touched.

    metrics: None = conversion, revenue per user, orders per user, average order value (where columns exist).
    guardrails: metric name -> non-inferiority margin relative to control (0.02: may be at most 2 % worse).
    cap_quantile / cap_value: winsorise revenue from above (pooled over arms) before any revenue metric.
    segments: columns to break the effect down by; segment_metric: the metric name the breakdown uses.
    prior: Beta prior on conversion (None: flat Beta(1, 1)).
    use_cuped: with a pre_metric column, proportion and mean metrics use CUPED-adjusted differences and p-values.
    sequential_tau: mSPRT mixing scale (None: 10 % of the first look's control rate, fixed for the experiment).
    plan_correction: how the planner splits alpha over arms vs control ("bonferroni" or "dunnett").
    Guardrails and segment cells use the unadjusted tests (CUPED applies to the metrics table and the analysis).
    """

    control: str | None = None
    alpha: float = 0.05
    correction: str = "holm"
    metrics: list[MetricSpec] | None = None
    guardrails: dict[str, float] = field(default_factory=dict)
    cap_quantile: float | None = None
    cap_value: float | None = None
    segments: list[str] = field(default_factory=list)
    segment_metric: str = "conversion"
    min_segment_users: int = MIN_USERS
    prior: BetaPrior | None = None
    n_draws: int = N_DRAWS
    seed: int = 0
    use_cuped: bool = True
    sequential_tau: float | None = None
    planned_split: dict[str, float] | None = None
    mde: float = DEFAULT_MDE
    power: float = 0.8
    plan_correction: str = "bonferroni"

    def __post_init__(self) -> None:
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {CORRECTIONS}, got {self.correction!r}")
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5), got {self.alpha!r}")


@dataclass
class ExperimentReport:
    """All of an experiment's figures. `to_dict()` is JSON-ready (what the CLI prints and the API returns)."""

    analysis: Analysis
    metrics: list[MetricResult]
    guardrails: list[GuardrailResult]
    segments: list[SegmentBreakdown]
    bayes: list[BayesDecision]
    plan: SampleSizePlan | None
    revenue_cap: float
    options: dict
    decision: str
    notes: list[str] = field(default_factory=list)

    def metrics_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(m) for m in self.metrics])

    def guardrails_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(g) for g in self.guardrails])

    def to_dict(self) -> dict:
        return _jsonable(asdict(self))


def _jsonable(obj):
    """NaN/inf -> None, numpy scalars -> Python, tuples -> lists: strict JSON for the API."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    df = frame.copy()
    if "variant" not in df and "arm" in df:
        df = df.rename(columns={"arm": "variant"})
    if "variant" not in df or "converted" not in df:
        raise ValueError(f"the per-user frame needs 'variant' (or 'arm') and 'converted' columns; it has "
                         f"{', '.join(map(str, df.columns))}")
    if "user_id" not in df:
        df["user_id"] = np.arange(len(df)).astype(str)
    df["variant"] = df["variant"].astype(str)
    for col in ("revenue", "orders"):
        if col in df:
            values = pd.to_numeric(df[col], errors="coerce")
            bad = values.isna() & df[col].notna()
            if bad.any():
                raise ValueError(f"column {col!r} must be numeric; row(s) {list(df.index[bad][:5])} are not")
            negative = values < 0
            if negative.any():
                raise ValueError(f"column {col!r} must not be negative; row(s) {list(df.index[negative][:5])} are")
            df[col] = values.fillna(0.0).astype(float)
    return df


def _cuped_metric(res: MetricResult, spec: MetricSpec, part: pd.DataFrame, variant: str, alpha: float) -> None:
    """Replace a proportion/mean metric's difference, interval and p-value by CUPED's (pre_metric adjusted)."""
    is_v = (part["variant"] == variant).to_numpy()
    c = _cuped(part[spec.column].to_numpy(dtype=np.float64), part["pre_metric"].to_numpy(dtype=np.float64),
               is_v, spec.column, alpha)
    res.diff, res.ci_low, res.ci_high, res.p_value = c.diff, c.ci_low, c.ci_high, c.p_value
    res.method = f"CUPED ({c.variance_reduction:.0%} variance removed), Welch t-test"


def experiment_report(frame: pd.DataFrame, options: ReportOptions | None = None) -> ExperimentReport:
    """The whole report of a randomised experiment from a per-user frame.

    frame: one row per user with `variant` (or `arm`) and `converted` (0/1); optional `user_id` (row number when
    absent; duplicates are an error: run core.abtest.hygiene.clean on exposure logs first), `revenue`, `orders`,
    `pre_metric` (pre-period covariate for CUPED), `timestamp` (for the sequential test) and any segment columns
    named in `options.segments`. options: see ReportOptions (None: all defaults).
    Returns an ExperimentReport; `.to_dict()` is strict JSON. Raises ValueError naming the bad column or row.
    """
    options = options or ReportOptions()
    df = _prepare(frame)
    cap = float("inf")
    if "revenue" in df:
        capped_rev, cap = cap_values(df["revenue"].to_numpy(), options.cap_quantile, options.cap_value)
        df["revenue"] = capped_rev
    analysis = analyse(df, control=options.control, planned_split=options.planned_split, alpha=options.alpha,
                       mde=options.mde, power=options.power, sequential_tau=options.sequential_tau,
                       use_cuped=options.use_cuped)
    control = analysis.control
    variants = [a.variant for a in analysis.arms if a.variant != control]
    specs = options.metrics if options.metrics is not None else default_metrics(df)
    for s in specs:
        for col in (s.column, s.denominator):
            if col is not None and col not in df:
                raise ValueError(f"metric {s.name!r} reads column {col!r}, which the frame does not have")
    for s in specs:  # metric columns may arrive as text (extra file columns): numbers or a named error
        for col in (s.column, s.denominator):
            if col is not None and not pd.api.types.is_numeric_dtype(df[col]):
                values = pd.to_numeric(df[col], errors="coerce")
                bad = values.isna() & df[col].notna()
                if bad.any():
                    raise ValueError(f"metric {s.name!r}: column {col!r} must be numeric; row(s) "
                                     f"{list(df.index[bad][:5])} are not")
                df[col] = values.astype(float)
    by_name = {s.name: s for s in specs}
    unknown = [g for g in options.guardrails if g not in by_name]
    if unknown:
        raise ValueError(f"guardrail(s) {unknown} name no metric; metrics are {list(by_name)}")
    use_cuped = options.use_cuped and "pre_metric" in df and df["pre_metric"].notna().any()

    ctrl = df[df["variant"] == control]
    results: list[MetricResult] = []
    guards: list[GuardrailResult] = []
    for v in variants:
        arm = df[df["variant"] == v]
        part = df[df["variant"].isin([control, v])]
        for s in specs:
            res = compare_metric(s, arm, ctrl, (v, control), options.alpha)
            if use_cuped and s.kind in ("proportion", "mean"):
                _cuped_metric(res, s, part, v, options.alpha)
            results.append(res)
            if s.name in options.guardrails:
                guards.append(non_inferiority(s, arm, ctrl, (v, control), options.guardrails[s.name],
                                              options.alpha))
    if results:
        rej, p_adj, _, _ = multipletests([r.p_value for r in results], alpha=options.alpha,
                                         method=options.correction)
        for r, p, ok in zip(results, p_adj, rej):
            r.p_adjusted, r.significant = float(p), bool(ok)
    if guards:
        rej, p_adj, _, _ = multipletests([g.p_value for g in guards], alpha=options.alpha, method=options.correction)
        for g, p, ok in zip(guards, p_adj, rej):
            g.p_adjusted, g.non_inferior = float(p), bool(ok)

    segments = []
    if options.segments:
        seg_spec = by_name.get(options.segment_metric)
        if seg_spec is None:
            raise ValueError(f"segment metric {options.segment_metric!r} is not a metric; metrics are {list(by_name)}")
        segments = [breakdown(df, col, seg_spec, control, variants, options.alpha, options.correction,
                              options.min_segment_users) for col in options.segments]

    counts = {a.variant: (a.users, a.conversions) for a in analysis.arms}
    bayes = [conversion_decision(counts, options.prior, options.n_draws, options.seed)]
    if analysis.has_revenue:
        bayes.append(mean_decision({a.variant: df.loc[df["variant"] == a.variant, "revenue"].to_numpy()
                                    for a in analysis.arms}, n_draws=options.n_draws, seed=options.seed))
    base = analysis.arms[0].rate
    the_plan = None
    if 0 < base < 1 and 0 < base * (1 + options.mde) < 1:
        the_plan = sample_size_plan(base, options.mde, power=options.power, alpha=options.alpha, n_arms=len(analysis.arms),
                        correction=options.plan_correction)

    notes = list(analysis.notes)
    notes.append(Message("{n} metric x arm tests corrected together ({correction}).", n=len(results),
                         correction=options.correction))
    if math.isfinite(cap):
        notes.append(Message("Revenue capped at {cap} per user before every revenue metric.", cap=f"{cap:,.2f}"))
    if use_cuped:
        notes.append(Message("Proportion and mean metrics are CUPED-adjusted for the pre-period metric."))
    opts = asdict(options)
    report = ExperimentReport(analysis, results, guards, segments, bayes, the_plan, cap, opts, "", notes)
    report.decision = decision_text(report)
    return report


def decision_text(report: ExperimentReport) -> str:
    """One paragraph: which metrics moved (corrected), which guardrails held, what the Bayesian choice is."""
    lines = []
    moved = [m for m in report.metrics if m.significant]
    if moved:
        items = [Message("{metric} {variant} {diff}", metric=Message(m.metric), variant=m.variant,
                         diff=f"{m.rel_diff:+.1%}" if m.rel_diff == m.rel_diff else "") for m in moved]
        joined = "; ".join(f"{{m{i}}}" for i in range(len(items)))  # a template of placeholders only
        lines.append(Message("Significant after correction: {moved}.",
                             moved=Message(joined, **{f"m{i}": item for i, item in enumerate(items)})))
    else:
        lines.append(Message("No metric differs from control after correcting for all metric x arm tests."))
    failed = [g for g in report.guardrails if not g.non_inferior]
    for g in report.guardrails:
        values = dict(metric=g.metric, variant=g.variant, margin=f"{g.margin:.0%}", p=f"{g.p_adjusted:.2g}")
        if g.non_inferior:
            lines.append(Message("Guardrail {metric} ({variant}, at most {margin} worse): holds (p = {p}).", **values))
        else:
            lines.append(Message("Guardrail {metric} ({variant}, at most {margin} worse): NOT shown (p = {p}).",
                                 **values))
    conv = report.bayes[0] if report.bayes else None
    if conv:
        best = max(conv.arms, key=lambda a: a.p_best)
        choose = next(a for a in conv.arms if a.variant == conv.best)
        lines.append(Message("Bayesian: {best} is best for conversion with probability {p_best}; choosing {choose} "
                             "costs {loss} points in expectation.", best=best.variant, p_best=f"{best.p_best:.0%}",
                             choose=choose.variant, loss=f"{choose.expected_loss * 100:.3f}"))
    if failed:
        lines.append(Message("Do not ship an arm whose guardrail is not shown to hold."))
    return join_lines(lines)
