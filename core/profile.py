"""The data profile: what the shop's data looks like, computed from the store's aggregates with pandas.

`profile_store(session)` gathers everything the Data profile page and `python -m core stats` show;
the functions below it are pure (DataFrames in, DataFrames / numbers out) so they are tested directly.
An "order" is a session when the data has sessions, otherwise one customer's purchases on one day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from core.schema import AGE_BANDS, FUNNEL, age_band

UNKNOWN = "unknown"


@dataclass
class BasketStats:
    """Items per order: how orders were defined, how many, and the size distribution."""

    order_definition: str  # "session" | "customer-day"
    orders: int
    mean_lines: float  # distinct purchase lines per order
    median_lines: float
    mean_units: float  # summed quantity per order
    mean_value: float  # revenue per order
    distribution: pd.DataFrame  # lines (1..9, "10+") -> orders


@dataclass
class DataProfile:
    counts: dict[str, int]
    empty: bool
    first_event: datetime | None = None
    last_event: datetime | None = None
    activity: pd.DataFrame = field(default_factory=pd.DataFrame)  # period, action, events
    time_grain: str = "day"
    funnel: pd.DataFrame = field(default_factory=pd.DataFrame)  # stage, users, events, step_rate, overall_rate
    has_funnel: bool = False  # the data holds every stage (views and carts), so the funnel's rates mean something
    missing_stages: list[str] = field(default_factory=list)  # funnel stages absent from the data (e.g. view, cart)
    buyers_outside_funnel: int = 0  # buyers who did not go through every earlier stage (purchase-only uploads)
    top_items: pd.DataFrame = field(default_factory=pd.DataFrame)
    categories: pd.DataFrame = field(default_factory=pd.DataFrame)  # category, items, purchases, buyers, revenue
    regions: pd.DataFrame = field(default_factory=pd.DataFrame)  # region, users, buyers
    age_bands: pd.DataFrame = field(default_factory=pd.DataFrame)  # age_band, users, buyers
    buyers: int = 0
    revenue: float = 0.0
    repeat_purchase_rate: float | None = None
    basket: BasketStats | None = None
    flagged: dict[str, int] = field(default_factory=dict)

    def key_numbers(self) -> dict[str, Any]:
        """The headline figures (st.metric on the page, `stats --json` in the CLI)."""
        out: dict[str, Any] = dict(self.counts)
        out.update(
            buyers=self.buyers,
            revenue=round(self.revenue, 2),
            first_event=str(self.first_event) if self.first_event is not None else None,
            last_event=str(self.last_event) if self.last_event is not None else None,
            repeat_purchase_rate=None if self.repeat_purchase_rate is None else round(self.repeat_purchase_rate, 4),
            flagged_events=self.flagged,
        )
        if self.basket is not None:
            out.update(
                orders=self.basket.orders,
                order_definition=self.basket.order_definition,
                mean_items_per_order=round(self.basket.mean_lines, 3),
                mean_order_value=round(self.basket.mean_value, 2),
            )
        if self.has_funnel:
            rates = dict(zip(self.funnel["stage"], self.funnel["overall_rate"]))
            out["view_to_purchase_rate"] = None if pd.isna(rates.get("purchase")) else round(rates["purchase"], 4)
        return out


# ---- pure computations ------------------------------------------------------------------------------------------


def funnel_table(action_totals: pd.DataFrame, stages: tuple[str, ...] = FUNNEL,
                 reach: list[int] | None = None) -> pd.DataFrame:
    """stage, users, events, reached, step_rate / overall_rate, event_step_rate; no rate is ever above 100 %.

    `reached` (db.shop_read.funnel_reach) counts the customers who got to a stage through every earlier one, and
    the user rates are taken over it, so they are nested: where purchase-only data sits beside browsing data
    (a transactions export uploaded into a shop with views), buyers who never viewed do not inflate the rates.
    Without `reach` the plain per-stage users stand in, and a rate that would top 100 % is left out (NaN).
    Over a long period nearly every customer views, carts and buys at some point, so the user rates read
    high; event_step_rate (carts per view, purchases per cart) shows the per-visit funnel, and is NaN when
    there are more later events than earlier ones (purchases that skip the cart: not a rate any more).
    Rates are NaN when the earlier stage is empty (e.g. a transactions export has no views).
    """
    by = action_totals.set_index("action") if len(action_totals) else pd.DataFrame(columns=["events", "users"])
    users = [int(by["users"].get(s, 0)) for s in stages]
    events = [int(by["events"].get(s, 0)) for s in stages]
    reached = list(reach) if reach is not None else users

    def rate(num: int, den: int) -> float:
        return num / den if den and num <= den else np.nan

    step = [np.nan] + [rate(reached[i], reached[i - 1]) for i in range(1, len(stages))]
    overall = [rate(reached[i], reached[0]) for i in range(len(stages))]
    event_step = [np.nan] + [rate(events[i], events[i - 1]) for i in range(1, len(stages))]
    return pd.DataFrame(
        {
            "stage": list(stages),
            "users": users,
            "events": events,
            "reached": reached,
            "step_rate": step,
            "overall_rate": overall,
            "event_step_rate": event_step,
        }
    )


def missing_stages(funnel: pd.DataFrame) -> list[str]:
    """The funnel stages before the last (views, carts) that the data does not hold at all."""
    head = funnel.iloc[:-1]
    return head.loc[head["users"] == 0, "stage"].tolist()


def activity_over_time(daily: pd.DataFrame, max_days: int = 180) -> tuple[pd.DataFrame, str]:
    """Daily counts (day, action, events) as period, action, events; weekly when the span exceeds max_days."""
    if daily.empty:
        return pd.DataFrame(columns=["period", "action", "events"]), "day"
    span = (daily["day"].max() - daily["day"].min()).days
    if span <= max_days:
        return daily.rename(columns={"day": "period"})[["period", "action", "events"]], "day"
    week = daily["day"] - pd.to_timedelta(daily["day"].dt.weekday, unit="D")
    out = daily.assign(period=week).groupby(["period", "action"], as_index=False)["events"].sum()
    return out, "week"


def order_keys(purchases: pd.DataFrame) -> tuple[pd.Series, str]:
    """One key per purchase row naming its order: the session, or customer + calendar day without sessions."""
    day_key = purchases["user_id"].astype(str) + "|" + purchases["ts"].dt.strftime("%Y-%m-%d")
    if "session" in purchases and purchases["session"].notna().mean() > 0.5:
        sess = purchases["session"].astype(str)
        return sess.where(purchases["session"].notna(), "day:" + day_key), "session"
    return day_key, "customer-day"


def basket_stats(purchases: pd.DataFrame) -> BasketStats | None:
    """Items per order over all purchases (None when there are none)."""
    if purchases.empty:
        return None
    keys, definition = order_keys(purchases)
    orders = purchases.assign(_order=keys.to_numpy()).groupby("_order").agg(
        lines=("item_id", "size"), units=("quantity", "sum"), value=("revenue", "sum")
    )
    capped = orders["lines"].clip(upper=10)
    dist = capped.value_counts().sort_index()
    labels = [str(int(v)) if v < 10 else "10+" for v in dist.index]
    return BasketStats(
        order_definition=definition,
        orders=int(len(orders)),
        mean_lines=float(orders["lines"].mean()),
        median_lines=float(orders["lines"].median()),
        mean_units=float(orders["units"].mean()),
        mean_value=float(orders["value"].mean()),
        distribution=pd.DataFrame({"lines": labels, "orders": dist.to_numpy()}),
    )


def repeat_purchase_rate(purchases: pd.DataFrame) -> float | None:
    """Share of buying customers with more than one order (None when nobody bought)."""
    if purchases.empty:
        return None
    keys, _ = order_keys(purchases)
    per_user = pd.Series(keys.to_numpy()).groupby(purchases["user_id"].to_numpy()).nunique()
    return float((per_user > 1).mean())


def users_by(users: pd.DataFrame, buyer_ids: set[int], column: str, top: int = 12) -> pd.DataFrame:
    """column value, users, buyers. Missing values count as 'unknown'; beyond `top` values fold into 'other'."""
    if users.empty:
        return pd.DataFrame(columns=[column, "users", "buyers"])
    values = users[column].astype(object).where(users[column].notna(), UNKNOWN).astype(str)
    frame = pd.DataFrame({column: values, "buyer": users["id"].isin(buyer_ids)})
    out = frame.groupby(column).agg(users=("buyer", "size"), buyers=("buyer", "sum")).reset_index()
    out = out.sort_values(["users", column], ascending=[False, True]).reset_index(drop=True)
    if len(out) > top:
        head, tail = out.iloc[: top - 1], out.iloc[top - 1 :]
        other = pd.DataFrame({column: ["other"], "users": [tail["users"].sum()], "buyers": [tail["buyers"].sum()]})
        out = pd.concat([head, other], ignore_index=True)
    return out


def users_by_age_band(users: pd.DataFrame, buyer_ids: set[int]) -> pd.DataFrame:
    """age_band (core.schema.AGE_BANDS order, then 'unknown'), users, buyers."""
    bands = [age_band(a) for a in users["age"]] if len(users) else []
    frame = users.assign(age_band=[b if b is not None else UNKNOWN for b in bands])
    out = users_by(frame, buyer_ids, "age_band", top=len(AGE_BANDS) + 1)
    order = {name: k for k, (name, _, _) in enumerate(AGE_BANDS)}
    return out.sort_values("age_band", key=lambda s: s.map(order).fillna(len(order))).reset_index(drop=True)


def category_table(sales: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """category, items, purchases, buyers, revenue: catalogue size next to what sold, best sellers first."""
    cat = catalogue.assign(category=catalogue["category"].fillna(UNKNOWN))
    cat = cat.groupby("category", as_index=False)["items"].sum()
    sold = sales.assign(category=sales["category"].fillna(UNKNOWN))
    sold = sold.groupby("category", as_index=False)[["purchases", "buyers", "revenue"]].sum()
    out = cat.merge(sold, on="category", how="outer").fillna({"items": 0, "purchases": 0, "buyers": 0, "revenue": 0})
    out = out.astype({"items": "int64", "purchases": "int64", "buyers": "int64"})
    return out.sort_values(["purchases", "items"], ascending=False).reset_index(drop=True)


# ---- from the store -------------------------------------------------------------------------------------------


def profile_store(session: Session, top_n: int = 10) -> DataProfile:
    """Everything the Data profile page shows, in one pass over the store's aggregates."""
    from db import shop_read

    counts = shop_read.store_counts(session).as_dict()
    if shop_read.is_empty(session):
        return DataProfile(counts=counts, empty=True)
    daily = shop_read.events_per_day(session)
    activity, grain = activity_over_time(daily)
    totals = shop_read.action_totals(session)
    funnel = funnel_table(totals, reach=shop_read.funnel_reach(session, FUNNEL))
    missing = missing_stages(funnel)
    purchases = shop_read.purchase_rows(session)
    users = shop_read.user_profiles(session)
    buyer_ids = set(purchases["user_id"].unique().tolist())
    has_funnel = not missing and int(funnel["users"].iloc[-1]) > 0
    return DataProfile(
        counts=counts,
        empty=False,
        first_event=None if daily.empty else daily["day"].min().to_pydatetime(),
        last_event=None if daily.empty else daily["day"].max().to_pydatetime(),
        activity=activity,
        time_grain=grain,
        funnel=funnel,
        has_funnel=has_funnel,
        missing_stages=missing,
        buyers_outside_funnel=int(funnel["users"].iloc[-1] - funnel["reached"].iloc[-1]),
        top_items=shop_read.top_items(session, top_n),
        categories=category_table(shop_read.category_totals(session), shop_read.item_categories(session)),
        regions=users_by(users, buyer_ids, "region"),
        age_bands=users_by_age_band(users, buyer_ids),
        buyers=len(buyer_ids),
        revenue=float(purchases["revenue"].sum()) if len(purchases) else 0.0,
        repeat_purchase_rate=repeat_purchase_rate(purchases),
        basket=basket_stats(purchases),
        flagged=shop_read.flagged_counts(session),
    )
