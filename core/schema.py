"""The one place that knows the shop data schema: canonical columns, action types, what is required.

Ingestion maps a shop's own column names onto these; everything downstream reads only these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The stored action and flag values are defined with the tables; this module is where core reads them.
from db.tables import (  # noqa: F401  re-exported for core
    ACTIONS,
    FLAG_CANCELLATION,
    FLAG_NEGATIVE_QUANTITY,
    FUNNEL,
    OTHER_ACTION,
    PURCHASE,
)


@dataclass(frozen=True)
class TableSchema:
    """Canonical columns of one upload kind."""

    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    # Columns of which at least one must be present (items need a title or a description).
    one_of: tuple[str, ...] = field(default_factory=tuple)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + tuple(c for c in self.one_of if c not in self.required) + self.optional


EVENTS = TableSchema(
    kind="events",
    required=("user_id", "item_id", "timestamp"),
    optional=("action_type", "quantity", "price", "session", "invoice"),
)
ITEMS = TableSchema(
    kind="items",
    required=("item_id",),
    one_of=("title", "description"),
    optional=("category", "price", "brand", "listed_at"),
)
USERS = TableSchema(
    kind="users",
    required=("user_id",),
    optional=("age", "gender", "region", "signup_date"),
)
SCHEMAS: dict[str, TableSchema] = {s.kind: s for s in (EVENTS, ITEMS, USERS)}

# An A/B test's exposure log (core.abtest): one row per exposure of a user to a variant, with its outcome.
# `page` is what the user was actually shown (to catch variant/page mismatches); `pre_metric` feeds CUPED.
EXPOSURES = TableSchema(
    kind="exposures",
    required=("user_id", "variant", "converted"),
    optional=("timestamp", "revenue", "pre_metric", "page"),
)

# Activity buckets (number of purchases) used by evaluation breakdowns, segment pickers and eligibility.
ACTIVITY_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1-2", 1, 2),
    ("3-5", 3, 5),
    ("6-20", 6, 20),
    ("20+", 21, 10**9),
)

AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("<18", 0, 17),
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55+", 55, 200),
)


def activity_bucket(n_purchases: int) -> str:
    if n_purchases <= 0:
        return "0"
    for name, lo, hi in ACTIVITY_BUCKETS:
        if lo <= n_purchases <= hi:
            return name
    return ACTIVITY_BUCKETS[-1][0]


def age_band(age: float | int | None) -> str | None:
    if age is None or age != age:  # NaN
        return None
    for name, lo, hi in AGE_BANDS:
        if lo <= int(age) <= hi:
            return name
    return None
