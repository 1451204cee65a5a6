"""Where the store and the model artifacts live: read from the environment here, at the bottom layer.

`RECOLM_DATABASE_URL`, `RECOLM_HOME` and `RECOLM_ARTIFACTS_DIR` are read in this one place so every entry point
(app, CLI, worker, tests) agrees; `core.config` re-exports these for the engine's own settings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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


def shops_dir() -> Path:
    """Folder of the shops other than the demo: one sub-folder per shop with its SQLite file and artifacts."""
    return home_dir() / "shops"


def _sqlite_file(url: str) -> Path | None:
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        return Path(url[len("sqlite:///"):].split("?", 1)[0]).resolve()
    return None


def pg_shop_slug(url: str) -> str | None:
    """The shop a PostgreSQL URL points at through `options=-csearch_path=shop_<slug>` (db.shops), else None."""
    options = parse_qs(urlsplit(url).query).get("options", [])
    for opt in options:
        m = re.search(r"search_path=shop_([a-z0-9_]+)", opt)
        if m:
            return m.group(1).replace("_", "-")
    return None


def artifacts_dir(db_url: str | None = None) -> Path:
    """Model artifacts sit next to the SQLite file, or under the home folder for server databases.

    Next to `recolm.db` they live in `artifacts/` (the demo shop's var/artifacts); next to any other file name in
    `<name>.artifacts/`, so two stores in one folder never share models. A shop's store (under shops_dir())
    always keeps its own folder, even where `RECOLM_ARTIFACTS_DIR` points every other store at one place.
    """
    url = db_url or database_url()
    file = _sqlite_file(url)
    pg_shop = None if file is not None else pg_shop_slug(url)
    in_shops = pg_shop is not None or (file is not None and shops_dir().resolve() in file.parents)
    explicit = os.environ.get("RECOLM_ARTIFACTS_DIR")
    if explicit and not in_shops:
        path = Path(explicit)
    elif pg_shop is not None:
        path = shops_dir() / pg_shop / "artifacts"
    elif file is not None:
        path = file.parent / ("artifacts" if file.name == "recolm.db" else f"{file.stem}.artifacts")
    else:
        path = home_dir() / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
