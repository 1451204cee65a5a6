"""Column-mapping guesses from real-world headers, user corrections, and action words → canonical actions."""

from __future__ import annotations

import pandas as pd
import pytest

from core.ingest import ColumnMapping, IngestError, guess_mapping
from core.ingest.mapping import map_actions, parse_overrides

RETAIL = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]


def test_online_retail_header_maps_to_three_tables():
    m = guess_mapping("transactions", RETAIL)
    assert m.columns == {
        "invoice": "InvoiceNo", "item_id": "StockCode", "title": "Description", "quantity": "Quantity",
        "timestamp": "InvoiceDate", "price": "UnitPrice", "user_id": "CustomerID", "region": "Country",
    }
    assert m.all_purchases
    m.validate(RETAIL, "retail.csv")


def test_demo_export_headers():
    events = guess_mapping("events", ["customer_id", "product_id", "event_type", "event_time", "qty", "unit_price",
                                      "session_id"])
    assert events.columns == {"user_id": "customer_id", "item_id": "product_id", "action_type": "event_type",
                              "timestamp": "event_time", "quantity": "qty", "price": "unit_price",
                              "session": "session_id"}
    assert not events.all_purchases
    items = guess_mapping("items", ["product_id", "product_name", "description", "category", "unit_price", "brand",
                                    "listed_date", "colour"])
    assert items.columns == {"item_id": "product_id", "title": "product_name", "description": "description",
                             "category": "category", "price": "unit_price", "brand": "brand",
                             "listed_at": "listed_date"}
    assert items.extra_columns(["product_id", "colour"]) == ["colour"]
    users = guess_mapping("users", ["customer_id", "age", "gender", "city", "signup_date", "member_tier"])
    assert users.columns == {"user_id": "customer_id", "age": "age", "gender": "gender", "region": "city",
                             "signup_date": "signup_date"}


def test_chinese_and_messy_headers():
    m = guess_mapping("events", ["用户ID", "商品编号", "行为类型", "下单时间"])
    assert m.columns == {"user_id": "用户ID", "item_id": "商品编号", "action_type": "行为类型", "timestamp": "下单时间"}
    m = guess_mapping("events", [" User-ID ", "ITEM_ID", "Event Type", "Time Stamp"])
    assert m.columns == {"user_id": " User-ID ", "item_id": "ITEM_ID", "action_type": "Event Type",
                         "timestamp": "Time Stamp"}


def test_events_without_action_column_count_as_purchases():
    assert guess_mapping("events", ["user", "item", "date"]).all_purchases


def test_user_corrections_and_their_errors():
    m = guess_mapping("events", ["cust", "thing", "when", "what"])
    with pytest.raises(IngestError, match="required column user_id is missing"):
        m.validate(["cust", "thing", "when", "what"], "x.csv")
    fixed = m.with_overrides(parse_overrides(["cust=user_id", "thing=item_id", "when=timestamp", "what=action_type"]))
    fixed.validate(["cust", "thing", "when", "what"], "x.csv")
    assert fixed.columns["user_id"] == "cust"
    assert m.all_purchases and not fixed.all_purchases  # once an action column is mapped, actions decide
    unmapped = fixed.with_overrides({"what": "ignore"})
    assert "action_type" not in unmapped.columns and unmapped.all_purchases
    with pytest.raises(IngestError, match="not a field of a users file"):
        ColumnMapping("users", {"title": "x"})
    with pytest.raises(IngestError, match="does not have"):
        ColumnMapping("users", {"user_id": "id"}).validate(["uid"], "u.csv")
    with pytest.raises(IngestError, match="COLUMN=FIELD"):
        parse_overrides(["CustomerID"])
    with pytest.raises(IngestError, match="unknown upload kind"):
        guess_mapping("orders", ["a"])


def test_action_words_and_purchase_values():
    values = pd.Series(["PV", "buy", "cart", "fav", "add_to_wishlist", "refund", "zap", "Order", "购买", "加购"])
    table = map_actions(values, guess_mapping("events", ["user_id", "item_id", "action", "time"]))
    assert table.actions == {"PV": "view", "buy": "purchase", "cart": "cart", "fav": "favorite",
                             "add_to_wishlist": "favorite", "refund": "other", "zap": "other", "Order": "purchase",
                             "购买": "purchase", "加购": "cart"}
    assert table.cancellations == {"refund"} and table.unknown == {"zap"}
    # The user says only "Order" means purchase: "buy" is then not a purchase, and "zap" can be one if named.
    m = guess_mapping("events", ["user_id", "item_id", "action", "time"])
    m.purchase_values = ("order", "zap")
    table = map_actions(values, m)
    assert table.actions["Order"] == "purchase" and table.actions["zap"] == "purchase"
    assert table.actions["buy"] == "other" and table.actions["购买"] == "other"
