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


def top_k_mask(score, k: float) -> np.ndarray:
    """Users in the top `k` share by score, keeping whole tie blocks: every user whose score ties the
    ceil(k * n)-th best is in, so the set never depends on row order (it may hold a little more than k * n)."""
    score = np.asarray(score, dtype=np.float64)
    if not 0.0 < k <= 1.0:
        raise ValueError(f"k is the share of users targeted and must be in (0, 1], got {k!r}")
    n_top = int(np.ceil(k * len(score)))
    cut = np.sort(score)[::-1][n_top - 1]
    return score >= cut


def uplift_at_k(y, t, score, k: float) -> float:
    """Mean outcome of treated minus control among the top `k` share (0 < k <= 1) of users by score.

    The cut keeps whole tie blocks (see `top_k_mask`): a block of equal scores straddling ceil(k * n) is taken
    whole, so shuffling the rows never changes the answer and a constant score gets the average effect.
    """
    y, t, score = _check(y, t, score)
    top = top_k_mask(score, k)
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


@dataclass(frozen=True)
class UpliftInterval:
    """A figure with its percentile bootstrap interval (users resampled within each arm, seeded)."""

    estimate: float
    low: float
    high: float
    std: float


@dataclass(frozen=True)
class UpliftUncertainty:
    qini: UpliftInterval
    uplift_at_k: UpliftInterval
    k: float
    n_boot: int
    seed: int
    confidence: float

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def bootstrap_uplift(y, t, score, k: float, n_boot: int = 200, seed: int = 0,
                     confidence: float = 0.95) -> UpliftUncertainty:
    """Percentile bootstrap intervals of the Qini coefficient and uplift@k on one evaluation set.

    Resampling is stratified by arm (each resample keeps the treated and control counts), so every draw is a
    valid randomised test; draws whose top k holds one arm only are skipped for uplift@k.
    """
    y, t, score = _check(y, t, score)
    if n_boot < 20:
        raise ValueError(f"n_boot must be at least 20 for a percentile interval, got {n_boot}")
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence!r}")
    rng = np.random.default_rng(seed)
    treated, control = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    qs, us = [], []
    for _ in range(n_boot):
        idx = np.r_[rng.choice(treated, len(treated)), rng.choice(control, len(control))]
        qs.append(qini_coefficient(y[idx], t[idx], score[idx]))
        try:
            us.append(uplift_at_k(y[idx], t[idx], score[idx], k))
        except ValueError:
            continue
    tail = (1 - confidence) / 2 * 100

    def interval(estimate: float, draws: list[float]) -> UpliftInterval:
        if not draws:
            return UpliftInterval(estimate, float("nan"), float("nan"), float("nan"))
        lo, hi = np.percentile(draws, [tail, 100 - tail])
        return UpliftInterval(float(estimate), float(lo), float(hi), float(np.std(draws, ddof=1)))

    try:
        at_k = uplift_at_k(y, t, score, k)
    except ValueError:
        at_k = float("nan")
    return UpliftUncertainty(interval(qini_coefficient(y, t, score), qs), interval(at_k, us), k, n_boot, seed,
                             confidence)
