"""Full-sort ranking metrics on hand-computed cases: history exclusion, ties, K beyond the catalogue, batching."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.evaluation.metrics import (
    NOT_RANKED,
    coverage,
    evaluate_model,
    hr_at_k,
    intra_list_diversity,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    rank_eval_set,
    ranks,
)
from core.evaluation.protocols import EvalSet
from core.interactions import InteractionData
from core.models.base import Recommender


def _h(*items: int) -> np.ndarray:
    return np.asarray(items, dtype=np.int64)


def test_rank_counts_only_better_items_and_skips_history():
    scores = np.array([[0.1, 0.5, 0.3, 0.9], [0.1, 0.5, 0.3, 0.9]], dtype=np.float32)
    # Row 0: item 3 (0.9) is in the history, so target 1 (0.5) is first. Row 1: nothing excluded, target 2 has 2 above.
    assert ranks(scores, [_h(3), _h()], _h(1, 2)).tolist() == [0, 2]


def test_repeat_purchase_target_is_masked_like_every_bought_item():
    scores = np.array([[0.9, 0.8, 0.7]], dtype=np.float32)
    # A repeat purchase: target 1 is in the history, so (as in S3-Rec's full sort and in serving) it cannot be
    # recommended and counts as a miss; it must not stay the one unmasked bought item.
    assert ranks(scores, [_h(0, 1)], _h(1)).tolist() == [NOT_RANKED]
    assert hr_at_k(ranks(scores, [_h(0, 1)], _h(1)), 3) == 0.0
    # The same target not bought before ranks normally behind the unmasked better item.
    assert ranks(scores, [_h(2)], _h(1)).tolist() == [1]


def test_ties_are_counted_against_the_target():
    assert ranks(np.ones((1, 4), dtype=np.float32), [_h()], _h(0)).tolist() == [3]
    scores = np.array([[0.2, 0.5, 0.5, 0.1]], dtype=np.float32)
    assert ranks(scores, [_h()], _h(1)).tolist() == [1]
    assert ranks(scores, [_h()], _h(2)).tolist() == [1]
    # The tied competitor in the history no longer counts.
    assert ranks(scores, [_h(2)], _h(1)).tolist() == [0]


def test_nan_and_minus_inf_targets_are_never_hits():
    scores = np.array([[np.nan, 0.5, 0.1], [0.3, -np.inf, np.nan]], dtype=np.float32)
    r = ranks(scores, [_h(), _h()], _h(0, 1))
    assert (r == NOT_RANKED).all()
    assert hr_at_k(r, 100) == 0.0 and ndcg_at_k(r, 100) == 0.0 and mrr_at_k(r, 100) == 0.0
    # A NaN competitor counts as -inf, not as better.
    assert ranks(np.array([[np.nan, 0.5]], dtype=np.float32), [_h()], _h(1)).tolist() == [0]


def test_rank_inputs_are_checked():
    with pytest.raises(ValueError, match="outside"):
        ranks(np.zeros((1, 3), dtype=np.float32), [_h()], _h(3))
    with pytest.raises(ValueError, match="one history and target"):
        ranks(np.zeros((2, 3), dtype=np.float32), [_h()], _h(0))


def test_hr_ndcg_mrr_by_hand():
    r = np.array([0, 1, 5, 20])
    assert hr_at_k(r, 5) == pytest.approx(2 / 4)
    assert ndcg_at_k(r, 5) == pytest.approx((1 + 1 / math.log2(3)) / 4)
    assert mrr_at_k(r, 5) == pytest.approx((1 + 1 / 2) / 4)
    assert hr_at_k(r, 6) == pytest.approx(3 / 4)
    assert ndcg_at_k(r, 6) == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(7)) / 4)
    assert mrr_at_k(r, 21) == pytest.approx((1 + 1 / 2 + 1 / 6 + 1 / 21) / 4)
    with pytest.raises(ValueError, match="K must be"):
        hr_at_k(r, 0)


def test_k_larger_than_the_catalogue():
    scores = np.array([[0.3, 0.2, 0.1], [0.3, 0.2, 0.1]], dtype=np.float32)
    r = ranks(scores, [_h(), _h(0)], _h(2, 2))
    assert r.tolist() == [2, 1]
    assert hr_at_k(r, 10) == 1.0
    assert ndcg_at_k(r, 10) == pytest.approx((1 / math.log2(4) + 1 / math.log2(3)) / 2)


def test_coverage_novelty_diversity_by_hand():
    recs = np.array([[0, 1], [0, 2]])
    assert coverage(recs, 4) == pytest.approx(3 / 4)
    counts = np.array([3, 1, 0, 0])  # p = (c + 1) / (4 + 4)
    expected = np.mean([-math.log2(4 / 8), -math.log2(2 / 8), -math.log2(4 / 8), -math.log2(1 / 8)])
    assert novelty(recs, counts) == pytest.approx(expected)
    cats = ["A", "A", "B", None]
    assert intra_list_diversity(np.array([[0, 1, 2]]), categories=cats) == pytest.approx(2 / 3)
    assert intra_list_diversity(np.array([[0, 1], [2, 3]]), categories=cats) == pytest.approx(0.5)
    eye = np.eye(3, dtype=np.float32)
    assert intra_list_diversity(np.array([[0, 1, 2]]), item_vectors=eye) == pytest.approx(1.0)
    same = np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (3, 1))
    assert intra_list_diversity(np.array([[0, 1, 2]]), item_vectors=same) == pytest.approx(0.0, abs=1e-6)
    assert intra_list_diversity(np.array([[0, 1]])) is None


class _Fixed(Recommender):
    """Scores from a fixed random table by user index (a stand-in model to test batching)."""

    kind = "popularity"

    def __init__(self, table=None):
        self.table = table

    def fit(self, data: InteractionData):
        self.item_keys_ = np.asarray(data.item_keys)
        return self

    def score(self, histories, users=None):
        return self.table[np.asarray(users)]


def test_batched_evaluation_equals_one_batch_and_lists_skip_history():
    rng = np.random.default_rng(0)
    n_users, n_items = 37, 23
    table = rng.random((n_users, n_items)).astype(np.float32)
    histories = [rng.choice(n_items, size=rng.integers(0, 6), replace=False) for _ in range(n_users)]
    targets = rng.integers(0, n_items, size=n_users)
    eval_set = EvalSet(np.arange(n_users), histories, targets)
    data = InteractionData(item_keys=np.arange(n_items).astype(str), user_keys=np.arange(n_users).astype(str),
                           sequences=[np.zeros(0, dtype=np.int64)] * n_users)
    model = _Fixed(table).fit(data)
    a = rank_eval_set(model, eval_set, k_max=5, batch_size=4)
    b = rank_eval_set(model, eval_set, k_max=5, batch_size=1000)
    assert np.array_equal(a.ranks, b.ranks) and np.array_equal(a.top, b.top)
    assert np.array_equal(a.ranks, ranks(table, histories, targets))
    for row, hist in zip(a.top, histories):
        assert not set(row.tolist()) & set(hist.tolist())
    m1 = evaluate_model(model, eval_set, ks=(5, 10), batch_size=3, train_counts=np.ones(n_items))
    m2 = evaluate_model(model, eval_set, ks=(5, 10), batch_size=64, train_counts=np.ones(n_items))
    assert m1 == pytest.approx(m2)
    assert m1["n_users"] == n_users and 0 < m1["hr@10"] <= 1 and m1["hr@5"] <= m1["hr@10"]
