"""How a campaign may target: by uplift only when the past campaign proved the learner finds the responders.

An uplift learner that does not beat random targeting on held-out users has learned noise; ranking by its
"incremental profit" would dress a guess up as causal. So the rule is strict and testable: the campaign's
learner must have a held-out Qini coefficient whose bootstrap interval lies wholly above random targeting's.
Otherwise the campaign is ranked by purchase propensity and says so; with no past campaign, likewise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.i18n import Message

UPLIFT = "uplift"
PROPENSITY = "propensity"
REFUSED = "refused"

@dataclass(frozen=True)
class TargetingDecision:
    """`mode`: "uplift", "propensity" or "refused" (nobody targeted); `reason`: one plain sentence (a Message) the page and the CLI show."""

    mode: str
    reason: str

    @property
    def causal(self) -> bool:
        return self.mode == UPLIFT

    def to_dict(self) -> dict:
        return {"mode": self.mode, "reason": str(self.reason)}


def no_campaign() -> TargetingDecision:
    return TargetingDecision(PROPENSITY, Message(
        "No past randomised campaign in this shop to learn from. "
        "Customers are ranked by how likely they are to buy (propensity) instead. That is not causal: a "
        "coupon may go to people who would have bought anyway."))


def refuse_without_propensity(fallback: TargetingDecision) -> TargetingDecision:
    """No uplift and too few buyers for a propensity model: everyone would get the same score, so any list would
    be an arbitrary one dressed up as a ranking. Nobody is targeted, and the page says why."""
    if fallback.mode != PROPENSITY:
        return fallback
    return TargetingDecision(REFUSED, Message(
        "Nobody is targeted: the shop has too few buyers to learn who is likely to buy, and no past campaign "
        "that shows who the coupon changes, so any list would be a guess. Upload more purchase history or run a "
        "randomised test first."))


def not_chosen() -> TargetingDecision:
    return TargetingDecision(PROPENSITY, Message(
        "No past campaign chosen to learn from. "
        "Customers are ranked by how likely they are to buy (propensity) instead. That is not causal: a "
        "coupon may go to people who would have bought anyway."))


def too_small(experiment_id: int) -> TargetingDecision:
    return TargetingDecision(PROPENSITY, Message(
        "Past campaign #{id} has fewer than 20 customers in an arm, too few to learn who responds. "
        "Customers are ranked by how likely they are to buy (propensity) instead. That is not causal: a "
        "coupon may go to people who would have bought anyway.",
        id=experiment_id))


def decide(evaluation, learner: str) -> TargetingDecision:
    """Uplift when `learner`'s held-out Qini interval excludes random targeting's Qini from below.

    `evaluation`: a core.coupons.plan.UpliftEvaluation (held-out Qini per learner with bootstrap intervals)."""
    found = next((le for le in evaluation.learners if le.name == learner), None)
    if found is None:
        raise ValueError(f"learner {learner!r} was not evaluated; evaluated: {[le.name for le in evaluation.learners]}")
    low, high = found.qini_ci
    values = dict(id=evaluation.experiment_id, n=f"{evaluation.n_test:,}", learner=learner, qini=f"{found.qini:+.4f}",
                  low=f"{low:+.4f}", high=f"{high:+.4f}", random=f"{evaluation.random_qini:+.4f}")
    if math.isfinite(low) and low > evaluation.random_qini:
        return TargetingDecision(UPLIFT, Message(
            "Targeting by uplift: on {n} held-out customers of past campaign #{id}, the {learner}'s Qini {qini} "
            "(95 % interval {low} to {high}) is clearly above random targeting's {random}.", **values))
    return TargetingDecision(PROPENSITY, Message(
        "Not targeting by uplift: on {n} held-out customers of past campaign #{id}, the {learner}'s Qini {qini} "
        "(95 % interval {low} to {high}) does not clear random targeting's {random}, so it has not learned who "
        "the coupon changes. "
        "Customers are ranked by how likely they are to buy (propensity) instead. That is not causal: a "
        "coupon may go to people who would have bought anyway.", **values))
