"""The demo shop in Chinese: the same seed makes the same shop, only the words (titles, categories, brands, cities) differ."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from sqlalchemy import select

from core.demo import DEMO_EXPERIMENT_NAMES, build_demo, generate_shop, vocab_zh, write_demo_csvs
from core.demo.catalog import CATEGORIES

CJK = re.compile(r"[\u4e00-\u9fff]")
# Latin that Chinese shops write as is: sizes, units, standards, product names.
LATIN_ALLOWED = {"SPF", "T", "Vlog", "K", "MagSafe", "W", "iPhone", "USB", "C", "S", "M", "L", "XL", "GB", "mm", "ml",
                 "g", "kg"}


@pytest.fixture(scope="module")
def pair():
    return generate_shop(seed=3, n_users=400, n_items=200), generate_shop(seed=3, n_users=400, n_items=200, lang="zh")


def test_same_seed_same_shop_structure_only_the_words_differ(pair):
    en, zh = pair
    pd.testing.assert_frame_equal(en.events, zh.events)
    pd.testing.assert_frame_equal(en.exposures, zh.exposures)
    same = ["item_id", "price", "listed_at", "_cat", "_noun", "_consumable", "_repeat_days", "_appeal"]
    pd.testing.assert_frame_equal(en.items[same], zh.items[same])
    pd.testing.assert_frame_equal(en.users.drop(columns=["region", "_tastes"]), zh.users.drop(columns=["region", "_tastes"]))
    # Every word changed, one to one: each English category / brand / city has exactly one Chinese counterpart.
    assert (en.items["title"] != zh.items["title"]).all()
    for col in ("category", "brand"):
        pairs = set(zip(en.items[col], zh.items[col]))
        assert len(pairs) == en.items[col].nunique() == zh.items[col].nunique()
    assert dict(zip(en.items["category"], zh.items["category"])) == {c.name: vocab_zh.CATEGORIES[c.name]
                                                                      for c in CATEGORIES}
    regions = en.users["region"].map(vocab_zh.REGIONS)
    pd.testing.assert_series_equal(regions, zh.users["region"])


def test_chinese_titles_and_descriptions_read_as_chinese(pair):
    _, zh = pair
    items = zh.items
    assert items["title"].is_unique and items["category"].nunique() == 12
    for text in [*items["title"], *items["description"], *items["category"], *items["brand"]]:
        assert len(CJK.findall(text)) >= 2, text
        latin = set(re.findall(r"[A-Za-z]+", text))
        assert latin <= LATIN_ALLOWED, (text, latin - LATIN_ALLOWED)
    assert set(zh.users["region"].dropna()) <= set(vocab_zh.REGIONS.values())
    row = items.iloc[0]
    assert row["brand"] in row["title"] and row["_noun_label"] in row["title"]
    assert row["description"].endswith("。")


def test_vocabulary_covers_every_word_and_never_merges_two_words_of_a_category():
    for cat in CATEGORIES:
        fields = {
            "brands": [vocab_zh.BRANDS[b] for b in cat.brands],
            "adjectives": [vocab_zh.ADJECTIVES[a] for a in cat.adjectives],
            "nouns": [vocab_zh.NOUNS[n.name] for n in cat.nouns],
            "features": [vocab_zh.FEATURES[f] for f in cat.features],
            "variants": [vocab_zh.unit_or(vocab_zh.VARIANTS, v) for v in cat.variants],
        }
        for name, words in fields.items():
            assert len(set(words)) == len(words), (cat.name, name, words)
    assert len(set(vocab_zh.CATEGORIES.values())) == len(CATEGORIES)
    nouns = [n.name for c in CATEGORIES for n in c.nouns]
    assert len({vocab_zh.NOUNS[n] for n in nouns}) == len(nouns)  # a noun names one product type shop-wide
    with pytest.raises(KeyError, match="no Chinese word for 'teal'"):
        vocab_zh.unit_or(vocab_zh.VARIANTS, "teal")


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="en or zh, got lang='fr'"):
        generate_shop(seed=1, n_users=100, n_items=60, lang="fr")


def test_cli_builds_the_chinese_demo_into_the_store(store_url, capsys):
    from core.__main__ import main
    from db.engine import session_scope
    from db.tables import Experiment, Item, User

    assert main(["demo", "--lang", "zh", "--users", "200", "--items", "100", "--no-models", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["built"] and summary["items"] == 100
    with session_scope(store_url) as session:
        items = session.execute(select(Item.title, Item.category, Item.attributes)).all()
        cities = set(session.scalars(select(User.region)).all()) - {None}
        experiments = session.scalars(select(Experiment.name)).all()
    assert len(items) == 100 and all(CJK.search(t) and CJK.search(c) for t, c, _ in items)
    assert all(CJK.search(a["product_type"]) for _, _, a in items)
    assert cities <= set(vocab_zh.REGIONS.values()) and "上海" in cities
    assert experiments == [DEMO_EXPERIMENT_NAMES["zh"]]


def test_build_demo_records_the_language_and_the_csvs_are_chinese(store_url, tmp_path):
    from db.engine import session_scope
    from db.tables import Dataset

    with session_scope(store_url) as session:
        build_demo(session, seed=5, n_users=150, n_items=80, fit_models=False, lang="zh")
    with session_scope(store_url) as session:
        ds = session.scalars(select(Dataset)).one()
        assert ds.mapping["lang"] == "zh" and ds.report["lang"] == "zh"
    paths = write_demo_csvs(tmp_path, seed=5, n_users=150, n_items=80, lang="zh")
    items = pd.read_csv(paths["items"])
    assert items["product_name"].str.contains(CJK).all() and items["category"].str.contains(CJK).all()
