"""Data profile: the pure computations on hand-made frames, then the whole profile against the store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.profile import (
    activity_over_time,
    basket_stats,
    category_table,
    funnel_table,
    order_keys,
    profile_store,
    repeat_purchase_rate,
    users_by,
    users_by_age_band,
)
from tests.conftest import shared_path


def _purchases(rows):
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "ts", "quantity", "revenue", "session"])
    df["ts"] = pd.to_datetime(df["ts"])
    return df


def test_funnel_rates_users_and_events():
    totals = pd.DataFrame({"action": ["view", "cart", "purchase", "favorite"], "events": [100, 20, 10, 5],
                           "users": [50, 20, 8, 4]})
    f = funnel_table(totals)
    assert f["stage"].tolist() == ["view", "cart", "purchase"]
    assert f["users"].tolist() == [50, 20, 8]
    assert np.isnan(f["step_rate"][0])
    assert f["step_rate"][1] == pytest.approx(0.4) and f["step_rate"][2] == pytest.approx(0.4)
    assert f["overall_rate"][2] == pytest.approx(8 / 50)
    assert f["event_step_rate"][1] == pytest.approx(0.2) and f["event_step_rate"][2] == pytest.approx(0.5)


def test_funnel_of_a_transactions_export_has_no_rates():
    f = funnel_table(pd.DataFrame({"action": ["purchase"], "events": [30], "users": [7]}))
    assert f["users"].tolist() == [0, 0, 7]
    assert f["overall_rate"].isna().all() and f["step_rate"].isna().all()


def test_funnel_rates_never_top_100_percent():
    """More buyers than viewers (purchase-only data beside browsing data): the old rates read 161 % and 131 %."""
    totals = pd.DataFrame({"action": ["view", "cart", "purchase"], "events": [100, 40, 130], "users": [50, 30, 80]})
    plain = funnel_table(totals)
    nested = funnel_table(totals, reach=[50, 25, 20])
    for f in (plain, nested):
        for col in ("step_rate", "overall_rate", "event_step_rate"):
            assert (f[col].dropna() <= 1).all(), (col, f[col].tolist())
    assert np.isnan(plain["step_rate"][2]) and np.isnan(plain["event_step_rate"][2])  # 80/30, 130/40: no rates
    assert nested["step_rate"].tolist()[1:] == [pytest.approx(0.5), pytest.approx(0.8)]
    assert nested["overall_rate"][2] == pytest.approx(20 / 50) and nested["reached"].tolist() == [50, 25, 20]


def test_profile_of_demo_plus_a_purchase_only_upload_keeps_rates_nested(demo_store, tmp_path):
    """The issue's case: real purchases (no views) uploaded into a store with the demo's browsing data."""
    from core.demo import generate_shop
    from core.ingest import Source, Upload, ingest_into_store
    from core.ingest.mapping import ColumnMapping
    from db.engine import session_scope

    n_new = 900  # more new buyers than the demo has viewers would make the old user rates exceed 100 %
    rows = [f"X{k},P{k % 50},2011-0{1 + k % 9}-1{k % 10} 10:00" for k in range(n_new)]
    path = tmp_path / "buys.csv"
    path.write_text("CustomerID,StockCode,InvoiceDate\n" + "\n".join(rows) + "\n")
    mapping = ColumnMapping("events", {"user_id": "CustomerID", "item_id": "StockCode", "timestamp": "InvoiceDate"},
                            all_purchases=True)
    assert ingest_into_store(demo_store, [Upload(Source("events", path), mapping)]).accepted
    with session_scope(demo_store) as s:
        p = profile_store(s)
    ev = generate_shop(seed=7, n_users=800, n_items=400).events
    sets = {a: set(ev.loc[ev["action"] == a, "user_id"]) for a in ("view", "cart", "purchase")}
    f = p.funnel.set_index("stage")
    assert f.loc["purchase", "users"] > f.loc["view", "users"]  # the data that gave 161 % and 131 %
    assert f["reached"].tolist() == [len(sets["view"]), len(sets["view"] & sets["cart"]),
                                     len(sets["view"] & sets["cart"] & sets["purchase"])]
    for col in ("step_rate", "overall_rate", "event_step_rate"):
        assert (f[col].dropna() <= 1).all(), (col, f[col].tolist())
    assert p.has_funnel and p.buyers_outside_funnel >= n_new


def test_orders_are_sessions_or_customer_days():
    with_sessions = _purchases([
        (1, 10, "2024-01-01 10:00", 1, 5.0, "a"),
        (1, 11, "2024-01-01 10:05", 2, 8.0, "a"),
        (1, 12, "2024-01-01 18:00", 1, 3.0, "b"),
        (2, 10, "2024-01-02 09:00", 1, 5.0, "c"),
    ])
    keys, how = order_keys(with_sessions)
    assert how == "session" and keys.nunique() == 3
    b = basket_stats(with_sessions)
    assert b.orders == 3 and b.mean_lines == pytest.approx(4 / 3) and b.median_lines == 1
    assert b.mean_units == pytest.approx(5 / 3) and b.mean_value == pytest.approx(21 / 3)
    assert dict(zip(b.distribution["lines"], b.distribution["orders"])) == {"1": 2, "2": 1}
    no_sessions = with_sessions.assign(session=None)
    keys, how = order_keys(no_sessions)
    assert how == "customer-day" and keys.nunique() == 2  # user 1's three lines were one day
    assert basket_stats(no_sessions).mean_lines == pytest.approx(2.0)
    assert basket_stats(no_sessions.iloc[0:0]) is None


def test_big_baskets_fold_into_10_plus():
    rows = [(1, i, "2024-01-01", 1, 1.0, "s") for i in range(13)] + [(2, 1, "2024-01-01", 1, 1.0, "t")]
    b = basket_stats(_purchases(rows))
    assert dict(zip(b.distribution["lines"], b.distribution["orders"])) == {"1": 1, "10+": 1}
    assert b.mean_lines == pytest.approx(7.0)


def test_repeat_purchase_rate_counts_customers_with_two_orders():
    p = _purchases([
        (1, 10, "2024-01-01", 1, 1.0, "a"),
        (1, 11, "2024-01-01", 1, 1.0, "a"),  # same order
        (2, 10, "2024-01-01", 1, 1.0, "b"),
        (2, 10, "2024-02-01", 1, 1.0, "c"),  # second order
        (3, 10, "2024-01-05", 1, 1.0, "d"),
    ])
    assert repeat_purchase_rate(p) == pytest.approx(1 / 3)
    assert repeat_purchase_rate(p.iloc[0:0]) is None


def test_users_by_region_folds_the_tail_and_names_missing_values():
    users = pd.DataFrame({"id": range(1, 9), "region": ["A", "A", "A", "B", "B", "C", None, "D"]})
    out = users_by(users, {1, 4, 7}, "region", top=3)
    assert out["region"].tolist() == ["A", "B", "other"]
    assert out["users"].tolist() == [3, 2, 3] and out["buyers"].tolist() == [1, 1, 1]
    full = users_by(users, set(), "region")
    assert "unknown" in set(full["region"]) and full["users"].sum() == 8


def test_age_bands_in_band_order_with_unknown_last():
    users = pd.DataFrame({"id": [1, 2, 3, 4, 5], "age": [60, 19, None, 30, 33]})
    out = users_by_age_band(users, {4})
    assert out["age_band"].tolist() == ["18-24", "25-34", "55+", "unknown"]
    assert out["users"].tolist() == [1, 2, 1, 1] and out["buyers"].tolist() == [0, 1, 0, 0]


def test_weekly_activity_keeps_every_event():
    days = pd.date_range("2024-01-01", periods=400, freq="D")
    daily = pd.DataFrame({"day": np.repeat(days, 2), "action": ["view", "purchase"] * 400,
                          "events": np.arange(800) % 7 + 1})
    out, grain = activity_over_time(daily)
    assert grain == "week" and out["events"].sum() == daily["events"].sum()
    assert (out["period"].dt.weekday == 0).all()
    short, grain = activity_over_time(daily[daily["day"] < "2024-03-01"])
    assert grain == "day" and len(short) == 2 * 60


def test_category_table_shows_unsold_categories_too():
    sales = pd.DataFrame({"category": ["Tea", None], "purchases": [5, 2], "buyers": [3, 1], "revenue": [50.0, 9.0]})
    catalogue = pd.DataFrame({"category": ["Tea", "Cups", None], "items": [4, 2, 1]})
    out = category_table(sales, catalogue).set_index("category")
    assert out.loc["Tea", "purchases"] == 5 and out.loc["Cups", "purchases"] == 0 and out.loc["Cups", "items"] == 2
    assert out.loc["unknown", "revenue"] == 9.0
    assert out.index[0] == "Tea"


def test_profile_of_an_empty_store(store_url):
    from db.engine import session_scope

    with session_scope(store_url) as s:
        p = profile_store(s)
    assert p.empty and p.counts["events"] == 0 and p.basket is None


def test_profile_of_the_demo_store_matches_the_generated_events(demo_store):
    """Every figure recomputed straight from the generator's DataFrames, independent of the SQL."""
    from core.demo import generate_shop
    from db.engine import session_scope

    shop = generate_shop(seed=7, n_users=800, n_items=400)
    ev = shop.events
    buys = ev[ev["action"] == "purchase"].assign(value=lambda d: d["quantity"] * d["price"])
    with session_scope(demo_store) as s:
        p = profile_store(s)
    assert not p.empty and p.has_funnel
    assert p.counts["purchases"] == len(buys) and p.buyers == buys["user_id"].nunique()
    assert p.revenue == pytest.approx(buys["value"].sum(), rel=1e-9)
    f = p.funnel.set_index("stage")
    for action in ("view", "cart", "purchase"):
        assert f.loc[action, "events"] == (ev["action"] == action).sum()
        assert f.loc[action, "users"] == ev.loc[ev["action"] == action, "user_id"].nunique()
    orders = buys.groupby("session")
    assert p.basket.order_definition == "session" and p.basket.orders == orders.ngroups
    assert p.basket.mean_lines == pytest.approx(orders.size().mean())
    per_user = buys.groupby("user_id")["session"].nunique()
    assert p.repeat_purchase_rate == pytest.approx((per_user > 1).mean())
    top = buys.groupby("item_id").size().sort_values(ascending=False)
    assert p.top_items["purchases"].iloc[0] == top.iloc[0]
    assert p.top_items["purchases"].is_monotonic_decreasing
    assert p.categories["purchases"].sum() == len(buys) and p.categories["items"].sum() == 400
    assert p.regions["users"].sum() == 800 and p.age_bands["users"].sum() == 800
    assert p.time_grain == "week" and p.activity["events"].sum() == len(ev)
    assert p.first_event.date() == ev["ts"].min().date() and p.last_event.date() == ev["ts"].max().date()


def test_profile_of_real_online_retail_transactions(store_url):
    """UCI Online Retail (first 20k rows, written directly): purchases only, invoices as orders, cancellations flagged."""
    from db.engine import session_scope
    from db.shop_write import ShopWriter, new_dataset

    raw = pd.read_csv(shared_path("uci_online_retail", "onlineretail.csv.gz"), nrows=20_000,
                      dtype={"InvoiceNo": str, "StockCode": str})
    raw = raw.dropna(subset=["CustomerID"])
    raw["CustomerID"] = raw["CustomerID"].astype(int).astype(str)
    cancel = raw["InvoiceNo"].str.startswith("C")
    negative = (raw["Quantity"] < 0) & ~cancel
    flag = np.where(cancel, "cancellation", np.where(negative, "negative_quantity", None))
    events = pd.DataFrame({
        "user_id": raw["CustomerID"], "item_id": raw["StockCode"], "action": "purchase",
        "ts": pd.to_datetime(raw["InvoiceDate"]), "quantity": raw["Quantity"], "price": raw["UnitPrice"],
        "session": raw["InvoiceNo"], "flag": flag,
    })
    with session_scope(store_url) as s:
        ds = new_dataset(s, "transactions", "onlineretail.csv.gz")
        w = ShopWriter(s, ds)
        w.upsert_users(raw.drop_duplicates("CustomerID").rename(columns={"CustomerID": "user_id", "Country": "region"})
                       [["user_id", "region"]])
        w.add_events(events)
    with session_scope(store_url) as s:
        p = profile_store(s)
    kept = raw[~cancel & ~negative]
    assert not p.has_funnel and p.funnel["overall_rate"].isna().all()
    assert p.missing_stages == ["view", "cart"]  # the page says views and carts are not in the data
    assert p.counts["purchases"] == len(kept)
    assert p.flagged.get("cancellation") == int(cancel.sum()) > 0
    assert p.basket.order_definition == "session"
    assert p.basket.orders == kept["InvoiceNo"].nunique()
    assert p.basket.mean_lines == pytest.approx(kept.groupby("InvoiceNo").size().mean())
    per_customer = kept.groupby("CustomerID")["InvoiceNo"].nunique()
    assert p.repeat_purchase_rate == pytest.approx((per_customer > 1).mean())
    assert p.regions["region"].iloc[0] == "United Kingdom"
    assert p.age_bands["age_band"].tolist() == ["unknown"]
