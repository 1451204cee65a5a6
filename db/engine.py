"""Engine and sessions. SQLite by default (WAL, foreign keys on); any SQLAlchemy URL works.

`open_store(url)` is the single entry point: it creates a new store through the Alembic migrations
(db/migrations), upgrades an older one, and refuses a store it cannot read (newer, or not RecoLM's), so an
upgraded app never silently misreads old data (see db.migrate).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from threading import Lock

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from db.config import database_url
from db.migrate import SchemaMismatchError, ensure_schema
from db.tables import SchemaMeta

__all__ = ["SchemaMismatchError", "close_store", "init_db", "make_engine", "open_store", "session_scope"]


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
    """Create a new store through the migrations, upgrade an old one, or raise SchemaMismatchError."""
    ensure_schema(engine)


_STORES: dict[str, sessionmaker[Session]] = {}
_STORES_LOCK = Lock()


def open_store(url: str | None = None) -> sessionmaker[Session]:
    """Session factory for the store at `url` (default: db.config.database_url()), migrated once per process."""
    # Resolve the default before caching: a cache keyed on None would keep serving the first store opened.
    url = url or database_url()
    with _STORES_LOCK:
        factory = _STORES.get(url)
        if factory is None:
            engine = make_engine(url)
            try:
                init_db(engine)
            except BaseException:
                engine.dispose()
                raise
            factory = _STORES[url] = sessionmaker(engine, expire_on_commit=False)
        return factory


def close_store(url: str) -> None:
    """Dispose the pooled connections of a store opened by this process (tests drop or copy its database)."""
    with _STORES_LOCK:
        factory = _STORES.pop(url, None)
    if factory is not None:
        factory.kw["bind"].dispose()


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
