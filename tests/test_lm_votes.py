"""The LM's rare-item votes: co-purchase and text votes damped by popularity, their mix into the LM's softmax, the
choice of their setting on validation purchases (rare items lifted, never at the cost of overall accuracy), and
their place in a fitted, saved model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.interactions import InteractionData
from core.models import load_model, make_model
from core.models.lm_votes import TEXT_TEMPERATURE, ItemVotes, VoteSetting, mix_votes, tune_votes, votes_grid
from tests.test_lm import SMALL, planted_data

N = 6


def shop(sequences: list[list[int]]) -> InteractionData:
    return InteractionData(item_keys=np.array([f"i{i}" for i in range(N)]),
                           user_keys=np.array([f"u{u}" for u in range(len(sequences))]),
                           sequences=[np.asarray(s, dtype=np.int64) for s in sequences])


# Item 0 is bought with the best-seller 1 by many, and with the rare item 2 by one customer; 5 was never bought.
SHOP = shop([[0, 1]] * 6 + [[0, 2]] + [[1, 3]] * 3 + [[3, 4]])


def test_co_purchase_vote_is_damped_by_popularity_and_skips_history_and_unbought_items():
    votes = ItemVotes.build(SHOP)
    plain, _ = votes.distributions([np.array([0])], damping=0.0)
    damped, text = votes.distributions([np.array([0])], damping=1.0)
    assert text is None  # no text vectors: no text vote
    for p in (plain, damped):
        assert p.sum().item() == pytest.approx(1.0)
        assert p[0, 0] == 0 and p[0, 5] == 0  # the history item and the never-bought one get nothing
    # Undamped, the best-seller co-bought six times wins; damped by purchase count, the one-off co-purchase does.
    assert plain[0, 1] > plain[0, 2] and damped[0, 2] > damped[0, 1]


def test_text_vote_follows_the_last_items_text_and_abstains_without_it():
    text = np.zeros((N, 3), dtype=np.float32)
    text[[0, 2, 4], 0] = 1.0  # 0, 2 and 4 read alike
    text[[1, 3], 1] = 1.0
    votes = ItemVotes(ItemVotes.build(SHOP).knn, SHOP.purchase_counts(), text)
    _, p = votes.distributions([np.array([0]), np.array([5])], damping=0.0)
    assert p[0, 2] > 0.4 and p[0, 4] > 0.4 and p[0, 1] < 0.01
    # The vote is the softmax of the cosines over the temperature, renormalised over the items it may name.
    unit = text / np.maximum(np.linalg.norm(text, axis=1, keepdims=True), 1e-12)
    soft = np.exp(unit @ unit[0] / TEXT_TEMPERATURE) * (np.arange(N) != 0) * (SHOP.purchase_counts() > 0)
    np.testing.assert_allclose(p[0].numpy(), soft / soft.sum(), rtol=1e-5, atol=1e-7)
    assert p[1].sum().item() == 0.0  # item 5 has no text: no text vote for that customer
    assert votes.distributions([np.array([0])], damping=0.0, text=False)[1] is None  # a co-purchase-only setting


def test_mix_is_a_distribution_and_never_bought_items_keep_the_lm_probability():
    lm = torch.log_softmax(torch.tensor([[1.0, 2.0, -1.0, 0.0, 0.5, 1.5]]), 1)
    p_co = torch.tensor([[0.0, 0.2, 0.8, 0.0, 0.0, 0.0]])
    p_text = torch.tensor([[0.0, 0.0, 0.5, 0.5, 0.0, 0.0]])
    s = VoteSetting(0.3, 0.1, 1.0)
    known = torch.tensor([True] * 5 + [False])
    mixed = mix_votes(lm, p_co, p_text, s, known)
    expected = 0.6 * lm.exp() + 0.3 * p_co + 0.1 * p_text
    np.testing.assert_allclose(mixed[0, :5].exp().numpy(), expected[0, :5].numpy(), rtol=1e-5)
    assert mixed[0, 5].item() == pytest.approx(lm[0, 5].item())
    # Far below float32's smallest probability the LM's order still holds (log space, no underflow to -inf).
    tiny = torch.tensor([[-200.0, -300.0, 0.0, 0.0, 0.0, 0.0]])
    out = mix_votes(tiny, torch.zeros((1, N)), None, VoteSetting(0.2, 0.0, 1.0), torch.ones(N, dtype=torch.bool))
    assert torch.isfinite(out).all() and out[0, 0] > out[0, 1]


def test_tuning_lifts_rare_items_without_costing_overall_accuracy_and_else_stays_off(monkeypatch):
    import core.models.lm_votes as lm_votes

    monkeypatch.setattr(lm_votes, "MIN_SLICE_USERS", 5)
    votes = ItemVotes.build(SHOP)
    # After 0, most customers buy the best-seller 1 (which the LM knows), a few the rare 2 (which it misses).
    histories = [np.array([0])] * 40
    targets = np.array([1] * 32 + [2] * 8)

    def popular_lm(hist):
        return torch.log_softmax(torch.tensor([[0.0, 4.0, -2.0, 1.0, 0.5, -3.0]]).repeat(len(hist), 1), 1)

    best, table = tune_votes(votes, popular_lm, histories, targets, rare_max=2)
    assert len(table) == len(votes_grid(False)) + 1 and table[0]["co_weight"] == 0.0
    assert best is not None and best.co_weight > 0
    row = next(r for r in table if (r["co_weight"], r["text_weight"], r["damping"]) ==
               (best.co_weight, best.text_weight, best.damping))
    assert row["ndcg"] >= table[0]["ndcg"] and row["rare_ndcg"] > table[0]["rare_ndcg"]

    # Where every customer buys the best-seller and the LM already ranks it first, votes buy nothing: off.
    best, table = tune_votes(votes, popular_lm, histories, np.array([1] * 40), rare_max=2)
    assert best is None and table[0]["ndcg"] == pytest.approx(1.0)


def test_tuning_ranks_each_setting_as_the_log_space_mix_does():
    from core.evaluation.metrics import ndcg_at_k, ranks

    rng = np.random.default_rng(3)
    n = 40
    data = InteractionData(item_keys=np.array([f"i{i}" for i in range(n)]),
                           user_keys=np.array([f"u{u}" for u in range(200)]),
                           sequences=[rng.integers(0, n - 4, size=int(rng.integers(2, 6))) for _ in range(200)])
    votes = ItemVotes(ItemVotes.build(data).knn, data.purchase_counts(), rng.normal(size=(n, 8)).astype(np.float32))
    after = torch.as_tensor(rng.normal(scale=3.0, size=(n, n)).astype(np.float32))
    histories, targets = data.sequences[:60], rng.integers(0, n, size=60)

    def lm(hist):  # the LM's log-probabilities: what follows the last two items
        return torch.log_softmax(torch.stack([after[h[-1]] + after[h[-2]] for h in hist]), 1)

    _, table = tune_votes(votes, lm, histories, targets, rare_max=2, chunk=25)
    lp = lm(histories)
    for row, s in zip(table[1:], votes_grid(True)):
        p_co, p_text = votes.distributions(histories, s.damping)
        expected = ranks(mix_votes(lp, p_co, p_text, s, votes.known).numpy(), histories, targets)
        assert row["ndcg"] == pytest.approx(ndcg_at_k(expected, 10), abs=1e-12), s


@pytest.fixture(scope="module")
def fitted():
    data = planted_data(with_text=True)
    return make_model("lm", **{**SMALL, "epochs": 3}).fit(data), data


def test_fit_tunes_the_votes_and_a_saved_model_scores_the_same(fitted, tmp_path):
    model, data = fitted
    assert len(model.votes_table_) == len(votes_grid(True)) + 1 and "votes" in model.fit_info_
    model.votes_ = ItemVotes.build(data, model._text_matrix())
    model.votes_.setting = VoteSetting(0.2, 0.1, 1.0)
    hist = data.sequences[:30] + [np.zeros(0, dtype=np.int64)]
    scores = model.score(hist)
    np.testing.assert_allclose(np.logaddexp.reduce(scores, axis=1), 0.0, atol=1e-4)
    model.save(tmp_path / "lm")
    loaded = load_model(tmp_path / "lm")
    assert loaded.votes_.setting == model.votes_.setting and loaded.votes_.text_t is not None
    np.testing.assert_allclose(loaded.score(hist), scores, atol=2e-3)  # float16 memory keys on disk
    off = make_model("lm", **{**SMALL, "epochs": 2, "item_votes": False}).fit(planted_data())
    assert off.votes_ is None and off.votes_table_ == [] and "votes" not in off.fit_info_


def test_scoring_variants_score_the_same_fit_with_the_votes_off_and_leave_the_model_alone(fitted):
    model, data = fitted
    model.votes_ = ItemVotes.build(data, model._text_matrix())
    model.votes_.setting = VoteSetting(0.3, 0.1, 1.0)
    hist = data.sequences[:20]
    with_votes = model.score(hist)
    variants = model.scoring_variants()
    assert "votes off" in variants and variants["votes off"].net_ is model.net_  # the same network, not a refit
    without = variants["votes off"].score(hist)
    assert not np.allclose(without, with_votes, atol=1e-3)
    model.votes_.setting = None
    np.testing.assert_allclose(without, model.score(hist), atol=1e-5)  # what the model gives with its votes off
    model.votes_.setting = VoteSetting(0.3, 0.1, 1.0)
    np.testing.assert_allclose(model.score(hist), with_votes, atol=1e-5)  # the model itself is unchanged
    model.votes_ = None
    assert "votes off" not in model.scoring_variants()
