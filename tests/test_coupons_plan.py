"""Coupon planning end to end on the demo shop: causal targeting from its past campaign, the not-causal fallback,
determinism, storage, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.coupons import Budget, CampaignSpec, Coupon, Eligibility
from core.coupons.plan import plan_campaign, save_plan
from db.campaigns import campaign_exposures, load_assignments, randomised_campaigns
from db.engine import session_scope


def _spec(**kw) -> CampaignSpec:
    base = dict(name="test", budget=Budget("money", 1500.0), coupon=Coupon("fixed", 15.0), seed=3)
    base.update(kw)
    return CampaignSpec(**base).validate()


def test_demo_campaign_is_found_with_both_arms(demo_store):
    with session_scope(demo_store) as s:
        exps = randomised_campaigns(s)
        assert exps and exps[0].source == "demo"
        ex = campaign_exposures(s, exps[0].id)
    assert set(ex["treated"]) == {0, 1} and len(ex) > 200
    assert ex["user_store_id"].notna().all() and ex["exposed_at"].notna().all()


def test_causal_plan_respects_budget_and_eligibility_and_is_deterministic(demo_store):
    spec = _spec(eligibility=Eligibility(activity=["3-5", "6-20", "20+"], max_days_since_purchase=180))
    with session_scope(demo_store) as s:
        a = plan_campaign(s, spec)
        b = plan_campaign(s, spec)
    assert a.causal and a.evaluation is not None and a.experiment_id is not None
    assert len(a.targets) > 0
    assert a.targets["expected_profit"].gt(0).all()
    assert a.totals["max_cost"] <= 1500.0 + 1e-9
    sel = a.scored[a.scored["rank"] > 0]
    assert sel["activity"].isin(["3-5", "6-20", "20+"]).all() and (sel["days_since_last"] <= 180).all()
    pd.testing.assert_frame_equal(a.targets, b.targets)
    assert a.totals == b.totals
    assert a.evaluation.summary() == b.evaluation.summary()
    # Totals add up from the list.
    assert a.totals["expected_cost"] == pytest.approx(a.targets["expected_cost"].sum())
    assert a.totals["incremental_revenue"] == pytest.approx(a.targets["incr_revenue"].sum())
    # The held-out Qini curve starts at the origin and covers everyone.
    for le in a.evaluation.learners:
        assert le.curve_fraction[0] == 0.0 and le.curve_fraction[-1] == pytest.approx(1.0)
    view = a.user_view(a.targets["user_id"].iloc[0])
    assert view["status"] == "targeted" and view["rank"] == 1 and "expected profit" in view["reason"]


def test_without_a_past_campaign_ranking_is_propensity_and_not_causal(demo_store):
    spec = _spec(budget=Budget("count", 50), scope="top_item")
    with session_scope(demo_store) as s:
        p = plan_campaign(s, spec, use_uplift=False)
    assert not p.causal and p.evaluation is None and any("NOT causal" in n for n in p.notes)
    assert len(p.targets) == 50 and p.totals["incremental_revenue"] is None
    assert np.all(np.diff(p.targets["propensity"].to_numpy()) <= 0)
    assert p.targets["reason"].str.contains("not causal").all()
    assert (p.targets["target"] != "").all()
    assert 0.0 <= p.propensity["base_rate"] <= 1.0 and p.propensity["calibrated"]


def test_plan_is_stored_with_its_assignments(demo_store):
    from db.campaigns import campaign_options

    with session_scope(demo_store) as s:
        category = campaign_options(s)["categories"][0]
        spec = _spec(budget=Budget("count", 25), scope="category", category=category, goal="revenue")
        plan = plan_campaign(s, spec)
        row = save_plan(s, plan)
        cid = row.id
    with session_scope(demo_store) as s:
        stored = load_assignments(s, cid)
    assert len(stored) == len(plan.targets) <= 25
    assert stored["user_id"].tolist() == plan.targets["user_id"].tolist()
    assert stored["reason"].tolist() == plan.targets["reason"].tolist()
    assert (stored["target"] == f"category {category}").all()


def test_cli_prints_json_and_rejects_a_bad_file(demo_store, tmp_path, capsys):
    from core.__main__ import main

    path = tmp_path / "c.json"
    path.write_text(json.dumps({"name": "cli", "budget": {"kind": "count", "amount": 30}, "seed": 1}))
    out_csv = tmp_path / "list.csv"
    assert main(["coupons", "--campaign", str(path), "--json", "--save", "--out", str(out_csv)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["causal"] is True and len(payload["targets"]) == payload["totals"]["n_targeted"] <= 30
    assert payload["saved_campaign_id"] is not None
    assert len(pd.read_csv(out_csv, encoding="utf-8-sig")) == payload["totals"]["n_targeted"]
    # Re-run the stored campaign by name: same list.
    assert main(["coupons", "--campaign", "cli", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [t["user_id"] for t in again["targets"]] == [t["user_id"] for t in payload["targets"]]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "scope": "category", "category": "No Such Category"}))
    assert main(["coupons", "--campaign", str(bad)]) == 2
    assert "No Such Category" in capsys.readouterr().err
