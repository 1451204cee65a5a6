"""The model registry: versioned artifacts on disk, provenance and metrics in the store, one active model.

Loading an artifact back into a recommender is core's job (`core.registry.load_version`)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.config import artifacts_dir
from db.tables import ModelVersion


class SavableModel(Protocol):
    """What the registry needs of a model (core.models.Recommender has it): the registry never imports core,
    it only asks the model to write its own artifact folder."""

    kind: str

    def get_params(self) -> dict[str, Any]: ...

    def save(self, path: str | Path) -> None: ...


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def register_model(
    session: Session,
    model: SavableModel,
    name: str | None = None,
    dataset_id: int | None = None,
    metrics: dict[str, Any] | None = None,
    train_seconds: float = 0.0,
    activate: bool = False,
    artifact_root: Path | None = None,
) -> ModelVersion:
    """Save `model` as the next version of `name` and record it. The caller's transaction commits it."""
    name = name or model.kind
    version = (session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.name == name)) or 0) + 1
    root = artifact_root or artifacts_dir(str(session.get_bind().url.render_as_string(hide_password=False)))
    path = Path(root) / f"{name}-v{version}-{int(time.time() * 1000)}"
    model.save(path)
    row = ModelVersion(
        name=name,
        kind=model.kind,
        version=version,
        dataset_id=dataset_id,
        params=model.get_params(),
        metrics=metrics or {},
        artifact_path=str(path),
        size_bytes=_dir_size(path),
        train_seconds=float(train_seconds),
    )
    session.add(row)
    session.flush()
    if activate:
        set_active(session, row.id)
    return row


def set_active(session: Session, model_id: int) -> None:
    """Make one model the active one (used by the preview and coupons); also how rollback works."""
    if session.get(ModelVersion, model_id) is None:
        raise KeyError(f"No model with id {model_id}")
    session.execute(update(ModelVersion).values(is_active=False))
    session.execute(update(ModelVersion).where(ModelVersion.id == model_id).values(is_active=True))


def active_model(session: Session) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.is_active.is_(True)))


def list_models(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def find_model(session: Session, name_or_id: str | int) -> ModelVersion | None:
    """By id, or the newest version of a name (e.g. 'lm', 'ease')."""
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        return session.get(ModelVersion, int(name_or_id))
    return session.scalar(
        select(ModelVersion).where(ModelVersion.name == str(name_or_id)).order_by(ModelVersion.version.desc())
    )


def delete_model(session: Session, model_id: int) -> None:
    row = session.get(ModelVersion, model_id)
    if row is None:
        return
    if row.is_active:
        raise ValueError("The active model cannot be deleted; activate another one first.")
    shutil.rmtree(row.artifact_path, ignore_errors=True)
    session.delete(row)
