"""Every store operation on both backends: SQLite and a real PostgreSQL (started by scripts/pg_test_cluster.sh).

Each test gets a fresh store (a SQLite file, or a new PostgreSQL database); the demo-store tests get a private
copy of the small demo shop (a file copy, or `CREATE DATABASE ... TEMPLATE`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, inspect, select

from core.ingest import IngestOptions, Source, Upload, ingest_into_store
from db.engine import open_store, session_scope
from db.shop_read import store_counts
from db.tables import Event, Item, User

EVENTS_HEADER = "user_id,item_id,action,time\n"


@pytest.fixture(scope="module")
def demo_csvs(tmp_path_factory) -> dict[str, Path]:
    from core.demo import write_demo_csvs

    return write_demo_csvs(tmp_path_factory.mktemp("demo_csv_backends"), seed=3, n_users=150, n_items=80)


def _counts(url: str) -> dict:
    with session_scope(url) as s:
        return store_counts(s).as_dict()


def test_a_new_store_is_created_by_the_migrations(backend_store_url):
    from db.migrate import head_revision

    engine = open_store(backend_store_url).kw["bind"]
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        rev = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert rev == head_revision()
    assert {"users", "items", "events", "model_versions", "jobs", "evaluation_runs", "schema_meta"} <= tables
    assert engine.dialect.name == backend_store_url.split(":")[0].split("+")[0]


def test_demo_exports_upload_into_all_three_tables(backend_store_url, demo_csvs):
    from core.interactions import from_store

    report = ingest_into_store(backend_store_url, [Upload(Source(k, p)) for k, p in demo_csvs.items()])
    assert report.accepted, report.error
    frames = {k: pd.read_csv(p, dtype=str) for k, p in demo_csvs.items()}
    events = frames["events"].drop_duplicates()
    with session_scope(backend_store_url) as s:
        counts = store_counts(s)
        assert (counts.users, counts.items, counts.events) == (len(frames["users"]), len(frames["items"]),
                                                               len(events))
        assert counts.purchases == int((events["event_type"] == "purchase").sum())
        user = s.scalars(select(User).where(User.external_id == str(frames["users"]["customer_id"].iloc[0]))).one()
        assert user.attributes["member_tier"] == frames["users"]["member_tier"].iloc[0]
        item = s.scalars(select(Item).where(Item.external_id == str(frames["items"]["product_id"].iloc[0]))).one()
        assert item.title == frames["items"]["product_name"].iloc[0] and item.listed_at is not None
        data = from_store(s)
    assert sum(len(q) for q in data.sequences) == counts.purchases
    assert data.times is not None and all(np.all(np.diff(t) >= 0) for t in data.times)
    # Re-uploading the same export adds no event twice (the already-stored check reads timestamps back).
    again = ingest_into_store(backend_store_url, [Upload(Source("events", demo_csvs["events"]))])
    assert not again.accepted and "already in the store" in again.error
    assert _counts(backend_store_url)["events"] == len(events)


def test_a_later_upload_maps_stored_ids_by_looking_up_only_its_own(backend_store_url, demo_csvs):
    """ShopWriter resolves just the ids a batch mentions (chunked IN): stored ones keep their store id, an id the
    store lacks is created once, and nothing else of the store is loaded."""
    from db.shop_write import ShopWriter, new_dataset

    assert ingest_into_store(backend_store_url, [Upload(Source(k, p)) for k, p in demo_csvs.items()]).accepted
    with session_scope(backend_store_url) as s:
        users = dict(s.execute(select(User.external_id, User.id)).all())
        items = dict(s.execute(select(Item.external_id, Item.id)).all())
        some = sorted(users)[:3]
        writer = ShopWriter(s, new_dataset(s, "events", "later batch"))
        assert writer.resolve([*some, some[0], "no-such-customer"], "user") == {k: users[k] for k in some}
        item = sorted(items)[0]
        result = writer.add_events(pd.DataFrame({
            "user_id": [some[1], "brand-new-customer"], "item_id": [item, item], "action": "view",
            "ts": pd.to_datetime(["2031-01-01 10:00", "2031-01-02 10:00"])}))
        assert (result.inserted, result.unknown_users_created, result.unknown_items_created) == (2, 1, 0)
        assert len(writer.user_ids) == 4 and len(writer.item_ids) == 1  # only what the batch named
        written = s.execute(select(Event.user_id, Event.item_id).where(Event.dataset_id == writer.dataset.id)
                            .order_by(Event.ts)).all()
        new_id = s.scalar(select(User.id).where(User.external_id == "brand-new-customer"))
    assert [tuple(r) for r in written] == [(users[some[1]], items[item]), (new_id, items[item])]
    assert new_id not in users.values()


def test_both_backends_read_back_the_same_interactions(pg_databases, tmp_path, demo_csvs):
    """The same upload into SQLite and PostgreSQL gives identical sequences, times and side information."""
    from core.interactions import from_store

    urls = [f"sqlite:///{tmp_path / 'same.db'}", pg_databases.create()]
    data = []
    for url in urls:
        assert ingest_into_store(url, [Upload(Source(k, p)) for k, p in demo_csvs.items()]).accepted
        with session_scope(url) as s:
            data.append(from_store(s))
    a, b = data
    assert list(a.item_keys) == list(b.item_keys) and list(a.user_keys) == list(b.user_keys)
    assert all(np.array_equal(x, y) for x, y in zip(a.sequences, b.sequences, strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(a.times, b.times, strict=True))
    pd.testing.assert_frame_equal(a.items.reset_index(drop=True), b.items.reset_index(drop=True))


def test_a_later_file_failing_rolls_back_everything(backend_store_url, tmp_path):
    seed = tmp_path / "seed.csv"
    seed.write_text(EVENTS_HEADER + "u1,i1,view,2024-01-01 10:00\nu2,i2,buy,2024-01-02 11:00\n")
    assert ingest_into_store(backend_store_url, [Upload(Source("events", seed))]).accepted
    before = _counts(backend_store_url)
    items = tmp_path / "items.csv"
    items.write_text("item_id,title\nn1,New mug\nn2,New plate\n")
    users = tmp_path / "users.csv"
    users.write_text("user_id,age\nu7,31\nu8,40\n")
    events = tmp_path / "events.csv"
    rows = "".join(f"u{i},n{1 + i % 2},view,2024-06-01 10:{i % 60:02d}\n" for i in range(300))
    events.write_text(EVENTS_HEADER + rows + "u9,n1,vi")  # cut off after 300 good rows, written in chunks of 100
    report = ingest_into_store(backend_store_url, [Upload(Source("events", events)), Upload(Source("items", items)),
                                                   Upload(Source("users", users))], IngestOptions(chunk_rows=100))
    assert not report.accepted and "line 302" in report.error and "cut off" in report.error
    assert report.files[-1].rows_kept == 300  # events were being written when the file broke
    assert _counts(backend_store_url) == before
    with session_scope(backend_store_url) as s:
        assert s.scalar(select(func.count()).select_from(Item).where(Item.external_id.in_(["n1", "n2"]))) == 0
        assert s.scalar(select(func.count()).select_from(User).where(User.external_id.in_(["u7", "u8"]))) == 0
    # ...and the store still takes the next good upload, ids continuing where they were.
    assert ingest_into_store(backend_store_url, [Upload(Source("items", items))]).accepted
    assert _counts(backend_store_url)["items"] == before["items"] + 2
    with session_scope(backend_store_url) as s:  # an ORM insert after the writer's own ids does not collide
        s.add(Item(external_id="made-by-orm", attributes={}))
    assert _counts(backend_store_url)["items"] == before["items"] + 3


def test_demo_build_registry_and_reading(backend_demo_store):
    from core.demo.simulate import generate_shop
    from core.interactions import from_store
    from core.registry import load_version
    from db.engine import get_meta
    from db.registry import active_model, find_model, list_models, set_active

    expected = generate_shop(seed=7, n_users=800, n_items=400)
    with session_scope(backend_demo_store) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 800
        assert s.scalar(select(func.count()).select_from(Event)) == len(expected.events)
        assert get_meta(s, "demo") == "1"
        data = from_store(s)
        assert sum(len(q) for q in data.sequences) == int((expected.events["action"] == "purchase").sum())
        models = list_models(s)
        active = active_model(s)
        assert active is not None and active.metrics["ndcg@10"] == max(m.metrics["ndcg@10"] for m in models)
        other = next(m for m in models if m.id != active.id)
        set_active(s, other.id)
    with session_scope(backend_demo_store) as s:
        assert active_model(s).id == other.id
        row = find_model(s, other.name)
        model = load_version(row)
    items, scores = model.recommend([data.sequences[0]], k=10)
    assert items.shape == (1, 10) and np.all(np.diff(scores[0]) <= 0)


def test_jobs_and_their_points(backend_demo_store):
    from core.training import job_status
    from core.training.worker import TrainRequest, run_job
    from db.jobs import create_job, job_points, report_progress
    from db.registry import list_models

    with session_scope(backend_demo_store) as s:
        job_id = create_job(s, "train", TrainRequest(model="popularity", name="pop-job").to_params()).id
    assert run_job(backend_demo_store, job_id) == 0
    view = job_status(backend_demo_store, job_id)
    assert view.status == "succeeded" and view.metrics["hr@10"] > 0, view.error
    with session_scope(backend_demo_store) as s:
        assert any(m.name == "pop-job" for m in list_models(s))
        other = create_job(s, "train", {"model": "popularity"}).id
        report_progress(s, other, {"step": 3, "epoch": 0.5, "loss": 1.25, "val_ndcg10": None})
    with session_scope(backend_demo_store) as s:
        assert job_points(s, other) == [{"step": 3, "epoch": 0.5, "loss": 1.25, "val_ndcg10": None}]


def test_evaluation_runs_are_stored_and_read_back(backend_demo_store):
    from core.evaluation.store_runs import evaluate_store
    from db.evaluations import get_run, list_runs, run_table

    with session_scope(backend_demo_store) as s:
        result, run = evaluate_store(s, ["popularity", "baseline:itemknn"], ks=(10,))
        run_id = run.id
    with session_scope(backend_demo_store) as s:
        stored = get_run(s, run_id)
        table = run_table(stored)
        runs = list_runs(s)
    assert stored.protocol == "loo" and stored.config["ks"] == [10]
    assert stored.results == result.to_records()
    assert len(table) == 2 and run_id in set(runs["id"])


def test_uploads_stream_into_postgresql_with_copy(backend_store_url, demo_csvs, monkeypatch):
    """On PostgreSQL every new user, item and event row goes through COPY; SQLite keeps its executemany path."""
    import db.shop_write as shop_write

    copied: dict[str, int] = {}
    real = shop_write.copy_frame

    def spy(conn, table, df, *args):
        n = real(conn, table, df, *args)
        copied[table.name] = copied.get(table.name, 0) + n
        return n

    monkeypatch.setattr(shop_write, "copy_frame", spy)
    report = ingest_into_store(backend_store_url, [Upload(Source(k, p)) for k, p in demo_csvs.items()])
    assert report.accepted, report.error
    counts = _counts(backend_store_url)
    if backend_store_url.startswith("postgresql"):
        assert copied == {"users": counts["users"], "items": counts["items"], "events": counts["events"]}
    else:
        assert copied == {}


def _events_keys(url: str) -> tuple[list[str], list[str]]:
    """Foreign keys and secondary indexes of the events table, as PostgreSQL holds them now."""
    with session_scope(url) as s:
        conn = s.connection()
        fks = [r[0] for r in conn.exec_driver_sql(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'events'::regclass "
            "AND contype = 'f' AND convalidated ORDER BY 1").all()]
        idx = [r[0] for r in conn.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'events' ORDER BY 1").all()]
    return fks, idx


@pytest.fixture
def pg_store_url(pg_databases) -> str:
    return pg_databases.create()


def test_a_bulk_upload_into_postgresql_checks_its_keys_and_gives_the_same_store(pg_store_url, pg_databases,
                                                                              demo_csvs, monkeypatch):
    """Past BULK_MIN_EVENTS the events' foreign keys (and, into an empty table, indexes) come off for the COPY and go
    back, validated, before the commit: the store ends with the same keys and the same rows as the per-row path."""
    import db.shop_write as shop_write

    reference = pg_databases.create()
    uploads = [Upload(Source(k, p)) for k, p in demo_csvs.items()]
    assert ingest_into_store(reference, uploads).accepted
    keys_before = _events_keys(reference)
    assert len(keys_before[0]) == 3 and len(keys_before[1]) == 4
    started = []
    real_start = shop_write._BulkLoad.start.__func__

    def spy(cls, session, rebuild_indexes):
        started.append(rebuild_indexes)
        return real_start(cls, session, rebuild_indexes)

    monkeypatch.setattr(shop_write._BulkLoad, "start", classmethod(spy))
    monkeypatch.setattr(shop_write, "BULK_MIN_EVENTS", 50)
    assert ingest_into_store(pg_store_url, uploads, IngestOptions(chunk_rows=40)).accepted
    assert started == [True]  # once per upload, indexes rebuilt because the events table was empty
    assert _events_keys(pg_store_url) == keys_before
    assert _counts(pg_store_url) == _counts(reference)
    query = "SELECT u.external_id, i.external_id, e.action, e.ts FROM events e JOIN users u ON u.id = e.user_id " \
            "JOIN items i ON i.id = e.item_id ORDER BY 1, 2, 3, 4"
    rows = []
    for url in (reference, pg_store_url):
        with session_scope(url) as s:
            rows.append(s.connection().exec_driver_sql(query).all())
    assert rows[0] == rows[1]


def test_a_failed_bulk_upload_leaves_postgresql_keys_and_rows_as_they_were(pg_store_url, demo_csvs, tmp_path,
                                                                           monkeypatch):
    import db.shop_write as shop_write

    assert ingest_into_store(pg_store_url, [Upload(Source(k, p)) for k, p in demo_csvs.items()]).accepted
    before, keys = _counts(pg_store_url), _events_keys(pg_store_url)
    monkeypatch.setattr(shop_write, "BULK_MIN_EVENTS", 50)
    events = tmp_path / "events.csv"
    rows = "".join(f"u{i},n{i % 7},view,2024-06-01 10:{i % 60:02d}\n" for i in range(300))
    events.write_text(EVENTS_HEADER + rows + "u9,n1,vi")  # cut off after 300 rows, written in chunks of 100
    report = ingest_into_store(pg_store_url, [Upload(Source("events", events))], IngestOptions(chunk_rows=100))
    assert not report.accepted and "cut off" in report.error
    assert _counts(pg_store_url) == before and _events_keys(pg_store_url) == keys


def test_a_bulk_writer_that_is_never_finished_still_commits_with_its_keys(pg_store_url, demo_csvs, monkeypatch):
    """A caller that forgets ShopWriter.finish() cannot commit events without foreign keys: the commit puts
    them back, and a bad id it would have let in makes the commit fail and roll back."""
    from sqlalchemy.exc import IntegrityError

    import db.shop_write as shop_write
    from db.shop_write import ShopWriter, new_dataset

    assert ingest_into_store(pg_store_url, [Upload(Source(k, p)) for k, p in demo_csvs.items()]).accepted
    before, keys = _counts(pg_store_url), _events_keys(pg_store_url)
    monkeypatch.setattr(shop_write, "BULK_MIN_EVENTS", 1)
    frame = pd.DataFrame({"user_id": ["brand-new"] * 3, "item_id": ["new-item"] * 3, "action": "view",
                          "ts": pd.to_datetime(["2031-01-01", "2031-01-02", "2031-01-03"])})
    with session_scope(pg_store_url) as s:
        ShopWriter(s, new_dataset(s, "events", "unfinished")).add_events(frame)
    assert _events_keys(pg_store_url) == keys and _counts(pg_store_url)["events"] == before["events"] + 3
    with pytest.raises(IntegrityError, match="foreign key"):
        with session_scope(pg_store_url) as s:
            writer = ShopWriter(s, new_dataset(s, "events", "bad id"))
            assert writer.add_events(frame.assign(ts=frame["ts"] + pd.Timedelta(days=30))).inserted == 3
            s.connection().exec_driver_sql("UPDATE events SET item_id = 987654321 WHERE dataset_id = %s",
                                           (writer.dataset.id,))
    assert _events_keys(pg_store_url) == keys and _counts(pg_store_url)["events"] == before["events"] + 3
