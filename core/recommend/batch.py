"""Recommendations for many users at once: batched matrix scoring + argpartition, then reasons and a CSV.

Users without purchases are scored from their profile (segment popularity), as in the preview. The frame
this returns is what gets stored (db.recommendations.save_batch) and downloaded (core.export.to_csv_bytes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.models.base import mask_histories, top_k
from core.recommend.reasons import explain
from core.recommend.rerank import ItemFilter
from core.recommend.service import RecommendationService

CSV_COLUMNS = ["user_id", "rank", "item_id", "title", "category", "price", "score", "reason"]


@dataclass
class BatchResult:
    frame: pd.DataFrame  # CSV_COLUMNS + user_store_id, item_store_id
    n_users: int
    seconds: float

    def csv_frame(self) -> pd.DataFrame:
        return self.frame[CSV_COLUMNS]


def fast_top_k(
    scores: np.ndarray, histories: list[np.ndarray] | None, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exactly `core.models.base.top_k` (same items, same tie order), several times faster on big batches.

    Seen items are masked in one vectorised assignment; torch.topk (multi-threaded) finds the k best; only rows
    where a tie straddles the k-th place (or fewer than k items are allowed) are redone by `top_k` itself.
    """
    import torch

    scores = np.asarray(scores, dtype=np.float32)
    if histories is not None:
        mask_histories(scores, histories)
    if allowed is not None:
        scores[:, ~np.asarray(allowed, dtype=bool)] = -np.inf
    k = min(k, scores.shape[1])
    if k <= 0 or len(scores) == 0:
        return np.zeros((len(scores), max(k, 0)), dtype=np.int64), np.zeros((len(scores), max(k, 0)), dtype=np.float32)
    tensor = torch.from_numpy(scores)
    extra = 1 if k < scores.shape[1] else 0
    values, index = torch.topk(tensor, k + extra, dim=1, largest=True, sorted=True)
    # A tie straddles the k-th place iff the (k+1)-th best equals the k-th: top_k keeps the lowest indices there,
    # torch may not, so those rows (and rows with fewer than k allowed items) are redone exactly.
    kth = values[:, k - 1]
    straddle = (values[:, k] == kth) if extra else torch.zeros_like(kth, dtype=torch.bool)
    redo = (straddle | torch.isinf(kth)).nonzero().ravel().numpy()
    values, index = values[:, :k], index[:, :k]
    values, index = values.numpy(), index.numpy().astype(np.int64)
    # Within the k chosen, order by (score desc, index asc) as top_k does.
    order = np.lexsort((index, -values), axis=1)
    index, values = np.take_along_axis(index, order, axis=1), np.take_along_axis(values, order, axis=1)
    if len(redo):
        index[redo], values[redo] = top_k(scores[redo], None, k)
    return index, values


def top_k_for_users(
    service: RecommendationService,
    user_indices: np.ndarray,
    k: int = 10,
    exclude_seen: bool = True,
    flt: ItemFilter | None = None,
    chunk: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """(n_users, k) item indices and scores; -1 / -inf where fewer than k items are allowed."""
    users = np.asarray(user_indices, dtype=np.int64)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if len(users) and (users.min() < 0 or users.max() >= service.data.n_users):
        raise IndexError(f"user indices must be in 0..{service.data.n_users - 1}")
    allowed = None if flt is None or flt.is_empty() else service.allowed(flt)
    k_eff = min(k, service.data.n_items)
    out_idx = np.full((len(users), k), -1, dtype=np.int64)
    out_val = np.full((len(users), k), -np.inf, dtype=np.float32)
    for start in range(0, len(users), chunk):
        part = users[start : start + chunk]
        hists = [service.data.sequences[u] for u in part]
        scores = service.model_scores(hists, part)
        cold = np.flatnonzero([len(h) == 0 for h in hists])
        if len(cold):
            empty = [np.zeros(0, dtype=np.int64)] * len(cold)
            scores[cold] = service.segpop.score(empty, part[cold])
        idx, val = fast_top_k(scores, hists if exclude_seen else None, k_eff, allowed)
        val = np.where(np.isfinite(val), val, -np.inf)
        idx = np.where(np.isfinite(val), idx, -1)
        out_idx[start : start + len(part), :k_eff] = idx
        out_val[start : start + len(part), :k_eff] = val
    return out_idx, out_val


def batch_recommend(
    service: RecommendationService,
    user_indices: np.ndarray | None = None,
    k: int = 10,
    exclude_seen: bool = True,
    flt: ItemFilter | None = None,
    with_reasons: bool = True,
) -> BatchResult:
    """Top-k for the given users (None = everyone) as one long frame, one row per (user, rank)."""
    t0 = time.perf_counter()
    users = np.arange(service.data.n_users) if user_indices is None else np.asarray(user_indices, dtype=np.int64)
    idx, val = top_k_for_users(service, users, k, exclude_seen, flt)
    rows_user, rows_rank = np.nonzero(idx >= 0)
    items = idx[rows_user, rows_rank]
    reasons: list[str | None] = [None] * len(items)
    if with_reasons and len(items):
        fresh = service.fresh()
        ctx = service.reasons
        bounds = np.searchsorted(rows_user, np.arange(len(users) + 1))
        for n, u in enumerate(users):
            lo, hi = bounds[n], bounds[n + 1]
            if hi > lo:
                for j, r in enumerate(explain(ctx, int(u), service.data.sequences[u], items[lo:hi], fresh)):
                    reasons[lo + j] = r.text
    data = service.data
    store_items = data.items["store_id"].to_numpy() if "store_id" in data.items else np.full(data.n_items, -1)
    store_users = data.users["store_id"].to_numpy() if "store_id" in data.users else np.full(data.n_users, -1)
    price = service.prices[items]
    frame = pd.DataFrame({
        "user_id": np.asarray(data.user_keys).astype(str)[users[rows_user]],
        "rank": rows_rank + 1,
        "item_id": np.asarray(data.item_keys).astype(str)[items],
        "title": service.titles[items],
        "category": service.categories[items],
        "price": np.where(np.isfinite(price), price, np.nan),
        "score": val[rows_user, rows_rank].astype(np.float64),
        "reason": reasons,
        "user_store_id": store_users[users[rows_user]],
        "item_store_id": store_items[items],
    })
    return BatchResult(frame=frame, n_users=len(users), seconds=time.perf_counter() - t0)


def store_batch(session, service: RecommendationService, result: BatchResult, config: dict) -> int:
    """Save the batch in the store (recommendation_batches + recommendations); returns its id."""
    from db.recommendations import save_batch

    if (result.frame["user_store_id"] < 0).any() or (result.frame["item_store_id"] < 0).any():
        raise ValueError("this batch was computed on data that is not from the store; it cannot be stored")
    batch = save_batch(session, result.frame, service.model_id, {**config, "n_users": result.n_users})
    return batch.id
