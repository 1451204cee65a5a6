"""Offline replay: a simulated A/B test between two recommenders on held-out purchases.

Users with a held-out next purchase (core.evaluation.protocols.leave_one_out) are split at random into arm A and
arm B; each arm's model shows its top-K to its users, and a user "converts" when the purchase they actually made
next is among those K (revenue: that item's price). The exposure frame then goes through the same analysis as a
live test. It is a simulation: real users react to what they are shown, a replay cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.abtest.analysis import Analysis, analyse
from core.evaluation.protocols import leave_one_out
from core.interactions import InteractionData
from core.models import Recommender, make_model
from core.scoring import ScoringContext

BATCH = 512


@dataclass
class ReplayResult:
    exposures: pd.DataFrame  # the simulated exposure frame (one row per user)
    analysis: Analysis
    arms: dict[str, str]  # variant -> model description
    k: int
    refit: bool
    n_users: int


def _refit(model: Recommender, train: InteractionData) -> Recommender:
    """A fresh copy of `model` (same kind and hyper-parameters) trained without the held-out purchases."""
    return make_model(model.kind, **model.get_params()).fit(train)


def _top_k_keys(model: Recommender, data: InteractionData, users: np.ndarray, histories: list[np.ndarray],
                k: int) -> np.ndarray:
    """Top-K external item ids per user, translating indices when the model knows another item catalogue."""
    model_keys = np.asarray(model.item_keys_).astype(str)
    histories = ScoringContext(data, model).mapping.histories(histories)
    out = []
    for start in range(0, len(users), BATCH):
        idx, scores = model.recommend(histories[start:start + BATCH], k=k, exclude_seen=True,
                                      users=users[start:start + BATCH])
        keys = model_keys[idx].astype(object)
        keys[~np.isfinite(scores)] = None  # masked items are not shown
        out.append(keys)
    return np.concatenate(out) if out else np.zeros((0, k), dtype=object)


def replay(
    data: InteractionData,
    model_a: Recommender,
    model_b: Recommender,
    names: tuple[str, str] = ("A", "B"),
    k: int = 10,
    share_b: float = 0.5,
    seed: int = 0,
    refit: bool = True,
) -> ReplayResult:
    """Simulate A (control) vs B on every user with a held-out next purchase."""
    if names[0] == names[1]:
        raise ValueError(f"the two arms need different names, got {names}")
    if not 0 < share_b < 1:
        raise ValueError(f"share_b must be between 0 and 1, got {share_b}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    split = leave_one_out(data)
    test = split.test
    if len(test) < 20:
        raise ValueError(f"only {len(test)} users have 3+ purchases; a replay needs at least 20")
    if refit:
        model_a, model_b = _refit(model_a, split.train), _refit(model_b, split.train)
    rng = np.random.default_rng(seed)
    in_b = rng.random(len(test)) < share_b
    target_keys = data.item_keys[test.targets].astype(str)
    hit = np.zeros(len(test), dtype=bool)
    for model, mask in ((model_a, ~in_b), (model_b, in_b)):
        rows = np.flatnonzero(mask)
        shown = _top_k_keys(model, data, test.users[rows], [test.histories[r] for r in rows], k)
        hit[rows] = (shown == target_keys[rows, None]).any(axis=1)
    price = np.zeros(len(test))
    if "price" in data.items:
        price = pd.to_numeric(data.items["price"], errors="coerce").fillna(0.0).to_numpy()[test.targets]
    frame = pd.DataFrame(
        {
            "user_id": data.user_keys[test.users].astype(str),
            "variant": np.where(in_b, names[1], names[0]),
            "converted": hit.astype(int),
            "revenue": np.where(hit, price, 0.0),
        }
    )
    if data.times is not None:
        ts = np.array([data.times[u][-1] if len(data.times[u]) else -1 for u in test.users], dtype=np.int64)
        frame["timestamp"] = pd.to_datetime(np.where(ts >= 0, ts, np.iinfo(np.int64).min // 10**9), unit="s",
                                            errors="coerce")
    analysis = analyse(frame, control=names[0], planned_split={names[0]: 1 - share_b, names[1]: share_b})
    analysis.notes.insert(0, f"Simulation: offline replay on held-out purchases (top-{k}); not a live test.")
    return ReplayResult(frame, analysis, {names[0]: model_a.kind, names[1]: model_b.kind}, k, refit, len(frame))


def replay_registered(
    session, model_a: int, model_b: int, k: int = 10, share_b: float = 0.5, seed: int = 0, refit: bool = True
) -> ReplayResult:
    """Replay two registered models (registry ids; A is the control) on the store's purchases: the page's call."""
    contexts = [ScoringContext.from_store(session, model_a)]
    contexts.append(ScoringContext.from_store(session, model_b, data=contexts[0].data))
    names = (f"A: {contexts[0].model_label}", f"B: {contexts[1].model_label}")
    return replay(contexts[0].data, contexts[0].model, contexts[1].model, names=names, k=k, share_b=share_b,
                  seed=seed, refit=refit)
