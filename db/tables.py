"""SQLAlchemy 2 typed ORM: every table of the store.

Every change of shape needs an Alembic revision (`python -m core db revision -m "..."`, see
db/migrations/README.md); tests/test_migrations.py fails while the models and the migrations differ.
`SCHEMA_VERSION` is frozen: it is the schema_meta marker of stores written before the migrations (all version 1,
which the baseline revision recreates exactly), so db.migrate can recognise and upgrade them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1  # frozen: pre-Alembic stores' marker (see the module docstring)

# The values `Event.action` and `Event.flag` hold. Defined with the tables (core.schema re-exports them) so db code
# can filter purchases without importing core.
# Canonical behaviour actions, in funnel order. A shop's own words are mapped onto these at upload.
ACTIONS: tuple[str, ...] = ("view", "click", "favorite", "cart", "purchase")
FUNNEL: tuple[str, ...] = ("view", "cart", "purchase")
PURCHASE = "purchase"
OTHER_ACTION = "other"

# Event flags: rows kept for the record but never counted as purchases.
FLAG_CANCELLATION = "cancellation"
FLAG_NEGATIVE_QUANTITY = "negative_quantity"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class SchemaMeta(Base):
    """Key/value facts about the store itself (schema version, demo flag)."""

    __tablename__ = "schema_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Dataset(Base):
    """One upload (or the demo build): a version of the shop's data, with its validation report."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # events | items | users | transactions | demo
    name: Mapped[str] = mapped_column(String(256))  # file name or "demo shop"
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_kept: Mapped[int] = mapped_column(Integer, default=0)
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gender: Mapped[str | None] = mapped_column(String(32), nullable=True)
    region: Mapped[str | None] = mapped_column(String(128), nullable=True)
    signup_date: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    category: Mapped[str | None] = mapped_column(String(256), nullable=True)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    brand: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # When the item was listed: drives "new arrival" freshness and cold-item breakdowns.
    listed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)


class Event(Base):
    """One behaviour row. `action` is canonical (ACTIONS above); `raw_action` keeps the shop's word."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    action: Mapped[str] = mapped_column(String(16))
    raw_action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ts: Mapped[datetime] = mapped_column(DateTime)
    quantity: Mapped[float | None] = mapped_column(Float, nullable=True)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    session: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Why the row is not a normal event: "cancellation", "negative_quantity" (kept, never a purchase).
    flag: Mapped[str | None] = mapped_column(String(32), nullable=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    __table_args__ = (
        Index("ix_events_user_ts", "user_id", "ts"),
        Index("ix_events_item", "item_id"),
        Index("ix_events_action", "action"),
    )


class Job(Base):
    """A long-running task (training) executed in its own process; progress is reported here."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # train
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|starting|training|evaluating|succeeded|failed|cancelled
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)  # latest step/epoch/loss/val_ndcg/eta
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), nullable=True)


class JobPoint(Base):
    """One point of a job's live curves (training loss per step, validation NDCG per epoch)."""

    __tablename__ = "job_points"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[float] = mapped_column(Float)
    loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    val_ndcg: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ModelVersion(Base):
    """The model registry: every trained model, its provenance and metrics; exactly one may be active."""

    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))  # e.g. "lm", "ease"
    kind: Mapped[str] = mapped_column(String(64))  # key of core.models.MODEL_KINDS
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per name
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    artifact_path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    train_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("name", "version"),)


class EvaluationRun(Base):
    __tablename__ = "evaluation_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    protocol: Mapped[str] = mapped_column(String(32))  # loo | temporal
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # One entry per model: {"model": name, "model_id": id|None, "metrics": {...}, "breakdown": {...}}
    results: Mapped[list[Any]] = mapped_column(default=list)


class Experiment(Base):
    """An A/B test (uploaded log, the demo's randomised coupon campaign, or an offline replay)."""

    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    source: Mapped[str] = mapped_column(String(32))  # upload | demo | replay
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    control: Mapped[str | None] = mapped_column(String(64), nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # planned split, mapping, hygiene choices
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)  # hygiene report


class Exposure(Base):
    """One user's exposure in an experiment and its outcome."""

    __tablename__ = "exposures"
    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    user_key: Mapped[str] = mapped_column(String(128))  # the log's user id (may not be a store user)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    variant: Mapped[str] = mapped_column(String(64))
    exposed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    converted: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[float] = mapped_column(Float, default=0.0)
    pre_metric: Mapped[float | None] = mapped_column(Float, nullable=True)


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), nullable=True)


class CampaignAssignment(Base):
    __tablename__ = "campaign_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rank: Mapped[int] = mapped_column(Integer)
    coupon: Mapped[str] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(256), nullable=True)  # item or category it applies to
    propensity: Mapped[float | None] = mapped_column(Float, nullable=True)
    uplift: Mapped[float | None] = mapped_column(Float, nullable=True)
    expected_profit: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class RecommendationBatch(Base):
    __tablename__ = "recommendation_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    n_users: Mapped[int] = mapped_column(Integer, default=0)


class Recommendation(Base):
    __tablename__ = "recommendations"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("recommendation_batches.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rank: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


# ---- serving (issue 12): API keys, feedback receipts, dashboard accounts, audit, live experiments ----------------
# New tables only (create_all adds them to existing stores); the existing ones above are unchanged.


class ApiKey(Base):
    """A key for the REST API. Only the SHA-256 of the key is kept; `prefix` lets people tell keys apart."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: the server's default
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class FeedbackReceipt(Base):
    """One client event id taken in through POST /v1/feedback: a retried batch is stored once."""

    __tablename__ = "feedback_receipts"
    client_event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # events.id (None: already stored before)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Account(Base):
    """A dashboard user (sign-in with RECOLM_AUTH=on): bcrypt password hash and a role (admin | marketer)."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(Base):
    """Who did what: training launched, active model changed, experiment started/stopped, key created/revoked."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(256), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LiveExperiment(Base):
    """An A/B test run through the API: arms [{name, model_id|None (holdout), share}], one metric."""

    __tablename__ = "live_experiments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | stopped
    arms: Mapped[list[Any]] = mapped_column(default=list)
    control: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(32), default="conversion")  # conversion | revenue_per_user
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    winner: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LiveExposure(Base):
    """One served list of a live experiment (every /v1/recommend answer given while it runs)."""

    __tablename__ = "live_exposures"
    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("live_experiments.id", ondelete="CASCADE"))
    user_key: Mapped[str] = mapped_column(String(128))
    arm: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n_items: Mapped[int] = mapped_column(Integer, default=0)
    served_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (Index("ix_live_exposures_exp_user", "experiment_id", "user_key"),)
