"""Read-only questions about the shop data in the store: counts, the funnel, what sells, who buys.

The data profile page, the home page and `python -m core stats` ask these; pages never hold SQL.
Flagged events (cancellations, negative quantities) never count as purchases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from db.tables import PURCHASE, Dataset, Event, Experiment, Item, ModelVersion, User


@dataclass
class StoreCounts:
    users: int
    items: int
    events: int
    purchases: int
    datasets: int
    experiments: int
    models: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _count(session: Session, model, *where) -> int:
    stmt = select(func.count()).select_from(model)
    for cond in where:
        stmt = stmt.where(cond)
    return int(session.scalar(stmt) or 0)


def store_counts(session: Session) -> StoreCounts:
    return StoreCounts(
        users=_count(session, User),
        items=_count(session, Item),
        events=_count(session, Event),
        purchases=_count(session, Event, Event.action == PURCHASE, Event.flag.is_(None)),
        datasets=_count(session, Dataset),
        experiments=_count(session, Experiment),
        models=_count(session, ModelVersion),
    )


def is_empty(session: Session) -> bool:
    """No shop data at all (no users, items or events): the app then offers or loads the demo shop."""
    for model in (Event, Item, User):
        if session.scalar(select(model.id).limit(1)) is not None:
            return False
    return True


def events_per_day(session: Session) -> pd.DataFrame:
    """day (datetime64), action, events: behaviour over time, flagged rows excluded."""
    day = func.date(Event.ts).label("day")
    df = pd.read_sql(
        select(day, Event.action, func.count().label("events"))
        .where(Event.flag.is_(None))
        .group_by(day, Event.action)
        .order_by(day),
        session.connection(),
    )
    df["day"] = pd.to_datetime(df["day"])
    return df


def action_totals(session: Session) -> pd.DataFrame:
    """action, events, users (distinct): the raw numbers behind the funnel."""
    return pd.read_sql(
        select(Event.action, func.count().label("events"), func.count(func.distinct(Event.user_id)).label("users"))
        .where(Event.flag.is_(None))
        .group_by(Event.action),
        session.connection(),
    )


def funnel_reach(session: Session, stages: tuple[str, ...]) -> list[int]:
    """Customers who reached each stage through all the earlier ones (viewed; viewed and carted; …).

    Nested by construction, so each count is at most the one before it: a funnel rate never tops 100 %, even
    where purchase-only data (an export without views) sits beside browsing data.
    """
    if not stages:
        return []
    flags = [func.max(case((Event.action == s, 1), else_=0)).label(f"s{k}") for k, s in enumerate(stages)]
    per_user = select(*flags).where(Event.flag.is_(None)).group_by(Event.user_id).subquery()
    cols = [per_user.c[f"s{k}"] for k in range(len(stages))]
    reach, products = [], []
    for col in cols:
        products.append(col if not products else products[-1] * col)
        reach.append(func.coalesce(func.sum(products[-1]), 0))
    return [int(n) for n in session.execute(select(*reach)).one()]


def event_period(session: Session) -> tuple[Any, Any]:
    """First and last event time in the store (None, None without events)."""
    first, last = session.execute(select(func.min(Event.ts), func.max(Event.ts))).one()
    return first, last


def flagged_counts(session: Session) -> dict[str, int]:
    """Rows kept for the record but never counted (cancellations, negative quantities), by flag."""
    rows = session.execute(
        select(Event.flag, func.count()).where(Event.flag.is_not(None)).group_by(Event.flag)
    ).all()
    return {str(flag): int(n) for flag, n in rows}


def _line_revenue():
    return func.coalesce(Event.quantity, 1.0) * func.coalesce(Event.price, Item.price, 0.0)


def purchase_rows(session: Session) -> pd.DataFrame:
    """Every counted purchase: user_id, item_id (store ids), ts, quantity, revenue, session."""
    df = pd.read_sql(
        select(
            Event.user_id,
            Event.item_id,
            Event.ts,
            func.coalesce(Event.quantity, 1.0).label("quantity"),
            _line_revenue().label("revenue"),
            Event.session,
        )
        .join(Item, Item.id == Event.item_id)
        .where(Event.action == PURCHASE, Event.flag.is_(None)),
        session.connection(),
    )
    df["ts"] = pd.to_datetime(df["ts"])
    return df


def top_items(session: Session, limit: int = 10) -> pd.DataFrame:
    """Best sellers by purchases: item_id (external), title, category, purchases, buyers, revenue."""
    purchases = func.count().label("purchases")
    return pd.read_sql(
        select(
            Item.external_id.label("item_id"),
            Item.title,
            Item.category,
            purchases,
            func.count(func.distinct(Event.user_id)).label("buyers"),
            func.sum(_line_revenue()).label("revenue"),
        )
        .join(Item, Item.id == Event.item_id)
        .where(Event.action == PURCHASE, Event.flag.is_(None))
        .group_by(Item.id, Item.external_id, Item.title, Item.category)
        .order_by(purchases.desc(), Item.id)
        .limit(limit),
        session.connection(),
    )


def category_totals(session: Session) -> pd.DataFrame:
    """category, purchases, buyers, revenue (uncategorised items grouped as None)."""
    purchases = func.count().label("purchases")
    return pd.read_sql(
        select(
            Item.category,
            purchases,
            func.count(func.distinct(Event.user_id)).label("buyers"),
            func.sum(_line_revenue()).label("revenue"),
        )
        .join(Item, Item.id == Event.item_id)
        .where(Event.action == PURCHASE, Event.flag.is_(None))
        .group_by(Item.category)
        .order_by(purchases.desc()),
        session.connection(),
    )


def item_categories(session: Session) -> pd.DataFrame:
    """category, items: the catalogue's size per category (including never-bought items)."""
    return pd.read_sql(
        select(Item.category, func.count().label("items")).group_by(Item.category), session.connection()
    )


def user_profiles(session: Session) -> pd.DataFrame:
    """id, age, gender, region, signup_date of every user (profiles are small next to events)."""
    return pd.read_sql(
        select(User.id, User.age, User.gender, User.region, User.signup_date).order_by(User.id), session.connection()
    )


@dataclass
class StoreStatus:
    """What the home page and `stats` say about the store as a whole."""

    counts: StoreCounts
    empty: bool
    demo: bool  # the data is the generated demo shop
    datasets: pd.DataFrame  # id, kind, name, created_at, rows_read, rows_kept (newest first)
    active_model: dict[str, Any] | None  # id, name, kind, version, metrics


def store_status(session: Session) -> StoreStatus:
    from db.dataset_versions import list_datasets
    from db.engine import get_meta
    from db.registry import active_model

    active = active_model(session)
    columns = ["id", "kind", "name", "created_at", "rows_read", "rows_kept"]
    versions = pd.DataFrame([[getattr(v, c) for c in columns] for v in list_datasets(session)], columns=columns)
    return StoreStatus(
        counts=store_counts(session),
        empty=is_empty(session),
        demo=get_meta(session, "demo") == "1",
        datasets=versions,
        active_model=None
        if active is None
        else {"id": active.id, "name": active.name, "kind": active.kind, "version": active.version,
              "metrics": dict(active.metrics or {})},
    )


@dataclass
class InteractionFrames:
    """The store's items, users and (unflagged) events of one action, as plain frames ordered by store id."""

    items: pd.DataFrame  # id, external_id, title, description, category, price, listed_at
    users: pd.DataFrame  # id, external_id, age, gender, region
    events: pd.DataFrame  # user_id, item_id, ts; by user, then time, then event id
    dataset_id: int | None  # the newest data set version unless one was asked for


def interaction_frames(session: Session, action: str = PURCHASE, dataset_id: int | None = None) -> InteractionFrames:
    """What `core.interactions.from_store` turns into purchase sequences (flagged rows such as cancellations
    excluded)."""
    items = pd.read_sql(
        select(Item.id, Item.external_id, Item.title, Item.description, Item.category, Item.price, Item.listed_at)
        .order_by(Item.id),
        session.connection(),
    )
    users = pd.read_sql(
        select(User.id, User.external_id, User.age, User.gender, User.region).order_by(User.id),
        session.connection(),
    )
    events = pd.read_sql(
        select(Event.user_id, Event.item_id, Event.ts)
        .where(Event.action == action, Event.flag.is_(None))
        .order_by(Event.user_id, Event.ts, Event.id),
        session.connection(),
    )
    if dataset_id is None:
        dataset_id = session.scalar(select(func.max(Dataset.id)))
    return InteractionFrames(items=items, users=users, events=events, dataset_id=dataset_id)
