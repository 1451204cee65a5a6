"""Registered models as recommenders (loading their artifacts), and the registry as the page shows it: each figure
with the data set and protocol it was measured on, grouped so that only figures of one split sit side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.i18n import N_
from core.models import Recommender, load_model
from db.tables import ModelVersion

PROTOCOL_NAMES = {"loo": N_("leave-one-out, full ranking"), "temporal": N_("temporal split, full ranking")}


def load_version(row: ModelVersion) -> Recommender:
    """The recommender saved for one registry row."""
    return load_model(row.artifact_path)


@dataclass(frozen=True)
class MeasuredOn:
    """The split a registry figure comes from: figures are comparable only when these are equal."""

    dataset_id: int | None
    dataset_name: str | None
    dataset_kind: str | None  # "demo" or the upload's kinds
    dataset_rows: int | None  # purchase rows kept by that upload / demo build
    protocol: str | None
    k: int
    n_test_users: int | None

    @property
    def key(self) -> tuple:
        return (self.dataset_id, self.protocol, self.k, self.n_test_users)


@dataclass
class RegistryEntry:
    id: int
    name: str
    version: int
    kind: str
    active: bool
    created_at: datetime
    ndcg10: float | None
    hr10: float | None
    size_mb: float
    train_seconds: float
    measured_on: MeasuredOn
    params: dict[str, Any] = field(default_factory=dict)


def _measured_on(row: ModelVersion, datasets: dict[int, Any]) -> MeasuredOn:
    metrics = dict(row.metrics or {})
    split = metrics.get("split") or {}
    ds = datasets.get(row.dataset_id)
    n_test = split.get("n_test_users", metrics.get("n_users"))
    has_figure = metrics.get("ndcg@10") is not None
    return MeasuredOn(
        dataset_id=row.dataset_id, dataset_name=None if ds is None else ds.name,
        dataset_kind=None if ds is None else ds.kind,
        dataset_rows=None if ds is None else ds.rows_kept,
        protocol=metrics.get("protocol", "loo" if has_figure else None), k=int(split.get("k", 10)),
        n_test_users=None if n_test is None else int(n_test),
    )


def registry_entries(session: Session) -> list[RegistryEntry]:
    """Every registered model, newest first, with what its NDCG@10 was measured on."""
    from db.dataset_versions import list_datasets
    from db.registry import list_models

    datasets = {d.id: d for d in list_datasets(session, limit=10_000)}
    return [
        RegistryEntry(
            id=m.id, name=m.name, version=m.version, kind=m.kind, active=bool(m.is_active), created_at=m.created_at,
            ndcg10=(m.metrics or {}).get("ndcg@10"), hr10=(m.metrics or {}).get("hr@10"),
            size_mb=round(m.size_bytes / 1e6, 2), train_seconds=round(m.train_seconds, 1),
            measured_on=_measured_on(m, datasets), params=dict(m.params or {}),
        )
        for m in list_models(session)
    ]


def comparable_groups(entries: list[RegistryEntry]) -> list[tuple[MeasuredOn, list[RegistryEntry]]]:
    """Entries grouped by the split their figure was measured on; the group of the newest model first."""
    groups: dict[tuple, tuple[MeasuredOn, list[RegistryEntry]]] = {}
    for e in entries:
        groups.setdefault(e.measured_on.key, (e.measured_on, []))[1].append(e)
    return list(groups.values())
