"""Engine and sessions. SQLite by default (WAL, foreign keys on); any SQLAlchemy URL works.

`open_store(url)` is the single entry point: it creates missing tables and refuses a store written
by a different schema version, so an upgraded app never silently misreads old data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from db.config import database_url
from db.tables import SCHEMA_VERSION, Base, SchemaMeta


class SchemaMismatchError(RuntimeError):
    """The store was written by another version of RecoLM."""


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def init_db(engine: Engine) -> None:
    """Create missing tables; stamp a new store, reject one of another schema version."""
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        row = s.get(SchemaMeta, "schema_version")
        if row is None:
            s.add(SchemaMeta(key="schema_version", value=str(SCHEMA_VERSION)))
            s.commit()
        elif int(row.value) != SCHEMA_VERSION:
            raise SchemaMismatchError(
                f"The store at {engine.url.render_as_string(hide_password=True)} has schema version {row.value}, "
                f"this RecoLM expects {SCHEMA_VERSION}. Export your data and re-import it, or point "
                "RECOLM_DATABASE_URL at a new store."
            )


def open_store(url: str | None = None) -> sessionmaker[Session]:
    """Session factory for the store at `url` (default: db.config.database_url()), initialised once."""
    # Resolve the default before caching: a cache keyed on None would keep serving the first store opened.
    return _open_store(url or database_url())


@lru_cache(maxsize=8)
def _open_store(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    init_db(engine)
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None, factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back everything on any error."""
    session = (factory or open_store(url))()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_meta(session: Session, key: str) -> str | None:
    return session.scalar(select(SchemaMeta.value).where(SchemaMeta.key == key))


def set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(SchemaMeta, key)
    if row is None:
        session.add(SchemaMeta(key=key, value=value))
    else:
        row.value = value
