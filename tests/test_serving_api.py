"""The REST API over real HTTP: a real uvicorn on 127.0.0.1 serving the demo store."""

from __future__ import annotations

import argparse

import pytest

from tests.serving_helpers import client, new_key, running_server, wait_for

pytestmark = pytest.mark.slow


def _users(url: str) -> tuple[str, str]:
    """A customer with purchases and one with a profile but no purchases (from the store itself)."""
    from core.recommend.service import RecommendationService
    from db.engine import session_scope

    with session_scope(url) as session:
        frame = RecommendationService.from_store(session).users_frame
    warm = frame[frame["purchases"] >= 3]["user_id"].iloc[0]
    cold = frame[frame["purchases"] == 0]["user_id"].iloc[0]
    return str(warm), str(cold)


@pytest.fixture
def served(demo_store: str):
    with running_server(demo_store) as base:
        yield demo_store, base


def test_keys_gate_every_v1_call_and_revocation_takes_effect(served):
    url, base = served
    warm, _ = _users(url)
    anonymous = client(base, None)
    assert anonymous.get("/health").json()["ok"] is True  # health needs no key
    assert anonymous.get("/docs").status_code == 200
    paths = anonymous.get("/openapi.json").json()["paths"]
    assert {"/v1/recommend/{user_id}", "/v1/items/{item_id}/similar", "/v1/coupons/{user_id}", "/v1/feedback"} <= set(paths)
    r = anonymous.get(f"/v1/recommend/{warm}")
    assert r.status_code == 401 and "missing API key" in r.json()["error"]
    assert r.headers["www-authenticate"] == "Bearer"
    r = client(base, "rk_not-a-real-key").get(f"/v1/recommend/{warm}")
    assert r.status_code == 401 and r.json()["error"] == "unknown API key"

    from core.cli import apikey
    key = new_key(url, "shop")
    api = client(base, key)
    assert api.get(f"/v1/recommend/{warm}").status_code == 200
    from db.api_keys import list_keys
    from db.engine import session_scope

    with session_scope(url) as session:
        stored = [(k.id, k.key_hash, k.prefix) for k in list_keys(session)]
    assert all(key not in (h, p) for _, h, p in stored)  # only the hash (and a short prefix) is kept
    key_id = next(i for i, _, p in stored if key.startswith(p))
    assert apikey.main(argparse.Namespace(db=url, action="revoke", key=str(key_id), json=True)) == 0
    revoked = wait_for(lambda: (r := api.get(f"/v1/recommend/{warm}")).status_code == 401 and r, timeout=5)
    assert revoked.json()["error"] == "this API key was revoked"


def test_unknown_ids_and_bad_parameters_are_json_errors(served):
    url, base = served
    warm, _ = _users(url)
    api = client(base, new_key(url))
    r = api.get("/v1/recommend/nobody-like-this")
    assert r.status_code == 404
    assert r.json() == {"error": "no customer with id 'nobody-like-this' in the store", "user_id": "nobody-like-this"}
    r = api.get("/v1/items/NO-SUCH-ITEM/similar")
    assert r.status_code == 404 and "no item with id 'NO-SUCH-ITEM'" in r.json()["error"]
    r = api.get(f"/v1/recommend/{warm}", params={"k": 0})
    assert r.status_code == 422 and r.json()["problems"][0]["where"] == "query.k"
    r = api.get(f"/v1/recommend/{warm}", params={"diversity": "lots"})
    assert r.status_code == 422 and "query.diversity" in r.json()["error"]
    r = api.get(f"/v1/recommend/{warm}", params={"category": "Spaceships"})
    assert r.status_code == 422 and "unknown category 'Spaceships'" in r.json()["error"]
    r = api.post("/v1/feedback", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"].startswith("invalid request")


def test_api_list_equals_the_preview_list(served):
    from core.recommend import ItemFilter, PreviewOptions, RecommendationService
    from db.engine import session_scope

    url, base = served
    warm, cold = _users(url)
    api = client(base, new_key(url))
    with session_scope(url) as session:
        service = RecommendationService.from_store(session)
    category = next(c for c in service.categories if c)
    cases = [(warm, {}, PreviewOptions(k=10)), (cold, {}, PreviewOptions(k=10)),
             (warm, {"k": 5, "diversity": 0.5, "category": category},
              PreviewOptions(k=5, diversity=0.5, filter=ItemFilter(categories=(category,))))]
    for user, params, options in cases:
        body = api.get(f"/v1/recommend/{user}", params=params).json()
        preview = service.preview(service.find_user(user), options)
        assert body["model_id"] == service.model_id
        assert body["cold_start"] is preview.cold
        assert [i["item_id"] for i in body["items"]] == [r.item_id for r in preview.items]
        assert [i["reason"] for i in body["items"]] == [r.reason for r in preview.items]
        assert [i["score"] for i in body["items"]] == pytest.approx([r.score for r in preview.items], rel=1e-6)
        assert len(body["items"]) == options.k
    assert cold and api.get(f"/v1/recommend/{cold}").json()["based_on"].startswith("no purchases yet")


def test_similar_items_and_coupons(served):
    url, base = served
    warm, _ = _users(url)
    api = client(base, new_key(url))
    from db.engine import session_scope
    from db.tables import Item

    with session_scope(url) as session:
        item = session.query(Item.external_id).order_by(Item.id).first()[0]
    body = api.get(f"/v1/items/{item}/similar", params={"k": 7}).json()
    ids = [i["item_id"] for i in body["items"]]
    assert len(ids) == 7 and item not in ids and len(set(ids)) == 7
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    r = api.get(f"/v1/coupons/{warm}")
    assert r.status_code == 404 and "no coupon campaign yet" in r.json()["error"]
    assert api.get("/v1/coupons/nobody-like-this").status_code == 404

    import pandas as pd

    from db.campaigns import save_campaign
    from db.tables import User

    with session_scope(url) as session:
        store_id = session.query(User.id).filter(User.external_id == warm).scalar()
        other = session.query(User.external_id).filter(User.id != store_id).first()[0]
        save_campaign(session, "spring", {}, {}, pd.DataFrame({
            "user_store_id": [store_id], "rank": [1], "coupon": ["10% off"], "target": ["Coffee"],
            "expected_profit": [3.5], "reason": ["likely to buy coffee again"]}))
    body = api.get(f"/v1/coupons/{warm}").json()
    assert body["campaign"] == "spring" and body["coupon"]["coupon"] == "10% off"
    assert body["coupon"]["target"] == "Coffee" and body["coupon"]["expected_profit"] == 3.5
    assert api.get(f"/v1/coupons/{other}").json()["coupon"] is None  # in the store, not targeted


def test_rate_limit_per_key(served):
    url, base = served
    warm, _ = _users(url)
    limited = client(base, new_key(url, "tiny", rate_per_minute=3))
    codes = [limited.get(f"/v1/recommend/{warm}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = limited.get(f"/v1/recommend/{warm}")
    assert "rate limit of key 'tiny'" in r.json()["error"] and int(r.headers["retry-after"]) >= 1
    assert client(base, new_key(url, "other")).get(f"/v1/recommend/{warm}").status_code == 200  # per key


def test_active_model_swap_is_picked_up_without_restart(demo_store: str):
    from core.interactions import from_store
    from core.models.popularity import Popularity
    from db.engine import session_scope
    from db.registry import active_model, register_model, set_active

    warm, _ = _users(demo_store)
    with running_server(demo_store, poll_seconds=0.5) as base:
        api = client(base, new_key(demo_store))
        before = api.get(f"/v1/recommend/{warm}").json()
        with session_scope(demo_store) as session:
            assert active_model(session).id == before["model_id"]
            data = from_store(session)
            row = register_model(session, Popularity().fit(data), name="popularity-swap")
            new_id = row.id
        assert api.get(f"/v1/recommend/{warm}").json()["model_id"] == before["model_id"]  # not active yet
        with session_scope(demo_store) as session:
            set_active(session, new_id)
        after = wait_for(lambda: (b := api.get(f"/v1/recommend/{warm}").json())["model_id"] == new_id and b)
        assert after["model"] == "popularity-swap v1"
        assert [i["item_id"] for i in after["items"]] != [i["item_id"] for i in before["items"]]
        assert api.get("/health").json()["active_model_id"] == new_id
