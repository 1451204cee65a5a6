"""Live A/B tests through the API: stable hash assignment close to the shares, exposures for every served list,
feedback purchases as outcomes, the existing analysis (SRM, CUPED, sequential p), stop and make the winner active."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.stats import chisquare

from core.serving.live import Arm, assign, validate_arms
from tests.serving_helpers import client, new_key, running_server, wait_for

ARMS = (Arm("control", 1, 0.5), Arm("challenger", 2, 0.3), Arm("holdout", None, 0.2))


def test_assignment_is_stable_and_close_to_the_shares():
    users = [f"user-{i}" for i in range(30_000)]
    first = [assign(7, u, ARMS).name for u in users]
    assert first == [assign(7, u, ARMS).name for u in users]  # same user, same arm, every time
    counts = [first.count(a.name) for a in ARMS]
    expected = [a.share * len(users) for a in ARMS]
    assert chisquare(counts, expected).pvalue > 0.001, counts
    other = [assign(8, u, ARMS).name for u in users]  # another experiment reshuffles independently
    same = np.mean([a == b for a, b in zip(first, other)])
    assert same == pytest.approx(sum(a.share ** 2 for a in ARMS), abs=0.02)


def test_arm_plans_that_cannot_run_are_refused():
    with pytest.raises(ValueError, match="at least two arms"):
        validate_arms([Arm("a", 1, 1.0)], "a")
    with pytest.raises(ValueError, match="share must be above 0"):
        validate_arms([Arm("a", 1, 1.0), Arm("b", 2, 0.0)], "a")
    with pytest.raises(ValueError, match="control arm 'c'"):
        validate_arms([Arm("a", 1, 1.0), Arm("b", 2, 1.0)], "c")


@pytest.mark.slow
def test_live_experiment_loop_over_http(demo_store: str):
    from sqlalchemy import select

    from core.interactions import from_store
    from core.models.popularity import Popularity
    from core.serving import live
    from db.audit import recent
    from db.engine import session_scope
    from db.registry import active_model, register_model
    from db.tables import Item, User

    with session_scope(demo_store) as session:
        control_id = active_model(session).id
        challenger_id = register_model(session, Popularity().fit(from_store(session)), name="popularity").id
        users = list(session.scalars(select(User.external_id).order_by(User.id).limit(300)))
        item = session.scalar(select(Item.external_id).limit(1))
    arms = [Arm("control", control_id, 0.4), Arm("challenger", challenger_id, 0.4), Arm("holdout", None, 0.2)]
    with running_server(demo_store, poll_seconds=0.3, exposure_flush_seconds=0.2) as base:
        api = client(base, new_key(demo_store))
        with session_scope(demo_store) as session:
            exp_id = live.start(session, "ease vs popularity", arms, "control", "conversion", actor="ana")
        with session_scope(demo_store) as session, pytest.raises(ValueError, match="still running"):
            live.start(session, "second", arms, "control")
        wait_for(lambda: api.get("/health").json()["live_experiment_id"] == exp_id)
        served = {}
        for u in users:
            body = api.get(f"/v1/recommend/{u}").json()
            served[u] = body
            assert body["experiment"] == {"id": exp_id, "arm": assign(exp_id, u, arms).name}
            model = {"control": control_id, "challenger": challenger_id, "holdout": None}[body["experiment"]["arm"]]
            assert body["model_id"] == model
            assert (len(body["items"]) == 0) == (model is None)
        for u in users[:40]:  # asking again: same arm
            assert api.get(f"/v1/recommend/{u}").json()["experiment"]["arm"] == served[u]["experiment"]["arm"]
        with session_scope(demo_store) as session:
            from db.live_experiments import exposure_counts

            total = wait_for(lambda: sum(exposure_counts(session, exp_id).values()) == 340 and 340)
        assert total == 340  # every served list is an exposure

        # Outcomes: every fourth user buys one item (the first shown one, or any item in the holdout), now.
        now = datetime.now(UTC) + timedelta(seconds=1)
        buyers = users[::4]
        events = [{"event_id": f"live-{u}", "user_id": u,
                   "item_id": served[u]["items"][0]["item_id"] if served[u]["items"] else item,
                   "action": "purchase", "timestamp": now.isoformat(), "price": 20.0} for u in buyers]
        # A purchase dated years ahead (a wrong shop clock) is not an outcome of this test.
        events.append({"event_id": "future", "user_id": users[1], "item_id": item, "action": "purchase",
                       "timestamp": "2099-01-01T00:00:00Z", "price": 20.0})
        assert api.post("/v1/feedback", json={"events": events}).json()["stored"] == len(buyers) + 1

        with session_scope(demo_store) as session:
            result = live.analyse_live(session, exp_id)
        a = result.analysis
        assert a is not None and a.control == "control"
        by_arm = {s.variant: s for s in a.arms}
        for name in ("control", "challenger", "holdout"):
            members = [u for u in users if served[u]["experiment"]["arm"] == name]
            assert by_arm[name].users == len(members)
            assert by_arm[name].conversions == len([u for u in buyers if u in members])
            assert by_arm[name].revenue == pytest.approx(20.0 * by_arm[name].conversions)
        assert set(a.srm.expected) == {"control", "challenger", "holdout"}
        assert a.srm.p_value > 0.001  # hash assignment matches the planned 40/40/20
        assert all(0.0 <= c.sequential_p <= 1.0 for c in a.comparisons)
        assert a.has_pre_metric  # demo users bought before the test: CUPED runs
        assert all(c.cuped is not None for c in a.comparisons)

        with session_scope(demo_store) as session:
            assert live.stop(session, exp_id, winner="challenger", actor="ana") == challenger_id
        after = wait_for(lambda: (b := api.get(f"/v1/recommend/{users[0]}").json())["experiment"] is None and b)
        assert after["model_id"] == challenger_id  # the winner is the active model now
    with session_scope(demo_store) as session:
        log = recent(session)
    mine = log[log["actor"] == "ana"]
    assert list(mine["action"])[:3] == ["activate_model", "stop_experiment", "start_experiment"]
