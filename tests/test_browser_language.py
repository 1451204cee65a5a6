"""Browser test: the dashboard's language follows the browser on a first visit, switches from the sidebar and is
remembered (cookie) for the next visit. Reuses the Chromium launcher and app server of test_browser_upload."""

from __future__ import annotations

import pytest

from tests.test_browser_upload import _chromium_page, app_server  # noqa: F401 - app_server is a fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _lang_cookie(page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "recolm_lang"), None)


def _choose(page, current_label: str, option: str) -> None:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text=current_label).first
    box.click()
    page.get_by_role("option", name=option).click()


def test_chinese_browser_gets_chinese_and_the_switch_is_remembered(app_server):  # noqa: F811
    with _chromium_page(height=1200, locale="zh-CN") as page:
        page.goto(app_server)
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_role("link", name="上传数据").wait_for()
        assert nav.get_by_role("link", name="Upload data").count() == 0
        page.wait_for_url("**lang=zh**")
        page.wait_for_function("document.cookie.includes('recolm_lang=zh')")

        _choose(page, "语言", "English")
        nav.get_by_role("link", name="Upload data").wait_for()
        page.wait_for_url("**lang=en**")
        page.wait_for_function("document.cookie.includes('recolm_lang=en')")
        # The choice survives page changes (navigation clears other query parameters).
        nav.get_by_role("link", name="Data profile").click()
        page.wait_for_url("**data_profile**")
        page.wait_for_url("**lang=en**")

        # A new visit (the bare address loaded afresh: a new session) in the same browser: the cookie beats
        # the browser's Chinese.
        page.goto(app_server)
        nav.get_by_role("link", name="Upload data").wait_for()
        assert nav.get_by_role("link", name="上传数据").count() == 0
        assert _lang_cookie(page) == "en"


def test_lang_link_opens_in_that_language(app_server):  # noqa: F811
    with _chromium_page(height=1200, locale="en-US") as page:
        page.goto(f"{app_server}/?lang=zh")
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="概览").wait_for()
        page.get_by_text("语言").first.wait_for()
