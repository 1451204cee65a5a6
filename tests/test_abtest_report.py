"""The experiment report against statsmodels/scipy and textbook cases, on Hillstrom's real 3-arm e-mail test and on
planted synthetic tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.proportion import test_proportions_2indep as sm_noninferiority

from core.abtest.analysis import chance_to_beat
from core.abtest.bayes import BetaPrior, conversion_decision
from core.abtest.metrics import MetricSpec, cap_values, compare_metric, non_inferiority, ratio_delta
from core.abtest.report import ReportOptions, experiment_report
from core.abtest.segments import breakdown
from tests.conftest import shared_path

CONTROL = "No E-Mail"


@pytest.fixture(scope="module")
def hillstrom() -> pd.DataFrame:
    h = pd.read_csv(shared_path("hillstrom_email", "hillstrom.csv"))
    return pd.DataFrame({"arm": h["segment"], "converted": h["conversion"], "revenue": h["spend"],
                         "orders": h["conversion"], "pre_metric": h["history"], "zip_code": h["zip_code"],
                         "channel": h["channel"], "newbie": h["newbie"]})


@pytest.fixture(scope="module")
def plain(hillstrom):
    """No CUPED, no capping: every figure is a plain statsmodels test."""
    return experiment_report(hillstrom, ReportOptions(control=CONTROL, use_cuped=False, n_draws=50_000,
                                                      segments=["newbie", "channel"]))


def test_hillstrom_metrics_equal_statsmodels_and_the_published_rates(hillstrom, plain):
    # SOURCE.md: conversion Mens 0.0125 / Womens 0.0088 / none 0.0057; spend 1.423 / 1.077 / 0.653.
    conv = {m.variant: m for m in plain.metrics if m.metric == "conversion"}
    rev = {m.variant: m for m in plain.metrics if m.metric == "revenue per user"}
    assert conv["Mens E-Mail"].value_variant == pytest.approx(0.0125, abs=1e-4)
    assert conv["Womens E-Mail"].value_variant == pytest.approx(0.0088, abs=1e-4)
    assert conv["Mens E-Mail"].value_control == pytest.approx(0.0057, abs=1e-4)
    assert rev["Mens E-Mail"].value_variant == pytest.approx(1.423, abs=1e-3)
    assert rev["Womens E-Mail"].value_variant == pytest.approx(1.077, abs=1e-3)
    assert rev["Mens E-Mail"].value_control == pytest.approx(0.653, abs=1e-3)
    ctrl = hillstrom[hillstrom.arm == CONTROL]
    for v in ("Mens E-Mail", "Womens E-Mail"):
        arm = hillstrom[hillstrom.arm == v]
        _, p = proportions_ztest([arm.converted.sum(), ctrl.converted.sum()], [len(arm), len(ctrl)])
        assert conv[v].p_value == pytest.approx(p, rel=1e-9)
        welch = stats.ttest_ind(arm.revenue, ctrl.revenue, equal_var=False)
        assert rev[v].p_value == pytest.approx(welch.pvalue, rel=1e-9)
        assert (rev[v].ci_low, rev[v].ci_high) == pytest.approx(tuple(welch.confidence_interval()), rel=1e-9)
    # One correction over all metric x arm tests (4 metrics x 2 arms).
    assert len(plain.metrics) == 8
    expected = multipletests([m.p_value for m in plain.metrics], method="holm")[1]
    assert [m.p_adjusted for m in plain.metrics] == pytest.approx(expected.tolist(), rel=1e-12)
    assert conv["Mens E-Mail"].significant and rev["Mens E-Mail"].significant
    aov = next(m for m in plain.metrics if m.metric == "average order value" and m.variant == "Mens E-Mail")
    assert not aov.significant  # 10x fewer buyers than users: AOV's interval is wide


def test_hillstrom_report_is_strict_json_with_every_part(plain):
    d = json.loads(json.dumps(plain.to_dict(), allow_nan=False))
    assert {"analysis", "metrics", "guardrails", "segments", "bayes", "plan", "decision"} <= set(d)
    assert d["plan"]["n_arms"] == 3 and d["analysis"]["control"] == CONTROL
    assert {b["metric"] for b in d["bayes"]} == {"conversion", "revenue per user"}


def test_capping_is_a_pooled_winsorisation_and_narrows_the_revenue_interval(hillstrom):
    spend = hillstrom["revenue"].to_numpy()
    capped, cap = cap_values(spend, quantile=0.9)
    assert cap == pytest.approx(np.quantile(spend[spend > 0], 0.9))
    assert capped.max() == pytest.approx(cap) and (capped[spend < cap] == spend[spend < cap]).all()
    rep = experiment_report(hillstrom, ReportOptions(control=CONTROL, use_cuped=False, cap_quantile=0.9,
                                                     n_draws=20_000))
    raw = experiment_report(hillstrom, ReportOptions(control=CONTROL, use_cuped=False, n_draws=20_000))
    assert rep.revenue_cap == pytest.approx(cap)
    r_cap = next(m for m in rep.metrics if m.metric == "revenue per user" and m.variant == "Mens E-Mail")
    r_raw = next(m for m in raw.metrics if m.metric == "revenue per user" and m.variant == "Mens E-Mail")
    arm, ctrl = capped[hillstrom.arm == "Mens E-Mail"], capped[hillstrom.arm == CONTROL]
    assert r_cap.p_value == pytest.approx(stats.ttest_ind(arm, ctrl, equal_var=False).pvalue, rel=1e-9)
    assert r_cap.ci_high - r_cap.ci_low < r_raw.ci_high - r_raw.ci_low
    with pytest.raises(ValueError, match="not both"):
        cap_values(spend, quantile=0.9, value=100.0)


def test_delta_method_ratio_matches_its_textbook_reductions_and_the_bootstrap():
    rng = np.random.default_rng(0)
    n = 4000
    # Denominator identically 1: the ratio is a mean and the delta variance is var / n exactly.
    x = rng.gamma(2.0, 10.0, n)
    r, var = ratio_delta(x, np.ones(n))
    assert r == pytest.approx(x.mean()) and var == pytest.approx(x.var(ddof=1) / n, rel=1e-12)
    # Orders per user and revenue per order correlated: the delta variance agrees with the bootstrap's.
    orders = rng.poisson(1.5, n) + 1
    revenue = orders * rng.gamma(3.0, 12.0, n)
    r, var = ratio_delta(revenue, orders)
    boot = []
    for _ in range(800):
        i = rng.integers(0, n, n)
        boot.append(revenue[i].sum() / orders[i].sum())
    assert var == pytest.approx(np.var(boot, ddof=1), rel=0.15)
    # ...and differs clearly from the naive per-user-ratio variance that ignores the weighting.
    naive = np.var(revenue / orders, ddof=1) / n
    assert abs(var - naive) / var > 0.05


def _two_arms(n: int, rate_c: float, rate_v: float, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    c = pd.DataFrame({"converted": (rng.random(n) < rate_c).astype(int)})
    v = pd.DataFrame({"converted": (rng.random(n) < rate_v).astype(int)})
    return v, c


def test_guardrail_non_inferiority_equals_statsmodels_and_decides_right():
    spec = MetricSpec("conversion", "proportion", "converted")
    v, c = _two_arms(20_000, 0.10, 0.10, seed=1)
    g = non_inferiority(spec, v, c, ("new", "control"), margin=0.05)
    ref = sm_noninferiority(int(v.converted.sum()), len(v), int(c.converted.sum()), len(c),
                                  value=-0.05 * c.converted.mean(), method="wald", compare="diff",
                                  alternative="larger")
    assert g.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    # Textbook: z = (diff + margin) / se (unpooled), one-sided.
    se = np.sqrt(v.converted.mean() * (1 - v.converted.mean()) / len(v)
                 + c.converted.mean() * (1 - c.converted.mean()) / len(c))
    assert g.p_value == pytest.approx(stats.norm.sf((g.diff + g.margin_abs) / se), rel=1e-9)
    bad_v, bad_c = _two_arms(20_000, 0.10, 0.09, seed=2)  # 10 % worse; a 2 % margin must not be shown to hold
    assert non_inferiority(spec, bad_v, bad_c, ("new", "control"), margin=0.02).p_value > 0.5
    # Revenue (mean) guardrail: statsmodels' shifted Welch test.
    rng = np.random.default_rng(3)
    mv = pd.DataFrame({"revenue": rng.gamma(2, 10, 5000)})
    mc = pd.DataFrame({"revenue": rng.gamma(2, 10, 5000)})
    gm = non_inferiority(MetricSpec("revenue per user", "mean", "revenue"), mv, mc, ("new", "control"), 0.05)
    shifted = stats.ttest_ind(mv.revenue + gm.margin_abs, mc.revenue, equal_var=False, alternative="greater")
    assert gm.p_value == pytest.approx(shifted.pvalue, rel=1e-6)
    with pytest.raises(ValueError, match="margin must be positive"):
        non_inferiority(spec, v, c, ("new", "control"), margin=0.0)


def test_guardrails_in_the_report_are_corrected_and_named(hillstrom):
    rep = experiment_report(hillstrom, ReportOptions(control=CONTROL, use_cuped=False, n_draws=20_000,
                                                     guardrails={"average order value": 0.5}))
    assert [g.variant for g in rep.guardrails] == ["Mens E-Mail", "Womens E-Mail"]
    assert [g.p_adjusted for g in rep.guardrails] == pytest.approx(
        multipletests([g.p_value for g in rep.guardrails], method="holm")[1].tolist())
    assert "Guardrail average order value" in rep.decision
    with pytest.raises(ValueError, match="name no metric"):
        experiment_report(hillstrom, ReportOptions(control=CONTROL, guardrails={"bounce rate": 0.1}))


def test_segment_breakdown_equals_cochran_q_and_holm(hillstrom, plain):
    (newbie, _) = plain.segments
    womens = [c for c in newbie.cells if c.result.variant == "Womens E-Mail"]
    d = np.array([c.result.diff for c in womens])
    w = 1 / np.array([c.result.se ** 2 for c in womens])
    q = float((w * (d - (w * d).sum() / w.sum()) ** 2).sum())  # Cochran's Q by hand
    het = next(h for h in newbie.heterogeneity if h.variant == "Womens E-Mail")
    assert het.q == pytest.approx(q, rel=1e-9) and het.df == 1
    assert het.p_value == pytest.approx(stats.chi2.sf(q, 1), rel=1e-9)
    ref = combine_effects(d, 1 / w)
    assert het.i2 == pytest.approx(max(ref.i2, 0.0))
    # Real finding on Hillstrom: the women's e-mail works on new customers, not on returning ones.
    assert het.p_value < 0.05
    assert [c.result.p_adjusted for c in newbie.cells] == pytest.approx(
        multipletests([c.result.p_value for c in newbie.cells], method="holm")[1].tolist())


def test_heterogeneity_finds_a_planted_segment_effect_and_not_an_absent_one():
    rng = np.random.default_rng(7)
    n = 24_000
    region = rng.choice(["north", "south", "east"], n)
    arm = rng.choice(["control", "new"], n)
    planted = (rng.random(n) < 0.1 + np.where((arm == "new") & (region == "north"), 0.04, 0.0)).astype(int)
    flat = (rng.random(n) < 0.1 + np.where(arm == "new", 0.01, 0.0)).astype(int)
    spec = MetricSpec("conversion", "proportion", "converted")
    frame = pd.DataFrame({"variant": arm, "region": region, "converted": planted})
    het = breakdown(frame, "region", spec, "control", ["new"]).heterogeneity[0]
    assert het.p_value < 0.001 and het.df == 2
    flat_het = breakdown(frame.assign(converted=flat), "region", spec, "control", ["new"]).heterogeneity[0]
    assert flat_het.p_value > 0.05
    with pytest.raises(ValueError, match="segment column 'device'"):
        breakdown(frame, "device", spec, "control", ["new"])


def test_probability_best_and_expected_loss_against_exact_two_arm_answers():
    counts = {"a": (400, 40), "b": (400, 52)}
    dec = conversion_decision(counts, n_draws=400_000, seed=1)
    exact = chance_to_beat(40, 400, 52, 400)
    b = next(x for x in dec.arms if x.variant == "b")
    assert b.p_best == pytest.approx(exact, abs=0.004)
    # Expected loss of choosing a = E[(p_b - p_a)+], by quadrature on a fine grid of the two Beta densities.
    grid = np.linspace(0, 0.4, 4001)
    fa, fb = stats.beta.pdf(grid, 41, 361), stats.beta.pdf(grid, 53, 349)
    step = grid[1] - grid[0]
    loss_a = (np.clip(grid[None, :] - grid[:, None], 0, None) * fa[:, None] * fb[None, :]).sum() * step * step
    a = next(x for x in dec.arms if x.variant == "a")
    assert a.expected_loss == pytest.approx(loss_a, rel=0.02) and dec.best == "b"
    # Informative prior: posterior mean (alpha + c) / (alpha + beta + n).
    prior = BetaPrior.from_mean(0.1, 1000)
    informed = conversion_decision(counts, prior=prior, n_draws=400_000, seed=1)
    assert informed.arms[1].mean == pytest.approx((100 + 52) / (1000 + 400), abs=5e-4)
    assert informed.arms[1].p_best < b.p_best  # the prior pulls both arms towards 10 %
    with pytest.raises(ValueError, match="prior mean"):
        BetaPrior.from_mean(1.5, 10)


def test_entry_point_accepts_a_bare_frame_and_names_bad_input():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"arm": rng.choice(["control", "a", "b"], 3000),
                          "converted": (rng.random(3000) < 0.2).astype(int)})
    rep = experiment_report(frame, ReportOptions(n_draws=10_000))
    assert rep.analysis.control == "control" and {m.metric for m in rep.metrics} == {"conversion"}
    assert abs(sum(a.p_best for a in rep.bayes[0].arms) - 1) < 1e-9
    bad = frame.assign(revenue=["x" if i == 7 else 1.0 for i in range(3000)])
    with pytest.raises(ValueError, match=r"'revenue' must be numeric; row\(s\) \[7\]"):
        experiment_report(bad)
    with pytest.raises(ValueError, match="'variant' \\(or 'arm'\\)"):
        experiment_report(frame.rename(columns={"arm": "group"}))
    with pytest.raises(ValueError, match="correction"):
        ReportOptions(correction="magic")


def test_compare_metric_orders_per_user_is_welch():
    rng = np.random.default_rng(9)
    v = pd.DataFrame({"orders": rng.poisson(1.2, 3000)})
    c = pd.DataFrame({"orders": rng.poisson(1.0, 3000)})
    res = compare_metric(MetricSpec("orders per user", "mean", "orders"), v, c, ("new", "control"))
    ref = stats.ttest_ind(v.orders, c.orders, equal_var=False)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9) and res.diff == pytest.approx(
        v.orders.mean() - c.orders.mean())
