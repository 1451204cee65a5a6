"""Schema migrations on both backends: models and migrations agree, old stores upgrade keeping their data, stores
this code cannot read are refused (never recreated), and the `db` CLI."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from db.engine import SchemaMismatchError, make_engine, open_store, session_scope
from db.migrate import BASELINE_REVISION, head_revision
from db.tables import SCHEMA_VERSION, Base, Dataset, Event, Item, SchemaMeta, User


def test_models_and_migrations_agree(backend_store_url):
    """After `upgrade head` autogenerate sees no difference: every model change has its revision."""
    engine = open_store(backend_store_url).kw["bind"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"db/models.py and db/migrations differ (add a revision: python -m core db revision): {diff}"


def _old_code_store(url: str) -> None:
    """A store exactly as RecoLM wrote it before Alembic: create_all + the schema_meta version row, with data."""
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            s.add(SchemaMeta(key="schema_version", value=str(SCHEMA_VERSION)))
            s.add(SchemaMeta(key="demo", value="1"))
            ds = Dataset(kind="events", name="old.csv", mapping={}, report={"accepted": True})
            s.add(ds)
            s.flush()
            s.add_all([User(id=1, external_id="u1", attributes={"tier": "gold"}, dataset_id=ds.id),
                       Item(id=1, external_id="i1", title="Mug", attributes={}, dataset_id=ds.id)])
            s.flush()
            s.add(Event(user_id=1, item_id=1, action="purchase", ts=datetime(2024, 1, 2, 3, 4, 5), dataset_id=ds.id))
            s.commit()
    finally:
        engine.dispose()


def test_a_pre_alembic_store_is_stamped_and_upgraded_keeping_its_data(backend_store_url):
    _old_code_store(backend_store_url)
    with session_scope(backend_store_url) as s:  # open_store recognises, stamps and upgrades it
        assert s.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        assert s.scalar(select(func.count()).select_from(Event)) == 1
        user = s.scalars(select(User)).one()
        assert user.external_id == "u1" and user.attributes == {"tier": "gold"}
        assert s.scalar(select(Event.ts)) == datetime(2024, 1, 2, 3, 4, 5)
        assert s.get(SchemaMeta, "demo").value == "1"
        # ...and it keeps working: ids continue after the old rows.
        s.add(Item(external_id="i2", title="Plate", attributes={}))
    with session_scope(backend_store_url) as s:
        assert sorted(s.scalars(select(Item.id))) == [1, 2]


def test_an_old_store_of_another_schema_version_is_refused_untouched(backend_store_url):
    engine = make_engine(backend_store_url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(SchemaMeta(key="schema_version", value="0"))
        s.commit()
    with pytest.raises(SchemaMismatchError, match="pre-migration schema version 0"):
        open_store(backend_store_url)
    with engine.connect() as conn:
        assert "alembic_version" not in inspect(conn).get_table_names()
    engine.dispose()


def test_a_foreign_database_is_refused_not_recreated(backend_store_url):
    engine = make_engine(backend_store_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total FLOAT)")
        conn.exec_driver_sql("INSERT INTO invoices VALUES (1, 9.5)")
    with pytest.raises(SchemaMismatchError, match=r"holds tables \(invoices\) but is not a RecoLM store"):
        open_store(backend_store_url)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == ["invoices"]
        assert conn.exec_driver_sql("SELECT total FROM invoices").scalar() == 9.5
    engine.dispose()


def test_a_store_from_a_newer_recolm_is_refused(backend_store_url):
    open_store(backend_store_url)
    with session_scope(backend_store_url) as s:
        s.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    from db.engine import close_store

    close_store(backend_store_url)
    with pytest.raises(SchemaMismatchError, match="newer RecoLM"):
        open_store(backend_store_url)


def test_cli_db_upgrade_and_current(backend_store_url, capsys):
    from core.__main__ import main

    assert main(["db", "current", "--db", backend_store_url, "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["current"] is None and not before["up_to_date"]
    assert main(["db", "upgrade", "--db", backend_store_url, "--json"]) == 0
    up = json.loads(capsys.readouterr().out)
    assert up["before"] is None and up["after"] == head_revision()
    assert main(["db", "current", "--db", backend_store_url]) == 0
    assert "up to date" in capsys.readouterr().out


def test_cli_db_upgrade_stamps_an_old_store(backend_store_url, capsys):
    from core.__main__ import main

    _old_code_store(backend_store_url)
    assert main(["db", "current", "--db", backend_store_url]) == 0
    assert "pre-migration store" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", backend_store_url]) == 0
    assert f"-> {head_revision()}" in capsys.readouterr().out
    assert head_revision() >= BASELINE_REVISION
