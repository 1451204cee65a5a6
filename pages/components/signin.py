"""Dashboard sign-in: the gate app.py calls, the sign-in form, and who is acting (for the audit log).

Sign-in is on with RECOLM_AUTH=on or when the dashboard listens on a non-loopback address; otherwise the one
local user acts as an admin and nothing is asked (`make run` stays one command).
"""

from __future__ import annotations

import streamlit as st

from core.auth.accounts import LOCAL, SignedIn, authenticate, sign_in_required
from db.accounts import count_accounts
from pages.common import accounts_session
from pages.components.language import _

_KEY = "_signed_in"


def required() -> bool:
    return sign_in_required(st.get_option("server.address"))


def signed_in_user() -> SignedIn | None:
    """Who uses this browser session: LOCAL when sign-in is off, None when it is on and nobody signed in yet."""
    if not required():
        return LOCAL
    return st.session_state.get(_KEY)


def current() -> SignedIn:
    """For pages: the signed-in user (app.py's gate guarantees one when sign-in is on)."""
    user = signed_in_user()
    if user is None:
        st.error(_("Please sign in first."))
        st.stop()
    return user


def actor() -> str:
    return current().username


def sign_in_page() -> None:
    st.title(_("Sign in to RecoLM"))
    with accounts_session() as session:
        n_users = count_accounts(session)
    if n_users == 0:
        st.error(_("Sign-in is on, but no dashboard user exists yet. Create one in a terminal: "
                 "`python -m core user add NAME --role admin`."))
        return
    with st.form("sign_in"):
        username = st.text_input(_("User name"), key="signin_user")
        password = st.text_input(_("Password"), type="password", key="signin_password")
        submitted = st.form_submit_button(_("Sign in"), type="primary")
    if submitted:
        with accounts_session() as session:
            user = authenticate(session, username, password)
        if user is None:
            st.error(_("Wrong user name or password (or the account is disabled)."))
        else:
            st.session_state[_KEY] = user
            st.rerun()


def sidebar(user: SignedIn) -> None:
    """Who is signed in, and a way out (only when sign-in is on)."""
    if not required():
        return
    with st.sidebar:
        st.caption(_("Signed in as **{username}** ({role})").format(username=user.username, role=user.role))
        if st.button(_("Sign out"), key="sign_out"):
            st.session_state.pop(_KEY, None)
            st.rerun()
