"""Whether a freshly trained model replaces the active one: both are measured on the job's own held-out split.

The one rule for every training job (Training page, `python -m core train`, the first-start LM): under
"if-better" the new model becomes active only when its test NDCG@10 beats the active model's on the SAME
leave-one-out split; figures measured on other data are never compared. The decision and both figures are
kept in the job's metrics, so the page can say plainly why a model was not activated.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

ACTIVATION_POLICIES = ("if-better", "always", "never")
COMPARE_K = 10


def normalise_policy(value: Any) -> str:
    """The policy name; the booleans of older job rows read as always (True) / never (False)."""
    if isinstance(value, bool):
        return "always" if value else "never"
    text = str(value).strip().lower().replace("_", "-")
    if text not in ACTIVATION_POLICIES:
        raise ValueError(f"activate must be one of {', '.join(ACTIVATION_POLICIES)}; got {value!r}")
    return text


def split_signature(data, split) -> dict[str, Any]:
    """What a figure was measured on: data set version and size, protocol, K. Equal signatures = same split
    (leave-one-out is deterministic given the purchases)."""
    return {
        "dataset_id": data.dataset_id,
        "n_users": int(data.n_users),
        "n_items": int(data.n_items),
        "n_purchases": int(sum(len(s) for s in data.sequences)),
        "protocol": "loo",
        "ranking": "full",
        "k": COMPARE_K,
        "n_test_users": int(len(split.test)),
    }


def same_split(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return bool(a) and bool(b) and all(a.get(k) == b.get(k) for k in split_signature_keys())


def split_signature_keys() -> tuple[str, ...]:
    return ("dataset_id", "n_users", "n_items", "n_purchases", "protocol", "ranking", "n_test_users")


@dataclass
class ActiveFigure:
    """The active model's NDCG@10 on the job's split (None when it cannot be measured there, with why)."""

    model_id: int | None
    label: str | None
    ndcg10: float | None
    how: str  # "refitted on the split" | "stored figure of the same split" | why not comparable
    seconds: float = 0.0


@dataclass
class ActivationDecision:
    policy: str
    activated: bool
    reason: str
    new_ndcg10: float | None
    active_ndcg10: float | None
    compared_with: str | None
    active_model_id: int | None
    how: str | None
    split: dict[str, Any]

    def to_dict(self, kind: str) -> dict[str, Any]:
        """The job-metrics record (keys kept from the first-start LM's record: compared_with, active_ndcg@10, …)."""
        out = asdict(self)
        out["active_ndcg@10"] = out.pop("active_ndcg10")
        out[f"{kind}_ndcg@10"] = out["new_ndcg@10"] = out.pop("new_ndcg10")
        return out


def measure_active(url: str, split, signature: dict[str, Any]) -> ActiveFigure:
    """Score the active model on this split: a fast model is refitted on the split's training part (so both
    models are scored on purchases neither has seen); a slow one (the LM) keeps its stored figure only when that
    was measured on this very split, else it cannot be compared without retraining it."""
    from core.evaluation.metrics import evaluate_model
    from core.models import make_model, model_class
    from db.engine import session_scope
    from db.registry import active_model

    with session_scope(url) as s:
        row = active_model(s)
        if row is None:
            return ActiveFigure(None, None, None, "no model was active")
        model_id, label, kind = row.id, f"{row.name} v{row.version}", row.kind
        params, stored = dict(row.params or {}), dict(row.metrics or {})
    t0 = time.perf_counter()
    if model_class(kind).is_slow:
        if same_split(stored.get("split"), signature) and stored.get("ndcg@10") is not None:
            return ActiveFigure(model_id, label, float(stored["ndcg@10"]), "stored figure of the same split")
        return ActiveFigure(model_id, label, None, "its figure was measured on other data; retraining it to "
                            "compare would take as long as this job")
    params.pop("warm_start", None)
    model = make_model(kind, **params).fit(split.train)
    ndcg = evaluate_model(model, split.test, ks=(COMPARE_K,))[f"ndcg@{COMPARE_K}"]
    return ActiveFigure(model_id, label, float(ndcg), "refitted on the split", time.perf_counter() - t0)


def decide(policy: str, kind: str, new_ndcg10: float | None, active: ActiveFigure | None,
           signature: dict[str, Any]) -> ActivationDecision:
    """Apply the policy to the two figures; the reason names both figures and the split."""
    policy = normalise_policy(policy)
    where = (f"the held-out split (last purchase of {signature.get('n_test_users', '?')} customers, "
             f"data set {signature.get('dataset_id')})")
    base = dict(policy=policy, new_ndcg10=new_ndcg10, split=signature,
                active_ndcg10=None if active is None else active.ndcg10,
                compared_with=None if active is None or active.model_id is None else active.label,
                active_model_id=None if active is None else active.model_id,
                how=None if active is None else active.how)
    if policy == "always":
        return ActivationDecision(activated=True, reason="activated as asked (activate: always)", **base)
    if policy == "never":
        return ActivationDecision(activated=False, reason="not activated, as asked (activate: never)", **base)
    if active is None or active.model_id is None:
        return ActivationDecision(activated=True, reason="no model was active", **base)
    name = active.label
    if new_ndcg10 is None or active.ndcg10 is None:
        why = active.how if active.ndcg10 is None else "the new model has no held-out NDCG@10"
        return ActivationDecision(activated=False, reason=f"not compared on the same split ({why}): {name} stays "
                                  "active", **base)
    if new_ndcg10 > active.ndcg10:
        return ActivationDecision(activated=True, reason=f"{kind} NDCG@10 {new_ndcg10:.4f} beats {name}'s "
                                  f"{active.ndcg10:.4f} on {where}: activated", **base)
    return ActivationDecision(activated=False, reason=f"{kind} NDCG@10 {new_ndcg10:.4f} does not beat {name}'s "
                              f"{active.ndcg10:.4f} on {where}: {name} stays active", **base)
