"""What every page shares: the cached store handle and a few rendering helpers. No SQL here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.config import database_url
from db.engine import Session, open_store


@st.cache_resource(show_spinner=False)
def _store(url: str):
    return open_store(url)


@contextmanager
def store_session() -> Iterator[Session]:
    """One transaction against the app's store: committed on success, rolled back on error."""
    session = _store(database_url())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def db_url() -> str:
    return database_url()
