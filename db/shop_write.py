"""Writing shop data (users, items, events) into the store, fast, inside the caller's transaction.

Ingestion and the demo generator both hand canonical DataFrames (core.schema names) to `ShopWriter`;
it maps external ids to store ids, upserts profiles and catalogue rows, and bulk-inserts events.
New rows stream with `COPY ... FROM STDIN` on PostgreSQL (psycopg 3; pyarrow formats each frame as CSV in C++,
not row by row in Python) and go through executemany on SQLite. A big upload on PostgreSQL (`BULK_MIN_EVENTS`
events or more, and a fair share of those stored) takes the events table's foreign keys off while it copies and
puts them back before the commit, which checks every row in one set-based pass (per-row foreign-key triggers were
~75 % of the server's COPY time).
Nothing here commits: the caller's `session_scope` makes a whole upload one transaction (COPY included: it runs
on the session's own connection, so a failed upload rolls it back like any insert).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, DateTime, Integer, Table, event, func, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from db.migrate import resync_id_sequences
from db.tables import Dataset, Event, Item, User

USER_FIELDS = ("age", "gender", "region", "signup_date")
ITEM_FIELDS = ("title", "description", "category", "price", "brand", "listed_at")
_LOOKUP_CHUNK = 5_000  # ids per IN (...) lookup (SQLite >= 3.32 allows 32,766 bound parameters)
_PG_LOOKUP_CHUNK = 100_000  # ids per `= ANY(array)` lookup on PostgreSQL
# When PostgreSQL's foreign keys on `events` come off until the commit: once an upload has written BULK_MIN_EVENTS
# events and at least 1/BULK_STORED_RATIO of what the table held. A per-row key check costs ~30 us; putting the
# keys back re-checks the whole table at ~0.6 us a row, so an upload smaller than that keeps the triggers.
BULK_MIN_EVENTS = 50_000
BULK_STORED_RATIO = 50
_BULK_LOCK_TIMEOUT = "5s"  # taking the keys off needs an exclusive lock on events: never queue behind a reader
_COPY_CHUNK = 250_000  # rows per CSV buffer handed to COPY
log = logging.getLogger(__name__)


@dataclass
class EventWriteResult:
    inserted: int = 0
    unknown_users_created: int = 0
    unknown_items_created: int = 0
    dropped_unknown_user: list[int] = field(default_factory=list)  # source row numbers
    dropped_unknown_item: list[int] = field(default_factory=list)
    already_stored: list[int] = field(default_factory=list)


def _none_if_nan(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _records(df: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    cols = [c for c in columns if c in df.columns]
    sub = df[cols].astype(object).where(df[cols].notna(), None)
    return [{k: _none_if_nan(v) for k, v in zip(cols, row)} for row in sub.itertuples(index=False, name=None)]


class ShopWriter:
    """Maps external ids to store ids and writes rows for one data set version (one upload)."""

    def __init__(self, session: Session, dataset: Dataset, unknown: str = "create"):
        if unknown not in ("create", "drop"):
            raise ValueError("unknown must be 'create' or 'drop'")
        self.session = session
        self.dataset = dataset
        self.unknown = unknown
        conn = session.connection()
        # External id -> store id, filled on demand (`resolve`) with only the ids an upload mentions: loading every
        # id of a big store per upload made small batches (API feedback) cost as much as the whole catalogue.
        self.user_ids: dict[str, int] = {}
        self.item_ids: dict[str, int] = {}
        self._looked_up: dict[str, set[str]] = {"user": set(), "item": set()}
        self._next_user = (conn.scalar(select(func.max(User.id))) or 0) + 1
        self._next_item = (conn.scalar(select(func.max(Item.id))) or 0) + 1
        self._stored_events = conn.scalar(select(func.max(Event.id)))  # an upper bound from the primary key
        self._store_had_events = self._stored_events is not None
        self._events_written = 0
        self._bulk: _BulkLoad | None = None

    def resolve(self, keys: Iterable[str], kind: str) -> dict[str, int]:
        """Look up the store ids of these external ids (`kind` 'user' or 'item') and keep them in the id map.

        One `WHERE external_id IN (...)` per chunk of distinct ids not asked about before; returns the map.
        """
        model, id_map = (User, self.user_ids) if kind == "user" else (Item, self.item_ids)
        asked = self._looked_up[kind]
        todo = [k for k in dict.fromkeys(str(k) for k in keys) if k not in asked and k not in id_map]
        id_map.update(lookup_in(self.session.connection(), model.__tablename__, "external_id", ["external_id", "id"],
                                todo))
        asked.update(todo)
        return id_map

    # ---- profiles and catalogue -------------------------------------------------------------
    def upsert_users(self, df: pd.DataFrame) -> tuple[int, int]:
        """df: user_id + optional USER_FIELDS + optional 'attributes' (dict). Returns (created, updated)."""
        return self._upsert(df, "user_id", User, self.user_ids, USER_FIELDS, "_next_user")

    def upsert_items(self, df: pd.DataFrame) -> tuple[int, int]:
        """df: item_id + optional ITEM_FIELDS + optional 'attributes' (dict). Returns (created, updated)."""
        return self._upsert(df, "item_id", Item, self.item_ids, ITEM_FIELDS, "_next_item")

    def _upsert(self, df, key, model, id_map, fields, next_attr) -> tuple[int, int]:
        if df.empty:
            return 0, 0
        df = df.drop_duplicates(subset=[key], keep="last")
        keys = df[key].astype(str).to_numpy()
        self.resolve(keys, "user" if model is User else "item")
        known = np.fromiter((k in id_map for k in keys), dtype=bool, count=len(keys))
        cols = [c for c in (*fields, "attributes") if c in df.columns]
        conn = self.session.connection()
        new = df[~known]
        if len(new):
            start = getattr(self, next_attr)
            ids = np.arange(start, start + len(new))
            ext_ids = new[key].astype(str)
            id_map.update(zip(ext_ids.tolist(), ids.tolist()))
            if conn.dialect.name == "postgresql":
                frame = new[cols].reset_index(drop=True)
                frame.insert(0, "external_id", ext_ids.to_numpy())
                frame.insert(0, "id", ids)
                frame["dataset_id"] = self.dataset.id
                if "attributes" not in frame.columns:
                    frame["attributes"] = [{}] * len(frame)
                copy_frame(conn, model.__table__, frame)
            else:
                rows = _records(new, cols)
                for row, ext, new_id in zip(rows, ext_ids, ids):
                    row.update(id=int(new_id), external_id=ext, dataset_id=self.dataset.id)
                    row.setdefault("attributes", {})
                conn.execute(insert(model), rows)
            setattr(self, next_attr, start + len(new))
            resync_id_sequences(conn, [model.__tablename__])
        old = df[known]
        if len(old) and cols:
            rows = _records(old, cols)
            for row, ext in zip(rows, old[key].astype(str)):
                # Only overwrite what the upload actually says; a missing cell keeps the stored value.
                values = {k: v for k, v in row.items() if v is not None and k != "attributes"}
                if row.get("attributes"):
                    values["attributes"] = row["attributes"]
                if values:
                    conn.execute(update(model).where(model.id == id_map[ext]).values(**values))
        return int(len(new)), int(len(old))

    def _ensure(self, keys: pd.Series, kind: str) -> int:
        """Auto-create bare users/items for ids the events mention but the store lacks."""
        distinct = pd.unique(keys)
        id_map = self.resolve(distinct, kind)
        missing = [k for k in distinct if k not in id_map]
        if len(missing) == 0:
            return 0
        col = "user_id" if kind == "user" else "item_id"
        frame = pd.DataFrame({col: missing})
        created, _ = (self.upsert_users if kind == "user" else self.upsert_items)(frame)
        return created

    # ---- events -----------------------------------------------------------------------------
    def add_events(self, df: pd.DataFrame, row_numbers: np.ndarray | None = None) -> EventWriteResult:
        """df: user_id, item_id, action, ts (datetime64) + optional raw_action, quantity, price, session, flag.

        `row_numbers` are the source file's row numbers, used to name dropped rows in the report.
        """
        result = EventWriteResult()
        if df.empty:
            return result
        rows = np.asarray(row_numbers) if row_numbers is not None else np.arange(len(df))
        users = df["user_id"].astype(str)
        items = df["item_id"].astype(str)
        if self.unknown == "create":
            result.unknown_users_created = self._ensure(users, "user")
            result.unknown_items_created = self._ensure(items, "item")
        else:
            self.resolve(pd.unique(users), "user")
            self.resolve(pd.unique(items), "item")
        uid = users.map(self.user_ids)
        iid = items.map(self.item_ids)
        bad_user = uid.isna().to_numpy()
        bad_item = iid.isna().to_numpy() & ~bad_user
        result.dropped_unknown_user = rows[bad_user].tolist()
        result.dropped_unknown_item = rows[bad_item].tolist()
        keep = ~(bad_user | bad_item)
        out = pd.DataFrame(
            {
                "user_id": uid[keep].astype("int64").to_numpy(),
                "item_id": iid[keep].astype("int64").to_numpy(),
                "action": df["action"].to_numpy()[keep],
                "ts": pd.to_datetime(df["ts"]).to_numpy()[keep],
            }
        )
        for col in ("raw_action", "quantity", "price", "session", "flag"):
            if col in df.columns:
                out[col] = df[col].to_numpy()[keep]
        kept_rows = rows[keep]
        if self._store_had_events and len(out):
            out, kept_rows, dup = self._drop_already_stored(out, kept_rows)
            result.already_stored = dup
        out["dataset_id"] = self.dataset.id
        conn = self.session.connection()
        if (self._bulk is None and conn.dialect.name == "postgresql"
                and self._events_written + len(out) >= max(BULK_MIN_EVENTS,
                                                           (self._stored_events or 0) / BULK_STORED_RATIO)):
            self._bulk = _BulkLoad.start(self.session, rebuild_indexes=not self._store_had_events)
        _bulk_insert(conn, Event.__table__, out)
        self._events_written += len(out)
        result.inserted = len(out)
        return result

    def finish(self) -> None:
        """Put back what a bulk load took off (foreign keys, indexes), checking every row; a no-op otherwise.

        Also runs by itself just before the session commits, so a caller that forgets it cannot commit
        events without their keys.
        """
        if self._bulk is not None:
            self._bulk.finish()

    def _drop_already_stored(self, out: pd.DataFrame, rows: np.ndarray):
        """Re-uploading an export must not double its events: skip rows identical to stored ones."""
        conn = self.session.connection()
        lo, hi = out["ts"].min(), out["ts"].max()
        found = conn.execute(
            select(Event.user_id, Event.item_id, Event.action, Event.ts).where(
                Event.ts >= lo.to_pydatetime(), Event.ts <= hi.to_pydatetime()
            )
        ).all()
        # Column-wise (zip) is several times faster than letting pandas inspect every Row object.
        columns = list(zip(*found)) if found else [[], [], [], []]
        stored = pd.DataFrame(dict(zip(["user_id", "item_id", "action", "ts"], columns)))
        if stored.empty:
            return out, rows, []
        stored["ts"] = pd.to_datetime(stored["ts"]).astype(out["ts"].dtype)
        key = ["user_id", "item_id", "action", "ts"]
        flag = out[key].merge(stored.drop_duplicates(), on=key, how="left", indicator=True)["_merge"].eq("both")
        dup = flag.to_numpy()
        return out[~dup].reset_index(drop=True), rows[~dup], rows[dup].tolist()


def lookup_in(conn, table: str, column: str, select_columns: list[str], values: list[Any],
              chunk: int = _LOOKUP_CHUNK) -> list[tuple]:
    """Rows (select_columns) of `table` whose `column` is one of `values`: chunked `WHERE column IN (...)`.

    Written as driver SQL: SQLAlchemy's expanding IN renders thousands of bound names per statement, which cost
    more than the query itself for a 10,000-event feedback batch.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cols = ", ".join(f'"{c}"' for c in select_columns)
    out: list[tuple] = []
    if conn.dialect.name == "postgresql":
        # One array parameter per chunk: 5,000 separate parameters make psycopg's prepared (generic) plan compare
        # every row with every parameter, which took 16 s per lookup at 600k stored users.
        sql = f'SELECT {cols} FROM "{table}" WHERE "{column}" = ANY(%s)'
        for start in range(0, len(values), _PG_LOOKUP_CHUNK):
            out.extend(tuple(r) for r in conn.exec_driver_sql(sql, (list(values[start:start + _PG_LOOKUP_CHUNK]),)))
        return out
    for start in range(0, len(values), chunk):
        part = tuple(values[start:start + chunk])
        sql = f'SELECT {cols} FROM "{table}" WHERE "{column}" IN ({", ".join([mark] * len(part))})'
        out.extend(tuple(r) for r in conn.exec_driver_sql(sql, part).fetchall())
    return out


def copy_frame(conn, table: Table, df: pd.DataFrame, chunk: int = _COPY_CHUNK) -> int:
    """PostgreSQL: COPY a DataFrame (columns named as `table`'s) on the connection's open transaction.

    pyarrow writes each chunk as CSV in C++ (strings quoted, so "" stays an empty string and only a missing value
    is NULL; NaN is missing); that is ~5x faster than psycopg's write_row per row. JSON columns take dicts/lists;
    whole floats in integer columns become integers (COPY does not cast 27.0), other floats there are refused.
    Returns the rows written.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if df.empty:
        return 0
    df = df.copy()
    for col in df.columns:
        kind = table.c[col].type
        if isinstance(kind, JSON):
            df[col] = [None if v is None else json.dumps(v, default=str) for v in df[col].tolist()]
        elif isinstance(kind, Integer) and pd.api.types.is_float_dtype(df[col]):
            values = df[col]
            odd = values.notna() & (values != np.floor(values))
            if odd.any():
                raise ValueError(f"column {col!r}: {values[odd].iloc[0]!r} is not a whole number")
            df[col] = values.astype("Int64")
        elif isinstance(kind, DateTime) and df[col].dtype == object:
            df[col] = pd.to_datetime(df[col])
    names = ", ".join(f'"{c}"' for c in df.columns)
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    raw = conn.connection.driver_connection  # the psycopg connection under the session: same transaction
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv)') as copy:
        for start in range(0, len(df), chunk):
            part = pa.Table.from_pandas(df.iloc[start:start + chunk], preserve_index=False)
            sink = pa.BufferOutputStream()
            pa_csv.write_csv(part, sink, options)
            copy.write(sink.getvalue())
    return len(df)


@dataclass
class _BulkLoad:
    """A big PostgreSQL upload with the events table's foreign keys (and, into an empty table, its secondary
    indexes) taken off; all inside the upload's transaction, so a failed upload puts them back by rolling back."""

    session: Session
    foreign_keys: list[tuple[str, str]]
    indexes: list[tuple[str, str]]
    done: bool = False

    @classmethod
    def start(cls, session: Session, rebuild_indexes: bool) -> _BulkLoad | None:
        conn = session.connection()
        fks = [tuple(r) for r in conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'events'::regclass AND contype = 'f' ORDER BY conname").all()]
        idx = [tuple(r) for r in conn.exec_driver_sql(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = 'events'::regclass AND NOT x.indisprimary AND NOT x.indisunique "
            "ORDER BY i.relname").all()] if rebuild_indexes else []
        try:
            with session.begin_nested():  # a lock we cannot get in time leaves the triggers on, nothing else
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{_BULK_LOCK_TIMEOUT}'")
                for name, _ in fks:
                    conn.exec_driver_sql(f'ALTER TABLE events DROP CONSTRAINT "{name}"')
                for name, _ in idx:
                    conn.exec_driver_sql(f'DROP INDEX "{name}"')
                conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
        except OperationalError as exc:
            log.info("bulk load: events table busy, keeping per-row foreign-key checks (%s)", exc.orig)
            return None
        bulk = cls(session, fks, idx)
        event.listen(session, "before_commit", bulk._before_commit, once=True)
        return bulk

    def _before_commit(self, session: Session) -> None:
        self.finish()

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        conn = self.session.connection()
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in self.indexes:
            conn.exec_driver_sql(definition)
        for name, definition in self.foreign_keys:  # one anti-join per key over the table, not a trigger per row
            conn.exec_driver_sql(f'ALTER TABLE events ADD CONSTRAINT "{name}" {definition}')


def _bulk_insert(conn, table, df: pd.DataFrame, chunk: int = 100_000) -> None:
    """executemany straight through the driver (~10x faster than ORM dicts), COPY on PostgreSQL.

    SQLite stores DateTime as text in SQLAlchemy's format, so timestamps are formatted the same way here.
    """
    if df.empty:
        return
    if conn.dialect.name == "postgresql":
        copy_frame(conn, table, df)
        return
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(df.columns))
    names = compiled.positiontup if compiled.positional else None
    for start in range(0, len(df), chunk):
        part = df.iloc[start : start + chunk]
        part = part.astype(object).where(part.notna(), None)
        if names is not None:
            params = list(part[list(names)].itertuples(index=False, name=None))
        else:
            params = part.to_dict("records")
        conn.exec_driver_sql(str(compiled), params)


def new_dataset(session: Session, kind: str, name: str, mapping: dict[str, Any] | None = None) -> Dataset:
    """A new data set version row (its report is filled in when the upload finishes)."""
    ds = Dataset(kind=kind, name=name, mapping=mapping or {}, report={})
    session.add(ds)
    session.flush()
    return ds
