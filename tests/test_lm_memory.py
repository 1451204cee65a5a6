"""The LM's purchase memory (kNN-LM): the vote of the nearest stored states, its mix into the LM's softmax, the
choice of its setting on validation purchases (off where it does not help), and its place in a fitted model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.models import load_model, make_model
from core.models.lm_memory import MemorySetting, PurchaseMemory, memory_grid, mix_log_probs, tune_memory
from tests.test_lm import N_ITEMS, SMALL, _rule, planted_data

N = 6


def one_hot_states(rows):
    """A stand-in for the LM's hidden states: the state at a position is the one-hot of the item read there."""
    items = np.concatenate([np.asarray(r) for r in rows])
    return np.eye(N, dtype=np.float32)[items]


def memory_of(pairs: list[tuple[int, int]]) -> PurchaseMemory:
    """A memory that stored `read item -> next item` for each pair."""
    inputs = [np.array([a]) for a, _ in pairs]
    targets = [np.array([b]) for _, b in pairs]
    return PurchaseMemory.build(one_hot_states, inputs, targets, N)


def test_nearest_states_vote_for_what_followed_them():
    memory = memory_of([(0, 3), (0, 3), (0, 4), (1, 5), (2, 5)])
    q = torch.as_tensor(one_hot_states([[0]]))
    dist, items = memory.neighbours(q, 3)
    assert dist[0].tolist() == [0.0, 0.0, 0.0] and sorted(items[0].tolist()) == [3, 3, 4]
    p = memory.votes(dist, items, MemorySetting(0.5, 3, 1.0))[0]
    np.testing.assert_allclose(p.numpy(), [0, 0, 0, 2 / 3, 1 / 3, 0], atol=1e-6)
    # Nearest stored states at distance 0 and 2 (one-hot rows): the scale is their median, 2.
    assert memory.scale == pytest.approx(2.0)


def test_mix_is_a_probability_distribution_and_keeps_the_lm_where_memory_is_silent():
    logits = torch.tensor([[2.0, 0.0, -1.0, 0.5, 0.0, 1.0]])
    votes = torch.tensor([[0.0, 0.0, 0.25, 0.75, 0.0, 0.0]])
    voted = torch.tensor([[3, 2, 3]])  # the neighbours' items, repeats included
    mixed = mix_log_probs(torch.log_softmax(logits, 1), votes, voted, 0.3)
    assert torch.logsumexp(mixed, 1).item() == pytest.approx(0.0, abs=1e-6)
    lm = torch.softmax(logits, 1)
    np.testing.assert_allclose(mixed.exp().numpy(), (0.7 * lm + 0.3 * votes).numpy(), rtol=1e-5)
    # Items no neighbour bought keep the LM's order among themselves.
    rest = [0, 1, 5]
    assert np.argsort(-mixed[0, rest].numpy()).tolist() == np.argsort(-logits[0, rest].numpy()).tolist()


def test_tuning_keeps_a_memory_that_helps_and_drops_one_that_does_not():
    histories = [np.array([i % 3]) for i in range(30)]
    targets = np.array([3 + i % 3 for i in range(30)])  # after item a comes 3 + a

    def flat_lm(hist):  # an LM that knows nothing: equal logits
        return torch.as_tensor(one_hot_states(hist)), torch.zeros((len(hist), N))

    right = memory_of([(a, 3 + a) for a in range(3)] * 2)
    best, table = tune_memory(right, flat_lm, histories, targets)
    assert best is not None and best.weight > 0
    assert table[0]["weight"] == 0.0 and len(table) == len(memory_grid()) + 1
    assert max(r["ndcg"] for r in table) == pytest.approx(1.0)

    def sharp_lm(hist):  # an LM that is already right
        logits = torch.full((len(hist), N), -5.0)
        logits[torch.arange(len(hist)), torch.as_tensor([3 + int(h[-1]) for h in hist])] = 5.0
        return torch.as_tensor(one_hot_states(hist)), logits

    wrong = memory_of([(a, 3 + (a + 1) % 3) for a in range(3)] * 2)
    best, table = tune_memory(wrong, sharp_lm, histories, targets)
    assert best is None, table


@pytest.fixture(scope="module")
def fitted():
    data = planted_data()
    return make_model("lm", **{**SMALL, "epochs": 4}).fit(data), data


def test_fit_chooses_a_memory_setting_or_none(fitted):
    model, _ = fitted
    assert len(model.memory_table_) == len(memory_grid()) + 1
    assert "memory" in model.fit_info_
    chosen = model.fit_info_["memory"]
    assert (model.memory_ is None) == (chosen is None)
    off = make_model("lm", **{**SMALL, "epochs": 2, "memory": False}).fit(planted_data())
    assert off.memory_ is None and off.memory_table_ == [] and off.fit_info_["memory"] is None


def test_memory_scores_are_log_probabilities_that_persist(fitted, tmp_path):
    model, data = fitted
    inputs, targets = model._training_rows(data.sequences)
    model.memory_ = PurchaseMemory.build(model._position_states, inputs, targets, N_ITEMS)
    model.memory_.setting = MemorySetting(0.5, 8, 1.0)
    assert len(model.memory_.keys) == sum(len(s) for s in data.sequences)
    hist = data.sequences[:40] + [np.zeros(0, dtype=np.int64)]
    scores = model.score(hist)
    np.testing.assert_allclose(np.logaddexp.reduce(scores, axis=1), 0.0, atol=1e-4)
    # The memory stored the planted rule, so the mix still predicts it.
    top, _ = model.recommend([s[:-1] for s in data.sequences[:40]], k=1, exclude_seen=False)
    assert np.mean(top[:, 0] == [_rule(s[-2]) for s in data.sequences[:40]]) > 0.9
    model.save(tmp_path / "lm")
    loaded = load_model(tmp_path / "lm")
    assert loaded.memory_.setting == model.memory_.setting
    np.testing.assert_allclose(loaded.score(hist), scores, atol=2e-3)  # float16 keys on disk


def test_a_memory_past_its_size_bound_keeps_whole_random_histories(monkeypatch):
    import core.models.lm_memory as lm_memory

    monkeypatch.setattr(lm_memory, "MAX_MEMORY_BYTES", 4 * N * 5)  # room for 5 states of width N
    inputs = [np.array([0, 1]), np.array([2]), np.array([1, 2, 0]), np.array([0])]
    targets = [np.array([3, 4]), np.array([5]), np.array([4, 5, 3]), np.array([4])]
    memory = PurchaseMemory.build(one_hot_states, inputs, targets, N)
    assert 0 < len(memory.keys) <= 5
    stored = {(int(np.argmax(k)), int(v)) for k, v in zip(memory.keys.numpy(), memory.values.numpy())}
    pairs = [{(int(a), int(b)) for a, b in zip(i, t)} for i, t in zip(inputs, targets)]
    kept = [p for p in pairs if p <= stored]
    assert set().union(*kept) == stored  # only whole histories


def test_the_memory_abstains_on_items_it_never_stored():
    memory = memory_of([(0, 3), (1, 4)])  # items 5 (and 0-2) were never bought after anything
    assert memory.known.tolist() == [False, False, False, True, True, False]
    logits = torch.tensor([[0.0, 0.0, 0.0, 1.0, 0.5, 0.9]])
    mixed = memory.mix(logits, torch.as_tensor(one_hot_states([[1]])), MemorySetting(0.5, 1, 1.0))
    lm = torch.log_softmax(logits, 1)
    assert mixed[0, 5].item() == pytest.approx(lm[0, 5].item())  # a new item keeps the LM's own log-probability
    assert mixed[0, 3].item() == pytest.approx(lm[0, 3].item() + np.log(0.5))  # a known one without a vote is halved
    assert mixed[0, 4] > lm[0, 4]  # the voted one gains
