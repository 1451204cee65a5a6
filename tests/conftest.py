"""Shared fixtures: throw-away stores, the demo store (built once per session), the shared real data sets."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RECOLM_SHARED_DATA", ROOT.parent / "shared" / "data"))

# Keep torch/BLAS from oversubscribing the 2 cores when several things run.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# No test spawns the first start's minutes-long background LM training unless it asks for it (test_demo does).
os.environ.setdefault("RECOLM_FIRST_START_LM", "0")


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason (a user's fresh clone has no shared/)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared data set {path} (present in CI; absent in a fresh clone)")
    return path


def _point_env_at(monkeypatch: pytest.MonkeyPatch, home: Path, url: str) -> None:
    monkeypatch.setenv("RECOLM_HOME", str(home))
    monkeypatch.setenv("RECOLM_DATABASE_URL", url)
    monkeypatch.setenv("RECOLM_ARTIFACTS_DIR", str(home / "artifacts"))


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty store in a temp folder; the app, CLI and db helpers all point at it."""
    url = f"sqlite:///{tmp_path / 'recolm.db'}"
    _point_env_at(monkeypatch, tmp_path, url)
    return url


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo shop built once per test session (smaller than the app's default, same generator)."""
    from core.demo import build_demo
    from db.engine import session_scope

    home = tmp_path_factory.mktemp("demo_template")
    url = f"sqlite:///{home / 'recolm.db'}"
    old = {k: os.environ.get(k) for k in ("RECOLM_ARTIFACTS_DIR",)}
    os.environ["RECOLM_ARTIFACTS_DIR"] = str(home / "artifacts")
    try:
        with session_scope(url) as session:
            build_demo(session, seed=7, n_users=800, n_items=400, queue_lm=False)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    from db.engine import open_store

    open_store(url).kw["bind"].dispose()
    return home


@pytest.fixture
def demo_store(_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the demo store (tests may write to it); returns its URL."""
    home = tmp_path / "demo"
    shutil.copytree(_demo_template, home)
    # Artifact paths recorded in the copied store point at the template folder, which stays alive all session.
    url = f"sqlite:///{home / 'recolm.db'}"
    _point_env_at(monkeypatch, home, url)
    return url


def app_test(page: str, timeout: float = 120):
    """AppTest for pages/<page>.py (AppTest resolves relative paths against the test file, so pass an absolute one)."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=timeout)
