"""Cold items: the ≤2-purchase slice on a hand-checked example and on ML-100K, the simulated new-item split, and
the LM with text placing never-seen items where id-only models cannot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.evaluation import EvalSet
from core.evaluation.cold import cold_slice_metrics, ndcg_se, new_item_split
from core.evaluation.evaluate import COLD_SLICE, baseline_specs, run_evaluation
from core.evaluation.metrics import rank_eval_set
from core.interactions import InteractionData
from core.models import make_model


def test_cold_slice_by_hand():
    # targets 0,1,2,3 with 0,2,3,9 training purchases: the slice is users 0,1,2 (≤2), user 3 is warm.
    ev = EvalSet(np.arange(4), [np.asarray([4]), np.asarray([4]), np.asarray([4]), np.asarray([4])],
                 np.asarray([0, 1, 2, 3]))
    counts = np.asarray([0, 2, 3, 9, 5])
    ranks = np.asarray([0, 1, 20, 0])
    m = cold_slice_metrics(ranks, ev, counts, ks=(10,))
    assert m["n_users"] == 2
    assert m["hr@10"] == 1.0
    assert m["ndcg@10"] == pytest.approx((1.0 + 1.0 / np.log2(3)) / 2)
    gains = np.asarray([1.0, 1.0 / np.log2(3)])
    assert m["ndcg10_se"] == pytest.approx(gains.std(ddof=1) / np.sqrt(2))
    assert m["median_rank"] == 0.5
    assert cold_slice_metrics(ranks, ev, counts, ks=(10,), max_purchases=3)["n_users"] == 3
    assert ndcg_se(np.asarray([3])) == 0.0
    with pytest.raises(ValueError, match="3 ranks for 4"):
        cold_slice_metrics(ranks[:3], ev, counts)


def _catalogue_data(n_users: int = 400, seed: int = 0) -> InteractionData:
    """Two text families (red cosmetics / blue tools); a shopper keeps to one family, so the family of an item is
    the only thing that tells where a never-seen item belongs."""
    rng = np.random.default_rng(seed)
    n = 40
    fam = np.arange(n) % 2
    words = [["red lipstick", "red nail polish", "red perfume", "red blush"],
             ["blue hammer", "blue screwdriver", "blue drill", "blue wrench"]]
    titles = [f"{words[f][i % 4]} model {i}" for i, f in enumerate(fam)]
    seqs = []
    for _ in range(n_users):
        f = int(rng.integers(2))
        pool = np.flatnonzero(fam == f)
        seqs.append(rng.choice(pool, size=int(rng.integers(4, 9)), replace=False).astype(np.int64))
    return InteractionData(
        item_keys=np.asarray([f"sku{i}" for i in range(n)]), user_keys=np.asarray([f"u{u}" for u in range(n_users)]),
        sequences=seqs, items=pd.DataFrame({"title": titles, "category": np.where(fam == 0, "beauty", "tools")}),
        users=pd.DataFrame(index=range(n_users)), name="families",
    )


def test_new_item_split_hides_new_items_everywhere():
    data = _catalogue_data()
    split = new_item_split(data, share=0.2, seed=3)
    new = set(split.test.targets.tolist())
    assert new and split.protocol == "new-items"
    for seqs in (split.train.sequences, split.test_fit_data().sequences, split.test.histories, split.valid.histories):
        assert not new & set(np.concatenate(seqs).tolist())
    assert not new & set(split.valid.targets.tolist())
    assert (split.test_fit_data().purchase_counts()[split.test.targets] == 0).all()
    with pytest.raises(ValueError, match="share"):
        new_item_split(data, share=1.0)


def test_lm_with_text_ranks_never_seen_items_id_only_cannot():
    data = _catalogue_data()
    split = new_item_split(data, share=0.2, seed=3)
    params = dict(n_layer=1, n_embd=32, n_head=2, dropout=0.1, lr=5e-3, batch_size=32, epochs=8, patience=8, seed=1)
    lm = make_model("lm", **params).fit(split.train, valid=split.valid)
    new_items = np.unique(split.test.targets)
    scores = lm.score(split.test.histories[:50])[:, new_items]
    assert np.ptp(scores, axis=1).min() > 0  # the new items are told apart, per user
    pop = make_model("popularity").fit(split.test_fit_data())
    # all scored alike (popularity's only tie-break is a 1e-9 step by index): nothing to go on
    assert np.ptp(pop.score(split.test.histories[:50])[:, new_items]) < 1e-6
    lm_ranks = rank_eval_set(lm, split.test).ranks
    pop_ranks = rank_eval_set(pop, split.test).ranks
    n_new = len(new_items)
    # Popularity puts every new item behind every bought one; the LM reads the family from the text.
    longest = max(len(h) for h in split.test.histories)
    assert pop_ranks.min() >= data.n_items - n_new - longest
    assert np.median(lm_ranks) < data.n_items / 2
    no_text = make_model("lm", **{**params, "text_init": False}).fit(split.train, valid=split.valid)
    assert not no_text.can_score_new_items(["red lipstick"])


def test_cold_slice_on_ml100k(ml100k):
    from core.evaluation.protocols import leave_one_out

    result = run_evaluation(ml100k, baseline_specs(("popularity",)))
    split = leave_one_out(ml100k)
    counts = split.test_fit_data().purchase_counts()
    expected = int((counts[split.test.targets] <= 2).sum())
    cold = result.results[0].items[COLD_SLICE]
    assert cold["n_users"] == expected > 0
    assert cold["ndcg@10"] == 0.0  # popularity never puts a ≤2-purchase item in a top 10 of 1,682
    new = run_evaluation(ml100k, baseline_specs(("popularity",)), protocol="new-items")
    assert new.protocol == "new-items" and new.results[0].metrics["ndcg@10"] == 0.0


@pytest.fixture(scope="module")
def ml100k() -> InteractionData:
    from core.benchmark_datasets import load_ml100k, shared_data_dir

    if not (shared_data_dir() / "ml-100k").exists():
        pytest.skip(f"ML-100K is not in {shared_data_dir()} (the shared data folder)")
    return load_ml100k()


@pytest.mark.slow
def test_evaluation_page_shows_the_cold_item_section(demo_store):
    from tests.conftest import app_test
    from tests.test_evaluation_page import _run_evaluation

    at = app_test("evaluation")
    at.run()
    at.multiselect(key="models").set_value(["baseline: popularity", "baseline: itemknn"])
    at.radio(key="protocol").set_value("new-items")
    _run_evaluation(at, demo_store)
    assert not at.exception and not at.error
    assert any(h.value.startswith("Cold items") for h in at.subheader)
    assert any("new-item split" in c.value for c in at.caption)
    cold = next(d.value for d in at.dataframe if "median rank" in d.value.columns).set_index("model")
    assert list(cold.index) == ["popularity", "itemknn"]
    assert (cold["NDCG@10"] == 0.0).all()  # never-seen items: an id-only model has nothing to rank them by


def test_text_added_lm_saves_and_loads_exactly(tmp_path):
    from core.models import load_model

    data = _catalogue_data(n_users=120)
    model = make_model("lm", n_layer=1, n_embd=16, n_head=2, epochs=2, batch_size=32, seed=2).fit(data)
    assert model.net_.text_dim == 384
    assert float(model.net_.text_proj.weight.detach().abs().sum()) > 0  # the text path was trained, not left at zero
    back = load_model(model.save(tmp_path / "lm"))
    hist = data.sequences[:5]
    np.testing.assert_allclose(back.score(hist), model.score(hist), rtol=1e-5, atol=1e-5)
