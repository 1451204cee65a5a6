"""bench/tune_encoder.py: next-purchase pairs from the training part, and a fine-tune that pulls items bought one
after the other together in the encoder's space, saved where RECOLM_TEXT_ENCODER can point the app at it."""

from __future__ import annotations

import numpy as np
import pytest

from bench.tune_encoder import main, next_purchase_pairs, tune_encoder
from tests.test_bench_csv_dir import _export


def test_pairs_are_an_item_and_the_next_two_purchases_never_itself():
    pairs = next_purchase_pairs([np.array([0, 1, 1, 2]), np.array([5]), np.array([3, 4])])
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (0, 1), (1, 2), (1, 2), (3, 4)]
    assert next_purchase_pairs([np.array([7])]).shape == (0, 2)


@pytest.mark.slow
def test_tuning_pulls_items_bought_together_closer_than_the_rest_and_saves_an_encoder(tmp_path):
    from sentence_transformers import SentenceTransformer

    from core.text_encoder import encoder_path

    texts = ["red mug", "garden hose", "wool scarf", "printer ink", "dog lead", "tea towel",
             "bike pump", "scented candle", "desk lamp", "rain boots", "chess set", "phone case"]
    pairs = np.array([(i, i + 1) for i in range(0, 12, 2)] * 8)  # each even item is followed by the next one

    def cosines(model):
        v = model.encode(texts, normalize_embeddings=True)
        sim = v @ v.T
        bought = np.array([sim[i, i + 1] for i in range(0, 12, 2)])
        other = np.array([sim[i, j] for i in range(0, 12, 2) for j in range(1, 12, 2) if j != i + 1])
        return bought.mean(), other.mean()

    model, losses = tune_encoder(texts, pairs, steps=12, batch=6, lr=1e-4)
    before_bought, before_other = cosines(SentenceTransformer(encoder_path(), device="cpu", local_files_only=True))
    after_bought, after_other = cosines(model)
    assert np.mean(losses[-4:]) < losses[0]
    assert after_bought - after_other > before_bought - before_other + 0.1

    _export(tmp_path / "shop")
    assert main(["--csv-dir", str(tmp_path / "shop"), "--out", str(tmp_path / "enc"), "--steps", "2", "--batch",
                 "8", "--json"]) == 0
    saved = SentenceTransformer(str(tmp_path / "enc"), device="cpu", local_files_only=True)
    assert saved.encode(["red mug"]).shape == (1, 384)
