"""The A/B analysis against statsmodels/scipy on the Udacity landing-page test and on planted synthetic tests."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import integrate, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from core.abtest.analysis import (
    analyse,
    chance_to_beat,
    cumulative,
    display_tables,
    msprt_p_value,
    parse_split,
    srm_check,
)
from core.abtest.hygiene import clean
from core.abtest.log_reader import read_log
from tests.conftest import shared_path

TOL = 1e-6


@pytest.fixture(scope="module")
def udacity():
    """(cleaned exposure frame, analysis, reference counts computed directly with pandas from the raw file)."""
    path = shared_path("udacity_ab_test", "ab_data.csv.zip")
    raw = pd.read_csv(zipfile.ZipFile(path).open("ab_data.csv"))
    ok = (raw["group"] == "control") == (raw["landing_page"] == "old_page")
    ref = raw[ok].drop_duplicates("user_id").groupby("group")["converted"].agg(["size", "sum"])
    frame, _ = read_log(path)
    cleaned, report = clean(frame)
    return cleaned, report, analyse(cleaned), ref


def test_udacity_rates_match_the_known_answer(udacity):
    cleaned, report, result, ref = udacity
    assert report.users_out == len(cleaned) == 290_584
    arms = {a.variant: a for a in result.arms}
    assert arms["control"].users == ref.loc["control", "size"] == 145_274
    assert arms["treatment"].users == ref.loc["treatment", "size"] == 145_310
    assert arms["control"].conversions == ref.loc["control", "sum"]
    assert round(arms["control"].rate * 100, 2) == 12.04
    assert round(arms["treatment"].rate * 100, 2) == 11.88
    (comp,) = result.comparisons
    assert comp.p_conversion > 0.05 and not comp.significant
    assert "no detectable difference" in result.verdict
    assert not result.srm.flagged


def test_udacity_figures_equal_statsmodels(udacity):
    _, _, result, ref = udacity
    (comp,) = result.comparisons
    ct, nt = int(ref.loc["treatment", "sum"]), int(ref.loc["treatment", "size"])
    cc, nc = int(ref.loc["control", "sum"]), int(ref.loc["control", "size"])
    z, p = proportions_ztest([ct, cc], [nt, nc])
    assert comp.z == pytest.approx(z, abs=TOL)
    assert comp.p_conversion == pytest.approx(p, abs=TOL)
    assert comp.abs_lift == pytest.approx(ct / nt - cc / nc, abs=TOL)
    lo, hi = confint_proportions_2indep(ct, nt, cc, nc, method="wald", compare="diff")
    assert comp.abs_ci == pytest.approx((lo, hi), abs=TOL)
    rlo, rhi = confint_proportions_2indep(ct, nt, cc, nc, method="log", compare="ratio")
    assert comp.rel_ci == pytest.approx((rlo - 1, rhi - 1), abs=TOL)
    chi = stats.chisquare([nc, nt])
    assert result.srm.p_value == pytest.approx(chi.pvalue, abs=TOL)
    assert result.srm.chi2 == pytest.approx(chi.statistic, abs=TOL)
    # The lift's interval contains 0, consistently with the p-value.
    assert comp.abs_ci[0] < 0 < comp.abs_ci[1]


def test_udacity_cumulative_series_ends_at_the_full_analysis(udacity):
    cleaned, _, result, _ = udacity
    series = cumulative(cleaned, "control", "treatment")
    assert len(series) >= 20  # 2017-01-02 .. 2017-01-24
    assert series["users_control"].is_monotonic_increasing
    last = series.iloc[-1]
    (comp,) = result.comparisons
    assert last["abs_lift"] == pytest.approx(comp.abs_lift, abs=TOL)
    assert (last["ci_low"], last["ci_high"]) == pytest.approx(comp.abs_ci, abs=TOL)
    assert last["p_value"] == pytest.approx(comp.p_conversion, abs=TOL)
    # Running minimum: the always-valid p-value never rises; the final one is the analysis'.
    assert series["sequential_p"].is_monotonic_decreasing
    assert comp.sequential_p == pytest.approx(series["sequential_p"].min(), abs=TOL)


def _frame(counts: dict[str, tuple[int, int]], seed: int = 0) -> pd.DataFrame:
    """Exposure frame with exactly `conversions` of `users` converted per arm."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm, (users, conv) in counts.items():
        converted = np.zeros(users, dtype=int)
        converted[rng.choice(users, conv, replace=False)] = 1
        parts.append(pd.DataFrame({"user_id": [f"{arm}-{i}" for i in range(users)], "variant": arm,
                                   "converted": converted}))
    return pd.concat(parts, ignore_index=True)


def test_srm_flags_a_planted_52_48_split_and_not_a_fair_one():
    planted = analyse(_frame({"control": (52_000, 5200), "treatment": (48_000, 4800)}))
    assert planted.srm.flagged and planted.srm.p_value < 1e-30
    assert "sample-ratio mismatch" in planted.verdict
    fair = analyse(_frame({"control": (50_000, 5000), "treatment": (50_000, 5000)}))
    assert not fair.srm.flagged and fair.srm.p_value == pytest.approx(1.0)
    # A random fair assignment stays quiet too, and a stated unequal plan is honoured.
    n_treat = int(np.random.default_rng(3).binomial(100_000, 0.5))
    assert not srm_check({"control": 100_000 - n_treat, "treatment": n_treat}).flagged
    assert not srm_check({"control": 52_000, "treatment": 48_000}, {"control": 52, "treatment": 48}).flagged


def test_chance_to_beat_equals_numerical_integration():
    for conv_a, n_a, conv_b, n_b in [(30, 300, 45, 310), (17489, 145274, 17264, 145310), (0, 50, 3, 50)]:
        a = stats.beta(1 + conv_a, 1 + n_a - conv_a)
        b = stats.beta(1 + conv_b, 1 + n_b - conv_b)
        lo = min(a.ppf(1e-12), b.ppf(1e-12))
        hi = max(a.isf(1e-12), b.isf(1e-12))
        ref, _ = integrate.quad(lambda x, a=a, b=b: a.pdf(x) * b.sf(x), lo, hi, points=[a.mean(), b.mean()],
                                limit=200, epsabs=1e-10)
        assert chance_to_beat(conv_a, n_a, conv_b, n_b) == pytest.approx(ref, abs=TOL)


def test_holm_over_three_arms_equals_multipletests():
    result = analyse(_frame({"control": (4000, 400), "a": (4000, 470), "b": (4000, 415), "c": (4000, 390)}))
    raw = [c.p_conversion for c in result.comparisons]
    expected = multipletests(raw, method="holm")[1]
    assert [c.p_conversion_holm for c in result.comparisons] == pytest.approx(list(expected), abs=TOL)
    assert [c.variant for c in result.comparisons] == ["a", "b", "c"]
    assert result.comparisons[0].significant and not result.comparisons[2].significant
    assert "p-value (Holm)" in display_tables(result)["comparisons"]
    assert "Holm" in result.notes[0]


def _revenue_test(n: int = 4000, effect: float = 2.0, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pre = rng.gamma(2.0, 20.0, size=n)
    treated = rng.random(n) < 0.5
    revenue = np.maximum(0.0, 0.8 * pre + rng.normal(0, 10, size=n) + effect * treated)
    return pd.DataFrame({"user_id": np.arange(n).astype(str), "variant": np.where(treated, "new", "control"),
                         "converted": (revenue > 30).astype(int), "revenue": revenue, "pre_metric": pre})


def test_welch_and_cuped_on_revenue():
    df = _revenue_test()
    result = analyse(df)
    (comp,) = result.comparisons
    new, ctrl = df.loc[df.variant == "new", "revenue"], df.loc[df.variant == "control", "revenue"]
    ref = stats.ttest_ind(new, ctrl, equal_var=False)
    assert comp.p_revenue == pytest.approx(ref.pvalue, abs=TOL)
    assert comp.t_revenue == pytest.approx(ref.statistic, abs=TOL)
    ci = ref.confidence_interval()
    assert comp.revenue_ci == pytest.approx((ci.low, ci.high), abs=TOL)
    cuped = comp.cuped
    assert cuped is not None and cuped.metric == "revenue"
    ols = sm.OLS(df["revenue"], sm.add_constant(df["pre_metric"])).fit()
    assert cuped.theta == pytest.approx(ols.params["pre_metric"], rel=1e-9)
    # Most of the revenue variance is explained by the pre-period, so the adjusted interval is much narrower
    # and finds the planted +2.0 that the raw comparison cannot.
    assert cuped.variance_reduction > 0.8
    assert cuped.ci_high - cuped.ci_low < 0.5 * (comp.revenue_ci[1] - comp.revenue_ci[0])
    assert cuped.ci_low < 2.0 < cuped.ci_high and cuped.p_value < 0.01
    assert "cuped" in display_tables(result)


def test_always_valid_p_value_survives_daily_peeking():
    """A/A tests looked at 30 times: naive peeking rejects far more often than 5 %, the mSPRT p-value does not."""
    rng = np.random.default_rng(11)
    sims, looks, per_look, rate = 400, 30, 200, 0.1
    naive_hits = seq_hits = 0
    for _ in range(sims):
        a = np.cumsum(rng.binomial(per_look, rate, size=looks))
        b = np.cumsum(rng.binomial(per_look, rate, size=looks))
        n = per_look * np.arange(1, looks + 1)
        naive = seq = False
        for k in range(looks):
            pa, pb = a[k] / n[k], b[k] / n[k]
            var = pa * (1 - pa) / n[k] + pb * (1 - pb) / n[k]
            naive |= proportions_ztest([b[k], a[k]], [n[k], n[k]])[1] < 0.05
            seq |= msprt_p_value(pb - pa, var, tau=0.02) < 0.05
        naive_hits += naive
        seq_hits += seq
    assert naive_hits / sims > 0.15
    assert seq_hits / sims <= 0.06
    # ...and it still finds a real effect.
    assert msprt_p_value(0.03, 0.1 * 0.9 / 5000 * 2, tau=0.02) < 0.01


def test_clear_winner_gets_a_positive_verdict():
    result = analyse(_frame({"control": (5000, 500), "coupon": (5000, 650)}), control="control")
    (comp,) = result.comparisons
    assert comp.significant and comp.chance_to_beat > 0.99 and comp.sequential_p < 0.05
    assert comp.rel_ci[0] > 0
    assert "coupon: converts 30.0 % more users than control" in result.verdict


def test_bad_input_is_named():
    df = _frame({"control": (100, 10), "b": (100, 12)})
    with pytest.raises(ValueError, match="control arm 'nope'"):
        analyse(df, control="nope")
    with pytest.raises(ValueError, match="hygiene"):
        analyse(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(ValueError, match="at least two arms"):
        analyse(df[df.variant == "b"])
    with pytest.raises(ValueError, match="planned split has no share"):
        analyse(df, planned_split={"control": 50})
    with pytest.raises(ValueError, match="'control50'"):
        parse_split("control50,b=50")
    assert parse_split("control=60, b=40") == {"control": 60.0, "b": 40.0}


def _drifting_log(seed: int = 3) -> pd.DataFrame:
    """Ten days of a test whose control rate drifts from 40 % (day 1) to 10 % (later days); variant +2 points."""
    rng = np.random.default_rng(seed)
    parts = []
    for day in range(10):
        base = 0.4 if day == 0 else 0.1
        for arm, rate in (("control", base), ("new", base + 0.02)):
            n = 800
            parts.append(pd.DataFrame({
                "user_id": [f"{arm}-{day}-{i}" for i in range(n)], "variant": arm,
                "converted": (rng.random(n) < rate).astype(int),
                "timestamp": pd.Timestamp("2024-03-01") + pd.Timedelta(days=day) + pd.to_timedelta(
                    rng.integers(0, 86_000, n), unit="s"),
            }))
    return pd.concat(parts, ignore_index=True)


def test_msprt_mixing_scale_is_fixed_for_the_experiment():
    """The mixture N(0, tau^2) is chosen once: 10 % of the first look's control rate, never the look's own rate.

    The old code re-derived tau from each look's control rate; with a control rate that drifts from 40 % to 10 %
    its later looks used a smaller tau than the first, so the recomputation below with one tau disagrees with it.
    """
    df = _drifting_log()
    series = cumulative(df, "control", "new")
    first = series.iloc[0]
    tau0 = 0.1 * first["rate_control"]
    assert first["rate_control"] > 0.3 and series.iloc[-1]["rate_control"] < 0.15  # the drift is real
    assert (series["tau"] == tau0).all()
    var = (series["rate_control"] * (1 - series["rate_control"]) / series["users_control"]
           + series["rate_variant"] * (1 - series["rate_variant"]) / series["users_variant"])
    one_tau = [msprt_p_value(d, v, tau0) for d, v in zip(series["abs_lift"], var)]
    assert series["sequential_p"].to_numpy() == pytest.approx(np.minimum.accumulate(one_tau), abs=1e-12)
    per_look = [msprt_p_value(d, v, 0.1 * r) for d, v, r in zip(series["abs_lift"], var, series["rate_control"])]
    assert not np.allclose(np.minimum.accumulate(per_look), series["sequential_p"])  # the old behaviour differs
    # Later data (five more days at another control rate) leaves every earlier look and the scale unchanged.
    later = _drifting_log(seed=4)
    later = later[later["timestamp"] >= pd.Timestamp("2024-03-06")]
    later = later.assign(timestamp=later["timestamp"] + pd.Timedelta(days=5), user_id="late-" + later["user_id"])
    longer = cumulative(pd.concat([df, later], ignore_index=True), "control", "new")
    assert len(longer) == len(series) + 5
    pd.testing.assert_frame_equal(longer.iloc[: len(series)].reset_index(drop=True), series)
    # The analysis uses the same scale; a user-set one is used as given at every look.
    (comp,) = analyse(df).comparisons
    assert comp.sequential_tau == tau0 and comp.sequential_p == pytest.approx(series["sequential_p"].min())
    mine = cumulative(df, "control", "new", tau=0.05)
    assert (mine["tau"] == 0.05).all()
    assert analyse(df, sequential_tau=0.05).comparisons[0].sequential_p == pytest.approx(mine["sequential_p"].min())
    with pytest.raises(ValueError, match="tau must be positive"):
        analyse(df, sequential_tau=0.0)


def _cuped_conversion_test(n: int = 6000, seed: int = 5) -> pd.DataFrame:
    """Three arms; who converts depends strongly on the pre-period metric, one arm has a real +4 point effect."""
    rng = np.random.default_rng(seed)
    pre = rng.normal(0, 1, n)
    arm = rng.choice(["control", "a", "b"], n)
    logit = -1.0 + 1.8 * pre + np.where(arm == "b", 0.25, 0.0)
    conv = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"user_id": np.arange(n).astype(str), "variant": arm, "converted": conv, "pre_metric": pre})


def test_cuped_p_values_drive_holm_and_the_significance_call():
    df = _cuped_conversion_test()
    on = analyse(df, control="control")
    off = analyse(df, control="control", use_cuped=False)
    cuped_p = [c.cuped_conversion.p_value for c in on.comparisons]
    plain_p = [c.p_conversion for c in on.comparisons]
    assert all(c.p_source == "CUPED" for c in on.comparisons)
    assert [c.p_conversion_holm for c in on.comparisons] == pytest.approx(
        multipletests(cuped_p, method="holm")[1].tolist(), abs=1e-12)
    assert [c.p_conversion_holm for c in off.comparisons] == pytest.approx(
        multipletests(plain_p, method="holm")[1].tolist(), abs=1e-12)
    assert [c.significant for c in on.comparisons] == [p < 0.05 for p in multipletests(cuped_p, method="holm")[1]]
    b = next(c for c in on.comparisons if c.variant == "b")
    assert b.cuped_conversion.variance_reduction > 0.1 and b.cuped_conversion.p_value < b.p_conversion
    assert any("CUPED is on" in n for n in on.notes)
    table = display_tables(on)["cuped"]
    assert set(table["metric"]) == {"converted"} and table["used for the decision"].all()


def test_verdict_plans_with_the_real_number_of_arms():
    from core.abtest.planner import sample_size_plan

    df = _frame({"control": (3000, 300), "a": (3000, 305), "b": (3000, 298)})
    result = analyse(df, control="control")
    need = sample_size_plan(0.1, 0.02, n_arms=3).n_per_arm
    assert need > sample_size_plan(0.1, 0.02, n_arms=2).n_per_arm
    assert f"about {need - 3000:,} more users per arm" in result.verdict
