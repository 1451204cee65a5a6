"""Qini curve, Qini coefficient and uplift@k against direct hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from core.uplift import average_effect, qini_coefficient, qini_curve, random_baseline, uplift_at_k

# Eight users, distinct scores, already in descending score order.
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
T = np.array([1, 0, 1, 1, 0, 0, 1, 0])
Y = np.array([1, 0, 1, 0, 1, 0, 0, 0])


def _direct_gain(k: int) -> float:
    """Y_t(k) - Y_c(k) * N_t(k) / N_c(k) for the top k, by plain loops."""
    yt = sum(Y[i] for i in range(k) if T[i] == 1)
    yc = sum(Y[i] for i in range(k) if T[i] == 0)
    nt = sum(1 for i in range(k) if T[i] == 1)
    nc = sum(1 for i in range(k) if T[i] == 0)
    return yt - (yc * nt / nc if nc else 0.0)


def test_qini_curve_equals_direct_computation():
    curve = qini_curve(Y, T, SCORE)
    assert curve.fraction.tolist() == pytest.approx([k / 8 for k in range(9)])
    expected = [0.0] + [_direct_gain(k) / 8 for k in range(1, 9)]
    assert curve.gain.tolist() == pytest.approx(expected)
    # Hand values: top1 = 1; top2 = 1 - 0*1/1 = 1; top4 = 2 - 0 = 2; top5 = 2 - 1*3/2 = 0.5; all = 2 - 1*4/4 = 1
    assert curve.gain[[1, 2, 4, 5, 8]] * 8 == pytest.approx([1.0, 1.0, 2.0, 0.5, 1.0])


def test_qini_coefficient_is_area_above_the_random_line():
    gains = np.array([0.0] + [_direct_gain(k) / 8 for k in range(1, 9)])
    x = np.arange(9) / 8
    area = sum((gains[i] + gains[i + 1]) / 2 * (x[i + 1] - x[i]) for i in range(8))
    assert qini_coefficient(Y, T, SCORE) == pytest.approx(area - 0.5 * gains[-1])


def test_row_order_does_not_matter():
    perm = np.random.default_rng(3).permutation(8)
    assert qini_coefficient(Y[perm], T[perm], SCORE[perm]) == pytest.approx(qini_coefficient(Y, T, SCORE))


def test_uplift_at_k_equals_direct_computation():
    # top 50 % = first four users: treated outcomes 1, 1, 0 -> 2/3; control outcome 0 -> 0.
    assert uplift_at_k(Y, T, SCORE, 0.5) == pytest.approx(2 / 3)
    # top 75 % = six users: treated (1, 1, 0) -> 2/3; control (0, 1, 0) -> 1/3.
    assert uplift_at_k(Y, T, SCORE, 0.75) == pytest.approx(1 / 3)
    assert uplift_at_k(Y, T, SCORE, 1.0) == pytest.approx(average_effect(Y, T)) == pytest.approx(2 / 4 - 1 / 4)


def test_tied_scores_follow_the_random_line():
    curve = qini_curve(Y, T, np.zeros(8))
    assert curve.fraction.tolist() == [0.0, 1.0]
    assert qini_coefficient(Y, T, np.zeros(8)) == pytest.approx(0.0)


def test_perfect_ranking_beats_random_on_a_planted_effect():
    rng = np.random.default_rng(0)
    n = 4000
    responsive = rng.random(n) < 0.3
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.1 + 0.3 * responsive * t).astype(float)
    good = qini_coefficient(y, t, responsive.astype(float) + 1e-6 * rng.random(n))
    rnd = random_baseline(y, t, 0.3, n_draws=30, seed=1)
    assert good > rnd.qini_mean + 5 * rnd.qini_std
    assert uplift_at_k(y, t, responsive.astype(float) + 1e-6 * rng.random(n), 0.3) > rnd.uplift_at_k_mean + 0.1
    assert abs(rnd.qini_mean) < 3 * rnd.qini_std + 1e-3


@pytest.mark.parametrize(
    "y, t, s, k, match",
    [
        ([1, 0], [1, 1], [0.1, 0.2], 0.5, "both treated and control"),
        ([1, 0], [1, 2], [0.1, 0.2], 0.5, "only 0"),
        ([1, 0, 1], [1, 0], [0.1, 0.2, 0.3], 0.5, "same length"),
        ([1, 0], [1, 0], [0.1, np.nan], 0.5, "finite"),
        ([1, 0], [1, 0], [0.1, 0.2], 1.5, r"\(0, 1\]"),
        ([1, 0, 1, 0], [1, 0, 1, 0], [4, 3, 2, 1], 0.25, "only one group"),
    ],
)
def test_bad_input_is_named(y, t, s, k, match):
    with pytest.raises(ValueError, match=match):
        uplift_at_k(y, t, s, k)


def test_uplift_at_k_keeps_whole_tie_blocks_whatever_the_row_order():
    # Scores in three blocks: {0.9 x2}, {0.5 x4}, {0.1 x2}. Top 50 % = 4 users cuts the 0.5 block: it is kept whole.
    score = np.array([0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1])
    t = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    y = np.array([1, 0, 1, 0, 0, 1, 1, 1])
    # First six users: treated outcomes 1, 1, 0 -> 2/3; control 0, 0, 1 -> 1/3 (row order would have cut at 4).
    assert uplift_at_k(y, t, score, 0.5) == pytest.approx(2 / 3 - 1 / 3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        perm = rng.permutation(8)
        assert uplift_at_k(y[perm], t[perm], score[perm], 0.5) == pytest.approx(1 / 3)
    # A score that cannot tell users apart targets everyone: exactly the average effect, for any k.
    assert uplift_at_k(Y, T, np.zeros(8), 0.25) == pytest.approx(average_effect(Y, T))


def test_bootstrap_interval_of_uplift_at_all_users_matches_welch():
    """uplift@100 % is the difference in means: its bootstrap interval must agree with Welch's (statsmodels)."""
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    from core.uplift.metrics import bootstrap_uplift

    rng = np.random.default_rng(4)
    n = 3000
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.2 + 0.05 * t).astype(float)
    score = rng.random(n)
    res = bootstrap_uplift(y, t, score, k=1.0, n_boot=400, seed=1)
    lo, hi = CompareMeans(DescrStatsW(y[t == 1]), DescrStatsW(y[t == 0])).tconfint_diff(usevar="unequal")
    assert res.uplift_at_k.estimate == pytest.approx(average_effect(y, t))
    width = hi - lo
    assert res.uplift_at_k.low == pytest.approx(lo, abs=0.1 * width)
    assert res.uplift_at_k.high == pytest.approx(hi, abs=0.1 * width)
    # Random scores: the Qini interval holds 0 and the estimate; same seed, same interval.
    assert res.qini.low < 0 < res.qini.high and res.qini.low <= res.qini.estimate <= res.qini.high
    assert bootstrap_uplift(y, t, score, k=1.0, n_boot=400, seed=1) == res
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_uplift(y, t, score, k=0.3, n_boot=5)


def test_bootstrap_interval_on_hillstrom_separates_a_good_ranking_from_random():
    """Real data: Hillstrom women's e-mail vs none, visits. Women's-merchandise buyers first (a two-block score,
    so whole tie blocks matter) ranks better than random; the reverse ranking worse, both beyond their intervals."""
    from core.uplift.hillstrom import load_hillstrom
    from core.uplift.metrics import bootstrap_uplift
    from tests.conftest import shared_path

    data = load_hillstrom(shared_path("hillstrom_email", "hillstrom.csv"))
    y, t = data.outcomes["visit"].to_numpy(), data.t
    womens = data.X[:, data.feature_names.index("womens")]
    good = bootstrap_uplift(y, t, womens, k=0.3, n_boot=100, seed=0)
    worse = bootstrap_uplift(y, t, -womens, k=0.3, n_boot=100, seed=0)
    rnd = bootstrap_uplift(y, t, np.random.default_rng(0).random(len(y)), k=0.3, n_boot=100, seed=0)
    assert good.qini.low > 0 > worse.qini.high
    assert good.qini.low > rnd.qini.high and rnd.qini.low < 0 < rnd.qini.high
    assert good.uplift_at_k.low > average_effect(y, t) > worse.uplift_at_k.high
    assert good.qini.low < good.qini.estimate < good.qini.high
