"""The transformer LM: learns a planted next-item rule, persists exactly, fine-tunes local checkpoints,
warm-starts, scores text-only items, and refuses bad settings with a clear message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.interactions import InteractionData
from core.models import load_model, make_model
from core.models.lm import TransformerLM, split_last_item, with_valid_targets

N_ITEMS = 30
# The planted rule walks one fixed, shuffled 30-item cycle: every item has exactly one successor and no history
# (at most 11 purchases) repeats an item, so validation targets are never masked as already bought.
_CYCLE = np.random.default_rng(42).permutation(N_ITEMS)
_NEXT = np.empty(N_ITEMS, dtype=np.int64)
_NEXT[_CYCLE] = np.roll(_CYCLE, -1)


def _rule(item: int) -> int:
    return int(_NEXT[item])


def planted_data(n_users: int = 300, seed: int = 0, with_text: bool = False) -> InteractionData:
    """Every purchase deterministically follows from the previous one (`_rule`)."""
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(n_users):
        item, seq = int(rng.integers(N_ITEMS)), []
        for _ in range(int(rng.integers(4, 12))):
            seq.append(item)
            item = _rule(item)
        seqs.append(np.asarray(seq, dtype=np.int64))
    items = pd.DataFrame(index=range(N_ITEMS))
    if with_text:
        colours = ["red", "green", "blue", "black", "white", "pink"]
        kinds = ["lipstick", "shampoo", "face cream", "perfume", "nail polish"]
        items = pd.DataFrame(
            {"title": [f"{colours[i % 6]} {kinds[i % 5]}" for i in range(N_ITEMS)], "category": "beauty"}
        )
    return InteractionData(
        item_keys=np.asarray([f"sku{i}" for i in range(N_ITEMS)]),
        user_keys=np.asarray([f"u{u}" for u in range(n_users)]),
        sequences=seqs,
        items=items,
        users=pd.DataFrame(index=range(n_users)),
        name="planted",
    )


SMALL = dict(n_layer=1, n_embd=32, n_head=2, dropout=0.1, lr=5e-3, batch_size=16, epochs=20, patience=20, seed=1)


@pytest.fixture(scope="module")
def planted_model() -> tuple[TransformerLM, InteractionData]:
    data = planted_data()
    return make_model("lm", **SMALL).fit(data), data


def test_learns_planted_next_item_rule(planted_model):
    model, _ = planted_model
    fresh = planted_data(n_users=200, seed=99)  # unseen users following the same rule
    hist = [s[:-1] for s in fresh.sequences]
    targets = np.asarray([s[-1] for s in fresh.sequences])
    top, _ = model.recommend(hist, k=1, exclude_seen=False)
    hr1 = float(np.mean(top[:, 0] == targets))
    assert hr1 > 0.95, hr1
    assert model.best_epoch_ >= 1 and model.best_val_ndcg_ > 0.9
    # Scores come only from the last position: the prediction depends on the most recent item.
    assert model.recommend([np.array([5, 9])], k=1, exclude_seen=False)[0][0, 0] == _rule(9)


def test_save_load_gives_identical_scores(planted_model, tmp_path):
    model, data = planted_model
    hist = data.sequences[:50] + [np.zeros(0, dtype=np.int64)]
    before = model.score(hist)
    model.save(tmp_path / "lm")
    loaded = load_model(tmp_path / "lm")
    assert isinstance(loaded, TransformerLM)
    np.testing.assert_array_equal(loaded.score(hist), before)
    assert list(loaded.item_keys_) == list(model.item_keys_)
    assert loaded.get_params() == model.get_params()


def test_batched_scores_equal_one_history_at_a_time(planted_model):
    """score() regroups histories by length to save padding; every row must still be its own history's scores."""
    model, data = planted_model
    rng = np.random.default_rng(3)
    hist = [data.sequences[u][: int(rng.integers(0, len(data.sequences[u]) + 1))] for u in range(120)]
    alone = np.vstack([model.score([h]) for h in hist])
    np.testing.assert_allclose(model.score(hist), alone, rtol=0, atol=1e-4)
    np.testing.assert_allclose(model.score(hist, chunk=7), alone, rtol=0, atol=1e-4)


def test_empty_history_scores_popular_first_items(planted_model):
    model, data = planted_model
    scores = model.score([np.zeros(0, dtype=np.int64)])
    assert scores.shape == (1, N_ITEMS) and np.isfinite(scores).all()


def test_internal_validation_split_holds_out_last_item():
    data = planted_data(n_users=20)
    train, valid = split_last_item(data)
    for seq, tr in zip(data.sequences, train.sequences):
        assert np.array_equal(tr, seq[:-1])
    assert np.array_equal(valid.targets, [s[-1] for s in data.sequences])
    # The refit epochs learn from the training sequences with the validation purchases put back.
    restored = with_valid_targets(train.sequences, valid)
    assert all(np.array_equal(a, b) for a, b in zip(restored, data.sequences))


def test_refit_epochs_learn_the_validation_purchases():
    data = planted_data(n_users=100)
    steps = []
    model = make_model("lm", **{**SMALL, "epochs": 2, "refit_epochs": 1}).fit(data, callback=steps.append)
    assert len(model.history_) == 2 and steps[-1]["epoch"] == model.best_epoch_ + 1


def test_users_beyond_valid_users_train_on_their_held_out_purchase(monkeypatch):
    data = planted_data(n_users=100)
    train, valid = split_last_item(data)
    seen = []
    original = TransformerLM._training_rows

    def spy(self, sequences):
        seen.append([len(s) for s in sequences])
        return original(self, sequences)

    monkeypatch.setattr(TransformerLM, "_training_rows", spy)
    make_model("lm", **{**SMALL, "epochs": 1, "valid_users": 30, "refit_epochs": 1}).fit(train, valid=valid)
    main, refit = np.asarray(seen[0]), np.asarray(seen[1])
    short = np.asarray([len(s) for s in train.sequences])
    assert (main == short + 1).sum() == 70 and (main == short).sum() == 30  # 30 users kept for early stopping
    assert (refit == short + 1).all()  # the refit epochs learn everyone's held-out purchase


def test_learning_rate_decays_on_a_plateau():
    data = planted_data(n_users=100)
    model = make_model("lm", **{**SMALL, "epochs": 12, "patience": 12, "decay_patience": 2}).fit(data)
    lrs = [h["lr"] for h in model.history_]
    ndcg = [h["val_ndcg10"] for h in model.history_]
    assert lrs[0] == SMALL["lr"] and min(lrs) < SMALL["lr"]
    for e in range(1, len(lrs)):
        if lrs[e] < lrs[e - 1]:  # cut only after two epochs in a row without a new best
            assert max(ndcg[e - 2 : e]) <= max(ndcg[: e - 2]) and lrs[e] == lrs[e - 1] * 0.5


def test_time_budget_covers_the_refit_epochs():
    data = planted_data(n_users=300)
    model = make_model("lm", **{**SMALL, "epochs": 10_000, "patience": 10_000, "max_minutes": 0.05,
                                "refit_epochs": 2}).fit(data)
    assert model.train_seconds_ < 0.05 * 60 + 2.0, model.train_seconds_


def test_callback_stop_and_time_budget():
    data = planted_data(n_users=100)
    seen = []

    def stop_after_first_epoch(progress):
        seen.append(progress)
        return progress["val_ndcg10"] is not None

    model = make_model("lm", **{**SMALL, "epochs": 50}).fit(data, callback=stop_after_first_epoch)
    assert len(model.history_) == 1
    assert {"step", "epoch", "loss", "val_ndcg10", "eta_s"} <= set(seen[-1])


def test_text_init_and_cold_start_items():
    data = planted_data(with_text=True)
    model = make_model("lm", **{**SMALL, "epochs": 5}).fit(data)
    assert model.text_map_ is not None
    new = model.score_new_items([data.sequences[0]], ["red lipstick. beauty", "blue perfume. beauty"])
    assert new.shape == (1, 2) and np.isfinite(new).all()
    no_text = make_model("lm", **{**SMALL, "epochs": 2, "text_init": False}).fit(data)
    with pytest.raises(ValueError, match="without item text"):
        no_text.score_new_items([data.sequences[0]], ["red lipstick"])


def test_warm_start_matches_items_by_key(planted_model, tmp_path):
    model, data = planted_model
    path = model.save(tmp_path / "old")
    # New catalogue: items reordered and two new ones; warm start must carry the rule over by key.
    perm = np.random.default_rng(3).permutation(N_ITEMS)
    keys = np.concatenate([model.item_keys_[perm], ["new1", "new2"]])
    inv = np.argsort(perm)
    new_data = InteractionData(
        item_keys=keys, user_keys=data.user_keys, sequences=[inv[s] for s in data.sequences[:40]],
        items=pd.DataFrame(index=range(len(keys))), users=data.users, name="new",
    )
    warm = make_model("lm", **{**SMALL, "epochs": 1, "lr": 1e-6, "warm_start": str(path)}).fit(new_data)
    hist = [inv[s[:-1]] for s in data.sequences[:100]]
    targets = np.asarray([inv[s[-1]] for s in data.sequences[:100]])
    top, _ = warm.recommend(hist, k=1, exclude_seen=False)
    assert np.mean(top[:, 0] == targets) > 0.9


def test_local_checkpoint_is_fine_tuned_offline(tmp_path, monkeypatch):
    from transformers import GPT2Config, GPT2LMHeadModel

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ckpt = tmp_path / "tiny-gpt2"
    GPT2LMHeadModel(GPT2Config(vocab_size=100, n_positions=64, n_embd=32, n_layer=1, n_head=2)).save_pretrained(ckpt)
    data = planted_data(n_users=300)
    model = make_model("lm", **{**SMALL, "base_checkpoint": str(ckpt)}).fit(data)
    assert model.offset_ == 100  # item tokens were appended after the checkpoint's own vocabulary
    assert model.net_.embedding.weight.shape[0] == 100 + N_ITEMS + 2
    hist = [s[:-1] for s in data.sequences]
    top, _ = model.recommend(hist, k=1, exclude_seen=False)
    assert np.mean(top[:, 0] == [s[-1] for s in data.sequences]) > 0.9
    model.save(tmp_path / "saved")
    np.testing.assert_array_equal(load_model(tmp_path / "saved").score(hist[:20]), model.score(hist[:20]))


def test_bad_settings_are_named():
    data = planted_data(n_users=10)
    with pytest.raises(ValueError, match="n_head"):
        make_model("lm", n_embd=30, n_head=4).fit(data)
    with pytest.raises(FileNotFoundError, match="config.json"):
        make_model("lm", base_checkpoint="/nonexistent/folder").fit(data)
