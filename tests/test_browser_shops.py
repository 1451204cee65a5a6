"""Browser test: a marketer's own Online Retail sample goes into a new shop, not into the demo (issue 17.1).

Chromium drives `streamlit run app.py` on a store holding the demo shop: upload a sample of the UCI Online Retail
export on the Upload data page (the page offers "Start a new shop" first), then the Overview and the Data profile
show that shop only (its customers, its period, no funnel rates from data without views), and the sidebar's
switcher brings the untouched demo back. Reuses the Chromium launcher and app server of test_browser_upload.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import shared_path
from tests.test_browser_upload import _chromium_page, streamlit_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOP_NAME = "Online Retail 网店"


def _retail_sample(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """Every 500th line of the export with a customer: spread over the year, so the dates read month-first."""
    raw = pd.read_csv(shared_path("uci_online_retail", "onlineretail.csv.gz"), dtype=str)
    sample = raw[raw["CustomerID"].notna() & ~raw["InvoiceNo"].str.startswith("C")].iloc[::500]
    path = tmp_path / "onlineretail_sample.csv"
    sample.to_csv(path, index=False)
    return path, sample


def _choose(page, current_label: str, option: str) -> None:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text=current_label).first
    box.click()
    page.get_by_role("option", name=option).click()


def _go(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_an_upload_into_a_new_shop_leaves_the_demo_alone(demo_store: str, tmp_path: Path):
    from db import shops
    from db.engine import session_scope
    from db.shop_read import store_counts

    path, sample = _retail_sample(tmp_path)
    with session_scope(demo_store) as s:
        demo_before = store_counts(s).as_dict()
    shots = Path(os.environ.get("RECOLM_SCREENSHOTS", tmp_path))
    with streamlit_app(demo_store, tmp_path) as url, _chromium_page() as page:
        page.goto(url)
        page.get_by_text("You are exploring the demo shop").wait_for()
        _go(page, "Upload data")
        page.get_by_role("heading", name="Upload data").wait_for()
        page.get_by_text("A transactions export").click()
        page.get_by_text("transactions CSV", exact=True).wait_for()
        page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(path))
        page.get_by_text(f"{path.name}: utf-8, comma separated, 8 columns").wait_for()
        page.get_by_label("Name of the new shop").fill(SHOP_NAME)
        page.get_by_label("Name of the new shop").press("Enter")
        page.get_by_role("button", name="Ingest").click()
        try:
            page.get_by_text(f"Started the shop {SHOP_NAME}").wait_for(timeout=300_000)
        except Exception:
            page.screenshot(path=str(shots / "shops_failed.png"), full_page=True)
            raise
        shop = shops.get_shop(SHOP_NAME)
        assert f"shop={shop.slug}" in page.url

        _go(page, "Overview")
        page.get_by_text("You are working on the shop").wait_for()
        text = _main_text(page)
        customers = sample["CustomerID"].nunique()
        assert SHOP_NAME in text and f"{customers:,} customers" in text, text
        assert "demo shop" not in text and "from Dec" in text and "2011" in text, text
        page.screenshot(path=str(shots / "shops_overview.png"), full_page=True)

        _go(page, "Data profile")
        page.get_by_text("The data holds no view / cart events").wait_for(timeout=120_000)
        text = _main_text(page)
        assert "From 2010-12" in text and "to 2011-" in text, text  # the shop's own year, not the demo's 2026
        assert "per previous step" not in text and "Viewers who bought" not in text
        page.screenshot(path=str(shots / "shops_profile.png"), full_page=True)

        _choose(page, "Shop", "Demo shop")
        _go(page, "Overview")
        page.get_by_text("You are exploring the demo shop").wait_for()
    with session_scope(shop.url) as s:
        assert store_counts(s).users == customers
    with session_scope(demo_store) as s:
        assert store_counts(s).as_dict() == demo_before
