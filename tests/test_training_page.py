"""AppTest of the Training & registry page on the demo store with a finished LM job."""

from __future__ import annotations

import pytest

from core.training.worker import TrainRequest, run_job
from db.engine import session_scope
from db.jobs import create_job
from db.registry import active_model
from tests.conftest import app_test

pytestmark = pytest.mark.slow


@pytest.fixture
def store_with_finished_job(demo_store):
    params = {"n_layer": 1, "n_embd": 16, "n_head": 2, "epochs": 2, "text_init": False}
    with session_scope(demo_store) as s:
        job_id = create_job(s, "train", TrainRequest(model="lm", model_params=params, activate="always").to_params()).id
    assert run_job(demo_store, job_id) == 0
    return demo_store, job_id


def test_page_shows_finished_job_curves_and_registry(store_with_finished_job):
    url, job_id = store_with_finished_job
    at = app_test("training").run()
    assert not at.exception
    assert at.title[0].value == "Training & model registry"
    jobs = at.dataframe[0].value
    row = jobs[jobs["job"] == job_id].iloc[0]
    assert row["status"] == "done" and row["model"] == "lm" and 0 < row["NDCG@10"] <= 1
    assert at.selectbox(key="curves_job").value == job_id
    assert len(at.get("plotly_chart")) >= 1  # loss and validation curves of the finished job
    models = at.dataframe[1].value
    lm = models[models["kind"] == "lm"].iloc[0]
    assert bool(lm["active"]) and lm["size (MB)"] > 0
    # No job is running: nothing to cancel, launching is allowed.
    assert not at.button(key="launch").disabled
    assert not [b for b in at.button if b.key == "cancel"]


def test_rollback_makes_an_older_version_active(store_with_finished_job):
    url, _ = store_with_finished_job
    at = app_test("training").run()
    choice = next(o for o in at.selectbox(key="activate_choice").options if not o.endswith("active"))
    at.selectbox(key="activate_choice").select(choice)
    at.button(key="make_active").click().run()
    assert not at.exception
    with session_scope(url) as s:
        assert f"(id {active_model(s).id})" in choice


def test_checkpoint_base_without_folder_is_refused(store_with_finished_job):
    at = app_test("training").run()
    at.radio(key="base").set_value("checkpoint").run()
    at.button(key="launch").click().run()
    assert any("checkpoint folder" in e.value for e in at.error)
