"""Every page listed in app.py renders through the real navigation, on the demo store and on an empty store.

Pages run inside app.py (run, then AppTest.switch_page) so st.page_link and navigation behave as in the browser.
`_demo_checked` is preset so app.py does not load the demo into the empty store (one test checks that it does).
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = ROOT / "app.py"
PAGES = re.findall(r'st\.Page\(\s*"(pages/[\w/]+\.py)"', APP.read_text())


def run_page(page: str, load_demo_on_start: bool = False, timeout: float = 180) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if not load_demo_on_start:
        at.session_state["_demo_checked"] = True
    at.run()  # app.py first (AppTest resolves pages through st.navigation only after a run), then the page
    if at.exception or page == "pages/home.py":
        return at
    return at.switch_page(page).run()


def _store_is_empty(url: str) -> bool:
    from db.engine import session_scope
    from db.shop_read import is_empty

    with session_scope(url) as s:
        return is_empty(s)


def test_app_lists_every_page_file():
    files = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py") if p.stem not in ("__init__", "common")}
    assert len(PAGES) == 9  # eight pages plus the admin page (keys, users, audit)
    assert set(PAGES) == files


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_the_demo_store(page, demo_store):
    at = run_page(page)
    assert not at.exception, f"{page} raised: {[e.message for e in at.exception]}"
    assert len(at.title) + len(at.header) >= 1, f"{page} has no title"
    assert not at.error, f"{page} shows errors on the demo store: {[e.value for e in at.error]}"
    assert len(at.main.children) >= 2, f"{page} renders next to nothing"


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_an_empty_store(page, store_url):
    at = run_page(page)
    assert not at.exception, f"{page} raised on an empty store: {[e.message for e in at.exception]}"
    assert len(at.title) + len(at.header) >= 1, f"{page} has no title"
    assert _store_is_empty(store_url), f"{page} wrote shop data into an empty store unasked"


# ---- the pages this file's author owns: specific content ----------------------------------------------------------


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_home_on_the_demo_store_shows_status_active_model_and_links(demo_store):
    at = run_page("pages/home.py")
    assert at.title[0].value == "RecoLM"
    m = _metrics(at)
    assert m["Customers"] == "800" and m["Items"] == "400" and m["A/B tests"] == "1"
    assert int(m["Models"]) >= 1
    assert any("Active model" in s.value for s in at.success)
    assert any("demo shop" in c.value for c in at.caption)
    assert len(at.get("page_link")) == 7  # every other page
    assert not at.button  # no "load demo" on a filled store


def test_data_profile_on_the_demo_store_shows_numbers_and_charts(demo_store):
    from core.demo import generate_shop

    ev = generate_shop(seed=7, n_users=800, n_items=400).events
    at = run_page("pages/data_profile.py")
    m = _metrics(at)
    assert m["Customers"] == "800"
    assert m["Events"] == f"{len(ev):,}"
    assert m["Purchases"] == f"{(ev['action'] == 'purchase').sum():,}"
    assert m["Repeat-purchase rate"].endswith("%")
    subheaders = [h.value for h in at.subheader]
    for section in ("Activity over time", "Funnel: view → cart → purchase", "Best sellers", "Customers",
                    "Basket size"):
        assert section in subheaders
    assert len(at.get("plotly_chart")) >= 6
    assert len(at.dataframe) >= 2


def test_data_profile_on_an_empty_store_says_what_to_do(store_url):
    at = run_page("pages/data_profile.py")
    assert any("No data yet" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_home_on_an_empty_store_offers_the_demo_and_loads_it(store_url):
    at = run_page("pages/home.py")
    assert any("store is empty" in i.value for i in at.info)
    assert at.button(key="load_demo").label == "Load the demo shop"
    assert len(at.get("page_link")) == 1  # to the upload page
    at.button(key="load_demo").click().run()
    assert not at.exception
    assert _metrics(at)["Customers"] == "3,000"
    assert not _store_is_empty(store_url)


@pytest.mark.slow
def test_first_start_of_the_app_loads_the_demo_shop(store_url):
    """The embedded default: `streamlit run app.py` on an empty store opens on a filled Overview."""
    at = run_page("pages/home.py", load_demo_on_start=True)
    assert not at.exception
    assert _metrics(at)["Customers"] == "3,000"
    assert any("Active model" in s.value for s in at.success)
