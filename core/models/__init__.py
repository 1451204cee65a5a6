"""Every recommender RecoLM knows, by registry key. Imports are lazy: torch loads only for the LM."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from core.models.base import Param, Recommender, top_k

# kind -> "module:Class". Baselines first, then the fine-tuned language model.
MODEL_KINDS: dict[str, str] = {
    "popularity": "core.models.popularity:Popularity",
    "segment_popularity": "core.models.segment_popularity:SegmentPopularity",
    "itemknn": "core.models.itemknn:ItemKNN",
    "ease": "core.models.ease:EASE",
    "lm": "core.models.lm:TransformerLM",
}
#: what the Training form and the `train` CLI offer first
DEFAULT_KIND = "lm"


def model_class(kind: str) -> type[Recommender]:
    if kind not in MODEL_KINDS:
        raise KeyError(f"Unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    module, cls = MODEL_KINDS[kind].split(":")
    return getattr(importlib.import_module(module), cls)


def make_model(kind: str, **params) -> Recommender:
    return model_class(kind)(**params)


def load_model(path: str | Path) -> Recommender:
    """Load any saved model from its folder (the kind is read from model.json)."""
    kind = json.loads((Path(path) / "model.json").read_text())["kind"]
    return model_class(kind).load(path)


__all__ = ["DEFAULT_KIND", "MODEL_KINDS", "Param", "Recommender", "load_model", "make_model", "model_class", "top_k"]
