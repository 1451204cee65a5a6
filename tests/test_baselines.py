"""Baselines on real data (ML-100K, leave-one-out, full sort) and their contract: beat random, round-trip, hand cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.benchmark_datasets import load_ml100k
from core.evaluation.evaluate import ModelSpec, run_evaluation
from core.evaluation.metrics import evaluate_model
from core.evaluation.protocols import leave_one_out
from core.interactions import InteractionData
from core.models import load_model, make_model
from core.models.base import Recommender
from tests.conftest import shared_path

BASELINES = {"popularity": {}, "segment_popularity": {}, "itemknn": {}, "ease": {"lam": 200.0}}


class RandomScores(Recommender):
    kind = "popularity"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, data):
        self.item_keys_ = np.asarray(data.item_keys)
        self._rng = np.random.default_rng(self.seed)
        return self

    def score(self, histories, users=None):
        return self._rng.random((len(histories), self.n_items_)).astype(np.float32)


@pytest.fixture(scope="module")
def ml100k_split():
    return leave_one_out(load_ml100k(shared_path("ml-100k", "u.data").parent))


@pytest.fixture(scope="module")
def random_metrics(ml100k_split):
    return evaluate_model(RandomScores().fit(ml100k_split.train_full), ml100k_split.test, ks=(10,))


@pytest.mark.parametrize("kind", list(BASELINES))
def test_every_baseline_beats_random_on_ml100k(kind, ml100k_split, random_metrics):
    model = make_model(kind, **BASELINES[kind]).fit(ml100k_split.test_fit_data())
    m = evaluate_model(model, ml100k_split.test, ks=(10,))
    # Random ranks the held-out movie in the top 10 of ~1,600 about 0.6 % of the time.
    assert random_metrics["hr@10"] < 0.02
    assert m["hr@10"] > 3 * max(random_metrics["hr@10"], 0.005)
    assert m["ndcg@10"] > 3 * max(random_metrics["ndcg@10"], 0.002)


def test_co_purchase_models_beat_popularity_on_ml100k(ml100k_split):
    res = run_evaluation(
        ml100k_split.train_full, [ModelSpec("popularity", "popularity"), ModelSpec("ease", "ease", {"lam": 200.0}),
                                  ModelSpec("itemknn", "itemknn")],
        split=ml100k_split, diversity="category", ks=(10,),
    )
    table = res.table().set_index("model")
    assert table.loc["ease", "ndcg@10"] > table.loc["popularity", "ndcg@10"]
    assert table.loc["itemknn", "hr@10"] > table.loc["popularity", "hr@10"]
    # Popularity recommends the same few movies to everyone: lowest coverage and novelty.
    assert table.loc["popularity", "coverage@10"] < table.loc["ease", "coverage@10"]
    assert table.loc["popularity", "novelty@10"] < table.loc["itemknn", "novelty@10"]
    assert 0 < table.loc["ease", "diversity@10"] <= 1
    activity = res.breakdown("activity")
    assert activity.groupby("model")["n_users"].sum().eq(len(ml100k_split.test)).all()


@pytest.mark.parametrize("kind", list(BASELINES))
def test_save_load_round_trip(kind, ml100k_split, tmp_path):
    model = make_model(kind, **BASELINES[kind]).fit(ml100k_split.train)
    hist = ml100k_split.test.histories[:16]
    users = ml100k_split.test.users[:16]
    loaded = load_model(model.save(tmp_path / kind))
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    np.testing.assert_allclose(loaded.score(hist, users), model.score(hist, users), rtol=1e-6)
    assert list(loaded.item_keys_) == list(model.item_keys_)


def _tiny(seqs, users=None, n_items=None) -> InteractionData:
    n_items = n_items or 1 + max(max(s) for s in seqs if s)
    return InteractionData(
        item_keys=np.array([f"i{k}" for k in range(n_items)]),
        user_keys=np.array([f"u{k}" for k in range(len(seqs))]),
        sequences=[np.asarray(s, dtype=np.int64) for s in seqs],
        users=users if users is not None else pd.DataFrame(index=range(len(seqs))),
    )


def test_segment_popularity_follows_the_segment_and_falls_back_to_global():
    users = pd.DataFrame({"region": ["north"] * 3 + ["south"] * 2 + [None],
                          "age_band": ["25-34"] * 3 + ["25-34"] * 2 + ["25-34"]})
    # North buys item 0, south buys item 1; item 2 is globally the most bought (by the segment-less user).
    data = _tiny([[0], [0], [0, 3], [1], [1], [2, 2, 2, 2, 2]], users)
    model = make_model("segment_popularity", shrinkage=1.0).fit(data)
    h = [np.zeros(0, dtype=np.int64)] * 4
    top = model.recommend(h, k=1, users=np.array([0, 3, 5, -1]))[0][:, 0]
    assert top.tolist() == [0, 1, 2, 2]  # north, south, no segment, unknown user
    assert model.recommend(h[:1], k=1)[0][0, 0] == 2  # users=None -> global popularity
    assert sorted(model.segment_keys_) == ["north | 25-34", "south | 25-34"]


def test_itemknn_scores_neighbours_of_the_history():
    # Items 0 and 1 are always bought together; 2 goes with 0 once; 3 is unrelated.
    data = _tiny([[0, 1], [0, 1], [0, 1, 2], [3], [3, 2]])
    model = make_model("itemknn", neighbors=10).fit(data)
    s = model.score([np.array([0])])[0]
    assert s[1] > s[2] > 0 and s[3] == 0 and s[0] == 0
    assert s[1] == pytest.approx(3 / np.sqrt(3 * 3))
    pruned = make_model("itemknn", neighbors=1).fit(data).score([np.array([0])])[0]
    assert pruned[1] > 0 and pruned[2] == 0  # only the strongest neighbour of item 0 kept
    with pytest.raises(ValueError, match="neighbors"):
        make_model("itemknn", neighbors=0).fit(data)


def test_ease_matches_the_closed_form_in_float64():
    rng = np.random.default_rng(3)
    seqs = [rng.choice(30, size=rng.integers(1, 8), replace=False) for _ in range(200)]
    data = _tiny(seqs, n_items=30)
    lam = 5.0
    model = make_model("ease", lam=lam).fit(data)
    x = data.user_item_matrix().toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + lam * np.eye(30))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(model.weights_, b, atol=1e-4)
    assert np.all(np.diag(model.weights_) == 0)
    np.testing.assert_allclose(model.score(seqs[:5]), x[:5] @ b, atol=1e-4)
    with pytest.raises(ValueError, match="max_items"):
        make_model("ease", max_items=10).fit(data)
    with pytest.raises(ValueError, match="lam"):
        make_model("ease", lam=0).fit(data)
