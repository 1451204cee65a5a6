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


@pytest.fixture
def app_server(store_url: str, tmp_path: Path):
    """`streamlit run` on a store that already holds one user, so the app skips building the demo shop."""
    from core.ingest import Source, Upload, ingest_into_store

    seed = tmp_path / "seed.csv"
    seed.write_text("user_id,region\nseed-user,Nowhere\n")
    assert ingest_into_store(store_url, [Upload(Source("users", seed))]).accepted
    port = _free_port()
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "RECOLM_DATABASE_URL": store_url}, stdout=log, stderr=subprocess.STDOUT,
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


def _selectbox_shows(page, label: str) -> str:
    """What a selectbox displays (Streamlit 1.67 keeps the chosen option in an input's value)."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    values = [box.inner_text()]
    inputs = box.locator("input")
    values += [inputs.nth(i).input_value() for i in range(inputs.count())]
    return " ".join(values)


def test_upload_three_demo_csvs_in_the_browser(app_server: str, store_url: str, tmp_path: Path):
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; CI installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    from core.demo import write_demo_csvs

    files = write_demo_csvs(tmp_path / "csv", seed=3, n_users=150, n_items=80)
    frames = {k: pd.read_csv(p, dtype=str) for k, p in files.items()}
    shots = Path(os.environ.get("RECOLM_SCREENSHOTS", tmp_path))
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 3000})
            page.set_default_timeout(90_000)
            page.goto(app_server)
            page.get_by_role("link", name="Upload data").click()
            page.get_by_role("heading", name="Upload data").wait_for()
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
            page.get_by_role("button", name="Ingest").click()
            try:
                page.get_by_role("heading", name="Validation report").wait_for(timeout=180_000)
                page.locator("p:visible", has_text="Upload accepted").first.wait_for()
            except Exception:
                page.screenshot(path=str(shots / "upload_failed.png"), full_page=True)
                raise
            report_text = page.locator('[data-testid="stMetric"]').all_inner_texts()
            page.screenshot(path=str(shots / "upload_report.png"), full_page=True)
        finally:
            browser.close()

    n_rows = sum(len(f) for f in frames.values())
    assert any("Rows read" in t and f"{n_rows:,}" in t for t in report_text), report_text
    from db.engine import session_scope
    from db.shop_read import store_counts

    with session_scope(store_url) as s:
        counts = store_counts(s)
    assert counts.events == len(frames["events"].drop_duplicates())
    assert counts.items == len(frames["items"])
    assert counts.users == len(frames["users"]) + 1  # plus the seed user
