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
    from db.engine import close_store

    close_store(url)
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


@pytest.fixture
def app_navigation(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest resets PagesManager's folder-mode flag before every run, so with a pages/ folder each rerun after
    the first would run the page alone, without app.py's sidebar. The browser keeps app.py's navigation; so do we."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def keep_navigation(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", keep_navigation)


def app_test(page: str, timeout: float = 120):
    """AppTest for pages/<page>.py (AppTest resolves relative paths against the test file, so pass an absolute one)."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=timeout)


# ---- the store on both backends ------------------------------------------------------------------------------
# `make test` starts a throwaway PostgreSQL (scripts/pg_test_cluster.sh) and passes its URL in
# RECOLM_TEST_POSTGRES_URL; a bare `pytest` starts one itself. PostgreSQL tests skip only when no server can start.
PG_URL_ENV = "RECOLM_TEST_POSTGRES_URL"
PG_UNAVAILABLE_ENV = "RECOLM_TEST_POSTGRES_UNAVAILABLE"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory):
    """Admin URL of a PostgreSQL server the tests may create databases on, or a skip saying why there is none."""
    import subprocess

    url = os.environ.get(PG_URL_ENV)
    if url:
        yield url
        return
    if os.environ.get(PG_UNAVAILABLE_ENV):
        pytest.skip(f"no PostgreSQL server could be started: {os.environ[PG_UNAVAILABLE_ENV]}")
    state = tmp_path_factory.mktemp("pg") / "cluster"
    script = ROOT / "scripts" / "pg_test_cluster.sh"
    proc = subprocess.run([str(script), "start", str(state)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        os.environ[PG_UNAVAILABLE_ENV] = proc.stderr.strip() or f"exit {proc.returncode}"
        pytest.skip(f"no PostgreSQL server could be started: {os.environ[PG_UNAVAILABLE_ENV]}")
    try:
        yield proc.stdout.strip()
    finally:
        subprocess.run([str(script), "stop", str(state)], capture_output=True, timeout=120)


def _pg_admin(admin_url: str, *statements: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def _forget_store(url: str) -> None:
    """Close db.engine's cached pool for `url` so its database can be dropped or copied."""
    from db.engine import close_store

    close_store(url)


class PgDatabases:
    """Fresh databases on the test server: one per test, dropped afterwards."""

    def __init__(self, admin_url: str):
        from sqlalchemy.engine import make_url

        self.admin_url = admin_url
        self._url = make_url(admin_url)
        self.created: list[str] = []

    def create(self, template: str | None = None) -> str:
        import uuid

        name = f"t_{uuid.uuid4().hex[:16]}"
        _pg_admin(self.admin_url, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.created.append(name)
        return self.url_of(name)

    def url_of(self, name: str) -> str:
        return self._url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.created:
            _forget_store(self.url_of(name))
            _pg_admin(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


@pytest.fixture
def pg_databases(postgres_server: str):
    dbs = PgDatabases(postgres_server)
    yield dbs
    dbs.drop_all()


def _backend_url(request: pytest.FixtureRequest, tmp_path: Path, template: str | None = None) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'recolm.db'}"
    return request.getfixturevalue("pg_databases").create(template)


@pytest.fixture(params=BACKENDS)
def backend_store_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """`store_url` on each backend: an empty SQLite file, or a fresh PostgreSQL database."""
    url = _backend_url(request, tmp_path)
    _point_env_at(monkeypatch, tmp_path, url)
    return url


@pytest.fixture(scope="session")
def _pg_demo_template(postgres_server: str, tmp_path_factory: pytest.TempPathFactory):
    """The same small demo shop as `_demo_template`, built once into a PostgreSQL template database."""
    from core.demo import build_demo
    from db.engine import session_scope

    dbs = PgDatabases(postgres_server)
    name = "demo_template"
    _pg_admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = dbs.url_of(name)
    home = tmp_path_factory.mktemp("pg_demo_template")
    old = os.environ.get("RECOLM_ARTIFACTS_DIR")
    os.environ["RECOLM_ARTIFACTS_DIR"] = str(home / "artifacts")
    try:
        with session_scope(url) as session:
            build_demo(session, seed=7, n_users=800, n_items=400)
    finally:
        if old is None:
            os.environ.pop("RECOLM_ARTIFACTS_DIR", None)
        else:
            os.environ["RECOLM_ARTIFACTS_DIR"] = old
    _forget_store(url)
    yield name, home
    _pg_admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend_demo_store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """`demo_store` on each backend: a private copy of the small demo shop (SQLite file or PostgreSQL database)."""
    if request.param == "sqlite":
        home = tmp_path / "demo"
        shutil.copytree(request.getfixturevalue("_demo_template"), home)
        url = f"sqlite:///{home / 'recolm.db'}"
    else:
        name, _ = request.getfixturevalue("_pg_demo_template")  # artifacts stay in the template's folder
        url = request.getfixturevalue("pg_databases").create(template=name)
        home = tmp_path
    _point_env_at(monkeypatch, home, url)
    return url
