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


def _plant_campaign(session, seed: int = 0) -> tuple[int, set[str]]:
    """A past randomised coupon test stored like an uploaded one, whose coupon lifts conversion by 45 points for
    women and by nothing for everyone else (base rate 15 %). Returns its id and every woman's user id."""
    from core.interactions import from_store
    from db.experiments import save_experiment

    data = from_store(session)
    rng = np.random.default_rng(seed)
    users = data.users.assign(key=data.user_keys)
    buyers = np.array([len(q) > 0 for q in data.sequences])
    users = users[buyers].reset_index(drop=True)
    responsive = (users["gender"] == "F").to_numpy()
    t = rng.integers(0, 2, len(users))
    converted = (rng.random(len(users)) < 0.15 + 0.45 * responsive * t).astype(int)
    last = max(int(ts.max()) for ts in data.times if len(ts))
    exposures = pd.DataFrame({
        "user_id": users["key"], "variant": np.where(t == 1, "coupon", "control"), "converted": converted,
        "revenue": converted * 80.0, "timestamp": pd.to_datetime(last - 20 * 86400, unit="s"),
    })
    exp = save_experiment(session, "planted coupon test", exposures, source="upload", control="control")
    return exp.id, set(data.user_keys[(data.users["gender"] == "F").to_numpy()])


def test_causal_plan_finds_the_planted_responders_within_budget_and_eligibility(demo_store):
    spec = _spec(eligibility=Eligibility(activity=["1-2", "3-5", "6-20"], max_days_since_purchase=300))
    with session_scope(demo_store) as s:
        exp_id, responders = _plant_campaign(s)
        a = plan_campaign(s, spec, experiment_id=exp_id)
        b = plan_campaign(s, spec, experiment_id=exp_id)
    assert a.causal and a.evaluation is not None and a.experiment_id == exp_id
    assert len(a.targets) > 0
    # The coupon goes to the people it changes: almost only the planted responders.
    assert a.targets["user_id"].isin(responders).mean() > 0.9
    eligible = a.scored[~a.scored["status"].str.startswith("ineligible")]
    assert eligible["user_id"].isin(responders).mean() < 0.75
    cal = a.calibration["converted"]
    assert cal["slope"] > 2 * cal["slope_se"]  # the heterogeneity is detected as real
    best = max(le.qini for le in a.evaluation.learners)
    assert best > a.evaluation.random_qini + 3 * a.evaluation.random_qini_std
    assert a.targets["expected_profit"].gt(0).all()
    assert a.totals["max_cost"] <= 1500.0 + 1e-9
    sel = a.scored[a.scored["rank"] > 0]
    assert sel["activity"].isin(["1-2", "3-5", "6-20"]).all() and (sel["days_since_last"] <= 300).all()
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


def test_plan_on_the_demo_campaign_runs_and_is_honest_about_its_evidence(demo_store):
    """The demo's past campaign is small (~600 customers): its learners' held-out Qini intervals straddle random
    targeting, so the plan must not claim causal targeting; it ranks by propensity and says why."""
    with session_scope(demo_store) as s:
        p = plan_campaign(s, _spec(budget=Budget("count", 60)))
    assert p.experiment_id is not None and p.evaluation is not None
    chosen = next(le for le in p.evaluation.learners if le.name == p.spec.learner)
    beats = chosen.qini_ci[0] > p.evaluation.random_qini
    assert p.causal == beats and p.mode == ("uplift" if beats else "propensity")
    assert f"#{p.experiment_id}" in p.decision.reason and f"{chosen.qini:+.4f}" in p.decision.reason
    if not beats:
        assert "Not targeting by uplift" in p.decision.reason and p.totals["incremental_revenue"] is None
        assert len(p.targets) == 60 and np.all(np.diff(p.targets["propensity"].to_numpy()) <= 0)
        assert not p.calibration  # nothing causal was fitted to the shop's customers
    else:
        assert (p.targets["expected_profit"] > 0).all()
    for le in p.evaluation.learners:  # seeded bootstrap intervals around each held-out figure
        assert le.qini_ci[0] <= le.qini <= le.qini_ci[1] and le.qini_ci[0] < le.qini_ci[1]
        assert le.uplift_at_k != le.uplift_at_k or le.uplift_at_k_ci[0] <= le.uplift_at_k <= le.uplift_at_k_ci[1]
        assert le.calibration["n"] == p.evaluation.n_test  # calibration fitted and judged on different halves


def test_without_a_past_campaign_ranking_is_propensity_and_not_causal(demo_store):
    spec = _spec(budget=Budget("count", 50), scope="top_item")
    with session_scope(demo_store) as s:
        p = plan_campaign(s, spec, use_uplift=False)
    assert not p.causal and p.evaluation is None and p.mode == "propensity"
    assert "not causal" in p.decision.reason and p.to_dict()["targeting"]["mode"] == "propensity"
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
    assert payload["targeting"]["mode"] in ("uplift", "propensity") and payload["targeting"]["reason"]
    assert payload["causal"] is (payload["targeting"]["mode"] == "uplift")
    assert len(payload["targets"]) == payload["totals"]["n_targeted"] <= 30
    assert payload["saved_campaign_id"] is not None
    for le in payload["evaluation"]["learners"].values():
        assert le["qini_ci"][0] <= le["qini"] <= le["qini_ci"][1] and "heldout_slope" in le["calibration"]
    assert len(pd.read_csv(out_csv, encoding="utf-8-sig")) == payload["totals"]["n_targeted"]
    # Re-run the stored campaign by name: same list.
    assert main(["coupons", "--campaign", "cli", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [t["user_id"] for t in again["targets"]] == [t["user_id"] for t in payload["targets"]]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "scope": "category", "category": "No Such Category"}))
    assert main(["coupons", "--campaign", str(bad)]) == 2
    assert "No Such Category" in capsys.readouterr().err
