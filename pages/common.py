"""What every page shares: the cached store handle and a few rendering helpers. No SQL here."""

from __future__ import annotations

from contextlib import AbstractContextManager

import streamlit as st

from core.config import database_url
from db.engine import Session, open_store, session_scope


def _leave_folder_navigation() -> None:
    """Make app.py's st.navigation the only navigation.

    Streamlit runs the first page request of a process in its old folder mode when a pages/ folder
    exists: a deep link such as /recommendations then runs the page alone (raw file names in the
    sidebar, no page config). The first page module to import this file switches that mode off and
    reruns, so app.py builds the navigation for every request.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_folder_navigation()


@st.cache_resource(show_spinner=False)
def _store(url: str):
    return open_store(url)


def store_session() -> AbstractContextManager[Session]:
    """One transaction against the app's store: committed on success, rolled back on error."""
    return session_scope(factory=_store(database_url()))


def db_url() -> str:
    return database_url()
