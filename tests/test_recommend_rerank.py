"""Re-ranking invariants: relevance-only MMR is the plain ranking; filters never leak; the export escapes formulas."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from core.models.base import top_k
from core.recommend.rerank import ItemFilter, RerankOptions, mmr, rerank


def _catalogue(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    items = pd.DataFrame({
        "category": rng.choice(["a", "b", "c", "d", None], size=n),
        "price": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(1, 100, n).round(2)),
    })
    return rng, vectors, items


@pytest.mark.parametrize("seed", range(5))
def test_relevance_only_mmr_equals_plain_ranking(seed):
    rng, vectors, _ = _catalogue(300, seed)
    scores = rng.normal(size=300).astype(np.float32)
    scores[rng.choice(300, 40, replace=False)] = 1.5  # ties must break the same way as top_k
    plain, _ = top_k(scores[None].copy(), None, 20)
    ranked = rerank(scores, RerankOptions(k=20, diversity=0.0), vectors)
    assert ranked.items.tolist() == plain[0].tolist() == ranked.plain.tolist()
    # The MMR routine itself (not only the shortcut) at lambda = 1 keeps candidate order.
    order = np.lexsort((np.arange(300), -scores))
    assert mmr(scores[order], vectors[order], 20, lam=1.0).tolist() == list(range(20))
    # The greedy loop itself: a vanishing diversity weight cannot reorder distinct relevances.
    distinct = np.sort(rng.permutation(300) / 300.0)[::-1]
    assert mmr(distinct, vectors, 20, lam=1 - 1e-9).tolist() == list(range(20))


def test_diversity_changes_list_and_raises_diversity():
    from core.recommend.rerank import list_quality

    rng, vectors, _ = _catalogue(200, 1)
    # Make the 10 best items near-duplicates of each other.
    vectors[:10] = vectors[0] + 0.01 * rng.normal(size=(10, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = np.linspace(1, 0, 200).astype(np.float32)
    plain = rerank(scores, RerankOptions(k=10), vectors)
    diverse = rerank(scores, RerankOptions(k=10, diversity=0.7), vectors)
    counts = np.ones(200)
    assert diverse.items.tolist() != plain.items.tolist()
    assert list_quality(diverse.items, vectors, counts).diversity > list_quality(plain.items, vectors, counts).diversity + 0.3


@pytest.mark.parametrize("seed", range(8))
def test_filters_never_leak(seed):
    rng, vectors, items = _catalogue(400, seed)
    flt = ItemFilter(categories=("a", "b"), exclude_categories=("b",) if seed % 2 else (), min_price=20.0,
                     max_price=60.0)
    allowed = flt.mask(items, len(items))
    scores = rng.normal(size=400).astype(np.float32)
    history = rng.choice(400, 30, replace=False)
    scores[~allowed] = -np.inf
    scores[history] = -np.inf
    fresh = (rng.random(400) < 0.2).astype(np.float32)
    for opts in (RerankOptions(k=15), RerankOptions(k=15, diversity=0.8, freshness=3.0, exploration=0.5)):
        ranked = rerank(scores, opts, vectors, fresh, items["category"].to_numpy(), user_categories={"a"})
        shown = ranked.items
        assert len(shown) > 0 and len(set(shown.tolist())) == len(shown)
        assert not set(shown.tolist()) & set(history.tolist())
        got = items.iloc[shown]
        assert got["category"].isin(["a", "b"]).all()
        if seed % 2:
            assert (got["category"] != "b").all()
        assert got["price"].between(20, 60).all()  # unknown prices never pass a price filter


def test_filter_rejects_nonsense_bounds():
    with pytest.raises(ValueError, match="min_price 50"):
        ItemFilter(min_price=50, max_price=10)
    with pytest.raises(ValueError, match="max_price"):
        ItemFilter(max_price=-1)
    with pytest.raises(ValueError, match="diversity"):
        RerankOptions(diversity=1.5)


def test_too_few_allowed_items_returns_what_exists():
    scores = np.full(50, -np.inf, dtype=np.float32)
    scores[[3, 7, 9]] = [0.1, 0.5, 0.3]
    ranked = rerank(scores, RerankOptions(k=10, diversity=0.5))
    assert sorted(ranked.items.tolist()) == [3, 7, 9]


def test_export_escapes_formula_cells():
    from core.export import escape_cell, to_csv_bytes

    df = pd.DataFrame({
        "title": ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "plain", "a=b"],
        "price": [-1.5, 2, 3, 4, 5, 6, 7, 8],
    })
    rows = list(csv.reader(io.StringIO(to_csv_bytes(df).decode("utf-8-sig"), newline="")))
    back = pd.DataFrame(rows[1:], columns=rows[0])
    assert back["title"].tolist()[:6] == ["'=cmd|' /C calc'!A0", "'+1+2", "'-2+3", "'@SUM(A1)", "'\tTab", "'\rCR"]
    assert back["title"].tolist()[6:] == ["plain", "a=b"]
    assert back["price"].tolist()[0] == "-1.5"  # numbers stay numbers
    assert escape_cell(None) is None and escape_cell(3) == 3


@pytest.mark.parametrize("seed", range(4))
def test_fast_top_k_is_exactly_top_k(seed):
    from core.recommend.batch import fast_top_k

    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=(300, 500)).astype(np.float32)  # many ties at every place
    scores[:5] = 0.0  # a row of equal scores (a cold user on a history-only model)
    histories = [rng.choice(500, rng.integers(0, 20), replace=False) for _ in range(300)]
    allowed = rng.random(500) < 0.9
    allowed_few = np.zeros(500, dtype=bool)
    allowed_few[[4, 9]] = True  # fewer allowed items than k
    for alw in (None, allowed, allowed_few):
        want = top_k(scores.copy(), histories, 10, alw)
        got = fast_top_k(scores.copy(), histories, 10, alw)
        assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1])


def test_search_ranking_personalises_close_matches_only():
    from core.recommend.search import rank_matches

    sim = np.array([0.60, 0.58, 0.55, 0.20, 0.10, 0.05])
    allowed = np.ones(6, dtype=bool)
    alice = np.array([0.0, 1.0, 5.0, 99.0, 0.0, 0.0])  # loves item 3, a loose match
    bob = np.array([5.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    a_items, _ = rank_matches(sim, alice, allowed, k=4, personal_weight=0.9)
    b_items, _ = rank_matches(sim, bob, allowed, k=4, personal_weight=0.9)
    assert a_items.tolist()[:3] == [2, 1, 0] and b_items.tolist()[:3] == [0, 1, 2]  # same matches, own order
    assert a_items[3] == 3 == b_items[3]  # the loose match stays behind every close one
    text_only, _ = rank_matches(sim, alice, allowed, k=6, personal_weight=0.0)
    assert text_only.tolist() == [0, 1, 2, 3, 4, 5]
    masked, _ = rank_matches(sim, None, np.array([False, True, True, False, True, True]), k=6)
    assert masked.tolist() == [1, 2, 4, 5]
