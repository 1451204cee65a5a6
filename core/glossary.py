"""One plain sentence for every metric the dashboard shows, so a marketer can read a figure without a textbook.

Keys are metric names as pages show them, lower case, without their cut-off ("ndcg@10" -> "ndcg", "uplift@30%"
-> "uplift"); `meaning()` does that normalising, so a table column, a metric tile and a chart legend share an
entry. Values are N_ msgids: pages translate them at display (pages/components/language.py `glossary_help`).
"""

from __future__ import annotations

import re

from core.i18n import N_

GLOSSARY: dict[str, str] = {
    # recommendation quality
    "ndcg": N_("NDCG: how high up the list the item the customer really bought next appears (1 = always first, "
               "0 = never in the list)."),
    "hr": N_("Hit rate (HR): share of customers whose next real purchase is anywhere in the list."),
    "mrr": N_("MRR: 1 / the position of the customer's next real purchase in the list, averaged (1 = always first)."),
    "coverage": N_("Coverage: share of the catalogue that appears in anyone's list."),
    "novelty": N_("Novelty (in bits): how unexpected the recommended items are; higher = less popular, more "
                  "surprising items."),
    "diversity": N_("Diversity: how different the items in one list are from each other (0 = all alike)."),
    "validation ndcg": N_("NDCG measured on customers held out for validation during training."),
    "loss": N_("Training loss: how wrong the model's next-item guesses still are (lower is better)."),
    # A/B tests
    "conversion rate": N_("Conversion rate: share of users in the arm who bought."),
    "lift": N_("Lift: the arm's conversion rate minus control's, in percentage points."),
    "relative lift": N_("Relative lift: the change against control as a share of control's rate."),
    "p-value": N_("p-value: how often a difference this large would appear by chance if the arms were equal "
                  "(small = unlikely to be chance)."),
    "sequential p-value": N_("Sequential p-value (mSPRT): a p-value that stays valid however often you look, so "
                             "the test can be checked every day."),
    "msprt": N_("mSPRT: a sequential test that stays valid however often you look."),
    "chance to beat control": N_("Chance to beat control: the probability, given the data, that the arm's true "
                                 "rate is above control's."),
    "p(best)": N_("P(best): the probability that this arm is the best of all arms."),
    "expected loss": N_("Expected loss: how much conversion you would give up on average by choosing this arm if "
                        "it is not the best."),
    "cuped": N_("CUPED: removes the part of the difference explained by what users did before the test, so the "
                "same test gives a tighter interval."),
    "variance removed": N_("Variance removed: how much of the noise CUPED explained away with pre-test behaviour."),
    "srm": N_("Sample-ratio mismatch (SRM): the arms' sizes differ from the planned split more than chance "
              "allows, a sign that assignment or logging is broken."),
    "p (corrected)": N_("Corrected p-value: adjusted because several arms or metrics were tested at once."),
    "z": N_("z: the difference measured in standard errors; beyond about ±2 it is unlikely to be chance."),
    "t": N_("t: the revenue difference measured in standard errors (Welch's test); beyond about ±2 it is unlikely "
            "to be chance."),
    "raw difference": N_("Raw difference: the arm minus control before the CUPED adjustment."),
    "cuped difference": N_("CUPED difference: the arm minus control after removing what pre-test behaviour explains."),
    "revenue per user": N_("Revenue per user: the arm's revenue divided by all its users, buyers or not."),
    "revenue/user diff": N_("Revenue per user difference: the arm's revenue per user minus control's."),
    "revenue diff": N_("Revenue per user difference: the arm's revenue per user minus control's."),
    "low": N_("Low: the lower end of the 95 % interval around the figure."),
    "high": N_("High: the upper end of the 95 % interval around the figure."),
    "expected users": N_("Expected users: how many users the arm should have under the planned split."),
    "planned share": N_("Planned share: the part of the traffic the arm was meant to get."),
    # coupons and uplift
    "qini": N_("Qini coefficient: how much more extra buying you get by targeting in the model's order than at "
               "random (0 = no better than random)."),
    "qini coefficient": N_("Qini coefficient: how much more extra buying you get by targeting in the model's order "
                           "than at random (0 = no better than random)."),
    "uplift": N_("Uplift: how much the coupon raises this customer's chance to buy (with minus without)."),
    "t_learner": N_("T-learner: two models, one for customers who got the coupon and one for those who did not; "
                    "uplift is their difference."),
    "x_learner": N_("X-learner: like the T-learner, but each group's model also learns from the other group; "
                    "better when one group is small."),
    "propensity": N_("Propensity: the chance that the customer buys in the coupon window, coupon or not."),
    "p(buy) without coupon": N_("P(buy) without coupon: the chance the customer buys anyway."),
    "p(buy) with coupon": N_("P(buy) with coupon: the chance the customer buys if they get the coupon."),
    "expected profit": N_("Expected profit: extra revenue the coupon causes × margin, minus what the coupon is "
                          "expected to cost."),
    "expected cost": N_("Expected cost: the coupon's value × the chance it is redeemed."),
    "incremental revenue": N_("Incremental revenue: revenue the coupon causes that would not have happened "
                              "without it."),
    "calibrated slope on other half": N_("Calibrated slope: 1 means the predicted uplift holds its size on "
                                         "customers it was not fitted on; below 1 it promises too much."),
}

_CUT = re.compile(r"@\s*\d+%?$")
_BOUND = re.compile(r" (low|high)$")


def _key(term: str) -> str:
    key = _BOUND.sub("", str(term).strip().lower())
    return _CUT.sub("", key).strip()


def meaning(term: object) -> str | None:
    """The glossary msgid for a metric name as shown (any case, with or without "@10" / " low"), else None."""
    if not isinstance(term, str):
        return None
    key = _key(term)
    if key in GLOSSARY:
        return GLOSSARY[key]
    aliases = {"hit rate": "hr", "validation_ndcg": "validation ndcg", "val_ndcg": "validation ndcg",
               "p_best": "p(best)", "expected_loss": "expected loss", "p_adjusted": "p (corrected)",
               "expected_profit": "expected profit", "expected_cost": "expected cost",
               "incr_revenue": "incremental revenue", "p0": "p(buy) without coupon", "p1": "p(buy) with coupon",
               "t-learner": "t_learner", "x-learner": "x_learner", "lift (points)": "lift",
               "relative_lift": "relative lift", "relative": "relative lift", "p_value": "p-value", "qini low": "qini", "qini high": "qini"}
    key = aliases.get(key, key)
    if key.startswith("p-value") or key.startswith("revenue p"):
        key = "p-value"
    return GLOSSARY.get(key)
