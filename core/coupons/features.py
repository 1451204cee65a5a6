"""Per-user features for propensity and uplift models, computed *as of* a moment in time.

History features (recency, frequency, money), profile (age, gender, region) and the recommender's s(u, i):
its best score over unseen items and its best score over the coupon's scope. Computing them as of a past
moment (the past campaign's send time, or `window_days` ago for propensity labels) keeps later purchases out
of the features, so the models learn from what was knowable when the coupon would have gone out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.interactions import InteractionData
from core.models.base import Recommender
from core.schema import activity_bucket
from core.scoring import ScoringContext

DAY = 86400.0
NO_PURCHASE_DAYS = 3650.0  # "days since last purchase" for someone who never bought
FEATURES: tuple[str, ...] = (
    "n_purchases", "days_since_last", "n_30d", "n_90d", "spend", "avg_price", "tenure_days", "n_categories",
    "scope_share", "rel_price", "age", "gender_code", "region_code", "rec_top", "rec_scope",
)
BATCH = 512


@dataclass(frozen=True)
class Scope:
    """What the coupon applies to, in the data's item indices."""

    kind: str  # shop | category | top_item
    items: np.ndarray  # boolean mask over data items (all True for shop / top_item)
    category: str | None = None


def make_scope(data: InteractionData, kind: str, category: str | None = None) -> Scope:
    mask = np.ones(data.n_items, dtype=bool)
    if kind == "category":
        cats = data.items["category"].astype(str).to_numpy() if "category" in data.items else np.array([])
        mask = cats == str(category)
        if not mask.any():
            known = sorted(set(cats.tolist())) if len(cats) else []
            raise ValueError(f"category {category!r} has no items in the store; known categories: {known[:20]}")
    return Scope(kind=kind, items=mask, category=category)


def recommender_scores(
    model: Recommender, data: InteractionData, histories: list[np.ndarray], scope: Scope
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per user: best s(u,i) over unseen items, best over unseen scope items, and the top unseen item index (-1)."""
    ctx = ScoringContext(data, model)
    n = len(histories)
    top, scoped, best_item = np.full(n, np.nan), np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    for start in range(0, n, BATCH):
        hist_data = histories[start:start + BATCH]
        users = np.arange(start, start + len(hist_data), dtype=np.int64)
        s = ctx.mask_bought(ctx.scores(hist_data, users, dtype=np.float64), hist_data)
        s[~np.isfinite(s)] = -np.inf
        arg = np.argmax(s, axis=1)
        best = s[np.arange(len(s)), arg]
        ok = np.isfinite(best)
        top[start:start + len(s)] = np.where(ok, best, np.nan)
        best_item[start:start + len(s)] = np.where(ok, arg, -1)
        sc = np.where(scope.items[None, :], s, -np.inf).max(axis=1)
        scoped[start:start + len(s)] = np.where(np.isfinite(sc), sc, np.nan)
    return top, scoped, best_item


def user_features(
    data: InteractionData,
    as_of: float,
    scope: Scope,
    model: Recommender | None = None,
    users: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per user index in `users` (default all) with FEATURES plus helper columns:
    `activity` (bucket), `top_item` (best unseen item index or -1), `ref_price` (what an order in scope is worth)."""
    users = np.arange(data.n_users) if users is None else np.asarray(users, dtype=np.int64)
    if data.times is None:
        raise ValueError("coupon features need purchase timestamps; this data set has only the order of purchases")
    prices = data.items["price"].astype(float).to_numpy() if "price" in data.items else np.full(data.n_items, np.nan)
    shop_price = float(np.nanmean(prices)) if np.isfinite(prices).any() else 0.0
    prices = np.where(np.isfinite(prices), prices, shop_price)
    cats = data.items["category"].astype(str).to_numpy() if "category" in data.items else np.full(data.n_items, "")
    scope_price = float(prices[scope.items].mean()) if scope.items.any() else shop_price
    # Price sensitivity shows in what people pick: log price relative to the median of the item's category.
    cat_median = pd.Series(prices).groupby(cats).transform("median").to_numpy()
    log_rel = np.log(np.maximum(prices, 1e-6) / np.maximum(cat_median, 1e-6))

    histories: list[np.ndarray] = []
    rows = []
    for u in users:
        seq, ts = data.sequences[u], data.times[u]
        keep = ts < as_of
        seq, ts = seq[keep], ts[keep]
        histories.append(seq)
        n = len(seq)
        age_days = (as_of - ts) / DAY
        in_scope = scope.items[seq] if n else np.zeros(0, dtype=bool)
        p = prices[seq] if n else np.zeros(0)
        if scope.kind == "category" and in_scope.any():
            ref = float(p[in_scope].mean())
        elif scope.kind == "category":
            ref = scope_price
        else:
            ref = float(p.mean()) if n else shop_price
        rows.append((
            n,
            float(age_days.min()) if n else NO_PURCHASE_DAYS,
            int((age_days <= 30).sum()),
            int((age_days <= 90).sum()),
            float(p.sum()),
            float(p.mean()) if n else 0.0,
            float(age_days.max()) if n else 0.0,
            len(set(cats[seq].tolist())) if n else 0,
            float(in_scope.mean()) if n else 0.0,
            float(log_rel[seq].mean()) if n else 0.0,
            ref,
        ))
    df = pd.DataFrame(rows, columns=["n_purchases", "days_since_last", "n_30d", "n_90d", "spend", "avg_price",
                                     "tenure_days", "n_categories", "scope_share", "rel_price", "ref_price"])
    prof = data.users.iloc[users].reset_index(drop=True) if not data.users.empty else pd.DataFrame(index=df.index)
    df["age"] = pd.to_numeric(prof["age"], errors="coerce").fillna(-1.0).to_numpy() if "age" in prof else -1.0
    for col in ("gender", "region"):
        if col in data.users:
            codes = {v: k for k, v in enumerate(sorted(data.users[col].dropna().astype(str).unique()))}
            # Unknown values get a code of their own past the known ones, so a split isolating the first value
            # never lumps the unknowns in with it.
            df[f"{col}_code"] = [codes.get(str(v), len(codes)) if isinstance(v, str) else len(codes) for v in prof[col]]
        else:
            df[f"{col}_code"] = -1
    if model is not None:
        top, scoped, best_item = recommender_scores(model, data, histories, scope)
    else:
        top = scoped = np.full(len(users), np.nan)
        best_item = np.full(len(users), -1, dtype=np.int64)
    df["rec_top"] = np.nan_to_num(top, nan=-1.0)
    df["rec_scope"] = np.nan_to_num(scoped, nan=-1.0)
    df["top_item"] = best_item
    if scope.kind == "top_item":
        df["ref_price"] = np.where(best_item >= 0, prices[np.maximum(best_item, 0)], df["ref_price"].to_numpy())
    df["activity"] = [activity_bucket(int(n)) for n in df["n_purchases"]]
    df.insert(0, "user", users)
    return df


def feature_matrix(df: pd.DataFrame) -> np.ndarray:
    """The model inputs, in FEATURES order, as float64 without NaN."""
    return np.nan_to_num(df[list(FEATURES)].to_numpy(dtype=np.float64), nan=-1.0)
