"""The sidebar language picker: follows the browser on a first visit, `?lang=` and the cookie after, translates navigation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from pages.components import language
from tests.conftest import ROOT

APP = ROOT / "app.py"


@pytest.fixture(autouse=True)
def _reruns_go_through_app_py(app_navigation):
    """Every rerun goes through app.py's navigation and sidebar, as in the browser (conftest.app_navigation)."""


def _app(locale: str | None = None, lang_param: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["_demo_checked"] = True  # an empty store stays empty: this is about the sidebar
    if locale:
        at.context["locale"] = locale
    if lang_param:
        at.query_params["lang"] = lang_param
    return at.run()


def _picker(at: AppTest):
    (box,) = [b for b in at.sidebar.selectbox if b.key == language.KEY]
    return box


def test_english_browser_gets_english_and_the_choice_goes_into_the_url(store_url):
    at = _app(locale="en-US")
    assert not at.exception
    box = _picker(at)
    assert box.value == "en" and box.label == "Language"
    assert box.options == ["English", "简体中文"]
    assert at.query_params["lang"] == "en"


def test_chinese_browser_gets_chinese_on_first_visit(store_url):
    at = _app(locale="zh-CN")
    box = _picker(at)
    assert box.value == "zh" and box.label == "语言"
    assert at.query_params["lang"] == "zh"


def test_lang_link_beats_the_browser_language(store_url):
    at = _app(locale="en-GB", lang_param="zh")
    assert _picker(at).value == "zh"
    at = _app(locale="zh-CN", lang_param="en")
    assert _picker(at).value == "en"


def test_switching_in_the_sidebar_translates_the_picker_and_updates_the_url(store_url):
    at = _app(locale="en-US")
    _picker(at).set_value("zh").run()
    assert not at.exception
    box = _picker(at)
    assert box.value == "zh" and box.label == "语言"
    assert at.query_params["lang"] == "zh"
    _picker(at).set_value("en").run()
    assert _picker(at).label == "Language" and at.query_params["lang"] == "en"


@pytest.mark.parametrize(
    ("param", "cookie", "locale", "expected"),
    [
        (None, None, "zh-TW", "zh"),
        (None, None, "de-DE", "en"),  # a language we do not have: English
        (None, None, None, "en"),
        (None, "zh", "en-US", "zh"),  # the cookie of an earlier visit beats the browser
        ("en", "zh", "zh-CN", "en"),  # a shared ?lang= link beats both
    ],
)
def test_initial_language_order_url_then_cookie_then_browser(monkeypatch, param, cookie, locale, expected):
    fake = SimpleNamespace(
        query_params={} if param is None else {"lang": param},
        context=SimpleNamespace(cookies={} if cookie is None else {language.COOKIE: cookie}, locale=locale),
    )
    monkeypatch.setattr(language, "st", fake)
    assert language.initial_lang() == expected
