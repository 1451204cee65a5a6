"""Admin: API keys (create, list, revoke), dashboard users, and the audit log of who changed what."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.auth.accounts import add_user
from core.auth.keys import create_key, revoke
from db.accounts import ROLES, list_accounts, set_disabled
from db.api_keys import list_keys
from db.audit import recent, record
from pages.common import accounts_session, store_session
from pages.components.language import _
from pages.components.signin import current

st.title(_("Keys, users & audit"))
user = current()
if not user.can("keys"):
    st.error(_("Only an admin can manage API keys and users."))
    st.stop()

# ---------------------------------------------------------------- API keys ----------------------------------
st.header(_("API keys"))
st.caption(_("Every /v1 call of the REST API (`python -m core serve`) needs `Authorization: Bearer KEY`. "
           "A key is shown once, when it is created; the store keeps only its hash."))
with st.form("new_key"):
    c1, c2 = st.columns([3, 1])
    name = c1.text_input(_("What will use the key"), placeholder=_("web shop"), key="key_name")
    rate = c2.number_input(_("Requests per minute (0 = server default)"), 0, 10_000_000, 0, key="key_rate")
    if st.form_submit_button(_("Create key"), type="primary"):
        try:
            with store_session() as session:
                new = create_key(session, name, int(rate) or None, actor=user.username)
            st.session_state["_new_key"] = (new.name, new.key)
        except ValueError as exc:
            st.error(str(exc))
if "_new_key" in st.session_state:
    key_name, key = st.session_state["_new_key"]
    st.success(_("Key for {key_name!r} created. Copy it now: it is not shown again.").format(key_name=key_name))
    st.code(key, language=None)
with store_session() as session:
    keys = [{"id": k.id, "prefix": k.prefix + "…", "name": k.name, "rate per minute": k.rate_per_minute,
             "created by": k.created_by, "created": k.created_at, "revoked": k.revoked_at} for k in list_keys(session)]
if keys:
    st.dataframe(pd.DataFrame(keys), hide_index=True, key="keys_table")
    active = {f"{k['prefix']} {k['name']} (id {k['id']})": k["id"] for k in keys if k["revoked"] is None}
    if active:
        c1, c2 = st.columns([3, 1])
        choice = c1.selectbox(_("Key to revoke"), list(active), key="revoke_choice")
        if c2.button(_("Revoke"), key="revoke_key"):
            with store_session() as session:
                revoke(session, active[choice], actor=user.username)
            st.session_state.pop("_new_key", None)
            st.toast(_("{choice} revoked; the API refuses it within a second").format(choice=choice))
            st.rerun()
else:
    st.info(_("No API key yet."))

# ---------------------------------------------------------------- users -------------------------------------
st.header(_("Dashboard users"))
st.caption(_("Used when sign-in is on (RECOLM_AUTH=on, or any non-loopback address). Admins manage keys, users and "
           "roll back models; marketers do everything else."))
with st.form("new_user"):
    c1, c2, c3 = st.columns([2, 2, 1])
    new_name = c1.text_input(_("User name"), key="user_name")
    new_password = c2.text_input(_("Password (8+ characters)"), type="password", key="user_password")
    role = c3.selectbox(_("Role"), ROLES, index=1, key="user_role")
    if st.form_submit_button(_("Add user")):
        try:
            with accounts_session() as session:
                add_user(session, new_name, new_password, role, actor=user.username)
            st.toast(_("user {new_name!r} added").format(new_name=new_name))
        except ValueError as exc:
            st.error(str(exc))
with accounts_session() as session:
    accounts = [{"user": a.username, "role": a.role, "disabled": a.disabled, "created": a.created_at}
                for a in list_accounts(session)]
if accounts:
    st.dataframe(pd.DataFrame(accounts), hide_index=True, key="users_table")
    enabled = [a["user"] for a in accounts if not a["disabled"] and a["user"] != user.username]
    if enabled:
        c1, c2 = st.columns([3, 1])
        who = c1.selectbox(_("User to disable"), enabled, key="disable_choice")
        if c2.button(_("Disable"), key="disable_user"):
            with accounts_session() as session:
                set_disabled(session, who, True)
                record(session, user.username, "disable_user", who)
            st.rerun()

# ---------------------------------------------------------------- audit -------------------------------------
st.header(_("Audit log"))
with store_session() as session:
    log = recent(session, 500)
if log.empty:
    st.info(_("Nothing recorded yet."))
else:
    st.dataframe(log, hide_index=True, key="audit_table")
