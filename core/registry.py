"""Registered models as recommenders: the registry rows live in `db.registry`, loading their artifacts lives here."""

from __future__ import annotations

from core.models import Recommender, load_model
from db.tables import ModelVersion


def load_version(row: ModelVersion) -> Recommender:
    """The recommender saved for one registry row."""
    return load_model(row.artifact_path)
