"""Popularity within the customer's segment (region, age band, …): the best guess for a customer with no history."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.i18n import N_
from core.interactions import InteractionData
from core.models.base import Recommender


class SegmentPopularity(Recommender):
    """Score = segment purchase share shrunk towards the global share: (seg_counts + shrinkage * p_global) / (seg_n + shrinkage).

    Segments are the combinations of the `by` profile columns (missing columns are skipped, missing values
    make a user segment-less). Users with no known segment, or `users=None`, get global popularity.
    """

    kind = "segment_popularity"
    label = N_("Popularity per customer segment")

    def __init__(self, by: Sequence[str] = ("region", "age_band"), shrinkage: float = 20.0):
        self.by = list(by)
        self.shrinkage = shrinkage

    def _segment_labels(self, data: InteractionData) -> np.ndarray:
        cols = [c for c in self.by if c in data.users.columns]
        labels = np.full(data.n_users, "", dtype=object)
        if not cols or data.users.empty:
            return labels
        frame = data.users[cols]
        known = frame.notna().all(axis=1).to_numpy()
        joined = frame.astype(object).fillna("").astype(str).agg(" | ".join, axis=1).to_numpy()
        labels[known] = joined[known]
        return labels

    def _fit(self, data: InteractionData) -> SegmentPopularity:
        if self.shrinkage < 0:
            raise ValueError(f"SegmentPopularity: shrinkage must be >= 0, got {self.shrinkage}")
        self.item_keys_ = np.asarray(data.item_keys).astype(str)
        counts = data.purchase_counts().astype(np.float64)
        p_global = (counts + 1e-9) / max(counts.sum(), 1.0)
        tie = 1e-12 * np.arange(data.n_items)
        self.global_scores_ = (p_global - tie).astype(np.float32)
        labels = self._segment_labels(data)
        names = sorted({lab for lab in labels if lab})
        index = {name: n for n, name in enumerate(names)}
        self.segment_keys_ = np.asarray(names, dtype=str)
        self.user_segment_ = np.asarray([index.get(lab, -1) for lab in labels], dtype=np.int64)
        seg_scores = np.zeros((len(names), data.n_items), dtype=np.float64)
        for u, seq in enumerate(data.sequences):
            s = self.user_segment_[u]
            if s >= 0 and len(seq):
                np.add.at(seg_scores[s], seq, 1.0)
        seg_n = seg_scores.sum(axis=1, keepdims=True)
        seg_scores = (seg_scores + self.shrinkage * p_global) / np.maximum(seg_n + self.shrinkage, 1e-12)
        self.segment_scores_ = (seg_scores - tie).astype(np.float32)
        return self

    def segment_of(self, users: np.ndarray) -> np.ndarray:
        """Segment index per user index (-1 = unknown user or no segment)."""
        users = np.asarray(users, dtype=np.int64)
        known = (users >= 0) & (users < len(self.user_segment_))
        out = np.full(len(users), -1, dtype=np.int64)
        out[known] = self.user_segment_[users[known]]
        return out

    def score(self, histories: Sequence[np.ndarray], users: np.ndarray | None = None) -> np.ndarray:
        out = np.tile(self.global_scores_, (len(histories), 1))
        if users is None or len(self.segment_keys_) == 0:
            return out
        seg = self.segment_of(users)
        rows = seg >= 0
        out[rows] = self.segment_scores_[seg[rows]]
        return out
