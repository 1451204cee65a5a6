"""RecoLM dashboard entry point: `streamlit run app.py`. Navigation only; each page lives in pages/."""

from __future__ import annotations

import threading

import streamlit as st

from pages.common import store_session
from pages.components.signin import sidebar, sign_in_page, signed_in_user

st.set_page_config(page_title="RecoLM", page_icon=":material/storefront:", layout="wide")


@st.cache_resource(show_spinner=False)
def _demo_lock() -> threading.Lock:
    return threading.Lock()


def _ensure_demo() -> None:
    """First start on an empty store: load the demo shop so the dashboard is never blank.

    One build per process: browser tabs opened meanwhile wait for it instead of building a second shop.
    """
    from core.demo import load_demo_if_empty

    if st.session_state.get("_demo_checked"):
        return
    with st.spinner("First start: building the demo shop (about half a minute)…"), _demo_lock():
        with store_session() as session:
            load_demo_if_empty(session)
    st.session_state["_demo_checked"] = True


pages = {
    "Shop data": [
        st.Page("pages/home.py", title="Overview", icon=":material/home:", default=True),
        st.Page("pages/data_upload.py", title="Upload data", icon=":material/upload_file:"),
        st.Page("pages/data_profile.py", title="Data profile", icon=":material/bar_chart:"),
    ],
    "Models": [
        st.Page("pages/training.py", title="Training & registry", icon=":material/model_training:"),
        st.Page("pages/evaluation.py", title="Evaluation", icon=":material/rule:"),
        st.Page("pages/recommendations.py", title="Recommendations", icon=":material/recommend:"),
    ],
    "Campaigns": [
        st.Page("pages/experiments.py", title="A/B tests", icon=":material/science:"),
        st.Page("pages/campaigns.py", title="Coupons", icon=":material/sell:"),
    ],
}
# Sign-in (RECOLM_AUTH=on or a non-loopback bind): until someone signs in, the sign-in form is the only page.
user = signed_in_user()
if user is None:
    st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/login:")]).run()
    st.stop()
if user.can("keys"):
    pages["Admin"] = [st.Page("pages/admin.py", title="Keys, users & audit", icon=":material/admin_panel_settings:")]
sidebar(user)
# Navigation first, so the sidebar is ours (not the raw pages/ folder) even while the demo builds.
page = st.navigation(pages)
_ensure_demo()
page.run()
