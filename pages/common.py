"""What every page shares: the cached store handle and a few rendering helpers. No SQL here."""

from __future__ import annotations

from contextlib import AbstractContextManager

import streamlit as st

from core.config import database_url
from db.engine import Session, open_store, session_scope


@st.cache_resource(show_spinner=False)
def _store(url: str):
    return open_store(url)


def store_session() -> AbstractContextManager[Session]:
    """One transaction against the app's store: committed on success, rolled back on error."""
    return session_scope(factory=_store(database_url()))


def db_url() -> str:
    return database_url()
