"""Browser test: Debian's Chromium (Playwright) drives `streamlit run app.py` to upload the demo shop's three CSVs.

Open the app, go to Upload data, upload events/items/users, check the guessed mapping, ingest, see the report;
then check the store really holds the rows.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


@contextmanager
def streamlit_app(store_url: str, tmp_path: Path, **env: str):
    """`streamlit run app.py` on `store_url` (extra environment in `env`) on a free port; yields its URL."""
    port = _free_port()
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "RECOLM_DATABASE_URL": store_url, **env}, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def app_server(store_url: str, tmp_path: Path):
    """`streamlit run` on a store that already holds one user, so the app skips building the demo shop."""
    from core.ingest import Source, Upload, ingest_into_store

    seed = tmp_path / "seed.csv"
    seed.write_text("user_id,region\nseed-user,Nowhere\n")
    assert ingest_into_store(store_url, [Upload(Source("users", seed))]).accepted
    with streamlit_app(store_url, tmp_path) as url:
        yield url


def _selectbox_shows(page, label: str) -> str:
    """What a selectbox displays (Streamlit 1.67 keeps the chosen option in an input's value)."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    values = [box.inner_text()]
    inputs = box.locator("input")
    values += [inputs.nth(i).input_value() for i in range(inputs.count())]
    return " ".join(values)


@contextmanager
def _chromium_page(height: int = 3000, **page_options):
    """A tall page in Debian's headless Chromium (a tall viewport: full-page shots cut Streamlit's inner scroll).

    `page_options` go to Playwright's new_page (e.g. locale="zh-CN" for the browser's language).
    """
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; CI installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": height}, **page_options)
            page.set_default_timeout(90_000)
            yield page
        finally:
            browser.close()


@pytest.fixture
def browser_page(app_server: str):
    """A Chromium page on the app's Upload data page."""
    with _chromium_page() as page:
        page.goto(app_server)
        page.get_by_role("link", name="Upload data").click()
        page.get_by_role("heading", name="Upload data").wait_for()
        yield page


def _ingest_and_wait(page, shots: Path, name: str) -> list[str]:
    """Click Ingest, wait for the fresh report, screenshot it; the metrics' texts."""
    page.get_by_role("button", name="Ingest").click()
    try:
        page.get_by_role("heading", name="Validation report").wait_for(timeout=300_000)
        page.locator("p:visible", has_text="Upload accepted").first.wait_for()
    except Exception:
        page.screenshot(path=str(shots / f"{name}_failed.png"), full_page=True)
        raise
    page.screenshot(path=str(shots / f"{name}_report.png"), full_page=True)
    return page.locator('[data-testid="stMetric"]').all_inner_texts()


def test_upload_three_demo_csvs_in_the_browser(browser_page, store_url: str, tmp_path: Path):
    from core.demo import write_demo_csvs

    page = browser_page
    files = write_demo_csvs(tmp_path / "csv", seed=3, n_users=150, n_items=80)
    frames = {k: pd.read_csv(p, dtype=str) for k, p in files.items()}
    shots = Path(os.environ.get("RECOLM_SCREENSHOTS", tmp_path))
    uploaders = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploaders.nth(0).wait_for(state="attached")
    assert uploaders.count() == 3
    for n, kind in enumerate(("events", "items", "users")):
        uploaders.nth(n).set_input_files(str(files[kind]))
        page.get_by_text(f"{files[kind].name}: utf-8, comma separated").first.wait_for()
    # The guessed mapping is shown as editable selectboxes, pre-filled with the shop's column names.
    assert "event_type" in _selectbox_shows(page, "action_type")
    assert "city" in _selectbox_shows(page, "region")
    page.screenshot(path=str(shots / "upload_mapping.png"), full_page=True)
    report_text = _ingest_and_wait(page, shots, "upload")

    n_rows = sum(len(f) for f in frames.values())
    assert any("Rows read" in t and f"{n_rows:,}" in t for t in report_text), report_text
    from db.engine import session_scope
    from db.shop_read import store_counts

    with session_scope(store_url) as s:
        counts = store_counts(s)
    assert counts.events == len(frames["events"].drop_duplicates())
    assert counts.items == len(frames["items"])
    assert counts.users == len(frames["users"]) + 1  # plus the seed user


def test_online_retail_through_the_page(browser_page, tmp_path: Path):
    from tests.conftest import shared_path

    path = shared_path("uci_online_retail", "onlineretail.csv.gz")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    with_customer = raw[raw["CustomerID"].notna()]
    dropped = int(raw["CustomerID"].isna().sum() + with_customer.duplicated().sum())
    page = browser_page
    shots = Path(os.environ.get("RECOLM_SCREENSHOTS", tmp_path))
    page.get_by_text("A transactions export").click()
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    page.get_by_text("transactions CSV", exact=True).wait_for()
    uploader.first.set_input_files(str(path))
    page.get_by_text("onlineretail.csv.gz: utf-8, comma separated, 8 columns").wait_for()
    for field, column in (("user_id", "CustomerID"), ("item_id", "StockCode"), ("timestamp", "InvoiceDate"),
                          ("title", "Description"), ("region", "Country"), ("invoice", "InvoiceNo")):
        assert column in _selectbox_shows(page, field), field
    report_text = _ingest_and_wait(page, shots, "retail")
    assert any("Rows read" in t and "541,909" in t for t in report_text), report_text
    assert any("Rows dropped" in t and f"{dropped:,}" in t for t in report_text), report_text
    page.get_by_text("missing_user_id").first.wait_for(state="attached")  # a cell of the canvas-drawn table
    page.get_by_text("cancellation").first.wait_for(state="attached")


def test_deep_link_opens_the_page_inside_the_app_navigation(app_server: str):
    """A bookmarked /recommendations as the process's first request still gets app.py's sidebar and page config."""
    with _chromium_page(height=2000) as page:
        page.goto(f"{app_server}/recommendations")
        page.get_by_role("heading", name="Recommendations").wait_for()
        page.get_by_role("link", name="Overview").wait_for()
        assert page.title() == "RecoLM"
        sidebar = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "common" not in sidebar and "Coupons" in sidebar, sidebar
