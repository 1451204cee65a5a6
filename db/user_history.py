"""One customer's profile and behaviour timeline for the preview page (all actions, newest first)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.tables import Event, Item, User


def user_profile(session: Session, user_id: int) -> dict[str, Any]:
    """Profile fields of the store user `user_id` (store id); KeyError naming it when absent."""
    user = session.get(User, int(user_id))
    if user is None:
        raise KeyError(f"no user with store id {user_id}")
    return {
        "user_id": user.external_id,
        "age": user.age,
        "gender": user.gender,
        "region": user.region,
        "signup_date": user.signup_date,
        **{k: v for k, v in (user.attributes or {}).items() if isinstance(v, str | int | float | bool)},
    }


def user_history(session: Session, user_id: int, limit: int = 500) -> pd.DataFrame:
    """Events of store user `user_id`, newest first: ts, action, item_id, title, category, price, quantity, flag."""
    rows = session.execute(
        select(Event.ts, Event.action, Item.external_id, Item.title, Item.category,
               Event.price, Item.price, Event.quantity, Event.flag)
        .join(Item, Item.id == Event.item_id)
        .where(Event.user_id == int(user_id))
        .order_by(Event.ts.desc(), Event.id.desc())
        .limit(int(limit))
    ).all()
    frame = pd.DataFrame(
        rows, columns=["ts", "action", "item_id", "title", "category", "paid", "price", "quantity", "flag"]
    )
    frame["price"] = frame["paid"].where(frame["paid"].notna(), frame["price"])
    return frame.drop(columns=["paid"])
