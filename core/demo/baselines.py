"""Fit, score and register the baseline recommenders on the demo shop, so previews and coupons work at once.

Each model is scored on the leave-one-out protocol (fit on the training part, NDCG@10 on the test
targets), then refitted on all purchases and registered; the best by NDCG@10 becomes the active model.
Models whose module is not importable in this build (being written) are skipped.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from core.evaluation.metrics import evaluate_model
from core.evaluation.protocols import leave_one_out
from core.interactions import from_store
from core.models import make_model

# (registry name, kind, params): cheap models only, the LM is trained from the Training page.
DEMO_BASELINES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("popularity", "popularity", {}),
    ("ease", "ease", {"lam": 200.0}),
)


def fit_and_register(session: Session, dataset_id: int) -> tuple[list[dict[str, Any]], str | None]:
    """Returns ([{name, id, kind, ndcg@10, hr@10, train_seconds}], name of the activated model)."""
    from db.registry import register_model, set_active

    data = from_store(session, dataset_id=dataset_id)
    split = leave_one_out(data)
    counts = split.train.purchase_counts()
    out: list[dict[str, Any]] = []
    best: tuple[float, int, str] | None = None
    for name, kind, params in DEMO_BASELINES:
        try:
            model = make_model(kind, **params)
        except (ImportError, AttributeError):
            continue
        metrics = evaluate_model(model.fit(split.train), split.test, ks=(10, 20), train_counts=counts)
        metrics["protocol"] = "loo"
        t0 = time.perf_counter()
        final = make_model(kind, **params).fit(data)
        seconds = time.perf_counter() - t0
        row = register_model(session, final, name=name, dataset_id=dataset_id, metrics=metrics, train_seconds=seconds)
        out.append({"name": name, "id": row.id, "kind": kind, "ndcg@10": round(metrics["ndcg@10"], 4),
                    "hr@10": round(metrics["hr@10"], 4), "train_seconds": round(seconds, 3)})
        if best is None or metrics["ndcg@10"] > best[0]:
            best = (metrics["ndcg@10"], row.id, name)
    if best is None:
        return out, None
    set_active(session, best[1])
    return out, best[2]
