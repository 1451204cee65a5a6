"""The recommender contract. Evaluation, the preview and coupon targeting know only this class.

scikit-learn habits: hyper-parameters are `__init__` arguments stored as-is (so `get_params` can
rebuild the model), learned state ends with `_`. A model scores a batch of *histories* (item index
arrays, oldest first) rather than user ids, so a protocol can hold items out, a cold user can be
scored from an empty history, and profile-aware models also receive the users' indices.
"""

from __future__ import annotations

import inspect
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.interactions import InteractionData

#: fit's progress callback: gets {"step", "epoch", "loss", "val_ndcg10", "eta_s", ...}; True stops early.
ProgressCallback = Callable[[dict[str, Any]], bool | None]


@dataclass(frozen=True)
class Param:
    """One tunable parameter, as the Training form and the `train` CLI both show it.

    The default is read from the class's `__init__` (`Recommender.param_schema()`), so it is written once.
    group: "training" | "architecture" (hidden when fine-tuning a checkpoint, which brings its own) | "advanced"
    (CLI only). low/high/step/fmt bound and format the form's number input.
    """

    name: str
    type: type
    label: str
    help: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    fmt: str | None = None
    group: str = "training"
    default: Any = None

    @property
    def in_form(self) -> bool:
        return self.group != "advanced"


class Recommender(ABC):
    """fit(data) then score(histories) -> (n_users, n_items) float32; higher is more likely bought next."""

    #: registry key in core.models.MODEL_KINDS
    kind: str = "base"
    #: what the Training page calls this kind
    label: str = ""
    #: the parameters the Training form and the CLI offer (defaults come from __init__)
    param_specs: tuple[Param, ...] = ()
    # ---- capabilities: callers ask these instead of testing for a model kind ----
    #: fit early-stops on `valid`; otherwise it ignores it and is refitted on all data after evaluation
    uses_validation: bool = False
    #: can continue from another saved model of its kind (`warm_start` parameter)
    supports_warm_start: bool = False
    #: can fine-tune a local Hugging Face checkpoint (`base_checkpoint` parameter)
    supports_base_checkpoint: bool = False
    #: fitting takes minutes: pages warn before refitting it
    is_slow: bool = False

    # ---- contract -------------------------------------------------------------------------
    def fit(
        self, data: InteractionData, valid: Any = None, callback: ProgressCallback | None = None
    ) -> Recommender:
        """Learn from `data.sequences` (and any side information the model uses).

        Models without `uses_validation` ignore `valid` and report one progress step; `fit_info_` says how the
        fit went (seconds; best_epoch for models that early-stop).
        """
        if callback is not None:
            callback({"step": 0, "epoch": 0.0, "loss": None, "val_ndcg10": None, "eta_s": None})
        t0 = time.perf_counter()
        self._fit(data)
        self.fit_info_: dict[str, Any] = {"seconds": time.perf_counter() - t0}
        return self

    def _fit(self, data: InteractionData) -> Any:
        """One-pass models learn here; models with their own training loop override `fit` instead."""
        raise NotImplementedError(f"{type(self).__name__} must implement _fit or fit")

    @abstractmethod
    def score(self, histories: Sequence[np.ndarray], users: np.ndarray | None = None) -> np.ndarray:
        """Scores of every item for each history. `users`: user indices (-1 = unknown) for profile-aware models."""

    def can_score_new_items(self, texts: Sequence[str]) -> bool:
        """Whether `score_new_items` can rank items this model never saw from their text alone: a class that
        implements it can, given some text (a model may refuse further, e.g. an LM trained without text)."""
        return type(self).score_new_items is not Recommender.score_new_items and any(texts)

    def score_new_items(self, histories: Sequence[np.ndarray], texts: list[str]) -> np.ndarray:
        """(n_histories, len(texts)) scores of new, text-only items, comparable with `score`'s columns."""
        raise NotImplementedError(f"{type(self).__name__} cannot score items it was not trained on")

    def scoring_variants(self) -> dict[str, Recommender]:
        """This fitted model with a part that acts only at scoring switched off, by what is off: the same fit
        scored both ways is a paired ablation at no training cost. Most models have no such part: {}."""
        return {}

    @classmethod
    def param_schema(cls) -> list[Param]:
        """`param_specs` with each default filled in from `__init__`."""
        defaults = {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items()}
        return [replace(p, default=defaults[p.name]) for p in cls.param_specs]

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


def mask_histories(scores: np.ndarray, histories: Sequence[np.ndarray]) -> None:
    """In place: every history item of row r -> -inf (bought items are never recommended again).

    The one masking rule for ranking, evaluation, the batch export and coupon targeting. Evaluation masks the
    target too when it is a repeat purchase: S3-Rec's full-sort rule, and what serving does; keeping a repeat
    target rankable while masking the rest of the history would leave it the one unmasked bought item, a leak
    that flatters models scoring bought items high on repeat-heavy shops.
    """
    lengths = np.fromiter((len(h) for h in histories), dtype=np.int64, count=len(histories))
    if lengths.sum() == 0:
        return
    rows = np.repeat(np.arange(len(histories)), lengths)
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories if len(h)])
    scores[rows, cols] = -np.inf


def top_k(
    scores: np.ndarray,
    histories: Sequence[np.ndarray] | None,
    k: int,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k with seen items (and disallowed items) masked to -inf. Ties break by lower index."""
    scores = np.asarray(scores, dtype=np.float32)
    if histories is not None:
        mask_histories(scores, histories)
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
