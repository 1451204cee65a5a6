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
