"""Uplift evaluation on a randomised test: Qini curve, Qini coefficient, uplift@k, and the random baseline.

All functions take the observed outcome `y` (0/1 conversion or money), the treatment flag `t` (1 = got the
coupon/e-mail, 0 = control) and a `score` (higher = target first). Tied scores are ranked as one block so a
model that cannot tell users apart gets exactly the random line, not whatever order the rows happened to be in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QiniCurve:
    """Points of the Qini curve.

    fraction[j]: share of the population targeted (0..1); gain[j]: incremental outcome per user of the whole
    population when that share is targeted, i.e. (Y_t(k) - Y_c(k) * N_t(k) / N_c(k)) / N.
    """

    fraction: np.ndarray
    gain: np.ndarray

    @property
    def random_gain(self) -> np.ndarray:
        """The straight line random targeting follows in expectation (to the same end point)."""
        return self.fraction * self.gain[-1]


def _check(y, t, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t)
    score = np.asarray(score, dtype=np.float64)
    if not (len(y) == len(t) == len(score)):
        raise ValueError(f"y, t and score must have the same length, got {len(y)}, {len(t)}, {len(score)}")
    if len(y) == 0:
        raise ValueError("uplift metrics need at least one user")
    if not np.isin(t, (0, 1)).all():
        raise ValueError("t (treatment flag) must hold only 0 (control) and 1 (treated)")
    t = t.astype(np.int64)
    if t.sum() == 0 or t.sum() == len(t):
        raise ValueError("uplift metrics need both treated and control users")
    if not np.isfinite(score).all() or not np.isfinite(y).all():
        raise ValueError("y and score must be finite numbers (no NaN or inf)")
    return y, t, score


def qini_curve(y, t, score) -> QiniCurve:
    """Qini curve, evaluated at every distinct score threshold (plus the origin)."""
    y, t, score = _check(y, t, score)
    order = np.argsort(-score, kind="stable")
    y, t, score = y[order], t[order], score[order]
    # Last row of each block of equal scores: the curve is only defined between blocks.
    ends = np.r_[np.flatnonzero(np.diff(score) != 0), len(score) - 1]
    n_t = np.cumsum(t)[ends]
    n_c = np.cumsum(1 - t)[ends]
    y_t = np.cumsum(y * t)[ends]
    y_c = np.cumsum(y * (1 - t))[ends]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled_c = np.where(n_c > 0, y_c * n_t / np.maximum(n_c, 1), 0.0)
    n = len(y)
    gain = np.r_[0.0, (y_t - scaled_c) / n]
    fraction = np.r_[0.0, (ends + 1) / n]
    return QiniCurve(fraction=fraction, gain=gain)


def qini_coefficient(y, t, score) -> float:
    """Area between the Qini curve and the random line (x: share targeted, y: gain per user). Random ≈ 0."""
    curve = qini_curve(y, t, score)
    area = float(np.trapezoid(curve.gain, curve.fraction))
    return area - 0.5 * float(curve.gain[-1])


def uplift_at_k(y, t, score, k: float) -> float:
    """Mean outcome of treated minus control among the top `k` share (0 < k <= 1) of users by score.

    The cut keeps whole tie blocks only up to ceil(k * n) users, ties broken by row order (stable sort).
    """
    y, t, score = _check(y, t, score)
    if not 0.0 < k <= 1.0:
        raise ValueError(f"k is the share of users targeted and must be in (0, 1], got {k!r}")
    n_top = int(np.ceil(k * len(y)))
    top = np.argsort(-score, kind="stable")[:n_top]
    yt, tt = y[top], t[top]
    if tt.sum() == 0 or tt.sum() == len(tt):
        raise ValueError(f"the top {k:.0%} holds only one group (treated or control); use a larger k")
    return float(yt[tt == 1].mean() - yt[tt == 0].mean())


def average_effect(y, t) -> float:
    """Mean treated minus mean control over everyone: what uplift@k of random targeting equals in expectation."""
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t).astype(np.int64)
    return float(y[t == 1].mean() - y[t == 0].mean())


@dataclass(frozen=True)
class RandomBaseline:
    """Qini coefficient and uplift@k of random scores over `n_draws` seeded draws."""

    qini_mean: float
    qini_std: float
    uplift_at_k_mean: float
    uplift_at_k_std: float
    n_draws: int


def random_baseline(y, t, k: float, n_draws: int = 50, seed: int = 0) -> RandomBaseline:
    """What random targeting scores on the same users: the bar every learner must clear."""
    y, t, _ = _check(y, t, np.zeros(len(y)))
    rng = np.random.default_rng(seed)
    qs, us = [], []
    for _ in range(n_draws):
        s = rng.random(len(y))
        qs.append(qini_coefficient(y, t, s))
        us.append(uplift_at_k(y, t, s, k))
    return RandomBaseline(
        qini_mean=float(np.mean(qs)),
        qini_std=float(np.std(qs)),
        uplift_at_k_mean=float(np.mean(us)),
        uplift_at_k_std=float(np.std(us)),
        n_draws=n_draws,
    )
