"""Writing shop data (users, items, events) into the store, fast, inside the caller's transaction.

Ingestion and the demo generator both hand canonical DataFrames (core.schema names) to `ShopWriter`;
it maps external ids to store ids, upserts profiles and catalogue rows, and bulk-inserts events.
New rows stream with `COPY ... FROM STDIN` on PostgreSQL (psycopg 3) and go through executemany on SQLite.
Nothing here commits: the caller's `session_scope` makes a whole upload one transaction (COPY included: it runs
on the session's own connection, so a failed upload rolls it back like any insert).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Integer, Table, func, insert, select, update
from sqlalchemy.orm import Session

from db.migrate import resync_id_sequences
from db.tables import Dataset, Event, Item, User

USER_FIELDS = ("age", "gender", "region", "signup_date")
ITEM_FIELDS = ("title", "description", "category", "price", "brand", "listed_at")


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
        self.user_ids: dict[str, int] = dict(conn.execute(select(User.external_id, User.id)).all())
        self.item_ids: dict[str, int] = dict(conn.execute(select(Item.external_id, Item.id)).all())
        self._next_user = (conn.scalar(select(func.max(User.id))) or 0) + 1
        self._next_item = (conn.scalar(select(func.max(Item.id))) or 0) + 1
        self._store_had_events = conn.scalar(select(func.count()).select_from(Event)) > 0

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
        known = np.fromiter((k in id_map for k in keys), dtype=bool, count=len(keys))
        cols = [c for c in (*fields, "attributes") if c in df.columns]
        conn = self.session.connection()
        new = df[~known]
        if len(new):
            start = getattr(self, next_attr)
            ids = np.arange(start, start + len(new))
            rows = _records(new, cols)
            for row, ext, new_id in zip(rows, new[key].astype(str), ids):
                row.update(id=int(new_id), external_id=ext, dataset_id=self.dataset.id)
                row.setdefault("attributes", {})
                id_map[ext] = int(new_id)
            if conn.dialect.name == "postgresql":
                names = list(rows[0].keys())
                copy_rows(conn, model.__table__, names, ([r.get(c) for c in names] for r in rows))
            else:
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
        id_map = self.user_ids if kind == "user" else self.item_ids
        missing = pd.unique(keys[~keys.isin(id_map.keys())])
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
        _bulk_insert(self.session.connection(), Event.__table__, out)
        result.inserted = len(out)
        return result

    def _drop_already_stored(self, out: pd.DataFrame, rows: np.ndarray):
        """Re-uploading an export must not double its events: skip rows identical to stored ones."""
        conn = self.session.connection()
        lo, hi = out["ts"].min(), out["ts"].max()
        stored = pd.DataFrame(
            conn.execute(
                select(Event.user_id, Event.item_id, Event.action, Event.ts).where(
                    Event.ts >= lo.to_pydatetime(), Event.ts <= hi.to_pydatetime()
                )
            ).all(),
            columns=["user_id", "item_id", "action", "ts"],
        )
        if stored.empty:
            return out, rows, []
        stored["ts"] = pd.to_datetime(stored["ts"]).astype(out["ts"].dtype)
        key = ["user_id", "item_id", "action", "ts"]
        flag = out[key].merge(stored.drop_duplicates(), on=key, how="left", indicator=True)["_merge"].eq("both")
        dup = flag.to_numpy()
        return out[~dup].reset_index(drop=True), rows[~dup], rows[dup].tolist()


def _as_int(v: Any) -> Any:
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"{v!r} is not a whole number")
        return int(v)
    return v


def copy_rows(conn, table: Table, columns: list[str], rows: Iterable[Iterable[Any]], coerce: bool = True) -> int:
    """PostgreSQL: stream rows into `table` with COPY FROM STDIN on the connection's open transaction.

    Values are Python objects (None = NULL); JSON columns take dicts/lists. COPY does no implicit casts (an
    INSERT turns 27.0 into an integer, COPY refuses it), so with `coerce` whole floats in integer columns become
    ints; callers that already hold the right types pass coerce=False. Returns the rows written.
    """
    fix: dict[int, Any] = {}
    for i, c in enumerate(columns):
        kind = table.c[c].type
        if isinstance(kind, JSON):
            fix[i] = lambda v: json.dumps(v, default=str)
        elif coerce and isinstance(kind, Integer):
            fix[i] = _as_int
    names = ", ".join(f'"{c}"' for c in columns)
    raw = conn.connection.driver_connection  # the psycopg connection under the session: same transaction
    n = 0
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            if fix:
                row = list(row)
                for i, f in fix.items():
                    if row[i] is not None:
                        row[i] = f(row[i])
            copy.write_row(row)
            n += 1
    return n


def _bulk_insert(conn, table, df: pd.DataFrame, chunk: int = 100_000) -> None:
    """executemany straight through the driver (~10x faster than ORM dicts), COPY on PostgreSQL.

    SQLite stores DateTime as text in SQLAlchemy's format, so timestamps are formatted the same way here.
    """
    if df.empty:
        return
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            if conn.dialect.name == "sqlite":
                df[col] = df[col].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
            else:
                df[col] = df[col].astype(object)
    if conn.dialect.name == "postgresql":
        for col in df.columns:  # COPY does not cast: whole floats in integer columns must arrive as ints
            if isinstance(table.c[col].type, Integer) and pd.api.types.is_float_dtype(df[col]):
                df[col] = df[col].astype("Int64")
        for start in range(0, len(df), chunk):
            part = df.iloc[start : start + chunk]
            part = part.astype(object).where(part.notna(), None)
            copy_rows(conn, table, list(df.columns), part.itertuples(index=False, name=None), coerce=False)
        return
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
