"""Sample-size planner on textbook cases."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from core.abtest.planner import detectable_lift, sample_size_plan


def test_cohens_small_effect_needs_393_per_group():
    # Cohen (1988), table 6.4.1: h = 0.2, two-sided alpha .05, power .80 -> n = 392 (392.4, rounded up to 393).
    base = 0.5
    target = math.sin(math.asin(math.sqrt(base)) + 0.1) ** 2  # h = 2 asin(sqrt p2) - 2 asin(sqrt p1) = 0.2
    p = sample_size_plan(base, target - base, relative=False)
    assert p.effect_size == pytest.approx(0.2, abs=1e-9)
    assert p.n_per_arm == 393 and p.n_total == 786


@pytest.mark.parametrize(("baseline", "mde", "relative"), [(0.10, 0.02, False), (0.12, 0.02, True), (0.03, 0.1, True)])
def test_matches_the_normal_approximation_formula(baseline, mde, relative):
    target = baseline * (1 + mde) if relative else baseline + mde
    h = abs(2 * math.asin(math.sqrt(target)) - 2 * math.asin(math.sqrt(baseline)))
    expected = 2 * ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2
    # statsmodels also counts the (tiny) far-tail rejections, so it may need one user fewer than the formula.
    assert math.ceil(expected) - 1 <= sample_size_plan(baseline, mde, relative=relative).n_per_arm <= math.ceil(expected)


def test_baseline_10_percent_to_12_percent():
    # A classic example: 10 % -> 12 % at 80 % power needs about 3,800 users per arm (Cohen's h = 0.0640).
    p = sample_size_plan(0.10, 0.02, relative=False, daily_traffic=500)
    assert 3_800 <= p.n_per_arm <= 3_900
    assert p.days == math.ceil(p.n_total / 500)


def test_more_power_or_arms_need_more_users_and_inverse_agrees():
    assert sample_size_plan(0.1, 0.05, power=0.9).n_per_arm > sample_size_plan(0.1, 0.05, power=0.8).n_per_arm
    assert sample_size_plan(0.1, 0.05, n_arms=3).n_per_arm > sample_size_plan(0.1, 0.05).n_per_arm
    n = sample_size_plan(0.12, 0.02).n_per_arm
    assert detectable_lift(0.12, n) == pytest.approx(0.02, rel=1e-3)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="baseline"):
        sample_size_plan(1.2, 0.02)
    with pytest.raises(ValueError, match="mde"):
        sample_size_plan(0.1, 0.0)
    with pytest.raises(ValueError, match="daily_traffic"):
        sample_size_plan(0.1, 0.02, daily_traffic=0)
    with pytest.raises(ValueError, match="baseline \\+ mde"):
        sample_size_plan(0.9, 0.2, relative=True)


@pytest.mark.parametrize(("k", "table"), [(1, 1.960), (2, 2.212), (3, 2.349), (4, 2.442)])
def test_dunnett_critical_values_match_the_table(k, table):
    # Dunnett (1955) / Bechhofer-Dunnett two-sided table, infinite df, alpha 0.05, equal arms.
    from core.abtest.planner import dunnett_critical

    assert dunnett_critical(k, 0.05) == pytest.approx(table, abs=2e-3)


def test_three_arms_split_alpha_bonferroni_or_dunnett():
    two = sample_size_plan(0.1, 0.05)
    bonf = sample_size_plan(0.1, 0.05, n_arms=3)
    dunn = sample_size_plan(0.1, 0.05, n_arms=3, correction="dunnett")
    assert bonf.per_test_alpha == pytest.approx(0.025) and bonf.correction == "bonferroni"
    assert 0.025 < dunn.per_test_alpha < 0.05
    assert two.n_per_arm < dunn.n_per_arm < bonf.n_per_arm
    h = bonf.effect_size
    assert bonf.n_per_arm == math.ceil(2 * ((norm.ppf(1 - 0.025 / 2) + norm.ppf(0.8)) / h) ** 2) or \
        bonf.n_per_arm == math.ceil(2 * ((norm.ppf(1 - 0.025 / 2) + norm.ppf(0.8)) / h) ** 2) - 1
    with pytest.raises(ValueError, match="bonferroni"):
        sample_size_plan(0.1, 0.05, n_arms=3, correction="sidak-ish")
