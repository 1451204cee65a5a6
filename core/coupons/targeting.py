"""Who gets a coupon: eligibility, expected incremental profit, selection under a budget, a reason per user.

expected profit = incremental revenue × margin − expected coupon cost, where the coupon costs its face value
each time it is redeemed, i.e. with probability P(buy | coupon) — including by people who would have bought
anyway, which is why a high propensity alone is not a reason to send a coupon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.coupons.campaign import CampaignSpec
from core.i18n import Message


@dataclass
class Scores:
    """Model outputs per user (aligned with the feature frame's rows). Uplift fields are None without a past
    randomised campaign (then targeting falls back to propensity and is not causal)."""

    propensity: np.ndarray
    p0: np.ndarray | None = None  # P(buy) without the coupon
    p1: np.ndarray | None = None  # P(buy) with the coupon
    incr_revenue: np.ndarray | None = None  # expected extra revenue the coupon causes

    @property
    def causal(self) -> bool:
        return self.p1 is not None


def eligibility(features: pd.DataFrame, profile: pd.DataFrame, user_keys: np.ndarray, spec: CampaignSpec) -> np.ndarray:
    """Why each user may NOT receive the coupon ("" = eligible). `profile`: age_band, gender, region per row."""
    e = spec.eligibility
    n = len(features)
    why = np.full(n, "", dtype=object)

    def rule(mask: np.ndarray, text: str) -> None:
        hit = mask & (why == "")
        why[hit] = text

    def col(name: str) -> np.ndarray:
        return profile[name].astype(object).to_numpy() if name in profile else np.full(n, None, dtype=object)

    if e.exclude_users:
        rule(np.isin(np.asarray(user_keys).astype(str), [str(u) for u in e.exclude_users]), Message("excluded by name"))
    if e.age_bands:
        rule(~np.isin(col("age_band"), e.age_bands), Message("age band not targeted"))
    if e.genders:
        rule(~np.isin(col("gender"), e.genders), Message("gender not targeted"))
    if e.regions:
        rule(~np.isin(col("region"), e.regions), Message("region not targeted"))
    if e.activity:
        rule(~features["activity"].isin(e.activity).to_numpy(), Message("activity bucket not targeted"))
    days = features["days_since_last"].to_numpy(dtype=float)
    bought = features["n_purchases"].to_numpy() > 0
    if e.min_days_since_purchase is not None:
        rule(bought & (days < e.min_days_since_purchase), Message("bought less than {days} days ago", days=f"{e.min_days_since_purchase:g}"))
    if e.max_days_since_purchase is not None:
        rule(~bought | (days > e.max_days_since_purchase),
             Message("no purchase in the last {days} days", days=f"{e.max_days_since_purchase:g}"))
    return why


def select_under_budget(priority: np.ndarray, liability: np.ndarray, candidate: np.ndarray, spec: CampaignSpec) -> np.ndarray:
    """Rank (1..) of each selected user, 0 for the rest. Highest priority first, ties by row order; a money budget
    skips a user whose coupon would overrun it and keeps filling with cheaper ones. Never exceeds the budget."""
    order = np.lexsort((np.arange(len(priority)), -np.asarray(priority, dtype=float)))
    rank = np.zeros(len(priority), dtype=np.int64)
    used, n = 0.0, 0
    amount = float(spec.budget.amount)
    for i in order:
        if not candidate[i]:
            continue
        if spec.budget.kind == "count":
            if n + 1 > amount:
                break
        else:
            cost = float(liability[i])
            if used + cost > amount + 1e-9:
                continue
            used += cost
        n += 1
        rank[i] = n
    return rank


def _reason(row: pd.Series, causal: bool, target: str) -> str:
    n, days = int(row["n_purchases"]), row["days_since_last"]
    if n == 0:
        history = Message("never bought")
    elif n == 1:
        history = Message("{n} purchase, last {days} days ago", n=n, days=f"{days:.0f}")
    else:
        history = Message("{n} purchases, last {days} days ago", n=n, days=f"{days:.0f}")
    if causal:
        head = Message("coupon lifts P(buy) {p0} → {p1} ({uplift}), expected profit {profit}", p0=f"{row['p0']:.0%}",
                       p1=f"{row['p1']:.0%}", uplift=f"{row['uplift']:+.1%}", profit=f"{row['expected_profit']:+.2f}")
    else:
        head = Message("P(buy) in the coupon window {propensity} (not causal: ranked by how likely they are to buy)",
                       propensity=f"{row['propensity']:.1%}")
    return Message("{head}; {history}; on {target}", head=head, history=history, target=target)


def target_label(features: pd.DataFrame, titles: np.ndarray, spec: CampaignSpec) -> np.ndarray:
    if spec.scope == "shop":
        return _objects([Message("whole shop")] * len(features))
    if spec.scope == "category":
        return _objects([Message("category {category}", category=spec.category)] * len(features))
    top = features["top_item"].to_numpy()
    return _objects([str(titles[i]) if i >= 0 else Message("whole shop (no recommendation)") for i in top])


def _objects(values: list) -> np.ndarray:
    """An object array that keeps core.i18n.Messages as they are (np.array would make them plain str)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def score_and_select(
    features: pd.DataFrame,
    profile: pd.DataFrame,
    user_keys: np.ndarray,
    titles: np.ndarray,
    scores: Scores,
    spec: CampaignSpec,
    outside: np.ndarray | None = None,
) -> pd.DataFrame:
    """Every user with their numbers and status; `rank` > 0 for the targeted ones.

    `outside`: per user, why the uplift model cannot speak for them ("" = fine), e.g. an activity bucket the
    past campaign never reached; such users are not targeted rather than targeted on an extrapolation."""
    spec.validate()
    out = features.copy()
    ref = out["ref_price"].to_numpy(dtype=float)
    face = np.array([spec.coupon.face_value(p) for p in ref])
    out["user_id"] = np.asarray(user_keys).astype(str)
    # Text columns hold Messages (object dtype), so the page can show them translated; CSV/DB see plain text.
    out["coupon"] = pd.Series([spec.coupon.label()] * len(out), index=out.index, dtype=object)
    out["target"] = pd.Series(target_label(out, titles, spec), index=out.index, dtype=object)
    out["propensity"] = scores.propensity
    out["liability"] = face
    why = eligibility(out, profile, user_keys, spec)
    if outside is not None:
        outside = np.asarray(outside, dtype=object)
        why = np.where((why == "") & (outside != ""), outside, why)
    if scores.causal:
        out["p0"], out["p1"] = scores.p0, scores.p1
        out["uplift"] = scores.p1 - scores.p0
        out["incr_revenue"] = scores.incr_revenue
        out["expected_cost"] = scores.p1 * face
        out["expected_profit"] = out["incr_revenue"] * spec.margin - out["expected_cost"]
        priority = out["expected_profit"].to_numpy()
        candidate = (why == "") & (priority > 0)
    else:
        out["p0"] = out["p1"] = out["uplift"] = out["incr_revenue"] = out["expected_profit"] = np.nan
        out["expected_cost"] = scores.propensity * face
        priority = scores.propensity
        candidate = why == ""
    out["rank"] = select_under_budget(priority, face, candidate, spec)
    status = _objects([Message("targeted") if r > 0 else Message("over budget") for r in out["rank"]])
    if scores.causal:
        status[(why == "") & ~(priority > 0)] = Message("expected profit not positive")
    blocked = np.flatnonzero(why != "")
    status[blocked] = _objects([Message("ineligible: {why}", why=w) for w in why[blocked]])
    out["status"] = pd.Series(status, index=out.index, dtype=object)
    out["reason"] = pd.Series([_reason(r, scores.causal, t) for (_, r), t in zip(out.iterrows(), out["target"])],
                              index=out.index, dtype=object)
    return out


def campaign_totals(scored: pd.DataFrame, spec: CampaignSpec, causal: bool) -> dict:
    """Expected conversions, cost and incremental revenue of the targeted users, and the budget used."""
    t = scored[scored["rank"] > 0]
    used = float(len(t)) if spec.budget.kind == "count" else float(t["liability"].sum())
    totals = {
        "n_users": int(len(scored)),
        "n_eligible": int((~scored["status"].str.startswith("ineligible")).sum()),
        "n_targeted": int(len(t)),
        "causal": causal,
        "expected_conversions": float(t["p1"].sum() if causal else t["propensity"].sum()),
        "incremental_conversions": float(t["uplift"].sum()) if causal else None,
        "expected_cost": float(t["expected_cost"].sum()),
        "max_cost": float(t["liability"].sum()),
        "incremental_revenue": float(t["incr_revenue"].sum()) if causal else None,
        "expected_incremental_profit": float(t["expected_profit"].sum()) if causal else None,
        "budget_kind": spec.budget.kind,
        "budget_amount": float(spec.budget.amount),
        "budget_used": used,
    }
    return totals


TARGET_COLUMNS = ["rank", "user_id", "coupon", "target", "propensity", "p0", "p1", "uplift", "incr_revenue",
                  "expected_cost", "expected_profit", "reason"]


def targeted(scored: pd.DataFrame) -> pd.DataFrame:
    """The targeted list in rank order, the columns a marketer exports."""
    t = scored[scored["rank"] > 0].sort_values("rank")
    return t[TARGET_COLUMNS + ["user_store_id"]].reset_index(drop=True) if "user_store_id" in t else t[TARGET_COLUMNS].reset_index(drop=True)
