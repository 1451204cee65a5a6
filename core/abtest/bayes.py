"""Bayesian decisions over several arms: informative priors, probability of being best, and expected loss.

Conversion: each arm's rate has a Beta(prior + conversions, prior + non-conversions) posterior. An informative
prior is a Beta with mean `prior_mean` worth `prior_weight` users (e.g. last quarter's 3 % from 1,000 users).
Revenue per user: a normal posterior N(mean, se^2) per arm (flat prior; the central limit holds at shop sizes).
Probability of being best and expected loss (what choosing an arm costs, on average, if another is better:
E[max_k theta_k - theta_j]) are computed from seeded posterior draws; with two arms P(best) equals the exact
chance to beat (core.abtest.analysis.chance_to_beat) within Monte Carlo error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

N_DRAWS = 200_000


@dataclass(frozen=True)
class BetaPrior:
    """Beta(alpha, beta) on a conversion rate. Beta(1, 1) is flat."""

    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        if not (self.alpha > 0 and self.beta > 0):
            raise ValueError(f"Beta prior needs positive alpha and beta, got ({self.alpha}, {self.beta})")

    @classmethod
    def from_mean(cls, mean: float, weight: float) -> BetaPrior:
        """A prior centred on `mean` as informative as `weight` users already seen."""
        if not 0 < mean < 1:
            raise ValueError(f"prior mean must be a rate strictly between 0 and 1, got {mean!r}")
        if not weight > 0:
            raise ValueError(f"prior weight (users' worth) must be positive, got {weight!r}")
        return cls(mean * weight, (1 - mean) * weight)


@dataclass
class ArmPosterior:
    variant: str
    mean: float
    ci_low: float  # central credible interval
    ci_high: float
    p_best: float
    expected_loss: float  # cost of choosing this arm, in the metric's units


@dataclass
class BayesDecision:
    metric: str
    arms: list[ArmPosterior] = field(default_factory=list)
    best: str = ""
    n_draws: int = N_DRAWS
    seed: int = 0
    prior: dict | None = None

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(a) for a in self.arms])


def _decide(metric: str, names: list[str], draws: np.ndarray, credible: float, seed: int,
            prior: dict | None) -> BayesDecision:
    best_idx = draws.argmax(axis=1)
    top = draws.max(axis=1)
    tail = (1 - credible) / 2
    arms = []
    for j, name in enumerate(names):
        lo, hi = np.quantile(draws[:, j], [tail, 1 - tail])
        arms.append(ArmPosterior(name, float(draws[:, j].mean()), float(lo), float(hi),
                                 float((best_idx == j).mean()), float((top - draws[:, j]).mean())))
    best = min(arms, key=lambda a: a.expected_loss).variant
    return BayesDecision(metric, arms, best, len(draws), seed, prior)


def conversion_decision(counts: dict[str, tuple[int, int]], prior: BetaPrior | None = None,
                        n_draws: int = N_DRAWS, seed: int = 0, credible: float = 0.95) -> BayesDecision:
    """`counts`: arm -> (users, conversions). The arm to choose is the one with the least expected loss."""
    prior = prior or BetaPrior()
    rng = np.random.default_rng(seed)
    names = list(counts)
    for name, (n, c) in counts.items():
        if not 0 <= c <= n:
            raise ValueError(f"arm {name!r}: conversions ({c}) must be between 0 and users ({n})")
    draws = np.column_stack([rng.beta(prior.alpha + c, prior.beta + n - c, n_draws) for n, c in counts.values()])
    return _decide("conversion", names, draws, credible, seed, asdict(prior))


def mean_decision(values: dict[str, np.ndarray], metric: str = "revenue per user", n_draws: int = N_DRAWS,
                  seed: int = 0, credible: float = 0.95) -> BayesDecision:
    """Normal posterior of each arm's mean (flat prior): N(sample mean, sample variance / n)."""
    rng = np.random.default_rng(seed)
    names = list(values)
    cols = []
    for x in values.values():
        x = np.asarray(x, dtype=np.float64)
        se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0
        cols.append(rng.normal(float(x.mean()), se, n_draws))
    return _decide(metric, names, np.column_stack(cols), credible, seed, None)
