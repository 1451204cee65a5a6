"""RecoLM dashboard entry point: `streamlit run app.py`. Navigation only; each page lives in pages/."""

from __future__ import annotations

import streamlit as st

from pages.common import store_session

st.set_page_config(page_title="RecoLM", page_icon="🛍️", layout="wide")


def _ensure_demo() -> None:
    """First start on an empty store: load the demo shop so the dashboard is never blank."""
    from core.demo import load_demo_if_empty

    if st.session_state.get("_demo_checked"):
        return
    with store_session() as session:
        with st.spinner("First start: building the demo shop (about half a minute)…"):
            load_demo_if_empty(session)
    st.session_state["_demo_checked"] = True


_ensure_demo()

pages = {
    "Shop data": [
        st.Page("pages/home.py", title="Overview", icon="🏠", default=True),
        st.Page("pages/data_upload.py", title="Upload data", icon="📤"),
        st.Page("pages/data_profile.py", title="Data profile", icon="📊"),
    ],
    "Models": [
        st.Page("pages/training.py", title="Training & registry", icon="🧠"),
        st.Page("pages/evaluation.py", title="Evaluation", icon="📏"),
        st.Page("pages/recommendations.py", title="Recommendations", icon="🎯"),
    ],
    "Campaigns": [
        st.Page("pages/experiments.py", title="A/B tests", icon="🧪"),
        st.Page("pages/campaigns.py", title="Coupons", icon="🎟️"),
    ],
}
st.navigation(pages).run()
