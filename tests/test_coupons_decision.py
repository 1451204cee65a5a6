"""Uplift targeting only when the held-out Qini interval clears random targeting: on the real Hillstrom e-mail test
(where the women's e-mail's effect on visits differs between customers) and on the same users with the outcome
shuffled (no one responds differently), plus the rule itself on hand-made evaluations."""

from __future__ import annotations

import numpy as np
import pytest

from core.coupons.campaign import CampaignSpec
from core.coupons.decision import PROPENSITY, UPLIFT, decide, no_campaign
from core.coupons.plan import LearnerEval, UpliftEvaluation, _evaluate
from tests.conftest import shared_path


def _ev(qini: float, low: float, high: float, random: float = 0.001) -> UpliftEvaluation:
    ev = UpliftEvaluation(7, "converted", 0.3, 400, 180, 0.02, random, 0.01, 0.02)
    ev.learners.append(LearnerEval("x_learner", qini, 0.0, [0.0, 1.0], [0.0, 0.0], (low, high)))
    return ev


def test_rule_needs_the_whole_interval_above_random():
    assert decide(_ev(0.03, 0.011, 0.05), "x_learner").mode == UPLIFT
    straddles = decide(_ev(0.0086, -0.013, 0.0255), "x_learner")  # the demo campaign's figures
    assert straddles.mode == PROPENSITY and not straddles.causal
    assert "does not clear random targeting's +0.0010" in straddles.reason and "#7" in straddles.reason
    below = decide(_ev(-0.003, -0.009, 0.002, random=-0.0009), "x_learner")  # issue 17's chart
    assert below.mode == PROPENSITY and "-0.0030" in below.reason
    assert decide(_ev(0.02, float("nan"), float("nan")), "x_learner").mode == PROPENSITY
    with pytest.raises(ValueError, match="t_learner"):
        decide(_ev(0.03, 0.01, 0.05), "t_learner")
    assert no_campaign().to_dict()["mode"] == PROPENSITY


@pytest.fixture(scope="module")
def hillstrom():
    path = shared_path("hillstrom_email", "hillstrom.csv")
    if not path.exists():
        pytest.skip(f"Hillstrom data not found at {path} (../shared/data/hillstrom_email)")
    from core.uplift.hillstrom import load_hillstrom

    return load_hillstrom(path)


@pytest.mark.slow
def test_hillstrom_visits_are_targeted_by_uplift_and_a_shuffled_outcome_is_not(hillstrom):
    spec = CampaignSpec(seed=0)
    y = hillstrom.outcomes["visit"].to_numpy()
    ev = _evaluate(hillstrom.X, hillstrom.t, y, spec, 1, "visit")
    real = decide(ev, "x_learner")
    x = next(le for le in ev.learners if le.name == "x_learner")
    assert real.mode == UPLIFT and x.qini_ci[0] > ev.random_qini, (x.qini, x.qini_ci, ev.random_qini)
    # Same customers and arms, visits shuffled within each arm: the average effect stays, who responds is noise.
    rng = np.random.default_rng(1)
    shuffled = y.copy()
    for arm in (0, 1):
        rows = np.flatnonzero(hillstrom.t == arm)
        shuffled[rows] = rng.permutation(y[rows])
    noise = decide(_evaluate(hillstrom.X, hillstrom.t, shuffled, spec, 1, "visit"), "x_learner")
    assert noise.mode == PROPENSITY and "Not targeting by uplift" in noise.reason
