"""Shops in the dashboard: the sidebar switcher, the upload page's new-shop path, the Overview and removal."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from db import shops
from db.engine import session_scope
from db.shop_read import store_counts
from pages.components import shop as shop_component
from tests.conftest import ROOT

APP = ROOT / "app.py"
SAMPLE = ("CustomerID,StockCode,Description,InvoiceDate,Quantity,UnitPrice,InvoiceNo\n"
          "17850,85123A,WHITE HANGING HEART,2010-12-01 08:26,6,2.55,536365\n"
          "17850,71053,WHITE METAL LANTERN,2010-12-01 08:26,6,3.39,536365\n"
          "13047,84406B,CREAM CUPID HEARTS,2010-12-02 09:02,8,2.75,536367\n")


@pytest.fixture(autouse=True)
def _reruns_go_through_app_py(app_navigation):
    """Every rerun goes through app.py's navigation and sidebar, as in the browser (conftest.app_navigation)."""


def _app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["_demo_checked"] = True
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def _switcher(at: AppTest):
    (box,) = [b for b in at.sidebar.selectbox if b.key == shop_component.KEY]
    return box


def _text(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "success") for e in getattr(at, kind))


def test_switcher_lists_the_shops_and_every_page_follows_it(demo_store):
    mine = shops.create_shop("上海网店")
    at = _app()
    assert not at.exception
    box = _switcher(at)
    assert box.label == "Shop" and box.options == ["Demo shop", "上海网店"] and box.value == "demo"
    assert at.query_params["shop"] == "demo" and "demo shop" in _text(at)
    box.set_value(mine.slug).run()
    assert not at.exception
    assert at.query_params["shop"] == mine.slug
    assert "上海网店" in _text(at) and "demo shop" not in _text(at)  # the empty new shop, not the demo
    at.switch_page("pages/data_profile.py").run()
    assert any("No data yet" in i.value for i in at.info)


def test_a_shop_link_opens_that_shop(demo_store):
    mine = shops.create_shop("Mine")
    at = _app({"shop": mine.slug})
    assert _switcher(at).value == mine.slug
    at = _app({"shop": "removed-long-ago"})
    assert _switcher(at).value == "demo"


def test_upload_on_the_demo_starts_a_new_shop_and_leaves_the_demo_unchanged(demo_store):
    with session_scope(demo_store) as s:
        demo_before = store_counts(s).as_dict()
    at = _app()
    at.switch_page("pages/data_upload.py").run()
    target = at.radio(key="upload_target")
    assert target.value == "Start a new shop" and target.options == ["Start a new shop", "Add to the demo shop"]
    at.radio[0].set_value(at.radio[0].options[1]).run()  # a transactions export
    at.text_input(key="new_shop_name").input("网店 Online Retail")
    at.get("file_uploader")[0].upload("onlineretail.csv", SAMPLE.encode(), "text/csv")
    at.run()
    assert not at.exception
    (ingest,) = [b for b in at.button if b.label == "Ingest"]
    ingest.click().run()
    assert not at.exception, at.exception
    new = shops.get_shop("网店 Online Retail")
    assert _switcher(at).value == new.slug and at.query_params["shop"] == new.slug
    assert any("Started the shop" in s.value for s in at.success)
    with session_scope(new.url) as s:
        counts = store_counts(s)
    assert (counts.users, counts.items, counts.purchases) == (2, 3, 3)
    with session_scope(demo_store) as s:
        assert store_counts(s).as_dict() == demo_before
    at.switch_page("pages/home.py").run()
    text = _text(at)
    assert "网店 Online Retail" in text and "2 customers, 3 items and 3 events" in text and "demo shop" not in text
    assert "Dec 1, 2010" in text and "Dec 2, 2010" in text


def test_removing_the_demo_needs_confirmation_and_leaves_the_other_shop(demo_store):
    mine = shops.create_shop("Mine")
    at = _app()
    at.switch_page("pages/data_upload.py").run()
    remove = at.button(key="remove_shop")
    assert remove.disabled
    at.checkbox(key="confirm_remove_shop").check().run()
    at.button(key="remove_shop").click().run()
    assert not at.exception
    assert [s.slug for s in shops.list_shops()] == [mine.slug]
    assert _switcher(at).value == mine.slug and _switcher(at).options == ["Mine"]
    at.switch_page("pages/data_upload.py").run()
    assert any("only shop" in c.value for c in at.caption)  # the last shop cannot go


def test_adding_to_the_demo_is_a_choice_and_keeps_the_funnel_honest(demo_store):
    """'Add to the demo shop' mixes the upload in; the Data profile then shows no rate above 100 %."""
    with session_scope(demo_store) as s:
        demo_users = store_counts(s).users
    many = "\n".join(f"X{k},P{k % 40},2011-05-{1 + k % 28:02d} 10:00,1,2.5,9{k:05d}" for k in range(1000))
    at = _app()
    at.switch_page("pages/data_upload.py").run()
    at.radio(key="upload_target").set_value("Add to the demo shop").run()
    assert not [t for t in at.text_input if t.key == "new_shop_name"]
    at.radio[0].set_value(at.radio[0].options[1]).run()
    header = "CustomerID,StockCode,InvoiceDate,Quantity,UnitPrice,InvoiceNo\n"
    at.get("file_uploader")[0].upload("buys.csv", (header + many + "\n").encode(), "text/csv")
    at.run()
    (ingest,) = [b for b in at.button if b.label == "Ingest"]
    ingest.click().run()
    assert not at.exception
    assert [s.slug for s in shops.list_shops()] == ["demo"]
    with session_scope(demo_store) as s:
        assert store_counts(s).users == demo_users + 1000
    at.switch_page("pages/data_profile.py").run()
    assert not at.exception
    rates = [m for m in at.metric if "per previous step" in m.label or m.label == "Viewers who bought"]
    assert len(rates) == 3
    for m in rates:
        assert float(m.value.rstrip("%")) <= 100, (m.label, m.value)
    assert any("buyers have purchases without the earlier steps" in c.value for c in at.caption)


def test_switcher_in_chinese_keeps_a_chinese_shop_name(demo_store):
    shops.create_shop("上海网店")
    at = _app({"lang": "zh"})
    box = _switcher(at)
    assert box.label == "店铺" and box.options == ["演示店铺", "上海网店"]


def test_a_rejected_upload_starts_no_shop(demo_store):
    with session_scope(demo_store) as s:
        demo_before = store_counts(s).as_dict()
    at = _app()
    at.switch_page("pages/data_upload.py").run()
    at.radio[0].set_value(at.radio[0].options[1]).run()
    bad = SAMPLE + "13047,22745,not a time,6,2.1,536368\n"
    at.get("file_uploader")[0].upload("bad.csv", bad.encode(), "text/csv")
    at.run()
    at.checkbox[0].check().run()  # reject the whole upload if any row would be dropped
    (ingest,) = [b for b in at.button if b.label == "Ingest"]
    ingest.click().run()
    assert not at.exception
    assert any("Upload rejected" in e.value for e in at.error)
    assert [s.slug for s in shops.list_shops()] == ["demo"] and _switcher(at).value == "demo"
    with session_scope(demo_store) as s:
        assert store_counts(s).as_dict() == demo_before
