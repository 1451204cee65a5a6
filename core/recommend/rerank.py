"""Re-ranking a model's scores into the list a shopper sees: filters, MMR diversity, freshness, exploration.

Every step starts from the plain ranking (model score, ties by lower item index, as `top_k` does), so with
diversity 0, freshness 0 and exploration 0 the re-ranked list IS the plain list. Filters are applied first,
as an item mask, so no later step can bring an excluded item back.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.evaluation.metrics import intra_list_diversity, novelty
from core.models.base import top_k


@dataclass(frozen=True)
class ItemFilter:
    """Which items may be shown. Empty `categories` = every category; a price bound drops items of unknown price."""

    categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    min_price: float | None = None
    max_price: float | None = None

    def __post_init__(self) -> None:
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is not None and (not np.isfinite(value) or value < 0):
                raise ValueError(f"ItemFilter.{name} must be a non-negative number, got {value!r}")
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError(f"ItemFilter: min_price {self.min_price} is above max_price {self.max_price}")

    def is_empty(self) -> bool:
        return not (self.categories or self.exclude_categories) and self.min_price is None and self.max_price is None

    def mask(self, items: pd.DataFrame, n_items: int) -> np.ndarray:
        """Boolean mask over item indices: True = may be recommended."""
        allowed = np.ones(n_items, dtype=bool)
        if self.is_empty():
            return allowed
        if self.categories or self.exclude_categories:
            cats = items["category"].astype(object).to_numpy() if "category" in items else np.full(n_items, None)
            cats = np.asarray([c if isinstance(c, str) else None for c in cats], dtype=object)
            if self.categories:
                allowed &= np.isin(cats, np.asarray(self.categories, dtype=object))
            if self.exclude_categories:
                allowed &= ~np.isin(cats, np.asarray(self.exclude_categories, dtype=object))
        if self.min_price is not None or self.max_price is not None:
            price = (
                pd.to_numeric(items["price"], errors="coerce").to_numpy(dtype=np.float64)
                if "price" in items
                else np.full(n_items, np.nan)
            )
            known = np.isfinite(price)
            allowed &= known
            if self.min_price is not None:
                allowed &= np.where(known, price, -np.inf) >= self.min_price
            if self.max_price is not None:
                allowed &= np.where(known, price, np.inf) <= self.max_price
        return allowed


@dataclass(frozen=True)
class RerankOptions:
    """diversity: 0 = relevance only … 1 = most diverse (MMR λ = 1 - diversity).
    freshness: bonus (in units of the best relevance) for items listed within `fresh_days`, fading with age.
    exploration: share of the K slots kept for items outside the user's usual categories.
    """

    k: int = 10
    diversity: float = 0.0
    freshness: float = 0.0
    fresh_days: float = 30.0
    exploration: float = 0.0
    pool_size: int = 200

    def __post_init__(self) -> None:
        if not isinstance(self.k, int | np.integer) or self.k < 1:
            raise ValueError(f"RerankOptions.k must be a positive integer, got {self.k!r}")
        for name, lo, hi in (("diversity", 0.0, 1.0), ("freshness", 0.0, 10.0), ("exploration", 0.0, 1.0)):
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ValueError(f"RerankOptions.{name} must be in [{lo}, {hi}], got {value!r}")
        if self.fresh_days <= 0:
            raise ValueError(f"RerankOptions.fresh_days must be positive, got {self.fresh_days!r}")

    @property
    def mmr_lambda(self) -> float:
        return 1.0 - self.diversity

    def is_plain(self) -> bool:
        return self.diversity == 0 and self.freshness == 0 and self.exploration == 0


@dataclass
class Reranked:
    """The shown list, the plain list it came from, and per-item flags (all item indices of the store)."""

    items: np.ndarray
    plain: np.ndarray
    explore: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass(frozen=True)
class ListQuality:
    """Intra-list diversity (1 - mean pairwise cosine of item text vectors) and novelty (mean self-information, bits)."""

    diversity: float | None
    novelty: float


def list_quality(items: np.ndarray, vectors: np.ndarray | None, counts: np.ndarray, categories=None) -> ListQuality:
    items = np.asarray(items, dtype=np.int64)
    if len(items) == 0:
        return ListQuality(None, 0.0)
    use_vectors = vectors is not None and np.any(vectors[items])
    div = intra_list_diversity(items[None, :], vectors if use_vectors else None, None if use_vectors else categories)
    return ListQuality(div, novelty(items, counts))


def freshness_weights(listed_at: pd.Series, now: pd.Timestamp | None, fresh_days: float) -> np.ndarray:
    """1 for an item listed at `now`, fading linearly to 0 at `fresh_days` old; 0 for unknown dates."""
    ts = pd.to_datetime(listed_at, errors="coerce")
    if now is None or ts.isna().all():
        return np.zeros(len(ts), dtype=np.float32)
    age_days = (now - ts).dt.total_seconds().to_numpy(dtype=np.float64) / 86400.0
    w = np.clip(1.0 - age_days / fresh_days, 0.0, 1.0)
    w[~np.isfinite(age_days) | (age_days < -1)] = 0.0
    return w.astype(np.float32)


def plain_ranking(scores: np.ndarray, k: int) -> np.ndarray:
    """Top-k finite-scored items, the same order `Recommender.recommend` gives."""
    idx, vals = top_k(np.asarray(scores, dtype=np.float32)[None, :].copy(), None, k)
    return idx[0][np.isfinite(vals[0])]


def mmr(relevance: np.ndarray, vectors: np.ndarray | None, k: int, lam: float) -> np.ndarray:
    """Maximal marginal relevance over candidates given in plain order: positions into `relevance`.

    score = lam * relevance - (1 - lam) * max cosine to the items already picked; ties keep plain order,
    so lam = 1 returns the first k candidates unchanged.
    """
    n = len(relevance)
    k = min(k, n)
    if lam >= 1.0 or vectors is None or n == 0:
        order = np.lexsort((np.arange(n), -np.asarray(relevance)))
        return order[:k]
    rel = np.asarray(relevance, dtype=np.float64)
    vecs = np.asarray(vectors, dtype=np.float32)
    max_sim = np.full(n, -np.inf)
    chosen = np.zeros(n, dtype=bool)
    picked: list[int] = []
    for _ in range(k):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        value = lam * rel - (1.0 - lam) * penalty
        value[chosen] = -np.inf
        best = int(np.argmax(value))
        picked.append(best)
        chosen[best] = True
        sim = vecs @ vecs[best]
        max_sim = np.maximum(max_sim, sim)
    return np.asarray(picked, dtype=np.int64)


def rerank(
    scores: np.ndarray,
    options: RerankOptions,
    vectors: np.ndarray | None = None,
    fresh: np.ndarray | None = None,
    item_categories: np.ndarray | None = None,
    user_categories: Collection | None = None,
) -> Reranked:
    """Shown list from one user's store-wide scores (disallowed items already -inf)."""
    scores = np.asarray(scores, dtype=np.float32)
    plain = plain_ranking(scores, options.k)
    if options.is_plain() or len(plain) == 0:
        return Reranked(items=plain, plain=plain, explore=_outside(plain, item_categories, user_categories, options))

    finite = np.isfinite(scores)
    pool_parts = [plain_ranking(scores, options.pool_size)]
    if options.freshness > 0 and fresh is not None:
        fresh_scores = np.where(finite & (fresh > 0), scores, -np.inf)
        pool_parts.append(plain_ranking(fresh_scores, options.pool_size))
    outside_mask = _outside_mask(item_categories, user_categories, len(scores))
    if options.exploration > 0 and outside_mask is not None:
        pool_parts.append(plain_ranking(np.where(outside_mask, scores, -np.inf), options.pool_size))
    pool = np.unique(np.concatenate(pool_parts))

    raw = scores[pool].astype(np.float64)
    lo, hi = raw.min(), raw.max()
    rel = (raw - lo) / (hi - lo) if hi > lo else np.ones_like(raw)
    if options.freshness > 0 and fresh is not None:
        rel = rel + options.freshness * fresh[pool]
    # Plain order inside the pool (relevance desc, lower item index first) so MMR ties match top_k.
    order = np.lexsort((pool, -rel))
    pool, rel = pool[order], rel[order]
    picked = mmr(rel, None if vectors is None else vectors[pool], options.k, options.mmr_lambda)
    items = pool[picked]

    explore = _outside(items, item_categories, user_categories, options)
    n_explore = int(round(options.exploration * len(items)))
    if options.exploration > 0 and n_explore == 0:
        n_explore = 1
    if outside_mask is not None and explore.sum() < n_explore:
        items, explore = _reserve_exploration(items, explore, pool, outside_mask, n_explore)
    return Reranked(items=items, plain=plain, explore=explore)


def _outside_mask(item_categories, user_categories, n_items: int) -> np.ndarray | None:
    """True for items whose category the user has never bought; None when the user has no categories yet."""
    if item_categories is None or not user_categories:
        return None
    cats = np.asarray(item_categories, dtype=object)
    return ~np.isin(cats, np.asarray(list(user_categories), dtype=object))


def _outside(items, item_categories, user_categories, options) -> np.ndarray:
    """Exploration flags: only when exploration is asked for (otherwise nothing was placed to explore)."""
    mask = _outside_mask(item_categories, user_categories, 0)
    if mask is None or options.exploration == 0:
        return np.zeros(len(items), dtype=bool)
    return mask[np.asarray(items, dtype=np.int64)]


def _reserve_exploration(items, explore, pool, outside_mask, n_explore):
    """Replace the lowest-ranked familiar items with the best unfamiliar ones until `n_explore` slots explore."""
    items, explore = items.copy(), explore.copy()
    taken = set(items.tolist())
    candidates = [int(i) for i in pool if outside_mask[i] and int(i) not in taken]  # pool is in relevance order
    need = n_explore - int(explore.sum())
    for pos in range(len(items) - 1, -1, -1):
        if need <= 0 or not candidates:
            break
        if not explore[pos]:
            items[pos] = candidates.pop(0)
            explore[pos] = True
            need -= 1
    return items, explore
