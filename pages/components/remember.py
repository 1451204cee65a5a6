"""A sidebar choice kept per browser: in the URL (navigation clears query parameters) and a one-year cookie.

The language and the shop switchers both use it, so a link carries the choice and the next visit starts with it.
"""

from __future__ import annotations

import streamlit as st

COOKIE_MAX_AGE_S = 365 * 24 * 3600


def remember(param: str, cookie: str, value: str) -> None:
    """Put `value` into `?param=` and the cookie `cookie` (once per session, unless the browser already has it)."""
    if st.query_params.get(param) != value:
        st.query_params[param] = value
    current = st.context.cookies.get(cookie)
    sent = f"_cookie_sent:{cookie}"
    if (not isinstance(current, str) or current != value) and st.session_state.get(sent) != value:
        st.html(
            f"<script>document.cookie = '{cookie}={value}; path=/; max-age={COOKIE_MAX_AGE_S}; SameSite=Lax';</script>",
            unsafe_allow_javascript=True,
        )
        st.session_state[sent] = value
