"""Serving a customer with no purchases: segment popularity from the profile, plus typed interests on item text.

Interests are matched on the item text vectors (shipped MiniLM), which exist for every item with a title or
description, so a brand-new item nobody has bought can be recommended to a brand-new customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.interactions import InteractionData
from core.models.segment_popularity import SegmentPopularity
from core.recommend.reasons import segment_label

INTEREST_WEIGHT = 0.7  # share of the cold score that comes from typed interests when given


@dataclass
class ColdScores:
    """Scores over store items plus what they are based on (for reasons and the UI)."""

    scores: np.ndarray
    segment: str | None
    interest_similarity: np.ndarray | None = None


def fit_segment_popularity(data: InteractionData) -> SegmentPopularity:
    return SegmentPopularity(by=("region", "age_band")).fit(data)


def profile_segment(data: InteractionData, user_index: int | None) -> str | None:
    if user_index is None or user_index < 0 or user_index >= data.n_users or data.users.empty:
        return None
    row = data.users.iloc[user_index]
    return segment_label(row.get("age_band"), row.get("region"))


def _minmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return np.zeros_like(x)
    lo, hi = x[finite].min(), x[finite].max()
    out = (x - lo) / (hi - lo) if hi > lo else np.where(finite, 1.0, 0.0)
    out[~finite] = 0.0
    return out


def interest_similarity(text: str, vectors: np.ndarray, encoder: str | None = None) -> np.ndarray:
    """Cosine of every item's text vector to the typed interests (0 where an item has no text).

    `encoder`: the one that made `vectors` (core.text_encoder.encoder_for of the catalogue; default MiniLM).
    """
    from core.text_encoder import MINILM, encode

    query = encode([text.strip()], encoder=encoder or MINILM, query=True)[0]
    return (vectors @ query).astype(np.float32)


def cold_scores(
    data: InteractionData,
    segpop: SegmentPopularity,
    user_index: int | None,
    vectors: np.ndarray | None = None,
    interests: str | None = None,
    encoder: str | None = None,
) -> ColdScores:
    """Profile-based scores (segment popularity, shrunk to global) blended with interest similarity if typed."""
    users = np.asarray([user_index if user_index is not None else -1], dtype=np.int64)
    base = segpop.score([np.zeros(0, dtype=np.int64)], users)[0]
    segment = profile_segment(data, user_index)
    if segpop.segment_of(users)[0] < 0:
        segment = None  # the profile's segment has no buyers yet: the scores are global popularity
    if not interests or not interests.strip():
        return ColdScores(scores=base.astype(np.float32), segment=segment)
    if vectors is None or not np.any(vectors):
        raise ValueError("interests need item text (titles or descriptions); this catalogue has none")
    sim = interest_similarity(interests, vectors, encoder)
    blended = INTEREST_WEIGHT * _minmax(sim) + (1 - INTEREST_WEIGHT) * _minmax(base)
    return ColdScores(scores=blended.astype(np.float32), segment=segment, interest_similarity=sim)
