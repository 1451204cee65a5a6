"""POST /v1/feedback over real HTTP: upload rules, one transaction, idempotent on the client's event id."""

from __future__ import annotations

import pytest

from tests.serving_helpers import client, new_key, running_server

pytestmark = pytest.mark.slow


def _counts(url: str):
    from db.engine import session_scope
    from db.shop_read import store_counts

    with session_scope(url) as session:
        return store_counts(session)


def _catalogue(url: str) -> tuple[list[str], list[str]]:
    from sqlalchemy import select

    from db.engine import session_scope
    from db.tables import Item, User

    with session_scope(url) as session:
        users = list(session.scalars(select(User.external_id).order_by(User.id).limit(20)))
        items = list(session.scalars(select(Item.external_id).order_by(Item.id).limit(20)))
    return users, items


def _batch(users, items, n: int, prefix: str, hour: int = 10) -> list[dict]:
    return [{"event_id": f"{prefix}-{i}", "user_id": users[i % len(users)], "item_id": items[i % len(items)],
             "action": "purchase" if i % 3 == 0 else "view", "timestamp": f"2031-05-{1 + i % 28:02d}T{hour:02d}:{i % 60:02d}:00Z",
             "quantity": 1, "price": 9.5} for i in range(n)]


@pytest.fixture
def api(demo_store: str):
    with running_server(demo_store) as base:
        yield demo_store, client(base, new_key(demo_store))


def test_batch_with_one_bad_row_stores_nothing_and_names_the_row(api):
    url, http = api
    users, items = _catalogue(url)
    before = _counts(url)
    batch = _batch(users, items, 50, "bad")
    batch[17]["timestamp"] = "1850-01-01T00:00:00Z"  # the upload rule: a time outside 1990-2100 is not a time
    r = http.post("/v1/feedback", json={"events": batch})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["stored"] == 0 and body["rows_by_reason"] == {"bad_timestamp": 1}
    assert body["rows"] == [{"row": 17, "reason": "bad_timestamp", "message": body["rows"][0]["message"]}]
    assert "not a valid time" in body["rows"][0]["message"]
    after = _counts(url)
    assert (after.events, after.users, after.items) == (before.events, before.users, before.items)

    batch = _batch(users, items, 30, "nonfinite")
    batch[4]["price"] = "inf"  # not a finite number (upload rule)
    batch[9]["action"] = None
    body = http.post("/v1/feedback", json={"events": batch}).json()
    assert {(p["row"], p["reason"]) for p in body["rows"]} == {(4, "non_finite_price"), (9, "missing_action_type")}
    assert _counts(url).events == before.events
    r = http.post("/v1/feedback", json={"events": [{"user_id": users[0], "item_id": items[0],
                                                     "action": "purchase", "timestamp": "2031-01-01"}]})
    assert r.status_code == 422 and r.json()["rows"][0]["reason"] == "missing_event_id"
    r = http.post("/v1/feedback", json={"events": [{"event_id": "x"}] * 10_001})
    assert r.status_code == 422 and "at most 10,000" in r.json()["error"]


def test_retry_is_stored_once(api):
    url, http = api
    users, items = _catalogue(url)
    before = _counts(url).events
    batch = _batch(users, items, 200, "retry")
    first = http.post("/v1/feedback", json={"events": batch}).json()
    assert first["stored"] == 200 and first["duplicates"] == 0
    assert _counts(url).events == before + 200
    again = http.post("/v1/feedback", json={"events": batch}).json()
    assert again["stored"] == 0 and again["duplicates"] == 200
    mixed = batch[:50] + _batch(users, items, 10, "later", hour=11) + _batch(users, items, 10, "later", hour=11)[:3]
    third = http.post("/v1/feedback", json={"events": mixed}).json()
    assert third["stored"] == 10 and third["duplicates"] == 53
    assert _counts(url).events == before + 210
    # A new id for an event the store already holds (same user, item, action, time): the upload rule keeps it once.
    echo = [dict(batch[0], event_id="echo-0")]
    fourth = http.post("/v1/feedback", json={"events": echo}).json()
    assert fourth["stored"] == 0 and fourth["already_in_store"] == 1
    assert _counts(url).events == before + 210

    from sqlalchemy import func, select

    from db.engine import session_scope
    from db.tables import Event, FeedbackReceipt

    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(FeedbackReceipt)) == 211
        linked = session.execute(select(FeedbackReceipt.event_id, Event.action).join(
            Event, Event.id == FeedbackReceipt.event_id).where(FeedbackReceipt.client_event_id == "retry-3")).one()
        assert linked.action == "purchase"  # the receipt points at the event it stored


def test_feedback_creates_new_customers_who_then_get_the_cold_start_list(api):
    url, http = api
    _, items = _catalogue(url)
    r = http.post("/v1/feedback", json={"events": [
        {"event_id": "n1", "user_id": "brand-new-customer", "item_id": items[0], "action": "view",
         "timestamp": 1_900_000_000}]})
    assert r.status_code == 200 and r.json()["stored"] == 1
    body = http.get("/v1/recommend/brand-new-customer").json()
    assert body["cold_start"] is True and len(body["items"]) == 10
