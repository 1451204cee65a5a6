"""RecoLM dashboard entry point: `streamlit run app.py`. Navigation only; each page lives in pages/."""

from __future__ import annotations

import threading

import streamlit as st

from pages.common import store_session
from pages.components.language import _, current_lang, language_selector
from pages.components.progress import run_with_progress
from pages.components.shop import shop_selector
from pages.components.signin import sidebar, sign_in_page, signed_in_user

st.set_page_config(page_title="RecoLM", page_icon=":material/storefront:", layout="wide")


@st.cache_resource(show_spinner=False)
def _demo_lock() -> threading.Lock:
    return threading.Lock()


def _ensure_demo(on_demo_shop: bool) -> None:
    """First start on an empty store: load the demo shop (in the first visitor's language) so the dashboard is never blank.

    Only the demo shop is filled: a shop started for the user's own data stays theirs. One build per process:
    browser tabs opened meanwhile wait for it instead of building a second shop. The build shows its elapsed
    seconds against the measured expected time.
    """
    from core.demo import EXPECTED_BUILD_SECONDS, load_demo_if_empty
    from db.shop_read import is_empty

    if st.session_state.get("_demo_checked") or not on_demo_shop:
        return
    with store_session() as session:
        empty = is_empty(session)
    if empty:
        lang = current_lang()

        def build() -> None:
            with _demo_lock(), store_session() as session:
                load_demo_if_empty(session, lang=lang)

        run_with_progress(build, _("First start: building the demo shop (about {seconds} seconds)…").format(
            seconds=EXPECTED_BUILD_SECONDS), expected_s=EXPECTED_BUILD_SECONDS)
    st.session_state["_demo_checked"] = True


language_selector()
shop = shop_selector()
pages = {
    _("Shop data"): [
        st.Page("pages/home.py", title=_("Overview"), icon=":material/home:", default=True),
        st.Page("pages/data_upload.py", title=_("Upload data"), icon=":material/upload_file:"),
        st.Page("pages/data_profile.py", title=_("Data profile"), icon=":material/bar_chart:"),
    ],
    _("Models"): [
        st.Page("pages/training.py", title=_("Training & registry"), icon=":material/model_training:"),
        st.Page("pages/evaluation.py", title=_("Evaluation"), icon=":material/rule:"),
        st.Page("pages/recommendations.py", title=_("Recommendations"), icon=":material/recommend:"),
    ],
    _("Campaigns"): [
        st.Page("pages/experiments.py", title=_("A/B tests"), icon=":material/science:"),
        st.Page("pages/campaigns.py", title=_("Coupons"), icon=":material/sell:"),
    ],
}
# Sign-in (RECOLM_AUTH=on or a non-loopback bind): until someone signs in, the sign-in form is the only page.
user = signed_in_user()
if user is None:
    st.navigation([st.Page(sign_in_page, title=_("Sign in"), icon=":material/login:")]).run()
    st.stop()
if user.can("keys"):
    pages[_("Admin")] = [st.Page("pages/admin.py", title=_("Keys, users & audit"), icon=":material/admin_panel_settings:")]
sidebar(user)
# Navigation first, so the sidebar is ours (not the raw pages/ folder) even while the demo builds.
page = st.navigation(pages)
_ensure_demo(shop.is_demo)
page.run()
