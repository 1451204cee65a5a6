"""Protocols: leave-one-out and the temporal split hold out the right purchase and never leak it into training."""

from __future__ import annotations

import numpy as np
import pytest

from core.benchmark_datasets import load_beauty, load_ml100k
from core.evaluation.protocols import leave_one_out, make_split, temporal_split, thin_training
from core.interactions import InteractionData
from tests.conftest import shared_path


def _data(seqs, times=None) -> InteractionData:
    n_items = 1 + max(max(s) for s in seqs if s)
    return InteractionData(
        item_keys=np.arange(n_items).astype(str),
        user_keys=np.arange(len(seqs)).astype(str),
        sequences=[np.asarray(s, dtype=np.int64) for s in seqs],
        times=None if times is None else [np.asarray(t, dtype=np.int64) for t in times],
    )


def test_leave_one_out_by_hand():
    split = leave_one_out(_data([[0, 1, 2, 3], [4, 5], [1, 2, 3], []]))
    assert split.protocol == "loo"
    assert [s.tolist() for s in split.train.sequences] == [[0, 1], [4, 5], [1], []]
    assert [s.tolist() for s in split.train_full.sequences] == [[0, 1, 2], [4, 5], [1, 2], []]
    assert split.valid.users.tolist() == [0, 2] and split.valid.targets.tolist() == [2, 2]
    assert [h.tolist() for h in split.valid.histories] == [[0, 1], [1]]
    assert split.test.users.tolist() == [0, 2] and split.test.targets.tolist() == [3, 3]
    assert [h.tolist() for h in split.test.histories] == [[0, 1, 2], [1, 2]]


def test_thin_training_keeps_every_test_user_and_trains_on_a_share_of_the_customers():
    rng = np.random.default_rng(0)
    data = _data([list(rng.integers(0, 30, size=6)) for _ in range(400)], [list(range(6))] * 400)
    split = leave_one_out(data)
    assert thin_training(split, 1.0) is split
    thin = thin_training(split, 0.25, seed=1)
    trained = np.array([len(s) > 0 for s in thin.train_full.sequences])
    assert 0.15 < trained.mean() < 0.35 and thin.protocol == "loo, 25% train"
    for part, full in ((thin.train, split.train), (thin.train_full, split.train_full)):
        for u, (s, t) in enumerate(zip(part.sequences, full.sequences)):
            assert s.tolist() == (t.tolist() if trained[u] else [])
    assert thin.train.times[0].tolist() == (split.train.times[0].tolist() if trained[0] else [])
    assert thin.test is split.test  # every customer is still tested on the same history and item
    assert trained[thin.valid.users].all() and len(thin.valid) == trained[split.valid.users].sum()
    with pytest.raises(ValueError, match="share"):
        thin_training(split, 0.0)


def test_temporal_split_by_hand():
    seqs = [[0, 1, 2, 3], [4, 5, 6], [7, 8]]
    times = [[10, 20, 30, 40], [15, 25, 35], [5, 50]]
    split = temporal_split(_data(seqs, times), cutoff=32, valid_fraction=0.3)
    # Pre-cutoff times: 5 10 15 20 25 30 -> the last 30 % start at 25 (valid_cutoff).
    assert [s.tolist() for s in split.train.sequences] == [[0, 1], [4], [7]]
    assert [s.tolist() for s in split.train_full.sequences] == [[0, 1, 2], [4, 5], [7]]
    assert split.test.users.tolist() == [0, 1, 2] and split.test.targets.tolist() == [3, 6, 8]
    assert [h.tolist() for h in split.test.histories] == [[0, 1, 2], [4, 5], [7]]
    assert split.valid.users.tolist() == [0, 1] and split.valid.targets.tolist() == [2, 5]
    assert [h.tolist() for h in split.valid.histories] == [[0, 1], [4]]
    # Cold users (nothing before the cutoff) only with min_history=0.
    cold = _data([[0, 1], [2]], [[1, 2], [9]])
    with pytest.raises(ValueError, match="at least 1 before it"):
        temporal_split(cold, cutoff=5, valid_fraction=0.5)
    assert temporal_split(cold, cutoff=5, valid_fraction=0.5, min_history=0).test.users.tolist() == [1]


def test_temporal_split_needs_times_and_names_the_problem():
    with pytest.raises(ValueError, match="timestamps"):
        temporal_split(_data([[0, 1, 2]]))
    with pytest.raises(ValueError, match="after the cutoff"):
        temporal_split(_data([[0, 1, 2]], [[1, 2, 3]]), cutoff=100)
    with pytest.raises(ValueError, match="valid_fraction"):
        temporal_split(_data([[0, 1, 2]], [[1, 2, 3]]), cutoff=3, valid_fraction=1.5)
    with pytest.raises(ValueError, match="Unknown protocol"):
        make_split(_data([[0, 1, 2]]), "random")


def test_no_leakage_leave_one_out_on_ml100k():
    data = load_ml100k(shared_path("ml-100k", "u.data").parent)
    split = leave_one_out(data)
    assert len(split.test) == sum(len(s) >= 3 for s in data.sequences) > 900
    for u, target, valid_target in zip(split.test.users, split.test.targets, split.valid.targets):
        seq = data.sequences[u]
        assert target == seq[-1] and valid_target == seq[-2]
        # ML-100K has one rating per (user, item): a held-out item appearing in training would be a leak.
        assert target not in split.train_full.sequences[u] and target not in split.train.sequences[u]
        assert valid_target not in split.train.sequences[u]
    # Time order: each held-out purchase is the user's latest.
    for u in split.test.users[:200]:
        assert (np.diff(data.times[u]) >= 0).all()
    total = sum(len(s) for s in data.sequences)
    assert sum(len(s) for s in split.train.sequences) == total - 2 * len(split.test)


def test_no_leakage_temporal_on_ml100k():
    data = load_ml100k(shared_path("ml-100k", "u.data").parent)
    cutoff = int(np.quantile(np.concatenate(data.times), 0.8))
    split = temporal_split(data, cutoff=cutoff)
    assert len(split.test) > 50
    assert max(t.max() for t in split.train_full.times if len(t)) < cutoff
    train_max = max(t.max() for t in split.train.times if len(t))
    for u, target, hist in zip(split.test.users, split.test.targets, split.test.histories):
        first_after = np.flatnonzero(data.times[u] >= cutoff)[0]
        assert target == data.sequences[u][first_after]
        assert np.array_equal(hist, data.sequences[u][data.times[u] < cutoff])
        assert target not in split.train_full.sequences[u]
    for u, target in zip(split.valid.users, split.valid.targets):
        assert target not in split.train.sequences[u]
        # The validation target happens after everything the validation model trains on.
        t_target = data.times[u][list(data.sequences[u]).index(target)]
        assert t_target > train_max


def test_beauty_split_matches_the_published_protocol():
    data = load_beauty(shared_path("amazon_s3rec", "Beauty.txt"))
    split = leave_one_out(data)
    assert (data.n_users, data.n_items) == (22363, 12101)
    assert len(split.test) == data.n_users  # every Beauty user has at least 5 purchases
    assert all(len(t) == len(s) - 2 for t, s in zip(split.train.sequences, data.sequences))
