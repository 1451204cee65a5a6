"""The demo shop's catalogue: a dozen categories of items with composed titles and descriptions (English or Chinese).

Titles are built from brand / adjective / product-noun lists so the text encoder sees real signal
(a "trail runner" reads close to "running shoes"); each noun knows its price range, whether it is a
consumable (bought again) and which nouns typically follow it (after a camera, a lens). `lang="zh"` writes the
same items in Simplified Chinese (core/demo/vocab_zh.py): the random draws are the same, only the words differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from core.demo import vocab_zh

LANGS: tuple[str, ...] = ("en", "zh")


@dataclass(frozen=True)
class Noun:
    name: str
    low: float  # typical price range (CNY-like units)
    high: float
    consumable: bool = False
    repeat_days: int = 30  # typical time until a consumable is bought again
    follow_ups: tuple[str, ...] = ()  # nouns people buy next


@dataclass(frozen=True)
class Category:
    name: str
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    nouns: tuple[Noun, ...]
    features: tuple[str, ...]
    variants: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "Running shoes",
        ("Stride", "Apex Run", "Feiyue Pro", "Cloudstep", "Trackline"),
        ("Lightweight", "Cushioned", "Breathable", "Responsive", "Stable", "Waterproof"),
        (
            Noun("running shoes", 260, 900, follow_ups=("running socks", "running shorts")),
            Noun("trail runners", 380, 1100, follow_ups=("running socks", "hydration vest")),
            Noun("racing flats", 450, 1300, follow_ups=("running socks", "compression tights")),
        ),
        ("with a carbon-plated midsole", "with a grippy rubber outsole", "with a knit upper", "for daily mileage"),
        ("Men's", "Women's", "Unisex"),
    ),
    Category(
        "Sportswear",
        ("Stride", "Motion Lab", "Pulse", "Northpeak"),
        ("Quick-dry", "Seamless", "Reflective", "Stretch", "Thermal"),
        (
            Noun("running socks", 30, 90, consumable=True, repeat_days=60),
            Noun("running shorts", 90, 260),
            Noun("training tee", 80, 220),
            Noun("compression tights", 160, 420),
            Noun("hydration vest", 220, 520),
        ),
        ("in moisture-wicking fabric", "with flat seams", "with a zip pocket", "made from recycled polyester"),
        ("S", "M", "L", "XL"),
    ),
    Category(
        "Skincare",
        ("Lumi", "Aqua Veil", "Herbora", "Dermacalm", "Yunshan"),
        ("Hydrating", "Brightening", "Gentle", "Soothing", "Firming", "Oil-free"),
        (
            Noun("face serum", 120, 480, consumable=True, repeat_days=45),
            Noun("moisturizer", 90, 360, consumable=True, repeat_days=50),
            Noun("sunscreen SPF50", 70, 220, consumable=True, repeat_days=40, follow_ups=("cleanser",)),
            Noun("cleanser", 50, 180, consumable=True, repeat_days=45),
            Noun("sheet mask pack", 40, 160, consumable=True, repeat_days=25),
        ),
        ("with hyaluronic acid", "with niacinamide", "with green tea extract", "fragrance free", "for sensitive skin"),
        ("30ml", "50ml", "100ml", "travel size"),
    ),
    Category(
        "Makeup",
        ("Rouge Lab", "Petal", "Velvet Muse", "Huaxi"),
        ("Matte", "Long-wear", "Dewy", "Sheer", "Waterproof"),
        (
            Noun("lipstick", 80, 320, follow_ups=("lip liner",)),
            Noun("lip liner", 50, 160),
            Noun("foundation", 150, 450, follow_ups=("makeup sponge",)),
            Noun("makeup sponge", 20, 80, consumable=True, repeat_days=40),
            Noun("mascara", 70, 260),
            Noun("eyeshadow palette", 120, 420),
        ),
        ("in a buildable formula", "that lasts all day", "with a satin finish", "cruelty free"),
        ("Rose", "Coral", "Nude", "Berry", "Classic"),
    ),
    Category(
        "Coffee & tea",
        ("Morning Ritual", "Hill Roast", "Yunnan Origin", "Brewcraft", "Tea Garden"),
        ("Single-origin", "Dark roast", "Organic", "Fragrant", "Smooth", "Hand-picked"),
        (
            Noun("coffee beans", 60, 180, consumable=True, repeat_days=21),
            Noun("drip coffee bags", 40, 120, consumable=True, repeat_days=18),
            Noun("espresso machine", 900, 3200, follow_ups=("coffee beans", "milk frother")),
            Noun("milk frother", 120, 380),
            Noun("oolong tea", 60, 260, consumable=True, repeat_days=30),
            Noun("green tea", 50, 220, consumable=True, repeat_days=30),
        ),
        ("with chocolate notes", "with a floral aroma", "freshly packed", "from high-altitude farms"),
        ("250g", "500g", "1kg", "gift box"),
    ),
    Category(
        "Cameras",
        ("Kiyo", "Lensmark", "Optiq", "Fotora"),
        ("Compact", "Full-frame", "Vlogging", "Rugged", "Retro"),
        (
            Noun("mirrorless camera", 3800, 12800, follow_ups=("prime lens", "zoom lens", "memory card", "camera bag")),
            Noun("action camera", 1400, 3200, follow_ups=("memory card", "camera mount")),
            Noun("instant camera", 450, 1100, follow_ups=("instant film",)),
        ),
        ("with 4K video", "with in-body stabilisation", "with a flip screen", "with fast autofocus"),
        ("body only", "kit", "black", "silver"),
    ),
    Category(
        "Camera gear",
        ("Kiyo", "Lensmark", "Optiq", "Gearbox"),
        ("Fast", "Weather-sealed", "Travel", "Pro", "Lightweight"),
        (
            Noun("prime lens", 1200, 4800),
            Noun("zoom lens", 1800, 7200),
            Noun("memory card", 90, 380, consumable=True, repeat_days=120),
            Noun("camera bag", 220, 780),
            Noun("camera mount", 60, 220),
            Noun("instant film", 60, 140, consumable=True, repeat_days=30),
            Noun("tripod", 260, 980),
        ),
        ("for sharp portraits", "for landscapes", "that fits any body", "with quick release"),
        ("35mm", "50mm", "128GB", "standard"),
    ),
    Category(
        "Audio",
        ("Sonique", "Beatline", "Echo Bay", "Xinsheng"),
        ("Wireless", "Noise-cancelling", "Compact", "Studio", "Bass-boosted"),
        (
            Noun("earbuds", 199, 1299, follow_ups=("earbud case",)),
            Noun("over-ear headphones", 499, 2999),
            Noun("bluetooth speaker", 199, 1499),
            Noun("earbud case", 39, 129),
        ),
        ("with 30-hour battery", "with spatial audio", "with a low-latency mode", "with multipoint pairing"),
        ("black", "white", "navy", "sand"),
    ),
    Category(
        "Phone accessories",
        ("Chargewell", "Shellguard", "Voltix", "Mofang"),
        ("Slim", "Magnetic", "Fast", "Shockproof", "Clear"),
        (
            Noun("phone case", 39, 199, follow_ups=("screen protector",)),
            Noun("screen protector", 19, 99),
            Noun("fast charger", 59, 259, follow_ups=("charging cable",)),
            Noun("charging cable", 19, 79, consumable=True, repeat_days=90),
            Noun("power bank", 99, 399),
        ),
        ("with MagSafe support", "with a drop-tested frame", "with 65W output", "with a braided cable"),
        ("iPhone", "Android", "USB-C", "universal"),
    ),
    Category(
        "Baby care",
        ("Little Panda", "Softnest", "Bebe Bloom", "Mimi"),
        ("Gentle", "Hypoallergenic", "Ultra-soft", "Organic", "Leak-proof"),
        (
            Noun("diapers", 89, 229, consumable=True, repeat_days=14),
            Noun("baby wipes", 29, 89, consumable=True, repeat_days=12),
            Noun("baby stroller", 1200, 4200, follow_ups=("stroller organizer", "diapers")),
            Noun("stroller organizer", 69, 199),
            Noun("baby bottle", 59, 189, follow_ups=("bottle brush",)),
            Noun("bottle brush", 19, 59, consumable=True, repeat_days=45),
        ),
        ("for newborns", "dermatologist tested", "with a wetness indicator", "made without parabens"),
        ("size S", "size M", "size L", "family pack"),
    ),
    Category(
        "Pet supplies",
        ("Happy Paws", "Whisker Co", "Petwell", "Miao Miao"),
        ("Grain-free", "Natural", "Clumping", "Chewy", "Cozy"),
        (
            Noun("cat food", 79, 299, consumable=True, repeat_days=20),
            Noun("dog treats", 39, 129, consumable=True, repeat_days=18),
            Noun("cat litter", 49, 149, consumable=True, repeat_days=16),
            Noun("pet bed", 129, 459),
            Noun("cat scratcher", 59, 199, follow_ups=("cat toy set",)),
            Noun("cat toy set", 29, 99),
        ),
        ("with real salmon", "vet recommended", "low dust", "with a washable cover"),
        ("1.5kg", "5kg", "10kg", "small", "large"),
    ),
    Category(
        "Snacks",
        ("Crunchy Fox", "Golden Harvest", "Sweet Isle", "Laoxiang"),
        ("Spicy", "Roasted", "Sugar-free", "Crispy", "Honey"),
        (
            Noun("mixed nuts", 39, 129, consumable=True, repeat_days=20),
            Noun("dried mango", 25, 79, consumable=True, repeat_days=18),
            Noun("rice crackers", 15, 49, consumable=True, repeat_days=15),
            Noun("dark chocolate", 29, 99, consumable=True, repeat_days=20),
            Noun("beef jerky", 35, 119, consumable=True, repeat_days=22),
        ),
        ("in a resealable bag", "with no artificial colours", "lightly salted", "from a family recipe"),
        ("150g", "300g", "500g", "party pack"),
    ),
)
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
PREMIUM_BRAND_FACTOR = 1.35


@dataclass(frozen=True)
class _Words:
    """One item's words in the catalogue's language."""

    category: str
    brand: str
    adjective: str
    noun: str
    variant: str
    feature: str


def _words(lang: str, cat: Category, brand: str, adj: str, noun: Noun, variant: str, feature: str) -> _Words:
    if lang == "en":
        return _Words(cat.name, brand, adj, noun.name, variant, feature)
    return _Words(vocab_zh.CATEGORIES[cat.name], vocab_zh.BRANDS[brand], vocab_zh.ADJECTIVES[adj],
                  vocab_zh.NOUNS[noun.name], vocab_zh.unit_or(vocab_zh.VARIANTS, variant), vocab_zh.FEATURES[feature])


def _title(lang: str, w: _Words) -> str:
    if lang == "en":
        return f"{w.brand} {w.adjective} {w.noun.capitalize()} {w.variant}"
    return f"{w.brand} {w.adjective}{w.noun} {w.variant}"


def _description(lang: str, w: _Words, consumable: bool) -> str:
    if lang == "en":
        return (f"{w.adjective} {w.noun} by {w.brand} {w.feature}. "
                f"A {w.category.lower()} favourite{' — stock up and save' if consumable else ''}.")
    return f"{w.brand}{w.adjective}{w.noun}，{w.feature}。{w.category}人气好物{'，囤货更划算' if consumable else ''}。"


def make_catalog(
    rng: np.random.Generator, n_items: int, start: datetime, end: datetime, lang: str = "en"
) -> pd.DataFrame:
    """`n_items` items: item_id, title, description, category, price, brand, listed_at + simulation columns.

    Simulation-only columns start with an underscore: _cat (category index), _noun (English key, for the
    follow-ups), _noun_label (the noun in `lang`), _consumable, _repeat_days, _appeal (latent attractiveness).
    About 5% are new arrivals listed in the last three weeks.
    """
    if lang not in LANGS:
        raise ValueError(f"the demo catalogue speaks {' or '.join(LANGS)}, got lang={lang!r}")
    if n_items < len(CATEGORIES) * 4:
        raise ValueError(f"the demo catalogue needs at least {len(CATEGORIES) * 4} items, got n_items={n_items}")
    # Category sizes: roughly equal with some spread; every noun gets at least one item.
    shares = rng.dirichlet(np.full(len(CATEGORIES), 12.0))
    sizes = np.maximum(np.round(shares * n_items).astype(int), [len(c.nouns) for c in CATEGORIES])
    while sizes.sum() > n_items:
        sizes[int(np.argmax(sizes))] -= 1
    while sizes.sum() < n_items:
        sizes[int(np.argmin(sizes))] += 1

    rows = []
    seen_titles: set[str] = set()
    for ci, (cat, size) in enumerate(zip(CATEGORIES, sizes)):
        premium = set(cat.brands[: max(1, len(cat.brands) // 3)])
        for j in range(int(size)):
            noun = cat.nouns[j % len(cat.nouns)] if j < len(cat.nouns) else cat.nouns[rng.integers(len(cat.nouns))]
            brand = cat.brands[rng.integers(len(cat.brands))]
            adj = cat.adjectives[rng.integers(len(cat.adjectives))]
            variant = cat.variants[rng.integers(len(cat.variants))]
            feature = cat.features[rng.integers(len(cat.features))]
            words = _words(lang, cat, brand, adj, noun, variant, feature)
            title = base = _title(lang, words)
            k = 2
            while title in seen_titles:
                title = f"{base} {k}"
                k += 1
            seen_titles.add(title)
            description = _description(lang, words, noun.consumable)
            price = float(np.exp(rng.uniform(np.log(noun.low), np.log(noun.high))))
            if brand in premium:
                price *= PREMIUM_BRAND_FACTOR
            rows.append(
                {
                    "title": title,
                    "description": description,
                    "category": words.category,
                    "price": round(price, 0) - 0.01 if price > 20 else round(price, 1),
                    "brand": words.brand,
                    "_cat": ci,
                    "_noun": noun.name,
                    "_noun_label": words.noun,
                    "_consumable": noun.consumable,
                    "_repeat_days": noun.repeat_days,
                }
            )
    items = pd.DataFrame(rows)
    n = len(items)
    items = items.iloc[rng.permutation(n)].reset_index(drop=True)
    items.insert(0, "item_id", [f"P{10001 + i}" for i in range(n)])
    items["_appeal"] = rng.normal(0.0, 0.8, n)

    # Listing dates: the back catalogue before the simulated year, some during it, ~5% new arrivals.
    span = (end - start).days
    listed_days = np.where(
        rng.random(n) < 0.7,
        rng.uniform(-720, 0, n),  # days relative to `start`
        rng.uniform(0, span - 30, n),
    )
    n_new = max(len(CATEGORIES), int(round(0.05 * n)))
    new_idx = rng.choice(n, size=n_new, replace=False)
    listed_days[new_idx] = span - rng.uniform(0.5, 21, n_new)
    items["listed_at"] = [start + timedelta(days=float(d)) for d in listed_days]
    items["listed_at"] = pd.to_datetime(items["listed_at"]).dt.floor("h")
    return items
