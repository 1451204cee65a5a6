"""The A/B page's live-tests tab (AppTest): start an experiment, read its analysis, stop it with a winner."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import app_test

pytestmark = pytest.mark.slow


def _live_frame(at, column: str):
    """A table of the "Live tests (API)" tab (the first tab shows the demo's stored test)."""
    return next(d.value for d in at.tabs[1].dataframe if column in d.value.columns)


def test_start_watch_and_stop_a_live_experiment(demo_store: str):
    from sqlalchemy import select

    from core.serving.feedback import take_feedback
    from core.serving.live import ExperimentPlan
    from db.engine import session_scope
    from db.live_experiments import add_exposures, list_live_experiments
    from db.registry import active_model, list_models
    from db.tables import User, utcnow

    with session_scope(demo_store) as session:
        active_id = active_model(session).id
        other_id = next(m.id for m in list_models(session) if m.id != active_id)
        users = list(session.scalars(select(User.external_id).order_by(User.id).limit(400)))

    at = app_test("experiments")
    at.run()
    assert not at.exception
    at.selectbox(key="live_model_0").select_index(
        next(i for i, o in enumerate(at.selectbox(key="live_model_0").options) if f"(id {active_id})" in o))
    at.selectbox(key="live_model_1").select_index(
        next(i for i, o in enumerate(at.selectbox(key="live_model_1").options) if f"(id {other_id})" in o))
    at.button(key="live_start").click()
    at.run()
    assert not at.exception and not at.error
    with session_scope(demo_store) as session:
        exp = list_live_experiments(session)[0]
        assert exp.status == "running" and exp.started_by == "local"
        assert [(a["name"], a["model_id"], a["share"]) for a in exp.arms] == [
            ("control", active_id, 0.5), ("challenger", other_id, 0.5)]
        plan = ExperimentPlan.from_row(exp)
    # Traffic as the API would record it: one served list per user, then purchases reported as feedback.
    start = utcnow()
    arms = {u: plan.assign(u) for u in users}
    with session_scope(demo_store) as session:
        add_exposures(session, [{"experiment_id": plan.id, "user_key": u, "arm": a.name, "model_id": a.model_id,
                                 "n_items": 10, "served_at": start} for u, a in arms.items()])
        buyers = [u for n, u in enumerate(users) if n % (3 if arms[u].name == "challenger" else 5) == 0]
        take_feedback(session, [{"event_id": f"p-{u}", "user_id": u, "item_id": "P10001", "action": "purchase",
                                 "timestamp": (start + timedelta(minutes=5)).isoformat(), "price": 10}
                                for u in buyers])
    at.run()
    assert not at.exception
    arms_table = _live_frame(at, "conversion rate").set_index("arm")
    for name in ("control", "challenger"):
        members = [u for u in users if arms[u].name == name]
        assert arms_table.loc[name, "users"] == len(members)
        assert arms_table.loc[name, "conversions"] == len([u for u in buyers if arms[u].name == name])
    assert any("challenger" in m.value for m in at.tabs[1].markdown if "Leading" in m.value)
    assert _live_frame(at, "sequential p-value").shape[0] == 1
    at.selectbox(key="live_winner").select("challenger")
    at.button(key="live_stop").click()
    at.run()
    assert not at.exception
    with session_scope(demo_store) as session:
        exp = list_live_experiments(session)[0]
        assert exp.status == "stopped" and exp.winner == "challenger"
        assert active_model(session).id == other_id
