"""The recommender contract. Evaluation, the preview and coupon targeting know only this class.

scikit-learn habits: hyper-parameters are `__init__` arguments stored as-is (so `get_params` can
rebuild the model), learned state ends with `_`. A model scores a batch of *histories* (item index
arrays, oldest first) rather than user ids, so a protocol can hold items out, a cold user can be
scored from an empty history, and profile-aware models also receive the users' indices.
"""

from __future__ import annotations

import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.interactions import InteractionData


class Recommender(ABC):
    """fit(data) then score(histories) -> (n_users, n_items) float32; higher is more likely bought next."""

    #: registry key in core.models.MODEL_KINDS
    kind: str = "base"

    # ---- contract -------------------------------------------------------------------------
    @abstractmethod
    def fit(self, data: InteractionData) -> Recommender:
        """Learn from `data.sequences` (and any side information the model uses)."""

    @abstractmethod
    def score(self, histories: Sequence[np.ndarray], users: np.ndarray | None = None) -> np.ndarray:
        """Scores of every item for each history. `users`: user indices (-1 = unknown) for profile-aware models."""

    # ---- shared behaviour -----------------------------------------------------------------
    def recommend(
        self,
        histories: Sequence[np.ndarray],
        k: int = 10,
        exclude_seen: bool = True,
        users: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k item indices and scores per history; `allowed` is an optional boolean item mask."""
        scores = np.array(self.score(histories, users), dtype=np.float32, copy=True)
        return top_k(scores, histories if exclude_seen else None, k, allowed)

    def get_params(self) -> dict[str, Any]:
        sig = inspect.signature(type(self).__init__)
        return {name: getattr(self, name) for name in sig.parameters if name != "self" and hasattr(self, name)}

    @property
    def n_items_(self) -> int:
        return len(self.item_keys_)

    # ---- persistence: params as JSON + learned arrays as .npz; models with torch state override ----
    def _state(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and isinstance(v, np.ndarray)}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "model.json").write_text(json.dumps({"kind": self.kind, "params": self.get_params()}, default=str))
        state = self._state()
        np.savez(path / "state.npz", **{k: (v.astype(str) if v.dtype == object else v) for k, v in state.items()})
        return path

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        path = Path(path)
        meta = json.loads((path / "model.json").read_text())
        model = cls(**meta["params"])
        with np.load(path / "state.npz", allow_pickle=False) as z:
            model._set_state({k: z[k] for k in z.files})
        return model


def top_k(
    scores: np.ndarray,
    histories: Sequence[np.ndarray] | None,
    k: int,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k with seen items (and disallowed items) masked to -inf. Ties break by lower index."""
    scores = np.asarray(scores, dtype=np.float32)
    if histories is not None:
        for row, hist in enumerate(histories):
            if len(hist):
                scores[row, np.asarray(hist, dtype=np.int64)] = -np.inf
    if allowed is not None:
        scores[:, ~np.asarray(allowed, dtype=bool)] = -np.inf
    n_items = scores.shape[1]
    k = min(k, n_items)
    if k <= 0:
        return np.zeros((len(scores), 0), dtype=np.int64), np.zeros((len(scores), 0), dtype=np.float32)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n_items else np.tile(np.arange(n_items), (len(scores), 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx.astype(np.int64), np.take_along_axis(scores, idx, axis=1)
