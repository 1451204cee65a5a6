"""Training jobs end to end: a separate worker process trains and registers; cancel, kill and crash leave
the active model alone; the CLI waits and prints metrics."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from core.training import cancel_training, job_status, launch_training, wait_for
from core.training.worker import TrainRequest, run_job
from db.engine import session_scope
from db.jobs import create_job, job_points
from db.registry import active_model, list_models

TINY_LM = {"n_layer": 1, "n_embd": 16, "n_head": 2, "epochs": 2, "batch_size": 128, "text_init": False}
# Long enough that the test can act on it while it runs.
LONG_LM = {**TINY_LM, "epochs": 10000, "patience": 10000, "max_minutes": 30}

pytestmark = pytest.mark.slow


def _active_id(url: str) -> int | None:
    with session_scope(url) as s:
        row = active_model(s)
        return row.id if row else None


def _wait_running(url: str, job_id: int, timeout: float = 180) -> None:
    """Until the worker has made at least one training step."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        view = job_status(url, job_id)
        if view.status == "training" and view.progress.get("step", 0) > 0:
            return
        assert view.status in ("queued", "starting", "training"), (view.status, view.error)
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not start training within {timeout} s")


def test_lm_job_trains_registers_and_activates(demo_store):
    url = demo_store
    before = {m.id for m in _models(url)}
    job_id = launch_training(url, {"model": "lm", "model_params": TINY_LM, "activate": True})
    view = wait_for(url, job_id, timeout=600)
    assert view.status == "succeeded", view.error
    assert view.model_id not in before and _active_id(url) == view.model_id
    for key in ("ndcg@10", "hr@10", "val_ndcg@10", "train_seconds", "best_epoch"):
        assert key in view.metrics
    assert 0.0 < view.metrics["ndcg@10"] <= 1.0
    with session_scope(url) as s:
        points = job_points(s, job_id)
        row = next(m for m in list_models(s) if m.id == view.model_id)
        assert row.kind == "lm" and row.size_bytes > 0 and row.dataset_id is not None
        assert row.params["n_embd"] == 16 and row.metrics["ndcg@10"] == view.metrics["ndcg@10"]
    assert any(p["val_ndcg10"] is not None for p in points) and any(p["loss"] is not None for p in points)
    assert view.progress["epoch"] >= 1


def _models(url):
    with session_scope(url) as s:
        return list_models(s)


def test_cancel_stops_the_worker_and_keeps_the_active_model(demo_store):
    url = demo_store
    active = _active_id(url)
    n_models = len(_models(url))
    job_id = launch_training(url, {"model": "lm", "model_params": LONG_LM})
    _wait_running(url, job_id)
    cancel_training(url, job_id)
    view = wait_for(url, job_id, timeout=120)
    assert view.status == "cancelled"
    assert _active_id(url) == active and len(_models(url)) == n_models


def test_killed_worker_is_marked_failed_and_active_model_untouched(demo_store):
    url = demo_store
    active = _active_id(url)
    assert active is not None  # the demo store ships with an active baseline
    job_id = launch_training(url, {"model": "lm", "model_params": LONG_LM})
    _wait_running(url, job_id)
    os.kill(job_status(url, job_id).pid, signal.SIGKILL)
    view = wait_for(url, job_id, timeout=60, poll=0.3)
    assert view.status == "failed" and "killed or crashed" in view.error
    assert _active_id(url) == active


def test_crash_records_the_error_in_process(demo_store):
    url = demo_store
    active = _active_id(url)
    with session_scope(url) as s:
        job_id = create_job(s, "train", TrainRequest(model="lm", model_params={"n_embd": 30, "n_head": 4}).to_params()).id
    assert run_job(url, job_id) == 1
    view = job_status(url, job_id)
    assert view.status == "failed" and "n_head" in view.error
    assert _active_id(url) == active


def test_baseline_through_the_same_job_path(demo_store):
    url = demo_store
    with session_scope(url) as s:
        job_id = create_job(s, "train", TrainRequest(model="popularity", name="pop-job", activate=False).to_params()).id
    assert run_job(url, job_id) == 0
    view = job_status(url, job_id)
    assert view.status == "succeeded" and view.metrics["hr@10"] > 0
    assert any(m.name == "pop-job" and not m.is_active for m in _models(url))


def test_unknown_kind_and_parameters_are_refused(store_url):
    with pytest.raises(ValueError, match="Unknown model kind"):
        launch_training(store_url, {"model": "gpt5"})
    with pytest.raises(ValueError, match="epochz"):
        launch_training(store_url, {"model": "lm", "epochz": 3})


def test_cli_train_waits_and_prints_metrics(demo_store, capsys):
    from core.__main__ import main

    code = main(["train", "--model", "lm", "--epochs", "1", "--n-layer", "1", "--n-embd", "16", "--no-text-init",
                 "--no-activate", "--name", "lm-cli", "--json", "--db", demo_store])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "succeeded", out
    assert out["metrics"]["ndcg@10"] > 0 and out["model_id"] is not None
    assert any(m.name == "lm-cli" and m.params["n_layer"] == 1 for m in _models(demo_store))
    assert main(["train", "--model", "ease", "--epochs", "3", "--db", demo_store]) == 2
