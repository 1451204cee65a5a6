"""`--engine ray` gives the single-process results: identical top-K for every demo customer, identical metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_local():
    from core.distributed import ray_session

    with ray_session(num_cpus=2) as ray:
        yield ray


def test_ray_batch_equals_the_single_process_batch(ray_local, demo_store, tmp_path):
    from core.distributed import ray_batch_recommend
    from core.recommend import RecommendationService
    from core.recommend.batch import batch_recommend
    from db.engine import session_scope

    with session_scope(demo_store) as s:
        service = RecommendationService.from_store(s)
    local = batch_recommend(service, k=10)
    distributed, shards = ray_batch_recommend(service, tmp_path / "parts", k=10, n_workers=2, users_per_shard=150)
    assert distributed.n_users == local.n_users == service.data.n_users == 800
    # Every customer, same items in the same order, same reasons; scores to float32 precision.
    key = ["user_id", "rank", "item_id", "title", "reason", "user_store_id", "item_store_id"]
    pd.testing.assert_frame_equal(distributed.frame[key], local.frame[key])
    assert np.allclose(distributed.frame["score"], local.frame["score"], rtol=1e-5, atol=1e-6)
    # Sharded: several Parquet partitions, written by two workers that each received the model once.
    assert len(shards) == 6 and sorted(p.name for p in (tmp_path / "parts").glob("*.parquet")) == [
        f"part-{i:05d}.parquet" for i in range(6)]
    assert len({r.worker_pid for r in shards}) == 2
    assert sum(r.n_users for r in shards) == 800


def test_cli_recommend_all_with_ray_stores_the_same_batch(ray_local, demo_store, capsys):
    from core.__main__ import main
    from db.engine import session_scope
    from db.recommendations import read_batch

    assert main(["recommend", "--all", "--json", "--no-reasons"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(["recommend", "--all", "--json", "--no-reasons", "--engine", "ray", "--workers", "2"]) == 0
    ray_out = json.loads(capsys.readouterr().out)
    assert ray_out["engine"] == "ray" and ray_out["partitions"] >= 2 and ray_out["rows"] == local["rows"]
    with session_scope(demo_store) as s:
        a, b = read_batch(s, local["batch_id"]), read_batch(s, ray_out["batch_id"])
    cols = ["user_id", "rank", "item_id"]
    assert len(a) == 8000
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))


def test_ray_evaluation_gives_the_same_metrics(ray_local, demo_store):
    from core.distributed import ray_run_evaluation
    from core.evaluation.store_runs import evaluate_store
    from db.engine import session_scope

    models = ["baseline:popularity", "baseline:itemknn", "baseline:ease"]
    with session_scope(demo_store) as s:
        local, _ = evaluate_store(s, models, ks=(10,), diversity="category", store=False)
        distributed, run = evaluate_store(s, models, ks=(10,), diversity="category", runner=ray_run_evaluation)
        stored = run.results
    assert [r.label for r in distributed.results] == [r.label for r in local.results] == [
        "popularity", "itemknn", "ease"]
    for a, b in zip(local.results, distributed.results, strict=True):
        assert a.error is None and b.error is None
        assert a.metrics == b.metrics and a.params == b.params and a.activity == b.activity and a.items == b.items
    assert distributed.config["engine"] == "ray" and distributed.n_test_users == local.n_test_users
    assert [r["metrics"] for r in stored] == [r.metrics for r in local.results]
