"""Runtime settings: where the store and the model artifacts live, how many threads to use.

One place reads the environment so every entry point (app, CLI, worker, tests) agrees.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PROJECT_ROOT / "var"


def home_dir() -> Path:
    """Folder for the default SQLite file and model artifacts (never in git)."""
    return Path(os.environ.get("RECOLM_HOME", DEFAULT_HOME))


def database_url() -> str:
    """The store: `RECOLM_DATABASE_URL` if set, else a SQLite file in the home folder."""
    url = os.environ.get("RECOLM_DATABASE_URL")
    if url:
        return url
    home = home_dir()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'recolm.db'}"


def artifacts_dir(db_url: str | None = None) -> Path:
    """Model artifacts sit next to the SQLite file, or under the home folder for server databases."""
    explicit = os.environ.get("RECOLM_ARTIFACTS_DIR")
    if explicit:
        path = Path(explicit)
    else:
        url = db_url or database_url()
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            path = Path(url[len("sqlite:///"):]).resolve().parent / "artifacts"
        else:
            path = home_dir() / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def n_threads() -> int:
    """Threads for torch / BLAS work: the machine's cores, overridable with `RECOLM_THREADS`."""
    return int(os.environ.get("RECOLM_THREADS", os.cpu_count() or 1))


def ray_address() -> str | None:
    """`--engine ray`: a Ray cluster address (`RECOLM_RAY_ADDRESS`, e.g. ray://head:10001); None = local mode."""
    return os.environ.get("RECOLM_RAY_ADDRESS") or None
