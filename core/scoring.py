"""One scoring context: the store's data, a model, the store-to-model item mapping and bought-item masking.

Evaluation, the preview (RecommendationService), the batch export, coupon targeting and the A/B replay all score
through this, so a model trained on another catalogue version is mapped, and bought items are masked, one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.interactions import InteractionData, from_store
from core.models.base import Recommender, mask_histories


class NoModelError(LookupError):
    """No registered model matches (or none is active)."""


@dataclass(frozen=True)
class ItemMapping:
    """Store item index -> the model's own item column (-1 where the model never saw the item)."""

    to_model: np.ndarray
    same: bool  # the model's catalogue is the store's, in the same order: nothing to translate

    @classmethod
    def between(cls, model_keys: Sequence, store_keys: Sequence) -> ItemMapping:
        keys = np.asarray(model_keys).astype(str)
        store = np.asarray(store_keys).astype(str)
        same = len(keys) == len(store) and bool(np.all(keys == store))
        return cls(to_model=pd.Index(keys).get_indexer(store), same=same)

    @property
    def known(self) -> np.ndarray:
        """Store item indices the model can score."""
        return np.flatnonzero(self.to_model >= 0)

    def histories(self, histories: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Store-index histories in the model's indices, items it never saw dropped (order kept)."""
        if self.same:
            return list(histories)
        out = []
        for h in histories:
            m = self.to_model[np.asarray(h, dtype=np.int64)]
            out.append(m[m >= 0])
        return out

    def store_scores(self, raw: np.ndarray) -> np.ndarray:
        """(n, n_model_items) model scores as (n, n_store_items); items the model never saw are -inf."""
        if self.same:
            return raw
        out = np.full((len(raw), len(self.to_model)), -np.inf, dtype=raw.dtype)
        known = self.known
        out[:, known] = raw[:, self.to_model[known]]
        return out


@dataclass
class ScoringContext:
    """The data scored, the model scoring it, and how the two catalogues line up."""

    data: InteractionData
    model: Recommender
    model_id: int | None = None
    model_label: str | None = None
    mapping: ItemMapping = field(init=False)

    def __post_init__(self) -> None:
        self.model_label = self.model_label or getattr(self.model, "kind", "model")
        self.mapping = ItemMapping.between(self.model.item_keys_, self.data.item_keys)

    @classmethod
    def from_store(
        cls, session, model_ref: int | str | None = None, data: InteractionData | None = None
    ) -> ScoringContext:
        """The store's purchases and the active model (or `model_ref`: a registered model's id or name)."""
        from core.registry import load_version
        from db.registry import active_model, find_model

        row = find_model(session, model_ref) if model_ref is not None else active_model(session)
        if row is None:
            raise NoModelError(
                f"no registered model {model_ref!r}" if model_ref is not None
                else "no active model: train one on the Training page (or `python -m core train`) and activate it"
            )
        data = from_store(session) if data is None else data
        return cls(data, load_version(row), model_id=row.id, model_label=f"{row.name} v{row.version}")

    def scores(
        self, histories: Sequence[np.ndarray], users: np.ndarray | None = None, dtype=np.float32
    ) -> np.ndarray:
        """(n, n_store_items) model scores of store-index histories; store items the model never saw are -inf."""
        raw = np.asarray(self.model.score(self.mapping.histories(histories), users), dtype=dtype)
        return self.mapping.store_scores(raw)

    @staticmethod
    def mask_bought(scores: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
        """In place (and returned): every item of row r's history -> -inf."""
        mask_histories(scores, histories)
        return scores

    def user_item_matrix(self, binary: bool = True):
        """Users x store items purchase matrix (scipy CSR)."""
        return self.data.user_item_matrix(binary=binary)
