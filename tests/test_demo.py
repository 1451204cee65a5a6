"""The demo shop: deterministic, realistic in the ways later features rely on, and written whole into the store."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from core.demo import DEMO_EXPERIMENT_NAME, build_demo, generate_shop, load_demo_if_empty, write_demo_csvs
from core.demo.simulate import CAMPAIGN_AT, CAMPAIGN_WINDOW_DAYS, END, PRE_PERIOD_DAYS
from core.schema import ACTIONS


@pytest.fixture(scope="module")
def shop():
    """The default-size shop (the one the app loads), generated once for this module."""
    return generate_shop(seed=7, n_users=3000, n_items=1500)


def _purchases(shop) -> pd.DataFrame:
    return shop.events[shop.events["action"] == "purchase"]


def test_same_seed_same_shop_other_seed_other_shop():
    a = generate_shop(seed=3, n_users=300, n_items=150)
    b = generate_shop(seed=3, n_users=300, n_items=150)
    c = generate_shop(seed=4, n_users=300, n_items=150)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.items, b.items)
    pd.testing.assert_frame_equal(a.exposures, b.exposures)
    assert not a.events["item_id"].equals(c.events["item_id"]) or len(a.events) != len(c.events)


def test_too_small_shop_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="n_users"):
        generate_shop(n_users=10)
    with pytest.raises(ValueError, match="n_items"):
        generate_shop(n_items=20)


@pytest.mark.parametrize("seed", [1, 5, 9])
def test_small_catalogues_without_every_follow_up_item_still_generate(seed):
    # 60 items cannot hold every noun a purchase may lead to; the generator must offer only those it has.
    shop = generate_shop(seed=seed, n_users=120, n_items=60)
    assert len(shop.items) == 60
    assert set(shop.events["item_id"]) <= set(shop.items["item_id"])


def test_catalogue_has_a_dozen_categories_text_prices_and_new_arrivals(shop):
    items = shop.items
    assert len(items) == 1500 and items["item_id"].is_unique
    assert items["category"].nunique() == 12
    assert items["title"].is_unique
    assert items["description"].str.len().min() > 30
    assert (items["price"] > 0).all()
    new = items["listed_at"] > pd.Timestamp(END - timedelta(days=21))
    assert 50 <= new.sum() <= 120
    # Some new arrivals have no purchase yet: cold items for the LM's text side.
    bought = set(_purchases(shop)["item_id"])
    assert (~items.loc[new, "item_id"].isin(bought)).sum() >= 5


def test_no_event_before_its_item_was_listed(shop):
    listed = shop.items.set_index("item_id")["listed_at"]
    assert (shop.events["ts"].to_numpy() >= listed.reindex(shop.events["item_id"]).to_numpy()).all()


def test_profiles_and_cold_start_users(shop):
    users = shop.users
    assert users["age"].between(18, 65).all()
    assert set(users["gender"].dropna()) == {"F", "M"}
    assert {"Shanghai", "Beijing", "Shenzhen"} <= set(users["region"].dropna())
    active = set(shop.events["user_id"])
    new_signups = users[users["signup_date"] > pd.Timestamp(END - timedelta(days=10))]
    assert len(new_signups) >= 60  # ~4% brand-new sign-ups: a profile, no behaviour (cold start)
    assert not new_signups["user_id"].isin(active).any()


def test_every_purchase_follows_a_cart_in_the_same_session(shop):
    ev = shop.events
    assert set(ev["action"]) <= set(ACTIONS)
    carts = ev[ev["action"] == "cart"][["session", "item_id", "ts"]]
    buys = _purchases(shop)[["session", "item_id", "ts"]]
    m = buys.merge(carts, on=["session", "item_id"], suffixes=("", "_cart"), how="left")
    assert m["ts_cart"].notna().all()
    assert (m["ts_cart"] <= m["ts"]).all()
    counts = ev["action"].value_counts()
    assert counts["view"] > 2 * counts["cart"] > 2 * counts["purchase"] * 0.5
    assert counts["cart"] > counts["purchase"]


def test_consumables_are_bought_again(shop):
    p = _purchases(shop).merge(shop.items[["item_id", "_consumable"]], on="item_id")
    per_pair = p.groupby(["user_id", "item_id", "_consumable"]).size().reset_index(name="n")
    repeat = per_pair.groupby("_consumable")["n"].apply(lambda n: (n > 1).mean())
    assert repeat[True] > 0.3
    assert repeat[True] > 4 * repeat[False]


def test_cameras_pull_lenses_afterwards(shop):
    """Sequential signal: buying a mirrorless camera makes a lens purchase in the next 60 days far likelier."""
    p = _purchases(shop).merge(shop.items[["item_id", "_noun"]], on="item_id")
    cams = p[p["_noun"] == "mirrorless camera"].groupby("user_id")["ts"].min()
    lenses = p[p["_noun"].isin(["prime lens", "zoom lens"])]
    after = lenses.merge(cams.rename("cam_ts"), left_on="user_id", right_index=True)
    followed = after[(after["ts"] > after["cam_ts"]) & (after["ts"] <= after["cam_ts"] + pd.Timedelta(days=60))]
    rate_after_camera = followed["user_id"].nunique() / len(cams)
    others = set(p["user_id"]) - set(cams.index)
    base_rate = lenses[lenses["user_id"].isin(others)]["user_id"].nunique() / len(others)
    assert len(cams) >= 20
    print(f"lens within 60 days after a camera: {rate_after_camera:.3f}; lens buyers among others: {base_rate:.3f}")
    assert rate_after_camera > 0.15
    assert rate_after_camera > 5 * base_rate


def test_weekly_rhythm_and_singles_day_peak(shop):
    daily = shop.events.set_index("ts").resample("D").size()
    assert daily.loc["2025-11-11"] > 2.5 * daily.median()
    weekday_mean = daily.groupby(daily.index.weekday).mean()
    assert weekday_mean[[5, 6]].mean() > 1.15 * weekday_mean[[0, 1, 2]].mean()


def test_tastes_follow_segments(shop):
    p = _purchases(shop).merge(shop.items[["item_id", "category"]], on="item_id")
    seg = shop.users.set_index("user_id")["attributes"].map(lambda a: a["demo_segment"])
    p = p.assign(segment=seg.reindex(p["user_id"]).to_numpy())
    baby = p[p["category"] == "Baby care"]["segment"].value_counts(normalize=True)
    assert baby.idxmax() == "parents" and baby["parents"] > 0.5
    young = shop.users[shop.users["attributes"].map(lambda a: a["demo_segment"]) == "young_value"]
    assert young["age"].max() < 30


def test_coupon_campaign_is_randomised_consistent_and_heterogeneous(shop):
    exp = shop.exposures
    assert set(exp["variant"]) == {"control", "coupon"}
    n = len(exp)
    n_coupon = int((exp["variant"] == "coupon").sum())
    assert abs(n_coupon - n / 2) < 3.5 * np.sqrt(n / 4)  # 50/50 within sampling noise
    t_c = exp["exposed_at"].iloc[0]
    assert t_c.date() == CAMPAIGN_AT.date() and exp["exposed_at"].nunique() == 1
    # Outcomes are exactly what the events say.
    p = _purchases(shop).assign(value=lambda d: d["quantity"] * d["price"])
    window = p[(p["ts"] >= t_c) & (p["ts"] < t_c + pd.Timedelta(days=CAMPAIGN_WINDOW_DAYS))]
    pre = p[(p["ts"] >= t_c - pd.Timedelta(days=PRE_PERIOD_DAYS)) & (p["ts"] < t_c)]
    e = exp.set_index("user_id")
    conv = e.index.isin(window["user_id"])
    assert (conv.astype(int) == e["converted"].to_numpy()).all()
    np.testing.assert_allclose(window.groupby("user_id")["value"].sum().reindex(e.index, fill_value=0), e["revenue"],
                               atol=0.05)
    np.testing.assert_allclose(pre.groupby("user_id")["value"].sum().reindex(e.index, fill_value=0), e["pre_metric"],
                               atol=0.05)
    # Only users who had bought before the campaign were eligible.
    first_buy = p.groupby("user_id")["ts"].min()
    assert (first_buy.reindex(e.index) < t_c).all()
    # The true effect differs by segment: strong for young price-sensitive users, none for loyal heavy buyers.
    lift = exp.groupby(["segment", "variant"])["converted"].mean().unstack()
    lift = lift["coupon"] - lift["control"]
    assert lift["young_value"] > 0.08
    assert lift["young_value"] > lift["loyal_premium"] + 0.08
    truth = shop.campaign["true_conversion_uplift"]
    assert truth["young_value"] > 0.2 and truth["loyal_premium"] == 0
    # Treated users paid the coupon price on (only) their first order in the window; control users never did.
    listed = shop.items.set_index("item_id")["price"]
    w = window.assign(list_price=listed.reindex(window["item_id"]).to_numpy())
    discounted = w[np.isclose(w["price"], (w["list_price"] * 0.85).round(2))]
    variant = e["variant"]
    assert set(variant.reindex(discounted["user_id"])) == {"coupon"}
    assert discounted.groupby("user_id")["session"].nunique().max() == 1
    # (a session already running when the coupon arrived can convert at full price)
    converted_treated = int(((variant == "coupon") & (e["converted"] == 1)).sum())
    assert 0.97 * converted_treated <= discounted["user_id"].nunique() <= converted_treated
    # The pre-period metric carries signal for CUPED.
    assert np.corrcoef(e["pre_metric"], e["revenue"])[0, 1] > 0.1


def test_build_demo_writes_the_whole_shop_into_the_store(demo_store):
    from core.interactions import from_store
    from db.engine import get_meta, session_scope
    from db.tables import Event, Experiment, Exposure, Item, ModelVersion, User

    expected = generate_shop(seed=7, n_users=800, n_items=400)  # what the conftest demo store was built from
    with session_scope(demo_store) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 800
        assert s.scalar(select(func.count()).select_from(Item)) == 400
        assert s.scalar(select(func.count()).select_from(Event)) == len(expected.events)
        assert get_meta(s, "demo") == "1"
        exp = s.scalar(select(Experiment).where(Experiment.name == DEMO_EXPERIMENT_NAME))
        assert exp.source == "demo" and exp.control == "control"
        assert exp.config["planned_split"] == {"control": 0.5, "coupon": 0.5}
        rows = s.execute(select(Exposure.user_key, Exposure.variant, Exposure.converted, Exposure.user_id)
                         .where(Exposure.experiment_id == exp.id)).all()
        assert len(rows) == len(expected.exposures)
        assert all(r.user_id is not None for r in rows)
        got = {r.user_key: (r.variant, r.converted) for r in rows}
        want = {r.user_id: (r.variant, r.converted) for r in expected.exposures.itertuples()}
        assert got == want
        models = {m.name: m for m in s.scalars(select(ModelVersion))}
        assert "popularity" in models
        active = [m for m in models.values() if m.is_active]
        assert len(active) == 1
        assert active[0].metrics["ndcg@10"] == max(m.metrics["ndcg@10"] for m in models.values())
        if "ease" in models:  # EASE learns the co-purchase and follow-up structure popularity cannot see
            assert models["ease"].metrics["ndcg@10"] > 1.2 * models["popularity"].metrics["ndcg@10"]
        data = from_store(s)
        assert sum(len(q) for q in data.sequences) == int((expected.events["action"] == "purchase").sum())
        with pytest.raises(ValueError, match="already holds the demo"):
            build_demo(s, n_users=100, n_items=100)


def test_load_demo_if_empty_leaves_a_filled_store_alone(demo_store):
    from db.engine import session_scope
    from db.shop_read import store_counts

    with session_scope(demo_store) as s:
        before = store_counts(s)
        assert load_demo_if_empty(s) is False
        assert store_counts(s) == before


def test_write_demo_csvs_uses_shop_column_names(tmp_path):
    paths = write_demo_csvs(tmp_path, seed=5, n_users=200, n_items=100)
    shop = generate_shop(seed=5, n_users=200, n_items=100)
    events = pd.read_csv(paths["events"])
    items = pd.read_csv(paths["items"])
    users = pd.read_csv(paths["users"])
    assert list(events.columns) == ["customer_id", "product_id", "event_type", "event_time", "qty", "unit_price",
                                    "session_id"]
    assert {"product_id", "product_name", "description", "category", "unit_price"} <= set(items.columns)
    assert {"customer_id", "age", "gender", "city", "signup_date"} <= set(users.columns)
    assert len(events) == len(shop.events) and len(items) == 100 and len(users) == 200
    assert set(events["event_type"]) == {"view", "add_to_wishlist", "add_to_cart", "purchase"}
    assert (events["event_type"] == "purchase").sum() == (shop.events["action"] == "purchase").sum()


def test_cli_demo_and_stats(store_url, capsys):
    from core.__main__ import main

    assert main(["demo", "--db", store_url, "--users", "200", "--items", "100", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["built"] is True and built["users"] == 200 and built["items"] == 100
    assert built["active_model"] in {m["name"] for m in built["models"]}
    assert built["lm_job_id"] is None  # the suite switches the first-start LM off (RECOLM_FIRST_START_LM=0)
    assert main(["demo", "--db", store_url, "--if-empty", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["built"] is False
    assert main(["demo", "--db", store_url]) == 1
    assert "already holds shop data" in capsys.readouterr().out
    assert main(["stats", "--db", store_url, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["users"] == 200 and stats["events"] == built["events"] and stats["purchases"] == built["purchases"]
    assert stats["demo"] is True and stats["active_model"]["name"] == built["active_model"]
    assert [f["stage"] for f in stats["funnel"]] == ["view", "cart", "purchase"]
    assert main(["stats", "--db", store_url]) == 0
    assert "200 users" in capsys.readouterr().out


@pytest.mark.slow
def test_first_start_queues_a_short_background_lm_that_only_replaces_ease_if_better(store_url, capsys, monkeypatch):
    """The first start (here `python -m core demo`, as the app's first page does through build_demo) queues one LM
    job with a few minutes' budget, returns without waiting for it, and the job activates the LM only when it
    beats the active EASE on its own held-out split, saying why either way."""
    from core.__main__ import main
    from core.training.jobs import job_status, list_job_views, wait_for
    from db.engine import session_scope
    from db.registry import active_model

    monkeypatch.setenv("RECOLM_FIRST_START_LM", "1")
    monkeypatch.setenv("RECOLM_FIRST_START_LM_MINUTES", "0.1")
    assert main(["demo", "--db", store_url, "--users", "200", "--items", "100", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    job_id = built["lm_job_id"]
    assert job_id is not None and built["active_model"] == "ease"
    first = job_status(store_url, job_id)
    assert first.status in ("queued", "starting", "training")  # the command returned while the worker trains
    assert first.params == {"model": "lm", "name": "lm", "activate": "if-better",
                            "nice": 10, "model_params": {"max_minutes": 0.1}, "warm_start_model": None}
    assert [j.id for j in list_job_views(store_url)] == [job_id]  # one job, shown on the Training page
    done = wait_for(store_url, job_id, timeout=300, poll=2)
    assert done.status == "succeeded", done.error
    act = done.metrics["activation"]
    assert act["compared_with"].startswith("ease v1")
    assert act["activated"] == (act["lm_ndcg@10"] > act["active_ndcg@10"])
    assert done.metrics["activation_note"] == act["reason"]
    with session_scope(store_url) as s:
        active = active_model(s)
        assert (active.name, active.id == done.model_id) == (("lm", True) if act["activated"] else ("ease", False))
    assert ("stays active" in act["reason"]) != act["activated"]
    # Switched off, the first start queues nothing.
    monkeypatch.setenv("RECOLM_FIRST_START_LM", "0")
    other = store_url.replace("recolm.db", "other.db")
    assert main(["demo", "--db", other, "--users", "200", "--items", "100", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lm_job_id"] is None and list_job_views(other) == []
