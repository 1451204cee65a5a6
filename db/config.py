"""Where the store and the model artifacts live: read from the environment here, at the bottom layer.

`RECOLM_DATABASE_URL`, `RECOLM_HOME` and `RECOLM_ARTIFACTS_DIR` are read in this one place so every entry point
(app, CLI, worker, tests) agrees; `core.config` re-exports these for the engine's own settings.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = Path(__file__).resolve().parent.parent / "var"


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
