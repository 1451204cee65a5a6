"""Read-only questions about the shop data in the store: counts, the funnel, what sells, who buys.

The data profile page, the home page and `python -m core stats` ask these; pages never hold SQL.
Flagged events (cancellations, negative quantities) never count as purchases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Dataset, Event, Experiment, Item, ModelVersion, User


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
        purchases=_count(session, Event, Event.action == "purchase", Event.flag.is_(None)),
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
