"""Calibrated purchase propensity: P(user buys within the campaign window), from history, profile and s(u, i).

Trained on the store itself: features as of `window_days` before the last event, label = bought in the
window that followed. Calibration (CalibratedClassifierCV) makes the probabilities usable as money
estimates (expected coupon cost = P(buy) × face value), not just as a ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from core.uplift.learners import one_thread

MIN_USERS = 40


@dataclass
class PropensityModel:
    """Either a calibrated classifier or, when the data cannot support one, the base rate for everyone."""

    model: CalibratedClassifierCV | None
    base_rate: float
    n_train: int
    auc: float | None  # on a held-out quarter; None when not measurable
    brier: float | None

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            return np.full(len(X), self.base_rate)
        with one_thread():
            return self.model.predict_proba(np.asarray(X, dtype=np.float64))[:, 1]

    def quality(self) -> dict:
        return {"n_train": self.n_train, "base_rate": self.base_rate, "auc": self.auc, "brier": self.brier,
                "calibrated": self.model is not None}


def fit_propensity(X: np.ndarray, y: np.ndarray, seed: int = 0) -> PropensityModel:
    with one_thread():
        return _fit(X, y, seed)


def _fit(X: np.ndarray, y: np.ndarray, seed: int) -> PropensityModel:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    if len(X) != len(y):
        raise ValueError(f"propensity: X has {len(X)} rows but y has {len(y)}")
    rate = float(y.mean()) if len(y) else 0.0
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if len(y) < MIN_USERS or min(n_pos, n_neg) < 10:
        return PropensityModel(None, rate, len(y), None, None)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    base = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20,
                                          l2_regularization=1.0, random_state=seed)
    method = "isotonic" if len(ytr) >= 1000 else "sigmoid"
    model = CalibratedClassifierCV(base, method=method, cv=3).fit(Xtr, ytr)
    p = model.predict_proba(Xte)[:, 1]
    auc = float(roc_auc_score(yte, p)) if 0 < yte.sum() < len(yte) else None
    return PropensityModel(model, rate, len(ytr), auc, float(brier_score_loss(yte, p)))
