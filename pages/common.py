"""What every page shares: the cached store handle of the selected shop and a few rendering helpers. No SQL here."""

from __future__ import annotations

from contextlib import AbstractContextManager

import streamlit as st

from db.config import database_url
from db.engine import Session, open_store, session_scope
from db.shops import Shop
from pages.components.shop import current_shop


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


def store_session(url: str | None = None) -> AbstractContextManager[Session]:
    """One transaction against the selected shop's store (or the store at `url`): committed on success, rolled
    back on error."""
    return session_scope(factory=_store(url or db_url()))


def accounts_session() -> AbstractContextManager[Session]:
    """A transaction against the default store, where the dashboard's sign-in accounts live whatever the shop."""
    return store_session(database_url())


def shop() -> Shop:
    """The shop the session works on (the sidebar's switcher; the demo shop where none is chosen)."""
    return current_shop()


def db_url() -> str:
    """The selected shop's store URL: what background jobs and exports are handed."""
    return current_shop().url


def forget_store() -> None:
    """Drop the cached store handles (a shop was removed: its file must be migrated afresh if rebuilt)."""
    _store.clear()
