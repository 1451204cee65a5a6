"""AppTest of the Coupons page on the demo shop: plan, see who and why, Qini, store, per-user view, not-causal mode."""

from __future__ import annotations

from db.engine import session_scope
from tests.conftest import app_test
from tests.test_coupons_plan import _plant_campaign


def _plan(at):
    next(b for b in at.button if b.label == "Plan campaign").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_marketer_plans_a_causal_campaign_under_budget(demo_store):
    with session_scope(demo_store) as s:
        _, responders = _plant_campaign(s)
    at = app_test("campaigns")
    at.run()
    assert not at.exception
    assert any("Plan campaign" in i.value for i in at.info)
    next(n for n in at.number_input if n.label == "Budget").set_value(40.0)
    _plan(at)
    assert any("Causal targeting" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert 0 < int(metrics["Targeted"]) <= 40
    assert metrics["Incremental revenue"] != "n/a"
    targets = at.dataframe[0].value
    assert 0 < len(targets) <= 40 and targets["reason"].str.len().gt(0).all()
    assert len(targets) == int(metrics["Targeted"]) and targets["user_id"].isin(responders).mean() > 0.9
    # the Qini curve, and the learners' Qini coefficients with their bootstrap intervals
    assert [c.key for c in at.get("plotly_chart")] == ["qini", "qini_intervals"]
    qini = at.dataframe[1].value
    assert set(qini["targeting"]) == {"random", "t_learner", "x_learner"}
    learners = qini[qini["targeting"] != "random"]
    assert (learners["Qini low"] <= learners["Qini coefficient"]).all()
    assert (learners["Qini coefficient"] <= learners["Qini high"]).all()
    assert learners["calibrated slope on other half"].notna().all()
    assert "propensity" not in targets  # one "chance to buy" per mode: P(buy) without/with the coupon here
    assert any("Targeting by uplift" in c.value and "clearly above random" in c.value for c in at.caption)
    # Per-user view starts with the best-ranked customer; its P(buy) is the one its reason quotes.
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Status"] == "targeted"
    assert "Propensity" not in metrics and metrics["P(buy) without → with coupon"] in targets["reason"].iloc[0]
    next(b for b in at.button if b.label == "Store campaign").click()
    at.run()
    assert any("Stored as campaign" in s.value for s in at.success)


def test_without_a_past_campaign_the_list_is_labelled_not_causal(demo_store):
    at = app_test("campaigns")
    at.run()
    sb = next(s for s in at.selectbox if s.label.startswith("Learn uplift"))
    sb.set_value(sb.options[-1])
    _plan(at)
    assert any("Propensity targeting (not causal)" in w.value and "No past campaign chosen" in w.value
               for w in at.warning)
    assert {m.label: m.value for m in at.metric}["Incremental revenue"] == "n/a"


def test_coupon_user_from_the_recommendation_page_is_preselected(demo_store):
    at = app_test("campaigns")
    at.run()
    _plan(at)
    pick = next(s for s in at.selectbox if s.label == "Customer").options[-1]
    at.session_state["coupon_user"] = pick
    at.run()
    customer = next(s for s in at.selectbox if s.label == "Customer")
    assert customer.value == pick


def test_user_query_param_opens_that_customer(demo_store):
    at = app_test("campaigns")
    at.run()
    _plan(at)
    pick = next(s for s in at.selectbox if s.label == "Customer").options[1]
    at.query_params["user"] = pick
    at.run()
    assert next(s for s in at.selectbox if s.label == "Customer").value == pick


def test_arriving_for_one_customer_plans_and_shows_their_coupon(demo_store):
    at = app_test("campaigns")
    at.query_params["user"] = "U100005"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert next(s for s in at.selectbox if s.label == "Customer").value == "U100005"
    assert "Status" in {m.label for m in at.metric}


def _plant_null_campaign(session, seed: int = 5) -> int:
    """A past randomised coupon test where the coupon lifts everyone's conversion alike (15 % -> 25 %): there is
    nobody to find, so no learner can beat random targeting."""
    import numpy as np
    import pandas as pd

    from core.interactions import from_store
    from db.experiments import save_experiment

    data = from_store(session)
    rng = np.random.default_rng(seed)
    keys = data.user_keys[np.array([len(q) > 0 for q in data.sequences])]
    t = rng.integers(0, 2, len(keys))
    converted = (rng.random(len(keys)) < 0.15 + 0.10 * t).astype(int)
    exposures = pd.DataFrame({
        "user_id": keys, "variant": np.where(t == 1, "coupon", "control"), "converted": converted,
        "revenue": converted * 80.0, "timestamp": pd.to_datetime(int(data.as_of()) - 20 * 86400, unit="s"),
    })
    return save_experiment(session, "flat coupon test", exposures, source="upload", control="control").id


def test_learners_that_do_not_beat_random_get_no_causal_banner(demo_store):
    with session_scope(demo_store) as s:
        _plant_null_campaign(s)
    at = app_test("campaigns")
    at.run()
    sb = next(s for s in at.selectbox if s.label.startswith("Learn uplift"))
    assert "flat coupon test" in sb.options[0]
    _plan(at)
    assert not any("Causal targeting" in s.value for s in at.success)
    warning = next(w.value for w in at.warning if "Propensity targeting (not causal)" in w.value)
    assert "Not targeting by uplift" in warning and "does not clear random targeting's" in warning
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incremental revenue"] == "n/a" and "P(buy) in the coupon window" in metrics
    targets = at.dataframe[0].value
    assert "propensity" in targets and not {"p0", "p1", "uplift", "expected_profit"} & set(targets)
    assert targets["propensity"].is_monotonic_decreasing and targets["reason"].str.contains("not causal").all()
    # The evidence stays on the page: the Qini curve and the intervals that fell short.
    assert [c.key for c in at.get("plotly_chart")] == ["qini", "qini_intervals"]
