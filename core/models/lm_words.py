"""Item text as words the LM learns: each item's title, description, category and brand cut into words, every word
a learned vector, an item's word part the mean of its words' vectors (plus a learned word bias).

A frozen sentence encoder places "JUMBO BAG RED RETROSPOT" near other bags; learned words let purchases decide what
a word means to this shop's buyers ("retrospot" buyers buy more retrospot), and they are shared by every item that
carries the word, so a rarely bought or brand-new item is placed by what its words learnt from the popular ones.
Latin words are lower-cased runs of letters and digits; CJK text gives single characters and character pairs (no
segmenter needed). Words carried by a single item add nothing an item id does not, and words on most items are
noise, so the vocabulary keeps words on at least `min_items` items and at most `max_share` of the catalogue, and
(`word_lift`) only words whose items buyers move between more often than chance.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A word joins the LM's vocabulary when buyers move between its items at least this many times as often as chance.
# On ML-100K titles this drops "the", "of", years and genres (lift 1.0-1.5) and keeps 147 of 683 words; on Online
# Retail descriptions and Beauty's category/brand codes it keeps 973 of 1,249 and 558 of 637.
WORD_MIN_LIFT = 2.0

_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def words(text: str) -> list[str]:
    """Distinct words of one item text, in order of first appearance."""
    out: list[str] = []
    for run in _WORD.findall((text or "").lower()):
        if _CJK.match(run):
            out.extend(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return list(dict.fromkeys(out))


@dataclass
class ItemWords:
    """The vocabulary and, per item, the indices of its words (`ids`, padded with len(vocab))."""

    vocab: list[str]
    ids: np.ndarray  # (n_items, max_words) int64

    @property
    def pad(self) -> int:
        return len(self.vocab)


def encode_words(texts: Sequence[str], vocab: Sequence[str], width: int) -> np.ndarray:
    """(len(texts), width) indices of each text's words in `vocab`, padded with len(vocab); unknown words dropped
    (a new item's text is read with the vocabulary its model learnt)."""
    index = {w: n for n, w in enumerate(vocab)}
    out = np.full((len(texts), width), len(vocab), dtype=np.int64)
    for r, text in enumerate(texts):
        known = [index[w] for w in words(text) if w in index][:width]
        out[r, : len(known)] = known
    return out


def word_lift(per_item: Sequence[Sequence[str]], vocab: Sequence[str], sequences: Sequence[np.ndarray]) -> np.ndarray:
    """Per word: how much likelier a purchase is of an item with the word when the previous (different) purchase
    had it, than purchases of such items are overall (1 = no more than chance); NaN with under 5 such pairs."""
    from scipy import sparse

    index = {w: n for n, w in enumerate(vocab)}
    rows = [r for r, ws in enumerate(per_item) for w in ws if w in index]
    cols = [index[w] for ws in per_item for w in ws if w in index]
    has = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(per_item), len(vocab)))
    seqs = [np.asarray(s, dtype=np.int64) for s in sequences if len(s)]
    if not seqs:
        return np.full(len(vocab), np.nan)
    bought = np.concatenate(seqs)
    prev = np.concatenate([s[:-1] for s in seqs])
    nxt = np.concatenate([s[1:] for s in seqs])
    differ = prev != nxt  # a repeat purchase shares every word with itself
    prev, nxt = prev[differ], nxt[differ]
    share = np.asarray(has[bought].sum(axis=0)).ravel() / max(len(bought), 1)
    after = np.asarray(has[prev].sum(axis=0)).ravel()
    both = np.asarray(has[prev].multiply(has[nxt]).sum(axis=0)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = (both / after) / share
    lift[after < 5] = np.nan
    return lift


def build_item_words(texts: Sequence[str], min_items: int = 2, max_share: float = 0.5, max_words: int = 32,
                     max_vocab: int = 100_000, sequences: Sequence[np.ndarray] | None = None,
                     min_lift: float = 0.0) -> ItemWords | None:
    """The catalogue's vocabulary and each item's words; None when no word is shared by `min_items` items.

    With `sequences` and `min_lift` > 0, a word is kept only when buyers move between its items at least `min_lift`
    times as often as chance (`word_lift`): "the" or a release year join unrelated items, a product line's name or a
    brand does not."""
    per_item = [words(t) for t in texts]
    counts = Counter(w for ws in per_item for w in ws)
    limit = max(min_items, int(max_share * len(texts)))
    kept = [w for w, c in counts.most_common() if min_items <= c <= limit][:max_vocab]
    if kept and sequences is not None and min_lift > 0:
        lift = word_lift(per_item, kept, sequences)
        kept = [w for w, x in zip(kept, lift) if x >= min_lift]
    if not kept:
        return None
    vocab = sorted(kept)
    ids = encode_words(texts, vocab, max_words)
    width = max(1, int((ids != len(vocab)).sum(axis=1).max()))
    return ItemWords(vocab=vocab, ids=np.ascontiguousarray(ids[:, :width]))
