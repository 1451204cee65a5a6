"""AppTest of the Recommendations page on the demo shop: a known customer, a customer without purchases, a search,
the diversity slider changing the list, and a batch download."""

from __future__ import annotations

import pytest

from tests.conftest import app_test


@pytest.fixture(scope="module")
def _encoder_cache(tmp_path_factory) -> str:
    """One disk cache of item text vectors for the module (RECOLM_HOME only holds caches when the URL is explicit)."""
    return str(tmp_path_factory.mktemp("recolm_home"))


@pytest.fixture
def page(demo_store, _encoder_cache, monkeypatch):
    monkeypatch.setenv("RECOLM_HOME", _encoder_cache)
    at = app_test("recommendations", timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _lists(at, column: str = "explore"):
    return [d.value for d in at.dataframe if column in d.value.columns]


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.slow
def test_known_customer_history_reasons_and_diversity(page, demo_store):
    from core.recommend import RecommendationService
    from db.engine import session_scope

    at = page
    with session_scope(demo_store) as session:
        service = RecommendationService.from_store(session)
    users = service.users_frame
    customer = users[users["purchases"] >= 6].iloc[0]
    at.text_input(key="rec_user_query").set_value(customer["user_id"]).run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    at.selectbox(key="rec_user").set_value(customer["user_id"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _metrics(at)["Customer"] == customer["user_id"]
    assert any("History:" in e.label for e in at.expander)
    top = _lists(at)[0]
    assert len(top) == 10 and top["reason"].str.len().gt(0).all()
    bought = {service.reasons.titles[i] for i in service.history(int(customer["user_index"]))}
    # Reasons that cite purchases cite this customer's own purchases.
    cited = top["reason"][top["reason"].str.startswith("you bought")]
    assert len(cited) and all(any(t in r for t in bought) for r in cited)
    bought_ids = {service.data.item_keys[i] for i in service.history(int(customer["user_index"]))}
    assert not set(top["item_id"]) & bought_ids  # exclude already bought is on by default
    assert any(f"campaigns?user={customer['user_id']}" in m.value for m in at.markdown)  # the coupon view link

    before = _metrics(at)["Diversity after"]
    at.slider(key="rec_diversity").set_value(0.8).run()
    diverse = _lists(at)[0]
    assert diverse["item_id"].tolist() != top["item_id"].tolist()
    assert float(_metrics(at)["Diversity after"]) > float(before)
    assert _metrics(at)["Diversity before"] == before  # the plain list did not move

    at.button(key="rec_batch_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success and "Batch" in at.success[0].value
    assert at.get("download_button")


@pytest.mark.slow
def test_cold_customer_with_typed_interests(page):
    at = page
    at.radio(key="rec_find").set_value("Segment / activity").run()
    at.selectbox(key="rec_activity").set_value("0").run()
    cold_user = at.selectbox(key="rec_user").value
    assert not at.exception, [e.value for e in at.exception]
    assert any("No behaviour recorded" in i.value or "no purchases" in i.value.lower() for i in at.info) or \
        _metrics(at)["Purchases"] == "0"
    main_list = _lists(at)[0]
    assert len(main_list) == 10
    assert any("no purchases yet" in m.value for m in at.markdown)
    at.selectbox(key="rec_cold_user").set_value(cold_user).run()
    at.text_input(key="rec_interests").set_value("running shoes for trail races").run()
    assert not at.exception, [e.value for e in at.exception]
    cold = _lists(at)[1]
    assert len(cold) == 10
    assert cold["reason"].str.contains("running shoes for trail races").any()
    assert cold["title"].str.contains("Running|Racing|Trail", case=False).sum() >= 5


@pytest.mark.slow
def test_semantic_search_with_price_limit_and_notes(page):
    at = page
    at.text_input(key="rec_search").set_value("a gift for a runner under 50, not Nike").run()
    assert not at.exception, [e.value for e in at.exception]
    found = _lists(at, "similarity")[0]
    assert len(found) > 0 and (found["price"] <= 50).all()
    assert any("price ≤ 50" in i.value for i in at.info)
    notes = " ".join(w.value for w in at.warning)
    assert "negation" in notes and "'Nike'" in notes


def test_empty_store_points_to_training(store_url):
    at = app_test("recommendations", timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No trained model yet" in i.value for i in at.info)
    assert any("training" in m.value for m in at.markdown)
