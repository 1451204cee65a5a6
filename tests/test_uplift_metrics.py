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
