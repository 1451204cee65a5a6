"""Browser tests: the dashboard's language follows the browser on a first visit, switches from the sidebar and is
remembered (cookie) for the next visit; every page in Chinese shows no English left. Reuses the Chromium launcher
and app server of test_browser_upload."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_browser_upload import _chromium_page, _free_port, _wait_healthy, app_server  # noqa: F401

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


# ---- every page in Chinese, no English left -----------------------------------------------------------------------

# Latin words that are names, not English: technical names, units, formats, our product, model kinds (added below).
NOT_ENGLISH = {
    "RecoLM", "EASE", "LM", "NDCG", "HR", "MRR", "CSV", "JSON", "GBK", "UTF", "GB", "CUPED", "SRM", "Qini", "MiniLM",
    "mSPRT", "Wald", "Welch", "Beta", "Binomial", "ID", "Adam", "Transformer", "Dropout", "GPT", "kNN", "MMR", "UTC",
    "Bonferroni", "Dunnett", "Cochran", "Vlog", "bootstrap", "zip", "gz", "csv", "unix", "seconds", "txt", "tsv",
    "all", "multilingual", "small", "e5", "MB", "Hugging", "Face", "Qwen", "statsmodels", "API", "REST",
    # lower-case ids of methods and metrics: holm/bonferroni corrections, t_/x_learner, ndcg@10, hr@10
    "holm", "bonferroni", "dunnett", "learner", "ndcg", "hr", "mrr",
}
# Streamlit's own chrome and widgets whose text is the data or Streamlit's, not ours.
CHROME = ['[data-testid="stToolbar"]', '[data-testid="stStatusWidget"]', '[data-testid="stDecoration"]',
          '[data-testid="stDataFrame"]', '[data-testid="stCode"]', "code", "pre", ".js-plotly-plot .modebar",
          '[data-testid="stSidebarCollapseButton"]', '[data-testid="stMainMenu"]', '[data-testid="stHeader"]',
          '[data-testid="stIconMaterial"]', '[data-testid="stJson"]',
          '[data-testid^="stExpanderIcon"]']  # st.status's done/error/spinner glyph (a ligature such as "check")
# Streamlit's own accessibility link (not ours; Streamlit has no setting for its language).
STREAMLIT_TEXTS = {"Skip to main content"}
_VISIBLE_TEXT_JS = """(skip) => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim() || ['SCRIPT', 'STYLE'].includes(el.tagName)) continue;
    if (el.closest('[class*="material-symbols"], [class*="material-icons"]')) continue;
    if (skip.some(sel => el.closest(sel))) continue;
    if (!el.getClientRects().length) continue;
    if (getComputedStyle(el).fontSize === '0px') continue;  // sized away: its ::after text is shown instead
    out.push(node.textContent.trim());
  }
  // Text drawn by CSS (the file uploader's button and limit, see language.file_uploader_chrome).
  document.querySelectorAll('body *').forEach(el => {
    if (skip.some(sel => el.closest(sel)) || !el.getClientRects().length) return;
    const content = getComputedStyle(el, '::after').content;
    if (content && content.startsWith('"')) out.push(JSON.parse(content));
  });
  // Placeholders show only while the field is empty.
  document.querySelectorAll('input[placeholder], textarea[placeholder]').forEach(i => {
    if (i.getClientRects().length && i.placeholder && !i.value) out.push(i.placeholder);
  });
  return out;
}"""
WORD = re.compile(r"[A-Za-z]{2,}")
# Buttons pressed on a page (by their Chinese names) so that what they show is checked as well.
ACTIONS = {"campaigns": ("生成活动方案",), "evaluation": ("运行评估",)}


@pytest.fixture
def zh_demo_server(store_url: str, tmp_path: Path):
    """`streamlit run` on the Chinese demo shop (models fitted, no background LM job); the Latin words its data holds."""
    from core.demo import build_demo, generate_shop
    from core.interactions import from_store
    from db.engine import session_scope

    with session_scope(store_url) as session:
        build_demo(session, seed=7, n_users=400, n_items=150, lang="zh", queue_lm=False)
    with session_scope(store_url) as session:
        data = from_store(session)
    arms = set(generate_shop(seed=7, n_users=400, n_items=150, lang="zh").exposures["variant"])  # the demo's arm ids
    words = arms | {w for t in [*data.item_texts(), *data.users["region"].dropna().astype(str)] for w in WORD.findall(t)}
    port = _free_port()
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "RECOLM_DATABASE_URL": store_url, "RECOLM_FIRST_START_LM": "0"}, stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, words
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _english_left(texts: list[str], allowed: set[str]) -> list[str]:
    left = []
    for text in texts:
        if text in STREAMLIT_TEXTS:
            continue
        words = [w for w in WORD.findall(text) if w not in allowed and w.lower() not in allowed]
        if words:
            left.append(f"{text[:120]!r}: {' '.join(words)}")
    return left


def _settle(page) -> None:
    """Wait until the script run that a load or a click started is over (Streamlit marks it on the app root)."""
    page.wait_for_timeout(700)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=240_000)
    page.wait_for_timeout(500)


def test_every_page_in_chinese_shows_no_english(zh_demo_server):
    from core.models import MODEL_KINDS

    url, data_words = zh_demo_server
    allowed = NOT_ENGLISH | set(MODEL_KINDS) | data_words
    pages = re.findall(r'st\.Page\(\s*"pages/(\w+)\.py"', (ROOT / "app.py").read_text())
    assert len(pages) >= 8
    found: dict[str, list[str]] = {}
    with _chromium_page(height=2400, locale="zh-CN") as page:
        page.goto(url)
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_role("link", name="概览").wait_for()
        for name in pages:
            page.goto(f"{url}/{'' if name == 'home' else name}?lang=zh")
            nav.get_by_role("link", name="概览").wait_for()
            _settle(page)
            for summary in page.locator('[data-testid="stExpander"] summary').all():
                summary.click()
            texts = page.evaluate(_VISIBLE_TEXT_JS, CHROME)
            for tab in page.get_by_role("tab").all()[1:]:
                tab.click()
                _settle(page)
                texts += page.evaluate(_VISIBLE_TEXT_JS, CHROME)
            # The pages' main actions, so their results are read too.
            for button in ACTIONS.get(name, ()):
                page.get_by_role("button", name=button).first.click()
                _settle(page)
                for summary in page.locator('[data-testid="stExpander"] summary').all():
                    if summary.get_attribute("aria-expanded") != "true":
                        summary.click()
                texts += page.evaluate(_VISIBLE_TEXT_JS, CHROME)
            assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts), f"{name}: no Chinese at all"
            if left := sorted(set(_english_left(texts, allowed))):
                found[name] = left
    assert not found, "English left on the Chinese pages:\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(lines) for name, lines in found.items())
