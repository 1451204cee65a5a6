"""Item text as learned words: the tokenizer, the vocabulary rules, the network's id-dropped item vectors, and an
LM whose words and id dropout place never-bought items, saved and loaded exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from core.interactions import InteractionData
from core.models import load_model, make_model
from core.models.lm_words import build_item_words, encode_words, words


def test_words_are_lowercase_latin_runs_and_cjk_characters_with_pairs():
    assert words("JUMBO Bag, Red RETROSPOT! bag 12") == ["jumbo", "bag", "red", "retrospot", "12"]
    assert words("花西子 口红. Lipstick") == ["花", "西", "子", "花西", "西子", "口", "红", "口红", "lipstick"]
    assert words("") == [] and words("—, !") == []


def test_word_lift_by_hand_and_the_vocabulary_it_filters():
    from core.models.lm_words import word_lift

    per_item = [["red"], ["red"], ["blue"], ["blue"], ["red", "blue"]]
    # red items: 0, 1, 4; blue: 2, 3, 4. Purchases move 0->1 (red->red) many times and 2->0 (blue->red).
    # A shopper who only re-buys item 3 adds blue purchases but no pair (a repeat shares every word with itself).
    seqs = [np.asarray([0, 1, 0, 1]), np.asarray([0, 1, 2, 0]), np.asarray([2, 0, 1, 1]), np.asarray([3] * 8)]
    lift = word_lift(per_item, ["red", "blue"], seqs)
    bought = np.concatenate(seqs)
    red_share = np.isin(bought, [0, 1, 4]).mean()
    # pairs of different items after a red one: 0-1, 1-0, 0-1, 0-1, 1-2, 0-1 -> 5 of 6 lead to a red item
    assert red_share == 0.5 and lift[0] == pytest.approx((5 / 6) / red_share)
    assert np.isnan(lift[1])  # only 2 pairs follow a blue item: too few to tell
    iw = build_item_words(["red a", "red b", "blue c", "blue d", "red blue"], max_share=1.0, sequences=seqs,
                          min_lift=1.2)
    assert iw.vocab == ["red"]


def test_vocabulary_keeps_words_shared_by_some_but_not_most_items():
    texts = ["red bag", "red cup", "blue bag", "green unique", "red hat"]
    iw = build_item_words(texts, min_items=2, max_share=0.5)
    # "red" is on 3 of 5 items (over half: dropped), "bag" on 2 (kept), "unique" on 1 (dropped)
    assert iw.vocab == ["bag"]
    assert iw.ids.shape == (5, 1)
    assert iw.ids[:, 0].tolist() == [0, iw.pad, 0, iw.pad, iw.pad]
    # New texts: unknown words are dropped, known ones found
    assert encode_words(["a bag", "nothing known"], iw.vocab, iw.ids.shape[1]).tolist() == [[0], [iw.pad]]
    assert build_item_words(["a", "b", "c"]) is None


def _network(n_items=6, width=8, n_words=4):
    from core.models.lm_network import gpt2_backbone, item_lm

    torch.manual_seed(0)
    backbone, offset = gpt2_backbone(n_items, 8, width, 1, 2, None, 0.0)
    net = item_lm(backbone, offset, n_items, 1.0, text_dim=0, n_words=n_words, words_per_item=2)
    net.item_words.copy_(torch.tensor([[0, 1], [1, 4], [4, 4], [2, 3], [3, 4], [0, 4]]))
    torch.nn.init.normal_(net.words.weight)
    with torch.no_grad():
        net.words.weight[n_words] = 0.0  # the pad row
        net.item_bias.normal_()
    return net.eval()


def test_item_table_is_id_plus_mean_of_words_and_drops_the_id_part():
    net = _network()
    ids = net.embedding.weight[:6]
    w = net.words.weight
    vec, bias = net.item_table()
    torch.testing.assert_close(vec[0], ids[0] + (w[0, :-1] + w[1, :-1]) / 2)
    torch.testing.assert_close(bias[1], net.item_bias[1] + w[1, -1])  # the pad word is not averaged in
    torch.testing.assert_close(vec[2], ids[2])  # no words: the id alone
    drop = torch.tensor([True, False, False, False, False, False])
    dvec, dbias = net.item_table(drop)
    torch.testing.assert_close(dvec[0], (w[0, :-1] + w[1, :-1]) / 2)  # dropped: the words alone
    torch.testing.assert_close(dbias[0], (w[0, -1] + w[1, -1]) / 2)
    torch.testing.assert_close(dvec[1:], vec[1:])


def test_cached_item_table_follows_weight_changes():
    net = _network()
    before = net.item_table()[0].clone()
    assert net.item_table()[0] is net.item_table()[0]  # cached while nothing changes
    with torch.no_grad():
        net.words.weight[0] += 1.0
    after = net.item_table()[0]
    torch.testing.assert_close(after[0] - before[0], torch.full((8,), 0.5))
    torch.testing.assert_close(after[2], before[2])


FAMILIES = ("zorp", "quix", "blem")


def _families(n_users: int = 400, seed: int = 0) -> InteractionData:
    """Three families told apart only by a word no encoder has seen ('zorp', 'quix', 'blem' items); shoppers keep
    to one, so a family's word has a lift of ~3 (core.models.lm_words.word_lift)."""
    rng = np.random.default_rng(seed)
    n = 42
    fam = np.arange(n) % 3
    titles = [f"{FAMILIES[f]} item {i}" for i, f in enumerate(fam)]
    seqs = []
    for _ in range(n_users):
        pool = np.flatnonzero(fam == int(rng.integers(3)))
        seqs.append(rng.choice(pool, size=int(rng.integers(4, 9)), replace=False).astype(np.int64))
    return InteractionData(
        item_keys=np.asarray([f"sku{i}" for i in range(n)]), user_keys=np.asarray([f"u{u}" for u in range(n_users)]),
        sequences=seqs, items=pd.DataFrame({"title": titles}), users=pd.DataFrame(index=range(n_users)),
        name="families",
    )


SMALL = dict(n_layer=1, n_embd=16, n_head=2, dropout=0.1, lr=5e-3, batch_size=32, epochs=6, patience=6, seed=1,
             text_add=False, id_dropout=0.3)


@pytest.fixture(scope="module")
def word_model():
    from core.evaluation.cold import new_item_split

    data = _families()
    split = new_item_split(data, share=0.2, seed=3)
    return make_model("lm", **SMALL).fit(split.train, valid=split.valid), split, data


def test_words_place_never_bought_items_in_their_family(word_model):
    model, split, data = word_model
    assert set(model.words_vocab_) == set(FAMILIES)  # "item" is on every item, a number on one
    fam = np.arange(data.n_items) % 3
    new_items = np.unique(split.test.targets)
    assert getattr(model, "unseen_items_placed_", 0) == len(new_items)
    hits = []
    for hist, target in zip(split.test.histories[:60], split.test.targets[:60]):
        scores = model.score([hist])[0, new_items]
        # among the new items, the user's own family scores higher than the other one
        same = scores[fam[new_items] == fam[target]].mean()
        other = scores[fam[new_items] != fam[target]].mean()
        hits.append(same > other)
    assert np.mean(hits) > 0.9
    # a brand-new text (never in the catalogue) is scored through the same words
    zorp_user = next(h for h, t in zip(split.test.histories, split.test.targets) if fam[t] == 0)
    new = model.score_new_items([zorp_user], ["zorp thing", "quix thing"])
    assert new[0, 0] > new[0, 1]


def test_word_model_saves_and_loads_exactly(word_model, tmp_path):
    model, split, _ = word_model
    back = load_model(model.save(tmp_path / "lm"))
    assert list(back.words_vocab_) == list(model.words_vocab_) and back.net_.n_words == model.net_.n_words
    hist = split.test.histories[:5]
    np.testing.assert_allclose(back.score(hist), model.score(hist), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(back.score_new_items(hist, ["zorp x", "quix y"]),
                               model.score_new_items(hist, ["zorp x", "quix y"]), rtol=1e-5, atol=1e-5)


def test_id_dropout_out_of_range_is_named():
    with pytest.raises(ValueError, match="id_dropout"):
        make_model("lm", **{**SMALL, "id_dropout": 1.0}).fit(_families(n_users=20))
