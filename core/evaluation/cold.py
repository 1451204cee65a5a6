"""Cold items: how well a model ranks items the training data barely (or never) shows.

Two views, both on the standard protocol's full-sort ranks:
- the cold slice: test users whose held-out item had at most `COLD_MAX_PURCHASES` training purchases
  (`cold_slice_metrics`, from the ranks a normal run already computed);
- a simulated new-item split (`new_item_split`): a random share of the catalogue is removed from every training
  sequence and history, and the test users are those whose held-out item is one of them. An id-only model has
  learnt nothing about those items (popularity and item-kNN score them 0, ranked last with ties pessimistic);
  a model that reads item text can still place them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.evaluation.metrics import DEFAULT_KS, hr_at_k, ndcg_at_k
from core.evaluation.protocols import EvalSet, Split, leave_one_out
from core.interactions import InteractionData

COLD_MAX_PURCHASES = 2
NEW_ITEM_SHARE = 0.1


def ndcg_se(rank: np.ndarray, k: int = 10) -> float:
    """Standard error over users of the mean NDCG@k (0 for fewer than two users)."""
    rank = np.asarray(rank, dtype=np.float64)
    if len(rank) < 2:
        return 0.0
    gains = np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)
    return float(gains.std(ddof=1) / np.sqrt(len(gains)))


def cold_slice_mask(eval_set: EvalSet, train_counts: np.ndarray, max_purchases: int = COLD_MAX_PURCHASES) -> np.ndarray:
    """Per evaluated user: did the held-out item have at most `max_purchases` training purchases?"""
    return np.asarray(train_counts)[eval_set.targets] <= max_purchases


def cold_slice_metrics(
    rank: np.ndarray,
    eval_set: EvalSet,
    train_counts: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
    max_purchases: int = COLD_MAX_PURCHASES,
) -> dict[str, float]:
    """{n_users, hr@k, ndcg@k, ndcg10_se, median_rank} over the users whose target had <= max_purchases training purchases."""
    rank = np.asarray(rank)
    if len(rank) != len(eval_set):
        raise ValueError(f"cold_slice_metrics: {len(rank)} ranks for {len(eval_set)} evaluated users")
    mask = cold_slice_mask(eval_set, train_counts, max_purchases)
    cold = rank[mask]
    out: dict[str, float] = {"n_users": int(mask.sum())}
    for k in ks:
        out[f"hr@{k}"] = hr_at_k(cold, k)
        out[f"ndcg@{k}"] = ndcg_at_k(cold, k)
    out["ndcg10_se"] = ndcg_se(cold, 10)
    # Where no model reaches the top 10, the median full-sort rank still shows who places the items better.
    out["median_rank"] = float(np.median(cold)) if len(cold) else float("nan")
    return out


def _without(seq: np.ndarray, new: np.ndarray) -> np.ndarray:
    seq = np.asarray(seq, dtype=np.int64)
    return seq[~new[seq]] if len(seq) else seq


def new_item_split(data: InteractionData, share: float = NEW_ITEM_SHARE, seed: int = 0) -> Split:
    """Leave-one-out where a random `share` of the bought items is new: never in training or in any history.

    Test users are those whose held-out (last) purchase is a new item; validation (early stopping) keeps the
    users whose validation target is not new. Raises ValueError when no test user is left.
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"new_item_split: share must be between 0 and 1 (exclusive), got {share}")
    base = leave_one_out(data)
    candidates = np.unique(base.test.targets)
    rng = np.random.default_rng(seed)
    n_new = max(1, int(round(share * len(candidates))))
    new = np.zeros(data.n_items, dtype=bool)
    new[rng.choice(candidates, size=min(n_new, len(candidates)), replace=False)] = True

    def strip(d: InteractionData) -> InteractionData:
        times = None
        if d.times is not None:
            times = [np.asarray(t)[~new[np.asarray(s, dtype=np.int64)]] if len(s) else np.asarray(t)
                     for s, t in zip(d.sequences, d.times)]
        return d.with_sequences([_without(s, new) for s in d.sequences], times)

    test_keep = new[base.test.targets]
    if not test_keep.any():
        raise ValueError(f"new_item_split: no test user holds out one of the new items on {data.name!r}")
    test = base.test.subset(test_keep)
    test.histories = [_without(h, new) for h in test.histories]
    valid = base.valid.subset(~new[base.valid.targets])
    valid.histories = [_without(h, new) for h in valid.histories]
    return Split(train=strip(base.train), valid=valid, test=test, protocol="new-items",
                 train_full=strip(base.train_full))
