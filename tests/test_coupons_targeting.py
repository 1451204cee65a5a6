"""Selection under a budget, eligibility and campaign validation, on hand-made users."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.coupons import Budget, CampaignError, CampaignSpec, Coupon, Eligibility
from core.coupons.targeting import Scores, campaign_totals, score_and_select
from core.schema import activity_bucket


def _users(n: int, seed: int):
    rng = np.random.default_rng(seed)
    n_p = rng.integers(0, 30, n)
    feats = pd.DataFrame({
        "user": np.arange(n),
        "n_purchases": n_p,
        "days_since_last": np.where(n_p > 0, rng.uniform(0, 300, n), 3650.0),
        "ref_price": rng.uniform(5, 400, n),
        "top_item": rng.integers(-1, 5, n),
    })
    feats["activity"] = [activity_bucket(int(k)) for k in n_p]
    profile = pd.DataFrame({
        "age_band": rng.choice(["18-24", "25-34", "35-44", None], n),
        "gender": rng.choice(["F", "M"], n),
        "region": rng.choice(["Shanghai", "Beijing", "Chengdu"], n),
    })
    p0 = rng.uniform(0, 0.5, n)
    p1 = np.clip(p0 + rng.normal(0.05, 0.1, n), 0, 1)
    scores = Scores(propensity=rng.uniform(0, 1, n), p0=p0, p1=p1, incr_revenue=(p1 - p0) * feats["ref_price"])
    keys = np.array([f"U{i}" for i in range(n)])
    titles = np.array([f"item {i}" for i in range(5)])
    return feats, profile, keys, titles, scores


def _spec(**kw) -> CampaignSpec:
    return CampaignSpec(**kw).validate()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("coupon", [Coupon("fixed", 25.0), Coupon("percent", 20.0, cap=30.0), Coupon("free_shipping", 9.0)])
def test_money_budget_is_never_exceeded(seed, coupon):
    feats, profile, keys, titles, scores = _users(500, seed)
    amount = float(np.random.default_rng(seed).uniform(50, 3000))
    spec = _spec(coupon=coupon, budget=Budget("money", amount), margin=0.6)
    out = score_and_select(feats, profile, keys, titles, scores, spec)
    picked = out[out["rank"] > 0]
    assert len(picked) > 0
    assert picked["liability"].sum() <= amount + 1e-9
    totals = campaign_totals(out, spec, causal=True)
    assert totals["budget_used"] <= amount + 1e-9 and totals["max_cost"] == pytest.approx(picked["liability"].sum())
    # Greedy fill: nobody left out (eligible, profitable) would still have fitted in the remaining money.
    left = out[(out["status"] == "over budget")]
    assert (left["liability"] > amount - picked["liability"].sum() + 1e-9).all()


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("amount", [0, 1, 37, 10_000])
def test_count_budget_is_never_exceeded(causal, amount):
    feats, profile, keys, titles, scores = _users(300, 11)
    if not causal:
        scores = Scores(propensity=scores.propensity)
    spec = _spec(budget=Budget("count", amount))
    out = score_and_select(feats, profile, keys, titles, scores, spec)
    n = int((out["rank"] > 0).sum())
    assert n <= amount
    assert sorted(out.loc[out["rank"] > 0, "rank"]) == list(range(1, n + 1))
    if causal:  # never a coupon that is expected to lose money
        assert (out.loc[out["rank"] > 0, "expected_profit"] > 0).all()
    else:
        assert n == min(amount, 300)
        # propensity order
        top = out[out["rank"] > 0].sort_values("rank")["propensity"].to_numpy()
        assert np.all(np.diff(top) <= 0)


def test_ineligible_users_are_never_targeted():
    feats, profile, keys, titles, scores = _users(600, 3)
    elig = Eligibility(age_bands=["25-34"], genders=["F"], regions=["Shanghai", "Beijing"], activity=["3-5", "6-20"],
                       min_days_since_purchase=10, max_days_since_purchase=200, exclude_users=["U1", "U2", "U3"])
    spec = _spec(budget=Budget("count", 10_000), eligibility=elig, margin=1.0)
    out = score_and_select(feats, profile, keys, titles, scores, spec)
    t = out[out["rank"] > 0]
    assert len(t) > 0
    prof = profile.loc[t.index]
    assert (prof["age_band"] == "25-34").all() and (prof["gender"] == "F").all()
    assert prof["region"].isin(["Shanghai", "Beijing"]).all()
    assert t["activity"].isin(["3-5", "6-20"]).all()
    assert t["days_since_last"].between(10, 200).all()
    assert not t["user_id"].isin(["U1", "U2", "U3"]).any()
    inel = out["status"].str.startswith("ineligible")
    assert (out.loc[inel, "rank"] == 0).all() and inel.sum() > 400
    # Users outside the uplift model's reach are not targeted either.
    outside = np.where(np.arange(600) % 2 == 0, "outside the past campaign's reach", "")
    out2 = score_and_select(feats, profile, keys, titles, scores, spec, outside=outside)
    assert (out2.loc[np.arange(600) % 2 == 0, "rank"] == 0).all()


def test_ranked_by_expected_incremental_profit_and_reasons_name_the_numbers():
    feats, profile, keys, titles, scores = _users(200, 4)
    spec = _spec(budget=Budget("count", 20), scope="top_item", coupon=Coupon("fixed", 5.0))
    out = score_and_select(feats, profile, keys, titles, scores, spec)
    t = out[out["rank"] > 0].sort_values("rank")
    assert np.all(np.diff(t["expected_profit"].to_numpy()) <= 0)
    expected = t["incr_revenue"] * 0.3 - t["p1"] * np.minimum(5.0, t["ref_price"])
    assert np.allclose(t["expected_profit"], expected)
    best_out = out[out["status"] == "over budget"]["expected_profit"].max()
    assert t["expected_profit"].min() >= best_out
    for _, r in t.iterrows():
        assert "coupon lifts P(buy)" in r["reason"] and r["target"] in r["reason"]
        assert r["target"] == (f"item {r['top_item']}" if r["top_item"] >= 0 else "whole shop (no recommendation)")


@pytest.mark.parametrize(
    "raw, match",
    [
        ({"goal": "profit"}, "goal must be one of"),
        ({"coupon": {"kind": "bogo"}}, "coupon.kind"),
        ({"coupon": {"kind": "percent", "value": 150}}, "<= 100"),
        ({"budget": {"kind": "count", "amount": -1}}, "budget.amount"),
        ({"scope": "category"}, "needs a category"),
        ({"eligibility": {"activity": ["lots"]}}, "eligibility.activity"),
        ({"eligibility": {"min_days_since_purchase": 50, "max_days_since_purchase": 10}}, "larger than"),
        ({"margin": 0}, "margin"),
        ({"colour": "red"}, "unknown campaign field"),
        ({"budget": {"kind": "count", "size": 3}}, "unexpected keyword"),
    ],
)
def test_bad_campaign_definitions_name_the_field(raw, match):
    with pytest.raises(CampaignError, match=match):
        CampaignSpec.from_dict(raw)


def test_campaign_round_trips_through_json():
    spec = _spec(name="x", coupon=Coupon("percent", 15, cap=20), scope="category", category="Beauty",
                 eligibility=Eligibility(activity=["1-2"]))
    assert CampaignSpec.from_json(spec.to_json()) == spec
