"""Schema migrations for the store (Alembic, db/migrations): create, recognise, stamp and upgrade stores.

`ensure_schema(engine)` is what `open_store` runs: a new store is created by the migrations, a store behind the
code is upgraded, a pre-Alembic store (only `schema_meta.schema_version`) is stamped at the baseline and upgraded,
and anything else (a newer store, a foreign database) is refused with the reason, never recreated.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from db.tables import SCHEMA_VERSION

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"
VERSION_TABLE = "alembic_version"
# Any constant: every process migrating the same PostgreSQL database takes this advisory lock first.
_PG_LOCK_KEY = 0x7265636F6C6D  # "recolm"


class SchemaMismatchError(RuntimeError):
    """The store was written by another version of RecoLM, or is not a RecoLM store."""


@dataclass
class SchemaState:
    current: str | None  # the store's Alembic revision (None: not stamped)
    head: str  # the newest revision this code knows
    legacy_version: str | None  # schema_meta.schema_version of a pre-Alembic store
    tables: list[str]

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise SchemaMismatchError(
            f"db/migrations has {len(heads)} heads ({', '.join(sorted(heads))}): two revisions share a parent; "
            "set one's down_revision to the other (see db/migrations/README.md)"
        )
    return heads[0]


def _where(engine_or_conn: Engine | Connection) -> str:
    return engine_or_conn.engine.url.render_as_string(hide_password=True)


def inspect_schema(conn: Connection) -> SchemaState:
    tables = sorted(inspect(conn).get_table_names())
    current = MigrationContext.configure(conn).get_current_revision()
    legacy = None
    if "schema_meta" in tables:
        legacy = conn.execute(text("SELECT value FROM schema_meta WHERE key = 'schema_version'")).scalar()
    return SchemaState(current=current, head=head_revision(), legacy_version=legacy, tables=tables)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Only one process migrates a store at a time (the dashboard and a CLI may open a new store together)."""
    if engine.dialect.name == "sqlite" and engine.url.database and engine.url.database != ":memory:":
        lock_path = Path(engine.url.database).with_name(Path(engine.url.database).name + ".migrate-lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    yield


def _lock_in_transaction(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def resync_id_sequences(conn: Connection, tables: list[str] | None = None) -> None:
    """PostgreSQL: move each table's id sequence past its largest id.

    db.shop_write assigns user/item ids itself (to map external ids without a round trip), which a serial
    sequence does not see; an old store written that way would otherwise collide on its next ORM insert.
    """
    if conn.dialect.name != "postgresql":
        return
    insp = inspect(conn)
    names = tables or [t for t in insp.get_table_names() if any(c["name"] == "id" for c in insp.get_columns(t))]
    for name in names:
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": name}).scalar()
        if seq:
            conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT MAX(id) FROM "{name}"), 0) + 1, false)'),
                         {"s": seq})


def ensure_schema(engine: Engine) -> SchemaState:
    """Bring the store at `engine` to the head revision, or refuse it with the reason. Returns the final state."""
    head = head_revision()
    with engine.connect() as conn:  # cheap check first: an up-to-date store needs no lock
        state = inspect_schema(conn)
    if state.up_to_date:
        return state
    with _migration_lock(engine), engine.begin() as conn:
        _lock_in_transaction(conn)
        state = inspect_schema(conn)  # another process may have migrated it meanwhile
        if state.up_to_date:
            return state
        cfg = alembic_config(conn)
        if state.current is None:
            foreign = [t for t in state.tables if t != VERSION_TABLE]
            if state.legacy_version is not None:
                if state.legacy_version != str(SCHEMA_VERSION):
                    raise SchemaMismatchError(
                        f"The store at {_where(engine)} has pre-migration schema version {state.legacy_version}; "
                        f"this RecoLM can upgrade only version {SCHEMA_VERSION}. Export your data and re-import it."
                    )
                command.stamp(cfg, BASELINE_REVISION)
                resync_id_sequences(conn)
            elif foreign:
                raise SchemaMismatchError(
                    f"The database at {_where(engine)} holds tables ({', '.join(foreign[:5])}"
                    f"{', ...' if len(foreign) > 5 else ''}) but is not a RecoLM store; refusing to touch it. "
                    "Point RECOLM_DATABASE_URL at an empty database."
                )
        elif state.current not in {r.revision for r in script_directory().walk_revisions()}:
            raise SchemaMismatchError(
                f"The store at {_where(engine)} is at schema revision {state.current}, which this RecoLM does not "
                f"know (its newest is {head}): it was written by a newer RecoLM. Upgrade RecoLM."
            )
        command.upgrade(cfg, "head")
        return inspect_schema(conn)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """`python -m core db upgrade`: (revision before, revision after)."""
    with engine.connect() as conn:
        before = inspect_schema(conn).current
    return before, ensure_schema(engine).current or ""


def current(engine: Engine) -> SchemaState:
    with engine.connect() as conn:
        return inspect_schema(conn)


def new_revision(message: str, scratch_dir: Path) -> Path:
    """Autogenerate a revision from the models' difference to a scratch SQLite store at head (see README)."""
    from db.engine import make_engine

    engine = make_engine(f"sqlite:///{scratch_dir / 'scratch.db'}")
    try:
        ensure_schema(engine)
        existing = [p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
        number = max((int(n[:4]) for n in existing), default=0) + 1
        with engine.begin() as conn:  # files are named <rev>_<slug>.py (Alembic's default template)
            script = command.revision(alembic_config(conn), message=message, autogenerate=True,
                                      rev_id=f"{number:04d}")
        return Path(script.path)
    finally:
        engine.dispose()
