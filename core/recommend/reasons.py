"""One-line reasons grounded in the data: every reason names evidence that exists for THIS user.

Kinds, strongest first for a returning customer:
- "new"      — a recent listing that resembles something the user bought ("new arrival like Z");
- "copurchase" — other customers who bought the user's items X (and Y) also bought it ("bought X and Y");
- "similar"  — its text is close to an item the user bought ("similar to X");
- "segment"  — among the best sellers of the user's segment ("popular with 25–34 in Shanghai");
- "explore"  — outside the user's usual categories (an exploration slot);
- "interest" / "search" — matches the typed interests or the shopper's question;
- "popular"  — a best seller overall (the honest fallback).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.i18n import Message

SIMILAR_MIN_COSINE = 0.55
SEGMENT_TOP_N = 20
MIN_COBUYERS = 2  # co-purchase evidence needs at least this many other customers…
MIN_LIFT = 2.0  # …buying the item this much more often than shoppers at large
MAX_TITLE = 40


@dataclass(frozen=True)
class Reason:
    kind: str
    text: str  # a core.i18n.Message: English, translatable where it is shown
    evidence: tuple[int, ...] = ()  # item indices of the user's history the reason cites


def short_title(title: object, limit: int = MAX_TITLE) -> str:
    text = str(title) if isinstance(title, str) and title.strip() else ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def segment_label(age_band: object, region: object) -> str | None:
    """'25–34 in Shanghai', '25–34', 'Shanghai' or None from a profile."""
    band = str(age_band).replace("-", "–") if isinstance(age_band, str) and age_band else None
    place = str(region) if isinstance(region, str) and region else None
    if band and place:
        return Message("{band} in {place}", band=band, place=place)
    return band or place


@dataclass
class ReasonContext:
    """What reasons are computed from, built once per service: purchases matrix, titles, text vectors, segments."""

    purchases: object  # scipy CSC users x items, binary
    titles: list[str]
    item_keys: np.ndarray
    vectors: np.ndarray | None
    counts: np.ndarray
    segments: np.ndarray  # per user index: segment label or ""
    counts_users: np.ndarray  # per item: how many distinct customers bought it
    n_buyers: int  # customers with at least one purchase
    _cache: dict[str, object] = field(default_factory=dict)  # segment ranks, global rank, co-counts

    @classmethod
    def build(cls, data, vectors: np.ndarray | None) -> ReasonContext:
        titles = []
        raw = data.items["title"].tolist() if "title" in data.items else [None] * data.n_items
        for key, title in zip(data.item_keys, raw):
            titles.append(short_title(title) or f"item {key}")
        if data.users.empty:
            segments = np.full(data.n_users, "", dtype=object)
        else:
            bands = data.users["age_band"] if "age_band" in data.users else pd.Series([None] * data.n_users)
            regions = data.users["region"] if "region" in data.users else pd.Series([None] * data.n_users)
            segments = np.asarray([segment_label(b, r) or "" for b, r in zip(bands, regions)], dtype=object)
        matrix = data.user_item_matrix()
        return cls(
            purchases=matrix.tocsc(),
            counts_users=np.asarray(matrix.sum(axis=0)).ravel(),
            n_buyers=int((np.diff(matrix.indptr) > 0).sum()),
            titles=titles,
            item_keys=np.asarray(data.item_keys),
            vectors=vectors,
            counts=data.purchase_counts(),
            segments=segments,
        )

    @property
    def cooccurrence(self):
        """Sparse items x items: how many customers bought both (XᵀX), computed once."""
        if "\0cooc" not in self._cache:
            self._cache["\0cooc"] = (self.purchases.T @ self.purchases).tocsr()
        return self._cache["\0cooc"]

    def segment_counts_rank(self, label: str) -> np.ndarray:
        """Rank (0 = best seller) of every item among purchases by users of segment `label`; cached."""
        if label not in self._cache:
            members = np.flatnonzero(self.segments == label)
            counts = np.asarray(self.purchases.tocsr()[members].sum(axis=0)).ravel() if len(members) else None
            rank = np.full(len(self.titles), np.iinfo(np.int64).max, dtype=np.int64)
            if counts is not None:
                order = np.lexsort((np.arange(len(counts)), -counts))
                bought = counts[order] > 0
                rank[order[bought]] = np.arange(int(bought.sum()))
            self._cache[label] = rank
        return self._cache[label]

    def global_rank(self) -> np.ndarray:
        if "\0global" not in self._cache:
            order = np.lexsort((np.arange(len(self.counts)), -self.counts))
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            self._cache["\0global"] = rank
        return self._cache["\0global"]


def explain(
    ctx: ReasonContext,
    user_index: int | None,
    history: np.ndarray,
    items: np.ndarray,
    fresh: np.ndarray | None = None,
    explore: np.ndarray | None = None,
    segment: str | None = None,
) -> list[Reason]:
    """A reason per item in `items`, citing only `history` (this user's purchases) or aggregate counts."""
    items = np.asarray(items, dtype=np.int64)
    hist = np.unique(np.asarray(history, dtype=np.int64))
    if segment is None and user_index is not None and 0 <= user_index < len(ctx.segments):
        segment = ctx.segments[user_index] or None
    co = _co_counts(ctx, hist, items)  # (len(hist), len(items)) users who bought both
    sim = _similarities(ctx, hist, items)  # (len(hist), len(items)) cosine, or None
    seg_rank = ctx.segment_counts_rank(segment) if segment else None
    reasons = []
    for pos, item in enumerate(items):
        reasons.append(
            _one(ctx, item, pos, hist, co, sim, seg_rank, segment,
                 bool(fresh is not None and fresh[item] > 0), bool(explore is not None and explore[pos]))
        )
    return reasons


def _co_counts(ctx: ReasonContext, hist: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Customers who bought both, for each (history item, shown item) pair: lookups in the item-item co-counts."""
    if len(hist) == 0 or len(items) == 0:
        return np.zeros((len(hist), len(items)))
    return ctx.cooccurrence[hist][:, items].toarray()


def _similarities(ctx: ReasonContext, hist: np.ndarray, items: np.ndarray) -> np.ndarray | None:
    if ctx.vectors is None or len(hist) == 0 or len(items) == 0:
        return None
    return ctx.vectors[hist] @ ctx.vectors[items].T


def _one(ctx, item, pos, hist, co, sim, seg_rank, segment, is_fresh, is_explore) -> Reason:
    best_sim = None
    if sim is not None:
        j = int(np.argmax(sim[:, pos]))
        if sim[j, pos] >= SIMILAR_MIN_COSINE and hist[j] != item:
            best_sim = int(hist[j])
    if is_fresh:
        if best_sim is not None:
            return Reason("new", Message("new arrival like {title}", title=ctx.titles[best_sim]), (best_sim,))
        return Reason("new", Message("new arrival"))
    if len(hist):
        column = co[:, pos].astype(np.float64)
        if np.any(hist == item):  # a repeat buy: the user is in every count and is not evidence for itself
            column = np.maximum(column - 1, 0)
            column[hist == item] = 0
        # Evidence only when buyers of the history item buy this one clearly more often than shoppers at large.
        n_buyers = max(ctx.n_buyers, 1)
        base = ctx.counts_users[item] / n_buyers
        confidence = column / np.maximum(ctx.counts_users[hist], 1)
        lift = confidence / max(base, 1e-12)
        strong = (column >= MIN_COBUYERS) & (lift >= MIN_LIFT)
        if strong.any():
            lift = np.where(strong, lift, 0.0)
            top = [int(j) for j in np.lexsort((hist, -lift)) if lift[j] > 0][:2]
            n = int(column[top[0]])
            evidence = tuple(int(hist[j]) for j in top)
            if len(top) == 1:
                text = Message("you bought {title} — {n} customers bought both", title=ctx.titles[hist[top[0]]], n=n)
            else:
                text = Message("you bought {title} and {title2} — {n} customers bought it with {title}",
                               title=ctx.titles[hist[top[0]]], title2=ctx.titles[hist[top[1]]], n=n)
            return Reason("copurchase", text, evidence)
        if best_sim is not None:
            return Reason("similar", Message("similar to {title} you bought", title=ctx.titles[best_sim]), (best_sim,))
    if is_explore:
        return Reason("explore", Message("something new for you: outside your usual categories"))
    if seg_rank is not None and seg_rank[item] < SEGMENT_TOP_N:
        return Reason("segment", Message("popular with {segment} (#{rank} there)", segment=segment,
                                         rank=int(seg_rank[item]) + 1))
    rank = int(ctx.global_rank()[item])
    if ctx.counts[item] > 0:
        return Reason("popular", Message("best seller #{rank} in the shop", rank=rank + 1))
    return Reason("popular", Message("recommended by the model (no purchases yet)"))
