"""The shop catalogue: one store per data source, so a marketer's own data never mixes with the demo.

The demo shop is the default store (`db.config.database_url()`: var/recolm.db, or RECOLM_DATABASE_URL), as it
always was. Every other shop is a store of its own: on SQLite a folder RECOLM_HOME/shops/<slug>/ with its
`recolm.db` and `artifacts/` (so removing a shop is removing one folder); on PostgreSQL a schema `shop_<slug>`
in the default store's database, reached through `search_path` in the URL's connect options. Because each shop
is its own store, every page, job, campaign, experiment and export is automatically that shop's only.

The catalogue itself is RECOLM_HOME/shops.json: the shops' slugs, display names (any language) and creation
times, plus whether the demo was removed. It is rewritten atomically under a lock file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from db.config import artifacts_dir, database_url, home_dir, shops_dir

DEMO_SLUG = "demo"
DEMO_NAME = "Demo shop"
MAX_NAME_CHARS = 80
_SCHEMA_PREFIX = "shop_"


class ShopError(ValueError):
    """A shop that cannot be created, found or removed; the message says why and what to do."""


@dataclass(frozen=True)
class Shop:
    """One workspace: its store URL follows from the slug and the default store's backend."""

    slug: str
    name: str
    is_demo: bool = False
    created: str = ""

    @property
    def url(self) -> str:
        return database_url() if self.is_demo else _shop_url(self.slug)


def catalogue_path() -> Path:
    return home_dir() / "shops.json"


def _backend() -> str:
    url = database_url()
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise ShopError(f"shops need a SQLite or PostgreSQL store; RECOLM_DATABASE_URL is {url.split(':', 1)[0]}")


def schema_name(slug: str) -> str:
    """The PostgreSQL schema holding a shop's tables."""
    return _SCHEMA_PREFIX + slug.replace("-", "_")


def _shop_url(slug: str) -> str:
    if _backend() == "sqlite":
        return f"sqlite:///{shops_dir() / slug / 'recolm.db'}"
    from sqlalchemy.engine import make_url

    base = make_url(database_url())
    return base.update_query_dict({"options": f"-csearch_path={schema_name(slug)}"}).render_as_string(
        hide_password=False)


# ---- the catalogue file -----------------------------------------------------------------------------------------


@contextmanager
def _locked() -> Iterator[None]:
    home = home_dir()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "shops.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read() -> dict:
    path = catalogue_path()
    if not path.exists():
        return {"shops": [], "demo_removed": False}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ShopError(f"{path}: the shop catalogue cannot be read ({exc}); fix or delete the file") from exc
    data.setdefault("shops", [])
    data.setdefault("demo_removed", False)
    return data


def _write(data: dict) -> None:
    path = catalogue_path()
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _demo() -> Shop:
    return Shop(DEMO_SLUG, DEMO_NAME, is_demo=True)


def list_shops() -> list[Shop]:
    """The demo shop first (unless removed), then the others in the order they were created."""
    data = _read()
    shops = [] if data["demo_removed"] else [_demo()]
    shops += [Shop(s["slug"], s["name"], False, s.get("created", "")) for s in data["shops"]]
    return shops


def demo_removed() -> bool:
    return bool(_read()["demo_removed"])


def get_shop(key: str) -> Shop:
    """A shop by slug or by display name (case-insensitive); ShopError naming the known shops otherwise."""
    wanted = key.strip().casefold()
    shops = list_shops()
    for shop in shops:
        if wanted in (shop.slug, shop.name.casefold()):
            return shop
    known = ", ".join(f"{s.name} ({s.slug})" for s in shops) or "none"
    raise ShopError(f"no shop named {key!r}; the shops are: {known}")


def resolve_url(shop: str | None) -> str:
    """The store URL of a shop given by slug or name; None: the default store (the demo shop)."""
    return database_url() if shop is None else get_shop(shop).url


def slugify(name: str, taken: set[str] = frozenset()) -> str:
    """A file- and schema-safe id for a display name; names without Latin letters get a short hash."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-")
    if not base:
        base = "shop-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    slug, n = base, 2
    while slug in taken or slug == DEMO_SLUG:
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_shop(name: str) -> Shop:
    """Add a shop with an empty, migrated store of its own; ShopError for a blank, too long or taken name."""
    from db.engine import open_store

    name = " ".join(name.split())
    if not name:
        raise ShopError("a shop needs a name")
    if len(name) > MAX_NAME_CHARS:
        raise ShopError(f"a shop name has at most {MAX_NAME_CHARS} characters ({len(name)} given)")
    _backend()
    with _locked():
        data = _read()
        shops = list_shops()
        if any(name.casefold() in (s.name.casefold(), s.slug) for s in shops):
            raise ShopError(f"a shop named {name!r} already exists")
        slug = slugify(name, {s["slug"] for s in data["shops"]})
        shop = Shop(slug, name, False, datetime.now(UTC).isoformat(timespec="seconds"))
        if _backend() == "postgresql":
            _pg_execute(f'CREATE SCHEMA IF NOT EXISTS "{schema_name(slug)}"')
        else:
            (shops_dir() / slug).mkdir(parents=True, exist_ok=True)
        try:
            open_store(shop.url)
        except BaseException:
            _drop_store(shop)
            raise
        data["shops"].append({k: v for k, v in asdict(shop).items() if k != "is_demo"})
        _write(data)
    return shop


def remove_shop(key: str) -> Shop:
    """Delete a shop's store and artifacts. The last shop stays (start another first); the demo comes back
    with `python -m core demo`."""
    shop = get_shop(key)
    with _locked():
        data = _read()
        if len(list_shops()) <= 1:
            raise ShopError(f"{shop.name!r} is the only shop; start a new shop before removing it")
        if shop.is_demo and _backend() != "sqlite":
            raise ShopError("the demo shop lives in the default PostgreSQL database itself; "
                            "drop that database's tables by hand, or leave the demo in place")
        running = _active_job_ids(shop.url)
        if running:
            raise ShopError(f"{shop.name!r} has a training job running (job {', '.join(map(str, running))}); "
                            "stop it on the Training page first")
        if shop.is_demo and _holds_accounts(shop.url):
            raise ShopError("the demo's store also holds the dashboard's sign-in accounts; "
                            "it stays (hide it by working in another shop)")
        _drop_store(shop)
        if shop.is_demo:
            data["demo_removed"] = True
        else:
            data["shops"] = [s for s in data["shops"] if s["slug"] != shop.slug]
        _write(data)
    return shop


def restore_demo() -> None:
    """List the demo shop again (after `python -m core demo` rebuilt it into the default store)."""
    with _locked():
        data = _read()
        if data["demo_removed"]:
            data["demo_removed"] = False
            _write(data)


def _active_job_ids(url: str) -> list[int]:
    """Jobs whose worker still writes into the store (a removed shop must not come back half-written)."""
    from db.engine import session_scope
    from db.jobs import active_jobs

    with session_scope(url) as session:
        return [job.id for job in active_jobs(session)]


def _holds_accounts(url: str) -> bool:
    from db.accounts import count_accounts
    from db.engine import session_scope

    with session_scope(url) as session:
        return count_accounts(session) > 0


def _drop_store(shop: Shop) -> None:
    from db.engine import close_store

    url = shop.url
    close_store(url)
    if shop.is_demo:
        file = Path(url[len("sqlite:///"):])
        for path in (file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")):
            path.unlink(missing_ok=True)
        shutil.rmtree(artifacts_dir(url), ignore_errors=True)
        shutil.rmtree(file.parent / "job_logs", ignore_errors=True)
    elif _backend() == "postgresql":
        _pg_execute(f'DROP SCHEMA IF EXISTS "{schema_name(shop.slug)}" CASCADE')
        shutil.rmtree(shops_dir() / shop.slug, ignore_errors=True)
    else:
        shutil.rmtree(shops_dir() / shop.slug, ignore_errors=True)


def _pg_execute(sql: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(database_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()
