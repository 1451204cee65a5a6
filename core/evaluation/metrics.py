"""Ranking metrics on full-sort ranks: every held-out item is ranked against ALL items (no sampled negatives).

`ranks` gives the 0-based position of each target after removing the user's own earlier purchases (a repeat
purchase target included: it counts as a miss, as in S3-Rec's full sort and in serving). Ties are counted
pessimistically: an item scored exactly like the target is placed ahead of it, so a model that gives everything
the same score earns rank n_items - 1, not 0. A target scored NaN or -inf is never recommended: its rank is NOT_RANKED, beyond any K.
HR, NDCG and MRR at K are means over users; K larger than the catalogue simply counts every finite rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.evaluation.protocols import EvalSet
from core.models.base import Recommender, mask_histories, top_k

DEFAULT_KS: tuple[int, ...] = (5, 10, 20)
NOT_RANKED = np.iinfo(np.int64).max // 2  # rank of a target the model can never recommend (NaN / -inf score)


def ranks(scores: np.ndarray, histories: Sequence[np.ndarray], targets: np.ndarray) -> np.ndarray:
    """0-based full-sort rank of each target among all items, history excluded, ties pessimistic."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    targets = np.asarray(targets, dtype=np.int64)
    if scores.ndim != 2 or len(scores) != len(targets) or len(histories) != len(targets):
        raise ValueError(
            f"ranks needs scores (n_users, n_items) with one history and target per row; got scores "
            f"{scores.shape}, {len(histories)} histories, {len(targets)} targets"
        )
    n_items = scores.shape[1]
    if len(targets) and (targets.min() < 0 or targets.max() >= n_items):
        raise ValueError(f"ranks: a target item index is outside 0..{n_items - 1}")
    scores[np.isnan(scores)] = -np.inf
    mask_histories(scores, histories)
    target_scores = scores[np.arange(len(targets)), targets][:, None]
    above = (scores > target_scores).sum(axis=1)
    tied = (scores == target_scores).sum(axis=1) - 1  # the target itself is not a tie
    out = (above + tied).astype(np.int64)
    out[~np.isfinite(target_scores[:, 0])] = NOT_RANKED
    return out


def _check_k(k: int) -> None:
    if int(k) < 1:
        raise ValueError(f"K must be at least 1, got {k}")


def hr_at_k(rank: np.ndarray, k: int) -> float:
    """Hit rate: share of users whose target is in the top K."""
    _check_k(k)
    rank = np.asarray(rank)
    return float(np.mean(rank < k)) if len(rank) else 0.0


def ndcg_at_k(rank: np.ndarray, k: int) -> float:
    """NDCG with one relevant item: 1 / log2(rank + 2) inside the top K, else 0."""
    _check_k(k)
    rank = np.asarray(rank, dtype=np.float64)
    if not len(rank):
        return 0.0
    return float(np.mean(np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)))


def mrr_at_k(rank: np.ndarray, k: int) -> float:
    """Mean reciprocal rank, truncated at K."""
    _check_k(k)
    rank = np.asarray(rank, dtype=np.float64)
    if not len(rank):
        return 0.0
    return float(np.mean(np.where(rank < k, 1.0 / (rank + 1.0), 0.0)))


def coverage(recommended: np.ndarray, n_items: int) -> float:
    """Catalogue coverage: share of all items that appear in at least one list."""
    recommended = np.asarray(recommended)
    if n_items <= 0 or recommended.size == 0:
        return 0.0
    return float(len(np.unique(recommended[recommended >= 0])) / n_items)


def novelty(recommended: np.ndarray, train_counts: np.ndarray) -> float:
    """Mean self-information -log2 p(i) of recommended items; p(i) = (purchases_i + 1) / (purchases + n_items).

    Add-one smoothing keeps never-bought items finite (they are the most novel).
    """
    recommended = np.asarray(recommended)
    counts = np.asarray(train_counts, dtype=np.float64)
    if recommended.size == 0:
        return 0.0
    p = (counts + 1.0) / (counts.sum() + len(counts))
    return float(np.mean(-np.log2(p[recommended[recommended >= 0]])))


def intra_list_diversity(
    recommended: np.ndarray, item_vectors: np.ndarray | None = None, categories: Sequence | None = None
) -> float | None:
    """Mean pairwise dissimilarity inside each list, averaged over lists.

    With unit `item_vectors` (text embeddings): 1 - cosine. Otherwise with `categories`: share of pairs in
    different categories (a missing category counts as its own "unknown" category). None when neither is given
    or lists are shorter than 2.
    """
    recommended = np.asarray(recommended, dtype=np.int64)
    if recommended.ndim != 2 or recommended.shape[1] < 2 or len(recommended) == 0:
        return None
    k = recommended.shape[1]
    if item_vectors is not None:
        vecs = np.asarray(item_vectors, dtype=np.float32)[recommended]  # (n, k, d)
        total = vecs.sum(axis=1)
        sq = np.einsum("nkd,nkd->n", vecs, vecs)
        mean_cos = (np.einsum("nd,nd->n", total, total) - sq) / (k * (k - 1))
        return float(np.mean(1.0 - mean_cos))
    if categories is not None:
        codes = np.unique(np.asarray([str(c) if c == c and c is not None else "\0unknown" for c in categories]),
                          return_inverse=True)[1]
        cats = codes[recommended]  # (n, k)
        same = (cats[:, :, None] == cats[:, None, :]).sum(axis=(1, 2)) - k
        return float(np.mean(1.0 - same / (k * (k - 1))))
    return None


@dataclass
class RankResult:
    """Per-user full-sort ranks plus each user's top-K list (history excluded), for beyond-accuracy metrics."""

    ranks: np.ndarray
    top: np.ndarray  # (n_users, k_max) item indices


def rank_eval_set(model: Recommender, eval_set: EvalSet, k_max: int = 20, batch_size: int = 512) -> RankResult:
    """Score `eval_set` in batches (bounded memory for 22k users x 12k items) and rank the targets."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(eval_set)
    rank_out = np.zeros(n, dtype=np.int64)
    top_out = np.zeros((n, 0), dtype=np.int64)
    tops = []
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        hist = eval_set.histories[start:stop]
        users = eval_set.users[start:stop]
        scores = np.array(model.score(hist, users), dtype=np.float32, copy=True)
        if scores.shape != (stop - start, model.n_items_):
            raise ValueError(
                f"{type(model).__name__}.score returned shape {scores.shape}, expected {(stop - start, model.n_items_)}"
            )
        rank_out[start:stop] = ranks(scores, hist, eval_set.targets[start:stop])
        idx, _ = top_k(scores, hist, k_max)
        tops.append(idx)
    if tops:
        top_out = np.concatenate(tops)
    return RankResult(ranks=rank_out, top=top_out)


def metrics_from_ranks(
    result: RankResult,
    n_items: int,
    ks: Sequence[int] = DEFAULT_KS,
    train_counts: np.ndarray | None = None,
    item_vectors: np.ndarray | None = None,
    categories: Sequence | None = None,
) -> dict[str, float]:
    """Flat dict 'hr@10', 'ndcg@10', 'mrr@10', 'coverage@10', 'novelty@10', 'diversity@10', … plus 'n_users'."""
    out: dict[str, float] = {"n_users": int(len(result.ranks))}
    for k in ks:
        out[f"hr@{k}"] = hr_at_k(result.ranks, k)
        out[f"ndcg@{k}"] = ndcg_at_k(result.ranks, k)
        out[f"mrr@{k}"] = mrr_at_k(result.ranks, k)
        top = result.top[:, :k]
        out[f"coverage@{k}"] = coverage(top, n_items)
        if train_counts is not None:
            out[f"novelty@{k}"] = novelty(top, train_counts)
        div = intra_list_diversity(top, item_vectors, categories)
        if div is not None:
            out[f"diversity@{k}"] = div
    return out


def evaluate_model(
    model: Recommender,
    split_eval: EvalSet,
    ks: Sequence[int] = DEFAULT_KS,
    batch_size: int = 512,
    train_counts: np.ndarray | None = None,
    item_vectors: np.ndarray | None = None,
    categories: Sequence | None = None,
) -> dict[str, float]:
    """All metrics of one fitted model on one EvalSet (e.g. validation NDCG@10 during LM training)."""
    result = rank_eval_set(model, split_eval, k_max=max(ks), batch_size=batch_size)
    return metrics_from_ranks(result, model.n_items_, ks, train_counts, item_vectors, categories)
