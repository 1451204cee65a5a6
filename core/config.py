"""Runtime settings of the engine: the project root and how many threads to use.

Where the store and the artifacts live is read by `db.config` (the bottom layer); it is re-exported here so
core code asks one module for its settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from db.config import DEFAULT_HOME, artifacts_dir, database_url, home_dir

__all__ = ["DEFAULT_HOME", "PROJECT_ROOT", "artifacts_dir", "database_url", "home_dir", "n_threads"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def n_threads() -> int:
    """Threads for torch / BLAS work: the machine's cores, overridable with `RECOLM_THREADS`."""
    return int(os.environ.get("RECOLM_THREADS", os.cpu_count() or 1))


DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024**3


def max_upload_bytes() -> int:
    """Largest (decompressed) upload read, `RECOLM_MAX_UPLOAD_BYTES` (default 5 GB): a gzip bomb stops here."""
    return int(os.environ.get("RECOLM_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def first_start_lm() -> bool:
    """Whether the first start also queues a short LM training on the demo shop (`RECOLM_FIRST_START_LM=0`: no)."""
    return os.environ.get("RECOLM_FIRST_START_LM", "1").strip().lower() not in ("0", "false", "no", "off", "")


def first_start_lm_minutes() -> float:
    """Training budget of that first-start LM, `RECOLM_FIRST_START_LM_MINUTES` (default 2: done within ~3 minutes)."""
    return float(os.environ.get("RECOLM_FIRST_START_LM_MINUTES", "2"))


def ray_address() -> str | None:
    """`--engine ray`: a Ray cluster address (`RECOLM_RAY_ADDRESS`, e.g. ray://head:10001); None = local mode."""
    return os.environ.get("RECOLM_RAY_ADDRESS") or None
