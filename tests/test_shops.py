"""Shops (workspaces): the catalogue, each shop's own store and artifacts, URL resolution and the `shop` CLI.

Run on SQLite (a folder per shop) and on PostgreSQL (a schema per shop in the default database).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.__main__ import main as cli
from db import shops
from db.config import artifacts_dir
from db.engine import session_scope
from db.shop_read import store_counts

EVENTS = "user_id,item_id,time\nu1,i1,2024-01-01\nu2,i2,2024-01-02\nu2,i1,2024-01-03\n"


@pytest.fixture
def home(backend_store_url: str, tmp_path: Path) -> Path:
    """A home folder whose default store (the demo shop's) is empty, on each backend."""
    return tmp_path


def _events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(EVENTS)
    return path


def test_the_default_store_is_the_demo_shop(home, backend_store_url):
    (demo,) = shops.list_shops()
    assert demo.is_demo and demo.slug == "demo" and demo.url == backend_store_url
    assert shops.resolve_url(None) == backend_store_url and shops.resolve_url("Demo shop") == backend_store_url


def test_a_new_shop_is_a_store_of_its_own(home, backend_store_url, tmp_path):
    shop = shops.create_shop("  Online   Retail ")
    assert (shop.name, shop.slug, shop.is_demo) == ("Online Retail", "online-retail", False)
    assert shop.url != backend_store_url
    assert [s.slug for s in shops.list_shops()] == ["demo", "online-retail"]
    assert shops.resolve_url("online retail") == shops.resolve_url("ONLINE-RETAIL") == shop.url
    assert cli(["ingest", "--shop", "Online Retail", "--events", str(_events_file(tmp_path)), "--all-purchases"]) == 0
    with session_scope(shop.url) as s:
        assert store_counts(s).events == 3
    with session_scope(backend_store_url) as s:
        assert store_counts(s).events == 0  # the demo's store is untouched
    own = artifacts_dir(shop.url)
    assert own != artifacts_dir(backend_store_url) and own.is_relative_to(home / "shops" / shop.slug)


def test_chinese_names_names_taken_and_unknown_shops(home):
    a = shops.create_shop("北京网店")
    b = shops.create_shop("上海网店")
    assert a.slug.startswith("shop-") and b.slug.startswith("shop-") and a.slug != b.slug
    assert shops.get_shop("北京网店") == a
    assert json.loads(shops.catalogue_path().read_text(encoding="utf-8"))["shops"][0]["name"] == "北京网店"
    with pytest.raises(shops.ShopError, match="already exists"):
        shops.create_shop("北京网店")
    with pytest.raises(shops.ShopError, match="needs a name"):
        shops.create_shop("   ")
    with pytest.raises(shops.ShopError, match="no shop named 'nope'; the shops are: Demo shop"):
        shops.resolve_url("nope")
    assert shops.slugify("Demo") == "demo-2" and shops.slugify("Café", {"cafe"}) == "cafe-2"


def test_removing_shops_deletes_their_store_and_keeps_one(home, backend_store_url, tmp_path):
    shop = shops.create_shop("Mine")
    assert cli(["ingest", "--shop", "mine", "--events", str(_events_file(tmp_path)), "--all-purchases"]) == 0
    folder = artifacts_dir(shop.url)
    (folder / "model.bin").write_bytes(b"x")
    if backend_store_url.startswith("sqlite"):
        shops.remove_shop("demo")
        assert [s.slug for s in shops.list_shops()] == ["mine"] and shops.demo_removed()
        assert not Path(backend_store_url[len("sqlite:///"):]).exists()
        with pytest.raises(shops.ShopError, match="only shop"):
            shops.remove_shop("mine")
        shops.restore_demo()
    else:
        with pytest.raises(shops.ShopError, match="default PostgreSQL database"):
            shops.remove_shop("demo")
    shops.remove_shop("Mine")
    assert [s.slug for s in shops.list_shops()] == ["demo"]
    assert not folder.exists()
    with pytest.raises(shops.ShopError):
        shops.resolve_url("mine")


def test_a_failed_upload_into_a_shop_leaves_it_as_it_was(home, tmp_path):
    shop = shops.create_shop("Strict")
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,time\nu1,i1,2024-01-01\nu2,i2,not a time\n")
    assert cli(["ingest", "--shop", "strict", "--events", str(bad), "--all-purchases", "--strict"]) == 1
    with session_scope(shop.url) as s:
        assert store_counts(s).events == 0


def test_cli_shop_list_create_remove(home, capsys):
    assert cli(["shop", "create", "网店", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["name"] == "网店" and not created["is_demo"]
    assert cli(["shop", "list", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["Demo shop", "网店"]
    assert cli(["stats", "--shop", "网店", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["empty"] is True
    assert cli(["stats", "--shop", "nope"]) == 2
    assert "no shop named 'nope'" in capsys.readouterr().err
    assert cli(["apikey", "list", "--shop", "网店"]) == 0  # --shop after the action, like --db
    capsys.readouterr()
    assert cli(["shop", "create", "网店"]) == 1 and "already exists" in capsys.readouterr().out
    assert cli(["shop", "remove", created["slug"]]) == 0
    assert "removed" in capsys.readouterr().out
    assert cli(["shop", "list", "--json"]) == 0
    assert [r["slug"] for r in json.loads(capsys.readouterr().out)] == ["demo"]


def test_serve_and_other_commands_resolve_shop_to_its_url(home):
    from core.__main__ import build_parser
    from core.cli.options import resolve_shop

    mine = shops.create_shop("Mine")
    args = build_parser().parse_args(["serve", "--shop", "mine", "--port", "8123"])
    assert resolve_shop(args) is None and args.db == mine.url
    args = build_parser().parse_args(["db", "upgrade", "--shop", "Mine"])
    assert resolve_shop(args) is None and args.db == mine.url
    args = build_parser().parse_args(["train", "--shop", "mine", "--db", "sqlite:///x.db"])
    assert resolve_shop(args) == "pass either --db or --shop, not both"


def test_two_sqlite_files_in_one_folder_keep_their_own_artifacts(tmp_path, monkeypatch):
    monkeypatch.delenv("RECOLM_ARTIFACTS_DIR", raising=False)
    assert artifacts_dir(f"sqlite:///{tmp_path / 'recolm.db'}") == tmp_path / "artifacts"  # var/artifacts as before
    assert artifacts_dir(f"sqlite:///{tmp_path / 'other.db'}") == tmp_path / "other.artifacts"


def test_the_demo_store_keeps_the_sign_in_accounts(store_url):
    """Dashboard accounts live in the default store whatever the shop, so the demo's store cannot be deleted then."""
    from core.auth.accounts import add_user

    shops.create_shop("Mine")
    with session_scope(store_url) as s:
        add_user(s, "ana", "correct horse", "admin", actor="test")
    with pytest.raises(shops.ShopError, match="sign-in accounts"):
        shops.remove_shop("demo")
    assert [s.slug for s in shops.list_shops()] == ["demo", "mine"]


def test_a_shop_with_a_running_job_is_not_removed(home):
    import subprocess
    import sys

    from db.jobs import create_job, mark_running

    mine = shops.create_shop("Busy")
    with session_scope(mine.url) as s:
        job = create_job(s, "train", {"model": "ease"})
    # A stand-in worker: a live process whose command line names the job, as `python -m core worker --job N` does.
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "worker", "--job", str(job.id)])
    try:
        with session_scope(mine.url) as s:
            mark_running(s, job.id, worker.pid)
        with pytest.raises(shops.ShopError, match="training job running"):
            shops.remove_shop("busy")
        assert shops.get_shop("busy") == mine
    finally:
        worker.kill()
        worker.wait()
    shops.remove_shop("busy")  # the worker is gone: the job is stale, the shop can go
    assert [s.slug for s in shops.list_shops()] == ["demo"]
