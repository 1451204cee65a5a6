"""Browser test: with RECOLM_AUTH=on the dashboard shows only a sign-in form; a wrong password is refused, the right
one opens the app; an admin sees the keys/users/audit page, a marketer does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_browser_upload import _chromium_page, streamlit_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def signed_app(store_url: str, tmp_path: Path):
    """`streamlit run app.py` with sign-in on, on a store holding one shop user (no demo build) and an admin."""
    from core.auth.accounts import add_user
    from core.ingest import Source, Upload, ingest_into_store
    from db.engine import session_scope

    seed = tmp_path / "seed.csv"
    seed.write_text("user_id,region\nseed-user,Nowhere\n")
    assert ingest_into_store(store_url, [Upload(Source("users", seed))]).accepted
    with session_scope(store_url) as session:
        add_user(session, "ana", "correct horse battery", "admin", actor="tests")
        add_user(session, "mia", "marketing is fun", "marketer", actor="tests")
    with streamlit_app(store_url, tmp_path, RECOLM_AUTH="on") as url:
        yield url


def _sign_in(page, user: str, password: str) -> None:
    # The sign-in form's own fields (by their widget keys): right after signing out, the admin page's "User name"
    # field (new accounts) can still be on the page until Streamlit's rerun is over.
    page.locator(".st-key-signin_user").get_by_role("textbox").fill(user)
    page.locator(".st-key-signin_password").get_by_role("textbox").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_gates_the_dashboard(signed_app: str, store_url: str, tmp_path: Path):
    shots = Path(os.environ.get("RECOLM_SCREENSHOTS", tmp_path))
    with _chromium_page(height=1600) as page:
        page.goto(f"{signed_app}/training")  # a deep link must not get past the gate
        page.get_by_role("heading", name="Sign in to RecoLM").wait_for()
        assert page.get_by_role("link", name="Training & registry").count() == 0
        _sign_in(page, "ana", "not the password")
        page.get_by_text("Wrong user name or password").wait_for()
        _sign_in(page, "ana", "correct horse battery")
        page.get_by_text("Signed in as").wait_for()
        page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Keys, users & audit").click()
        page.get_by_role("heading", name="API keys").wait_for()
        page.screenshot(path=str(shots / "signin_admin.png"), full_page=True)
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in to RecoLM").wait_for()
        page.get_by_role("heading", name="API keys").wait_for(state="detached")
        _sign_in(page, "mia", "marketing is fun")
        page.get_by_text("Signed in as").wait_for()
        nav = page.get_by_test_id("stSidebarNavItems")  # the home page links to pages too: ask the sidebar
        nav.get_by_role("link", name="A/B tests").wait_for()
        assert nav.get_by_role("link", name="Keys, users & audit").count() == 0  # marketers see no admin page
