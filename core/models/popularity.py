"""Global popularity, optionally decayed by recency: the floor every model must clear."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.i18n import N_
from core.interactions import InteractionData
from core.models.base import Recommender


class Popularity(Recommender):
    """Score = number of purchases, each weighted by 0.5 ** (age / half_life_days) when a half-life is set."""

    kind = "popularity"
    label = N_("Popularity baseline")

    def __init__(self, half_life_days: float | None = None):
        self.half_life_days = half_life_days

    def _fit(self, data: InteractionData) -> Popularity:
        self.item_keys_ = np.asarray(data.item_keys).astype(str)
        weights = np.zeros(data.n_items, dtype=np.float64)
        use_time = self.half_life_days and data.times is not None and any(len(t) for t in data.times)
        if use_time:
            now = max(int(t.max()) for t in data.times if len(t))
            for seq, ts in zip(data.sequences, data.times):
                if len(seq):
                    np.add.at(weights, seq, 0.5 ** ((now - ts) / (86400.0 * self.half_life_days)))
        else:
            weights = data.purchase_counts().astype(np.float64)
        # Tiny index-based tie-break keeps rankings deterministic across platforms.
        self.scores_ = (weights - 1e-9 * np.arange(data.n_items)).astype(np.float32)
        return self

    def score(self, histories: Sequence[np.ndarray], users: np.ndarray | None = None) -> np.ndarray:
        return np.tile(self.scores_, (len(histories), 1))
