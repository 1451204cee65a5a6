"""Good uploads end to end: the demo shop's three exports, encodings and separators, flags, purchases, the report."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from core.ingest import ColumnMapping, IngestOptions, Source, Upload, guess_mapping, ingest_into_store, sniff
from core.schema import FLAG_CANCELLATION, FLAG_NEGATIVE_QUANTITY, OTHER_ACTION, PURCHASE
from db.dataset_versions import list_datasets
from db.engine import session_scope
from db.shop_read import store_counts
from db.tables import Event, Item, User


@pytest.fixture(scope="module")
def demo_csvs(tmp_path_factory) -> dict[str, Path]:
    from core.demo import write_demo_csvs

    return write_demo_csvs(tmp_path_factory.mktemp("demo_csv"), seed=3, n_users=150, n_items=80)


def test_demo_exports_upload_into_all_three_tables(store_url, demo_csvs):
    uploads = [Upload(Source(kind, path)) for kind, path in demo_csvs.items()]
    report = ingest_into_store(store_url, uploads)
    assert report.accepted, report.error
    frames = {k: pd.read_csv(p, dtype=str) for k, p in demo_csvs.items()}
    expected_events = len(frames["events"].drop_duplicates())
    by_kind = {f.kind: f for f in report.files}
    assert [f.kind for f in report.files] == ["users", "items", "events"]  # profiles first
    assert by_kind["events"].rows_read == len(frames["events"])
    assert by_kind["events"].rows_kept == expected_events
    assert by_kind["items"].rows_kept == len(frames["items"])
    assert by_kind["users"].rows_kept == len(frames["users"])
    with session_scope(store_url) as s:
        counts = store_counts(s)
        assert (counts.users, counts.items, counts.events) == (len(frames["users"]), len(frames["items"]),
                                                               expected_events)
        words = frames["events"].drop_duplicates()["event_type"].value_counts()
        assert counts.purchases == words.get("purchase", 0)
        carts = s.query(Event).filter_by(action="cart").count()
        assert carts == words.get("add_to_cart", 0)
        user = s.query(User).filter_by(external_id=str(frames["users"]["customer_id"].iloc[0])).one()
        assert user.attributes["member_tier"] == frames["users"]["member_tier"].iloc[0]
        assert user.region == frames["users"]["city"].iloc[0]
        item = s.query(Item).filter_by(external_id=str(frames["items"]["product_id"].iloc[0])).one()
        assert item.title == frames["items"]["product_name"].iloc[0]
        assert item.listed_at is not None and item.price == pytest.approx(float(frames["items"]["unit_price"].iloc[0]))
        versions = list_datasets(s)
    assert versions[0].kind == "users+items+events" and versions[0].rows_kept == report.rows_kept
    assert versions[0].report["accepted"] and versions[0].report["files"][2]["rows_kept"] == expected_events


def test_gbk_semicolon_file_with_chinese_header(store_url, tmp_path):
    text = "用户ID;商品ID;行为类型;时间\n1001;A1;浏览;2024/01/31 17:45\n1001;A1;购买;2024/01/31 17:50\n1002;B2;加购;2024/02/01 09:00\n"
    path = tmp_path / "行为.csv"
    path.write_bytes(text.encode("gbk"))
    fmt = sniff(Source("events", path))
    assert (fmt.encoding, fmt.separator) == ("gb18030", ";")
    report = ingest_into_store(store_url, [Upload(Source("events", path))])
    assert report.accepted, report.error
    with session_scope(store_url) as s:
        assert sorted(a for (a,) in s.query(Event.action)) == ["cart", "purchase", "view"]
        assert {r for (r,) in s.query(Event.raw_action)} == {"浏览", "购买", "加购"}


@pytest.mark.parametrize("encoding, sep", [("utf-8", ","), ("utf-8-sig", "\t"), ("gb18030", "|")])
def test_encodings_and_separators(tmp_path, encoding, sep):
    header = sep.join(["item_id", "title", "category"])
    body = sep.join(["x1", "绿茶 Green tea", "饮料"])
    path = tmp_path / "items.csv"
    path.write_bytes(f"{header}\n{body}\n".encode(encoding))
    fmt = sniff(Source("items", path))
    assert fmt.separator == sep and fmt.header == ["item_id", "title", "category"]
    assert fmt.encoding == ("gb18030" if encoding == "gb18030" else encoding)


def test_gzip_upload_and_float_ids(store_url, tmp_path):
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(b"CustomerID,StockCode,InvoiceDate\n17850.0,85123A,2010-12-01 08:26:00\n"))
    report = ingest_into_store(store_url, [Upload(Source("transactions", path))])
    assert report.accepted, report.error
    with session_scope(store_url) as s:
        assert s.query(User).one().external_id == "17850"


def test_cancellations_and_negative_quantities_are_flagged_never_purchases(store_url, tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,A,MUG,6,2010-12-01 08:26,2.55,1,United Kingdom\n"
        "C536379,A,MUG,-1,2010-12-01 09:41,2.55,1,United Kingdom\n"
        "536380,B,PLATE,-3,2010-12-01 09:45,1.00,2,France\n"
        "536381,B,,2,2010-12-02 10:00,1.00,2,France\n"
    )
    report = ingest_into_store(store_url, [Upload(Source("transactions", path))])
    f = report.files[0]
    assert f.flagged[FLAG_CANCELLATION].examples == [3]
    assert f.flagged[FLAG_NEGATIVE_QUANTITY].examples == [4]
    with session_scope(store_url) as s:
        rows = {(e.flag, e.action) for e in s.query(Event)}
        assert rows == {(None, PURCHASE), (FLAG_CANCELLATION, OTHER_ACTION), (FLAG_NEGATIVE_QUANTITY, OTHER_ACTION)}
        assert store_counts(s).purchases == 2
        plate = s.query(Item).filter_by(external_id="B").one()
        assert plate.title == "PLATE"  # an empty description later on does not wipe the name
        assert s.query(User).filter_by(external_id="2").one().region == "France"


def test_purchase_values_chosen_by_the_user(store_url, tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text("uid,sku,event,ts\n1,a,checkout,1700000000\n1,b,order,1700000100\n2,a,view,1700000200\n"
                    "2,b,refund,1700000300\n")
    mapping = guess_mapping("events", ["uid", "sku", "event", "ts"])
    mapping.purchase_values = ("checkout",)
    report = ingest_into_store(store_url, [Upload(Source("events", path), mapping)])
    assert report.accepted and report.files[0].timestamp_format == "unix-seconds"
    assert any("cancellations: refund" in w for w in report.files[0].warnings)
    with session_scope(store_url) as s:
        got = {(e.raw_action, e.action, e.flag) for e in s.query(Event)}
    assert got == {("checkout", PURCHASE, None), ("order", OTHER_ACTION, None), ("view", "view", None),
                   ("refund", OTHER_ACTION, FLAG_CANCELLATION)}


def test_users_file_updates_profiles_and_keeps_extra_columns(store_url, tmp_path):
    first = tmp_path / "u1.csv"
    first.write_text("user_id,age,sex,country,loyalty\n1,34,F,UK,gold\n2,abc,M,,silver\n3,200,F,FR,\n")
    report = ingest_into_store(store_url, [Upload(Source("users", first))])
    assert report.accepted
    warnings = " ".join(report.files[0].warnings)
    assert "'abc'" in warnings and "outside 0-120" in warnings
    second = tmp_path / "u2.csv"
    second.write_text("user_id,country\n1,Ireland\n4,DE\n")
    report = ingest_into_store(store_url, [Upload(Source("users", second))])
    assert report.files[0].written == {"users_created": 1, "users_updated": 1}
    with session_scope(store_url) as s:
        one = s.query(User).filter_by(external_id="1").one()
        assert (one.age, one.gender, one.region, one.attributes) == (34, "F", "Ireland", {"loyalty": "gold"})
        assert s.query(User).filter_by(external_id="3").one().age is None


def test_explicit_mapping_kind_must_match(store_url, tmp_path):
    path = tmp_path / "i.csv"
    path.write_text("item_id,title\n1,x\n")
    report = ingest_into_store(store_url, [Upload(Source("items", path), ColumnMapping("users", {"user_id": "item_id"}))])
    assert not report.accepted and "mapping is for a users file" in report.error


def test_progress_callback_and_small_chunks_give_the_same_result(store_url, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("user,item,time\n" + "".join(f"u{i % 7},i{i % 5},2024-01-{1 + i % 5:02d}\n" for i in range(100)))
    seen = []
    report = ingest_into_store(store_url, [Upload(Source("events", path))],
                               IngestOptions(chunk_rows=16, progress=lambda name, n: seen.append(n)))
    assert seen == [16, 32, 48, 64, 80, 96, 100]
    expected = 100 - pd.read_csv(path).duplicated().sum()
    assert report.rows_kept == expected and report.files[0].dropped["duplicate_row"].count == 100 - expected


def test_optional_date_column_without_dates_is_skipped_with_a_warning(store_url, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("user_id,signup_date,region\n1,ask later,UK\n2,unknown,FR\n")
    report = ingest_into_store(store_url, [Upload(Source("users", path))])
    assert report.accepted and report.rows_kept == 2
    assert any("'signup_date' does not hold dates" in w and "line 2" in w for w in report.files[0].warnings)
    with session_scope(store_url) as s:
        assert {(u.external_id, u.region, u.signup_date) for u in s.query(User)} == {("1", "UK", None),
                                                                                    ("2", "FR", None)}


def test_excel_style_export_crlf_bom_semicolon_day_first(store_url, tmp_path):
    """What a European Excel 'CSV UTF-8' export looks like: BOM, CRLF, ';', d/m/Y times, decimal prices."""
    text = ("Kunde;Artikel;Aktion;Datum;Preis\r\n"
            "k1;a1;view;31/01/2024 17:45;\r\n"
            "k1;a1;purchase;31/01/2024 17:50;12.5\r\n"
            "k2;a2;cart;01/02/2024 09:00;3\r\n")
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    mapping = guess_mapping("events", ["Kunde", "Artikel", "Aktion", "Datum", "Preis"]).with_overrides(
        {"Kunde": "user_id", "Artikel": "item_id", "Aktion": "action_type", "Datum": "timestamp", "Preis": "price"})
    report = ingest_into_store(store_url, [Upload(Source("events", path), mapping)])
    assert report.accepted, report.error
    f = report.files[0]
    assert (f.encoding, f.separator, f.timestamp_format) == ("utf-8-sig", "semicolon", "%d/%m/%Y %H:%M")
    with session_scope(store_url) as s:
        got = sorted((e.action, str(e.ts), e.price) for e in s.query(Event))
    assert got == [("cart", "2024-02-01 09:00:00", 3.0), ("purchase", "2024-01-31 17:50:00", 12.5),
                   ("view", "2024-01-31 17:45:00", None)]
