"""Browser test: what the pages say after a marketer's first hour (issue 17, points 2, 3 and 6), in Chromium.

A store holding the demo shop and a second shop with a sample of the real UCI Online Retail export (2010-2011,
purchases only). On the uploaded shop the Coupons page does not claim causal targeting (that shop ran no
campaign) and ranks by propensity, labelled as such; on the demo the Training page labels every registry figure
with the split it was measured on; the A/B page's clean-up counts add up.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import shared_path
from tests.test_browser_shops import _main_text
from tests.test_browser_upload import _chromium_page, streamlit_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _retail_sample(tmp_path: Path) -> Path:
    """Every 40th purchase line of the export with a customer: enough buyers (~2k) to learn who is likely to buy."""
    import pandas as pd

    raw = pd.read_csv(shared_path("uci_online_retail", "onlineretail.csv.gz"), dtype=str)
    path = tmp_path / "onlineretail_sample.csv"
    raw[raw["CustomerID"].notna() & ~raw["InvoiceNo"].str.startswith("C")].iloc[::40].to_csv(path, index=False)
    return path


def _open(page, url: str, path: str, shop: str, heading: str) -> None:
    page.goto(f"{url}/{path}?shop={shop}")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=120_000)


def test_coupons_registry_and_ab_clean_up_say_only_what_they_know(demo_store: str, tmp_path: Path):
    from core.ingest import IngestOptions, Source, Upload, ingest_into_store
    from db import shops

    path = _retail_sample(tmp_path)
    retail = shops.create_shop("Online Retail")
    report = ingest_into_store(retail.url, [Upload(Source("transactions", path))], IngestOptions())
    assert report.accepted, report.error
    with streamlit_app(demo_store, tmp_path) as url, _chromium_page() as page:
        # 17.2: the uploaded shop ran no randomised campaign, so nothing causal is claimed there.
        _open(page, url, "campaigns", retail.slug, "Coupons")
        page.get_by_role("button", name="Plan campaign").click()
        page.get_by_text("No past randomised campaign in this shop").first.wait_for(timeout=300_000)
        text = _main_text(page)
        assert "Causal targeting" not in text, text
        assert "not causal" in text and "Targeted" in text, text
        assert not re.search(r"propensity 0 %", text)

        # 17.3: registry figures name the split they were measured on.
        _open(page, url, "training", "demo", "Training & model registry")
        page.get_by_text("Measured on:").first.wait_for(timeout=120_000)

        # 17.6: the A/B clean-up says what was dropped and what was kept, and the counts add up.
        _open(page, url, "experiments", "demo", "A/B tests")
        line = page.get_by_text(re.compile(r"Dropped [\d,]+ of [\d,]+ users")).first
        line.wait_for(timeout=180_000)
        m = re.search(r"Dropped ([\d,]+) of ([\d,]+) users \(([\d,]+) rows\); kept ([\d,]+) users", line.inner_text())
        assert m, line.inner_text()
        lost, users, _rows, kept = (int(g.replace(",", "")) for g in m.groups())
        assert lost + kept == users and users > 0


def test_evaluation_runs_in_the_background_with_its_steps_and_ends_in_a_plain_sentence(demo_store: str,
                                                                                         tmp_path: Path):
    """17.4 and 17.7: the page stays usable while the evaluation runs (its step and time are shown), the result
    ends with which model to use, and each metric chart has its plain meaning beside it."""
    with streamlit_app(demo_store, tmp_path) as url, _chromium_page() as page:
        _open(page, url, "evaluation", "demo", "Evaluation")
        page.get_by_role("button", name="Run evaluation").click()
        page.get_by_text(re.compile(r"Step \d+ of \d+: ")).first.wait_for(timeout=120_000)
        # the page is not blocked meanwhile: another page opens and comes back to the running job
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Data profile").click()
        page.get_by_role("heading", name="Data profile").first.wait_for(timeout=120_000)
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Evaluation").click()
        page.get_by_role("heading", name=re.compile(r"Which model to use")).wait_for(timeout=600_000)
        text = _main_text(page)
        assert re.search(r"(Use \w+: NDCG@10 [\d.]+ vs [\d.]+|No clear winner)", text), text
        assert "95 % CI" in text, text
        assert "Hit rate (HR): share of customers whose next real purchase is anywhere in the list." in text, text


def test_a_training_job_shows_its_start_up_stages_then_its_epochs(demo_store: str, tmp_path: Path):
    """17.5: the bar names each start-up stage (loading, encoding …) instead of an empty bar, then the epochs."""
    from core.training.jobs import list_job_views

    with streamlit_app(demo_store, tmp_path) as url, _chromium_page() as page:
        _open(page, url, "training", "demo", "Training & model registry")
        page.get_by_role("button", name="Start training").click()
        page.get_by_text(re.compile(r"— starting: .+ \(\d/\d\)")).first.wait_for(timeout=120_000)
        page.get_by_text(re.compile(r"— training, epoch [\d.]+ of at most \d+")).first.wait_for(timeout=300_000)
        page.get_by_role("button", name="Cancel training").click()
        page.get_by_text("Cancellation requested").first.wait_for(timeout=60_000)
    statuses = [j.status for j in list_job_views(demo_store)]
    assert statuses and statuses[0] in {"cancelled", "training", "evaluating", "succeeded"}, statuses
