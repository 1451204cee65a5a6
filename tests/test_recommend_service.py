"""The preview engine on a small planted shop: grounded reasons, cold start, filters, search, freshness."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

END = datetime(2026, 6, 1)
CATEGORIES = {
    "Running": ["Trail running shoes", "Running socks", "Running water bottle", "Running cap", "Running shorts"],
    "Coffee": ["Espresso beans", "Coffee grinder", "Pour-over kettle", "Milk frother", "Coffee mug"],
    "Tea": ["Green tea leaves", "Oolong tea", "Tea pot", "Jasmine tea", "Tea cups"],
    "Pets": ["Dog leash", "Cat food", "Dog bed", "Cat toy mouse", "Pet shampoo"],
}


def build_planted_shop(session, n_users: int = 120, seed: int = 3) -> dict:
    """A shop where the planted facts are known: who bought what together, a segment's favourites, new arrivals."""
    from core.interactions import from_store
    from core.models.popularity import Popularity
    from db.registry import register_model
    from db.shop_write import ShopWriter, new_dataset

    rng = np.random.default_rng(seed)
    items = []
    for cat, titles in CATEGORIES.items():
        for n, title in enumerate(titles):
            items.append({"item_id": f"{cat[:3].lower()}{n}", "title": title, "description": f"{title} for {cat.lower()} fans",
                          "category": cat, "price": 10.0 + 10 * n, "listed_at": END - timedelta(days=200)})
    # New arrivals: text only, never bought.
    items.append({"item_id": "new-trail", "title": "Carbon trail running shoes 2026", "description": "Lightweight shoes for trail running",
                  "category": "Running", "price": 45.0, "listed_at": END - timedelta(days=2)})
    items.append({"item_id": "new-bowl", "title": "Ceramic dog water bowl", "description": "Water bowl for dogs",
                  "category": "Pets", "price": 12.0, "listed_at": END - timedelta(days=3)})
    items.append({"item_id": "=danger", "title": "=HYPERLINK(\"http://x\")", "description": "formula title",
                  "category": "Pets", "price": 5.0, "listed_at": END - timedelta(days=100)})
    users = [{"user_id": "planted", "age": 40, "gender": "f", "region": "Beijing"},
             {"user_id": "newbie", "age": 29, "gender": "m", "region": "Shanghai"}]
    events = []

    def buy(user, item, day):
        events.append({"user_id": user, "item_id": item, "action": "purchase", "ts": END - timedelta(days=day)})

    buy("planted", "run0", 50)  # Trail running shoes
    buy("planted", "run1", 40)  # Running socks
    buy("planted", "cof4", 30)  # Coffee mug
    regions = ["Beijing", "Shanghai", "Shenzhen"]
    for u in range(n_users):
        uid = f"u{u:03d}"
        region = regions[u % 3]
        age = 25 + (u % 10) if region == "Shanghai" else 45 + (u % 10)
        users.append({"user_id": uid, "age": age, "gender": "f", "region": region})
        if u < 30:  # the planted co-purchase: run0 + run1 + run2
            for k, item in enumerate(("run0", "run1", "run2")):
                buy(uid, item, 100 - k)
        if region == "Shanghai":  # the 25-34 Shanghai segment loves tea
            for item in rng.choice([f"tea{i}" for i in range(5)], size=3, replace=False):
                buy(uid, item, int(rng.integers(5, 150)))
        else:
            for item in rng.choice([f"cof{i}" for i in range(5)] + [f"pet{i}" for i in range(5)], size=3, replace=False):
                buy(uid, item, int(rng.integers(5, 150)))
    users.append({"user_id": "ghost", "age": None, "gender": None, "region": None})  # no profile, no history

    ds = new_dataset(session, "demo", "planted shop")
    writer = ShopWriter(session, ds)
    writer.upsert_items(pd.DataFrame(items))
    writer.upsert_users(pd.DataFrame(users))
    writer.add_events(pd.DataFrame(events))
    session.flush()
    data = from_store(session)
    row = register_model(session, Popularity().fit(data), name="popularity", dataset_id=ds.id, activate=True)
    return {"model_id": row.id}


@pytest.fixture(scope="module")
def encoder_cache(tmp_path_factory) -> str:
    """One disk cache of item text vectors for the module (RECOLM_HOME only holds caches: the store URL is explicit)."""
    return str(tmp_path_factory.mktemp("recolm_home"))


@pytest.fixture
def planted(store_url, encoder_cache, monkeypatch):
    from core.recommend import RecommendationService

    monkeypatch.setenv("RECOLM_HOME", encoder_cache)
    from db.engine import session_scope

    with session_scope(store_url) as session:
        build_planted_shop(session)
    with session_scope(store_url) as session:
        service = RecommendationService.from_store(session)
    return service


def _idx(service, key):
    return int(service.item_index[key])


def test_reasons_cite_only_this_users_history(planted):
    from core.recommend import PreviewOptions

    u = planted.find_user("planted")
    history = set(planted.history(u).tolist())
    preview = planted.preview(u, PreviewOptions(k=8))
    assert len(preview.items) == 8 and not preview.cold
    by_id = {r.item_id: r for r in preview.items}
    # The planted co-purchase: 30 customers bought shoes + socks + bottle; this user has shoes + socks.
    bottle = by_id["run2"]
    assert bottle.reason_kind == "copurchase"
    assert "Trail running shoes" in bottle.reason and "Running socks" in bottle.reason and "30 customers" in bottle.reason
    assert set(bottle.evidence) == {_idx(planted, "run0"), _idx(planted, "run1")}
    for rec in preview.items:
        assert rec.item_index not in history  # exclude already bought
        assert set(rec.evidence) <= history  # a reason never cites something this user did not buy
        for title in planted.reasons.titles:
            if title in rec.reason and rec.reason_kind in ("copurchase", "similar", "new"):
                assert any(planted.reasons.titles[h] == title for h in history) or title == rec.title


def test_other_user_gets_other_reasons(planted):
    u = planted.find_user("u050")  # bought no running gear
    preview = planted.preview(u)
    assert all("Trail running shoes" not in r.reason for r in preview.items)


def test_cold_user_served_from_segment_and_interests(planted):
    from core.recommend import PreviewOptions

    u = planted.find_user("newbie")
    preview = planted.preview(u, PreviewOptions(k=5))
    assert preview.cold and "25–34 in Shanghai" in preview.based_on
    assert [r.category for r in preview.items[:3]] == ["Tea"] * 3
    assert any(r.reason_kind == "segment" and "25–34 in Shanghai" in r.reason for r in preview.items)

    typed = planted.preview(u, PreviewOptions(k=5), interests="shoes for trail running")
    ids = [r.item_id for r in typed.items]
    assert "new-trail" in ids[:2]  # a never-bought new arrival with text only is recommended
    new = typed.items[ids.index("new-trail")]
    assert new.is_new and new.reason_kind == "interest" and "new arrival" in new.reason


def test_user_without_profile_gets_global_popularity(planted):
    preview = planted.preview(planted.find_user("ghost"))
    assert preview.cold and "whole shop" in preview.based_on
    assert len(preview.items) == 10


def test_freshness_brings_new_arrivals(planted):
    from core.recommend import PreviewOptions

    u = planted.find_user("planted")
    plain = planted.preview(u, PreviewOptions(k=5))
    fresh = planted.preview(u, PreviewOptions(k=5, freshness=2.0))
    assert not any(r.is_new for r in plain.items)
    new = [r for r in fresh.items if r.is_new]
    assert {r.item_id for r in new} == {"new-trail", "new-bowl"}
    trail = next(r for r in new if r.item_id == "new-trail")
    assert trail.reason.startswith("new arrival like") and "running shoes" in trail.reason.lower()


def test_exploration_reserves_slots_outside_usual_categories(planted):
    from core.recommend import PreviewOptions

    u = planted.find_user("planted")
    usual = planted.user_categories(planted.history(u))
    assert usual == {"Running", "Coffee"}
    preview = planted.preview(u, PreviewOptions(k=10, exploration=0.3))
    outside = [r for r in preview.items if r.category not in usual]
    assert len(outside) >= 3 and all(r.explore for r in outside)


def test_unknown_user_is_a_clear_error(planted):
    with pytest.raises(KeyError, match="nobody"):
        planted.find_user("nobody")
    with pytest.raises(IndexError, match="outside"):
        planted.preview(10_000)


def test_search_parses_price_and_personalises(planted):
    result = planted.search("running shoes under 30", k=5)
    assert result.parsed.max_price == 30 and "under" not in result.parsed.text
    assert result.items and all(r.price is not None and r.price <= 30 for r in result.items)
    top = planted.search("trail running shoes", k=3)
    assert top.items[0].item_id in {"run0", "new-trail"}
    notes = planted.search("Nike shoes not red").parsed.notes
    assert any("negation" in n for n in notes) and any("'Nike'" in n for n in notes)


def test_model_unaware_of_new_items_never_recommends_them(planted):
    """A model trained before new items arrived: its unknown items score -inf and are dropped, not guessed."""
    from core.models.popularity import Popularity
    from core.recommend import RecommendationService

    data = planted.data
    old = data.with_sequences(data.sequences)
    model = Popularity().fit(old)
    keep = ~np.isin(model.item_keys_, ["new-trail", "new-bowl"])
    model.item_keys_, model.scores_ = model.item_keys_[keep], model.scores_[keep]
    service = RecommendationService(data, model, vectors=planted.vectors)
    scores = service.model_scores([planted.history(0)], np.asarray([0]))
    assert np.isneginf(scores[0, _idx(planted, "new-trail")])
    assert np.array_equal(scores[0, keep], model.scores_)
    ids = {r.item_id for r in service.preview(planted.find_user("planted"), ).items}
    assert not ids & {"new-trail", "new-bowl"}


@pytest.mark.parametrize(
    ("query", "lo", "hi", "text"),
    [
        ("a gift for a runner under 50", None, 50, "a gift for a runner"),
        ("coffee between $10 and 25", 10, 25, "coffee"),
        ("tea 20-40", 20, 40, "tea"),
        ("dog bed over 15 euros", 15, None, "dog bed"),
        ("跑步鞋 50元以下", None, 50, "跑步鞋"),
        ("Laufschuhe unter 30", None, 30, "Laufschuhe"),
    ],
)
def test_price_limits_are_read_from_the_question(query, lo, hi, text):
    from core.recommend.search import parse_query

    parsed = parse_query(query)
    assert (parsed.min_price, parsed.max_price, parsed.text) == (lo, hi, text)


def test_search_in_another_language_says_so(planted):
    result = planted.search("跑步鞋 50元以下", k=3)
    assert result.parsed.max_price == 50 and all(r.price <= 50 for r in result.items)
    assert any("English" in n for n in result.parsed.notes)
    with pytest.raises(ValueError, match="empty"):
        planted.search("   ")


def test_text_only_items_scored_when_the_model_can(planted):
    """A model that scores items from text (as the LM does) gets new items ranked instead of dropped."""
    from core.models.popularity import Popularity
    from core.recommend import RecommendationService

    class TextAware(Popularity):
        def score_new_items(self, histories, texts):
            return np.full((len(histories), len(texts)), 1e6, dtype=np.float32)

    data = planted.data
    model = TextAware().fit(data)
    keep = ~np.isin(model.item_keys_, ["new-trail", "new-bowl"])
    model.item_keys_, model.scores_ = model.item_keys_[keep], model.scores_[keep]
    service = RecommendationService(data, model, vectors=planted.vectors)
    top = [r.item_id for r in service.preview(planted.find_user("planted")).items[:2]]
    assert sorted(top) == ["new-bowl", "new-trail"]


@pytest.mark.parametrize("kind", ["popularity", "segment_popularity", "itemknn", "ease"])
def test_every_baseline_serves_the_preview(planted, kind):
    from core.models import make_model
    from core.recommend import PreviewOptions, RecommendationService

    model = make_model(kind).fit(planted.data)
    service = RecommendationService(planted.data, model, vectors=planted.vectors)
    u = planted.find_user("planted")
    preview = service.preview(u, PreviewOptions(k=5, diversity=0.3))
    history = set(planted.history(u).tolist())
    assert len(preview.items) == 5 and not {r.item_index for r in preview.items} & history
    assert all(set(r.evidence) <= history for r in preview.items)
    if kind in ("itemknn", "ease"):  # history-aware models put the planted co-purchase first
        assert preview.items[0].item_id == "run2"


def test_interest_reason_only_for_items_close_to_the_interests(planted):
    from core.recommend import PreviewOptions

    preview = planted.preview(planted.find_user("newbie"), PreviewOptions(k=6, freshness=2.0),
                              interests="shoes for trail running")
    by_id = {r.item_id: r for r in preview.items}
    assert "interests" in by_id["new-trail"].reason
    bowl = by_id["new-bowl"]  # boosted because it is new, not because it matches running shoes
    assert bowl.is_new and "interests" not in bowl.reason and bowl.reason.startswith("new arrival")
