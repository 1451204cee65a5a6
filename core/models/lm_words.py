"""Item text as words the LM learns: each item's title, description, category and brand cut into words, every word
a learned vector, an item's word part the mean of its words' vectors (plus a learned word bias).

A frozen sentence encoder places "JUMBO BAG RED RETROSPOT" near other bags; learned words let purchases decide what
a word means to this shop's buyers ("retrospot" buyers buy more retrospot), and they are shared by every item that
carries the word, so a rarely bought or brand-new item is placed by what its words learnt from the popular ones.
Latin words are lower-cased runs of letters and digits; CJK text gives single characters and character pairs (no
segmenter needed). Words carried by a single item add nothing an item id does not, and words on most items are
noise, so the vocabulary keeps words on at least `min_items` items and at most `max_share` of the catalogue.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Word indices of (new) item texts under this vocabulary, padded like `ids` (unknown words dropped)."""
        index = {w: n for n, w in enumerate(self.vocab)}
        width = self.ids.shape[1]
        out = np.full((len(texts), width), self.pad, dtype=np.int64)
        for r, text in enumerate(texts):
            known = [index[w] for w in words(text) if w in index][:width]
            out[r, : len(known)] = known
        return out


def build_item_words(texts: Sequence[str], min_items: int = 2, max_share: float = 0.5, max_words: int = 32,
                     max_vocab: int = 100_000) -> ItemWords | None:
    """The catalogue's vocabulary and each item's words; None when no word is shared by `min_items` items."""
    per_item = [words(t) for t in texts]
    counts = Counter(w for ws in per_item for w in ws)
    limit = max(min_items, int(max_share * len(texts)))
    kept = [w for w, c in counts.most_common() if min_items <= c <= limit][:max_vocab]
    if not kept:
        return None
    vocab = sorted(kept)
    result = ItemWords(vocab=vocab, ids=np.zeros((len(texts), max_words), dtype=np.int64))
    result.ids = result.encode(texts)
    width = max(1, int((result.ids != result.pad).sum(axis=1).max()))
    result.ids = np.ascontiguousarray(result.ids[:, :width])
    return result
