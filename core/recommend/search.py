"""Semantic search for the customer-service scenario: a shopper's question -> items, personalised.

1. Price limits are read from the text ("under 50", "below $30", "between 20 and 40", "50元以下", "unter 50")
   and removed from it; they become a hard filter.
2. The rest is matched on item text with the catalogue's encoder (core.text_encoder: MiniLM for English,
   multilingual E5 for Chinese; cosine on unit vectors).
3. The best text matches are re-ranked by the chosen user's model score s(u, i) (rank-normalised), so two
   shoppers asking the same question see their own order.
What the parser cannot do is reported, not hidden: negation ("not", "without"), words found nowhere in the
catalogue (often brands the shop does not sell), and non-English text where the encoder is English-trained.
Notes are core.i18n.Messages (English text the page can translate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from core.i18n import Message

STRONG_SHARE = 0.75  # a "close match" has at least this share of the best match's similarity
NUM = r"(\d+(?:[.,]\d+)?)"
CUR = r"(?:\$|€|£|¥|euros?\b|eur\b|dollars?\b|usd\b|rmb\b|yuan\b|元)?"
_BETWEEN = re.compile(rf"\b(?:between|from)\s*{CUR}\s*{NUM}\s*{CUR}\s*(?:and|to|-)\s*{CUR}\s*{NUM}\s*{CUR}", re.I)
_RANGE = re.compile(rf"(?<![\w.]){CUR}\s*{NUM}\s*{CUR}\s*(?:-|–|to)\s*{CUR}\s*{NUM}\s*{CUR}(?![\w.])", re.I)
_MAX = re.compile(
    rf"(?:\b(?:under|below|less than|cheaper than|up to|at most|max(?:imum)?|within|unter|bis|moins de|menos de)\b|<=?|≤)"
    rf"\s*{CUR}\s*{NUM}\s*{CUR}",
    re.I,
)
_MIN = re.compile(
    rf"(?:\b(?:over|above|more than|at least|min(?:imum)?|from|über|plus de|más de)\b|>=?|≥)\s*{CUR}\s*{NUM}\s*{CUR}",
    re.I,
)
_MAX_ZH = re.compile(rf"{NUM}\s*(?:元|块)?\s*(?:以下|以内|之内)")
_MIN_ZH = re.compile(rf"{NUM}\s*(?:元|块)?\s*以上")
# Chinese negation as phrases: a bare 无 / 不 is part of everyday product words (无线 wireless, 无糖 sugar-free, 不锈钢).
_NEGATION = re.compile(r"\b(not|no|without|except|excluding|don'?t|doesn'?t|never|nicht|ohne|sans|sin)\b"
                       r"|不要|不想要|不含|没有|除了", re.I)
_WORD = re.compile(r"[a-z][a-z'’-]+", re.I)
STOPWORDS = frozenset(
    "a an the for of to in on at by with and or my me i we you your our is are be it this that something some "
    "gift gifts present presents looking want need buy good nice best great new please any who which what".split()
)


@dataclass
class ParsedQuery:
    text: str  # what is matched on item text (price phrases removed)
    min_price: float | None = None
    max_price: float | None = None
    notes: list[str] = field(default_factory=list)  # what was not understood, in plain words


def _num(s: str) -> float:
    return float(s.replace(",", "."))


def parse_query(query: str, vocabulary: set[str] | None = None, multilingual: bool = False) -> ParsedQuery:
    """Price limits and the leftover text; notes name what the search does not understand.

    `multilingual`: the catalogue's encoder reads Chinese too (no "English-trained" note then).
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("search query is empty: type what the shopper is looking for")
    text = query.strip()
    lo = hi = None
    for pattern in (_BETWEEN, _RANGE):
        m = pattern.search(text)
        if m:
            a, b = sorted((_num(m.group(1)), _num(m.group(2))))
            lo, hi = a, b
            text = text[: m.start()] + " " + text[m.end():]
            break
    for pattern, is_max in ((_MAX, True), (_MAX_ZH, True), (_MIN, False), (_MIN_ZH, False)):
        m = pattern.search(text)
        if m:
            value = _num(m.group(1))
            if is_max:
                hi = value if hi is None else min(hi, value)
            else:
                lo = value if lo is None else max(lo, value)
            text = text[: m.start()] + " " + text[m.end():]
    text = re.sub(r"\s+", " ", text).strip(" ,.;")
    parsed = ParsedQuery(text=text or query.strip(), min_price=lo, max_price=hi)
    if lo is not None and hi is not None and lo > hi:
        parsed.notes.append(Message("the price limits contradict each other (at least {lo}, at most {hi}); ignored",
                                    lo=f"{lo:g}", hi=f"{hi:g}"))
        parsed.min_price = parsed.max_price = None
    neg = _NEGATION.search(text)
    if neg:
        parsed.notes.append(Message(
            "negation is not understood: '{word}' is ignored, so the words after it are matched as if wanted",
            word=neg.group(0)))
    letters = [c for c in text if c.isalpha()]
    if not multilingual and letters and sum(c.isascii() for c in letters) / len(letters) < 0.5:
        parsed.notes.append(Message("the text encoder is trained on English: results for other languages are approximate"))
    if vocabulary:
        unknown = [w for w in _WORD.findall(text) if w.lower() not in STOPWORDS and w.lower() not in vocabulary
                   and len(w) > 2 and not _NEGATION.fullmatch(w)]
        if unknown:
            shown = ", ".join(f"'{w}'" for w in dict.fromkeys(unknown))
            if len(unknown) == 1:
                note = Message("{words} appears nowhere in the catalogue (a brand the shop does not sell?): "
                               "matched by meaning only", words=shown)
            else:
                note = Message("{words} appear nowhere in the catalogue (a brand the shop does not sell?): "
                               "matched by meaning only", words=shown)
            parsed.notes.append(note)
    return parsed


def catalogue_vocabulary(texts: list[str]) -> set[str]:
    """Lower-case words of all item texts (to tell the shopper which of their words the shop never uses)."""
    vocab: set[str] = set()
    for t in texts:
        vocab.update(w.lower() for w in _WORD.findall(t))
    # Plural/singular leniency: 'runners' matches 'runner'.
    vocab.update({w[:-1] for w in vocab if w.endswith("s")} | {w + "s" for w in vocab})
    return vocab


def rank_matches(
    similarity: np.ndarray,
    user_scores: np.ndarray | None,
    allowed: np.ndarray,
    k: int,
    candidates: int = 30,
    personal_weight: float = 0.4,
) -> tuple[np.ndarray, np.ndarray]:
    """Top `candidates` items by text similarity (within `allowed`), re-ordered by
    (1 - w) * similarity (min-max within them) + w * percentile of the user's model score among them. Returns (items, final scores)."""
    if not 0 <= personal_weight <= 1:
        raise ValueError(f"personal_weight must be in [0, 1], got {personal_weight}")
    sim = np.where(allowed, similarity, -np.inf).astype(np.float64)
    n_ok = int(np.isfinite(sim).sum())
    n = min(max(candidates, k), n_ok)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    cand = np.argpartition(-sim, n - 1)[:n] if n < len(sim) else np.flatnonzero(np.isfinite(sim))
    cand = cand[np.lexsort((cand, -sim[cand]))]
    raw = sim[cand]
    final = (raw - raw.min()) / (raw.max() - raw.min()) if raw.max() > raw.min() else np.ones(n)
    if user_scores is not None and personal_weight > 0 and n > 1:
        s = np.asarray(user_scores, dtype=np.float64)[cand]
        s = np.where(np.isfinite(s), s, -np.inf)
        pct = np.empty(n)
        pct[np.lexsort((-cand, s))] = np.arange(n) / (n - 1)  # 0 = the user's least likely, 1 = most likely
        final = (1 - personal_weight) * final + personal_weight * pct
    # Close matches (within STRONG_SHARE of the best similarity) always come before loose ones, so the user's
    # taste re-orders good answers but never lifts a barely related item above them.
    strong = raw >= STRONG_SHARE * raw.max() if raw.max() > 0 else np.ones(n, dtype=bool)
    order = np.lexsort((cand, -final, ~strong))[:k]
    return cand[order].astype(np.int64), final[order]
