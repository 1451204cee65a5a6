"""Live A/B tests through the API: deterministic assignment, and the exposure frame the existing analysis reads.

A user's arm is a hash of (experiment id, user id) mapped onto the arms' cumulative traffic shares, so every
server process (and a restart) gives the same user the same arm without storing an assignment table. Outcomes are
the purchases the shop reports back (POST /v1/feedback) after the user's first served list; the pre-period metric
(purchases before it) feeds CUPED. The statistics are core.abtest.analysis.analyse, unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from core.abtest.analysis import Analysis, analyse
from db.tables import utcnow

CLOCK_GRACE = timedelta(minutes=5)
HOLDOUT = "holdout"  # an arm with no model: the API serves no recommendations
METRICS = {"conversion": "converted", "revenue_per_user": "revenue"}


@dataclass(frozen=True)
class Arm:
    name: str
    model_id: int | None  # None: holdout ("no recommendations")
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model_id": self.model_id, "share": self.share}


@dataclass(frozen=True)
class ExperimentPlan:
    """What the serving path needs of a running experiment."""

    id: int
    arms: tuple[Arm, ...]
    control: str

    @classmethod
    def from_row(cls, row) -> ExperimentPlan:
        arms = tuple(Arm(a["name"], a.get("model_id"), float(a["share"])) for a in row.arms)
        return cls(int(row.id), arms, row.control)

    def assign(self, user_id: str) -> Arm:
        return assign(self.id, user_id, self.arms)


def _bucket(experiment_id: int, user_id: str) -> float:
    digest = hashlib.sha256(f"{experiment_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(experiment_id: int, user_id: str, arms: tuple[Arm, ...] | list[Arm]) -> Arm:
    """The arm of `user_id`: stable for the experiment, independent across experiments, in proportion to shares."""
    total = sum(a.share for a in arms)
    u = _bucket(experiment_id, str(user_id)) * total
    edge = 0.0
    for arm in arms:
        edge += arm.share
        if u < edge:
            return arm
    return arms[-1]


def validate_arms(arms: list[Arm], control: str) -> None:
    """Clear errors for a plan that cannot run: fewer than two arms, repeated names, shares, unknown control."""
    if len(arms) < 2:
        raise ValueError("a live experiment needs at least two arms (e.g. the active model and a challenger)")
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ValueError(f"arm names must differ; got {names}")
    for a in arms:
        if not a.name.strip():
            raise ValueError("every arm needs a name")
        if not np.isfinite(a.share) or a.share <= 0:
            raise ValueError(f"arm {a.name!r}: its traffic share must be above 0, not {a.share}")
    if control not in names:
        raise ValueError(f"control arm {control!r} is not one of the arms {names}")


def start(session: Session, name: str, arms: list[Arm], control: str, metric: str = "conversion",
          actor: str = "local") -> int:
    """Start a live experiment (one at a time), with its audit entry; the API picks it up within seconds."""
    from db.audit import record
    from db.live_experiments import create_live_experiment, running_experiments
    from db.registry import find_model

    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}; choose one of {', '.join(METRICS)}")
    validate_arms(arms, control)
    for a in arms:
        if a.model_id is not None and find_model(session, int(a.model_id)) is None:
            raise ValueError(f"arm {a.name!r}: no registered model with id {a.model_id}")
    running = running_experiments(session)
    if running:
        raise ValueError(f"live experiment #{running[0].id} {running[0].name!r} is still running; stop it first")
    row = create_live_experiment(session, name.strip() or "live test", [a.to_dict() for a in arms], control,
                                 metric, started_by=actor)
    record(session, actor, "start_experiment", f"live #{row.id} {row.name}",
           {"arms": [a.to_dict() for a in arms], "metric": metric})
    return int(row.id)


def stop(session: Session, experiment_id: int, winner: str | None = None, actor: str = "local") -> int | None:
    """Stop it; with a `winner` arm that has a model, make that model the active one. Returns the activated id."""
    from db.audit import record
    from db.live_experiments import get_live_experiment, stop_live_experiment
    from db.registry import set_active

    row = get_live_experiment(session, experiment_id)
    activated = None
    if winner is not None:
        arm = next((a for a in row.arms if a["name"] == winner), None)
        if arm is None:
            raise ValueError(f"winner {winner!r} is not an arm of experiment #{experiment_id}")
        if arm.get("model_id") is not None:
            activated = int(arm["model_id"])
    stop_live_experiment(session, experiment_id, winner)
    record(session, actor, "stop_experiment", f"live #{row.id} {row.name}", {"winner": winner})
    if activated is not None:
        set_active(session, activated)
        record(session, actor, "activate_model", f"model {activated}", {"from": f"live experiment #{row.id}"})
    return activated


@dataclass
class LiveResult:
    """A live experiment's state: served lists per arm, the per-user frame, and the analysis once it can run."""

    experiment_id: int
    status: str
    metric: str
    control: str
    served: dict[str, int]
    frame: pd.DataFrame
    analysis: Analysis | None
    message: str = ""
    leader: str | None = None
    notes: list[str] = field(default_factory=list)


def exposure_frame(first: pd.DataFrame, purchases: pd.DataFrame) -> pd.DataFrame:
    """One row per exposed user (core.schema.EXPOSURES): converted/revenue after the first list, pre_metric before."""
    frame = pd.DataFrame({"user_id": first["user_key"].astype(str), "variant": first["arm"].astype(str),
                          "timestamp": first["first_at"]})
    if purchases.empty:
        frame["converted"] = 0
        frame["revenue"] = 0.0
        frame["pre_metric"] = 0.0
        return frame
    p = purchases.merge(first[["user_key", "first_at"]], on="user_key", how="inner")
    after = p[p["ts"] >= p["first_at"]]
    before = p[p["ts"] < p["first_at"]]
    revenue = after.groupby("user_key")["amount"].sum()
    bought = after.groupby("user_key").size()
    pre = before.groupby("user_key").size()
    keys = frame["user_id"]
    frame["converted"] = (keys.map(bought).fillna(0) > 0).astype(int).to_numpy()
    frame["revenue"] = keys.map(revenue).fillna(0.0).astype(float).to_numpy()
    frame["pre_metric"] = keys.map(pre).fillna(0).astype(float).to_numpy()
    return frame


def analyse_live(session: Session, experiment_id: int) -> LiveResult:
    """The live experiment analysed with core.abtest's analysis (SRM against the planned shares, CUPED, sequential p)."""
    from db.live_experiments import exposed_users_purchases, exposure_counts, first_exposures, get_live_experiment

    row = get_live_experiment(session, experiment_id)
    served = exposure_counts(session, row.id)
    first = first_exposures(session, row.id)
    # Outcomes end when the test stops (or now: a purchase dated in the future is not an outcome yet), with a few
    # minutes of grace for shop clocks that run ahead.
    until = (row.stopped_at or utcnow()) + CLOCK_GRACE
    purchases = exposed_users_purchases(session, row.id, until=until)
    frame = exposure_frame(first, purchases)
    result = LiveResult(row.id, row.status, row.metric, row.control, served, frame, None)
    arms_seen = set(frame["variant"]) if len(frame) else set()
    if len(arms_seen) < 2 or row.control not in arms_seen:
        result.message = (f"waiting for traffic: {len(frame)} user(s) served so far, in arm(s) "
                          f"{sorted(arms_seen) or 'none'}; the analysis starts once the control and another arm "
                          "have users")
        return result
    planned = {a["name"]: float(a["share"]) for a in row.arms if a["name"] in arms_seen}
    total = sum(planned.values())
    planned = {k: v / total for k, v in planned.items()}
    if frame["pre_metric"].eq(0).all():
        frame = frame.drop(columns="pre_metric")  # no pre-period purchases at all: CUPED has nothing to use
        result.notes.append("no exposed user bought anything before the test: CUPED is not applied")
    result.analysis = analyse(frame, control=row.control, planned_split=planned)
    col = METRICS[row.metric]
    means = frame.groupby("variant")[col].mean()
    result.leader = str(means.idxmax()) if len(means) else None
    result.frame = frame
    return result
