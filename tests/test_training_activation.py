"""Issue 17.3/17.5: a training job activates its model only when it beats the active one on the same held-out
split (both measured by the job, the reason kept), its budget covers the whole job, and its status is live."""

from __future__ import annotations

import time

import pytest

from core.training import job_status, launch_training, wait_for
from core.training.worker import TrainRequest, run_job
from db.engine import session_scope
from db.jobs import create_job
from db.registry import active_model, list_models, set_active

TINY_LM = {"n_layer": 1, "n_embd": 16, "n_head": 2, "batch_size": 128, "text_init": False}
ORDER = ["queued", "starting", "training", "evaluating", "succeeded"]


def _active(url: str):
    with session_scope(url) as s:
        row = active_model(s)
        return (row.id, row.name) if row else None


def _run_in_process(url: str, req: TrainRequest):
    with session_scope(url) as s:
        job_id = create_job(s, "train", req.to_params()).id
    assert run_job(url, job_id) == 0, job_status(url, job_id).error
    return job_status(url, job_id)


def _model_id(url: str, name: str) -> int:
    with session_scope(url) as s:
        return next(m.id for m in list_models(s) if m.name == name)


def test_worse_model_is_not_activated_and_says_why(demo_store):
    before = _active(demo_store)
    assert before is not None and before[1] != "popularity"  # the demo's best baseline is active
    view = _run_in_process(demo_store, TrainRequest(model="popularity", name="pop-job"))
    act = view.metrics["activation"]
    assert act["policy"] == "if-better" and act["activated"] is False
    assert act["how"] == "refitted on the split"
    assert act["new_ndcg@10"] == view.metrics["ndcg@10"] < act["active_ndcg@10"]
    assert act["compared_with"].startswith(f"{before[1]} v")
    assert act["split"] == view.metrics["split"] and act["split"]["n_test_users"] == view.metrics["n_users"]
    assert "stays active" in view.metrics["activation_note"]
    assert _active(demo_store) == before


def test_better_model_becomes_active(demo_store):
    set_active_id = _model_id(demo_store, "popularity")
    with session_scope(demo_store) as s:
        set_active(s, set_active_id)
    view = _run_in_process(demo_store, TrainRequest(model="ease", name="ease-job"))
    act = view.metrics["activation"]
    assert act["activated"] is True and act["new_ndcg@10"] > act["active_ndcg@10"]
    assert "beats" in act["reason"]
    assert _active(demo_store) == (view.model_id, "ease-job")


def test_never_and_always_policies(demo_store):
    before = _active(demo_store)
    never = _run_in_process(demo_store, TrainRequest(model="ease", name="e-never", activate="never"))
    assert never.metrics["activation"]["activated"] is False and _active(demo_store) == before
    always = _run_in_process(demo_store, TrainRequest(model="popularity", name="p-always", activate="always"))
    assert always.metrics["activation"]["activated"] is True and _active(demo_store) == (always.model_id, "p-always")
    with pytest.raises(ValueError, match="activate must be one of"):
        TrainRequest(activate="sometimes")
    # Rows written before the one rule still read.
    assert TrainRequest.from_params({"model": "lm", "activate": False, "activate_if_better": True}).activate == "if-better"
    assert TrainRequest.from_params({"model": "lm", "activate": True}).activate == "always"


@pytest.mark.slow
def test_short_budget_covers_start_up_and_status_moves_through_the_stages(demo_store):
    """A 12-second LM job in its own worker process: start-up (process start, data, split, measuring the active
    model) + training + evaluation stay within the budget; the polled status only moves forward."""
    budget_s = 12.0
    job_id = launch_training(demo_store, TrainRequest(model="lm", name="lm-short", model_params={
        **TINY_LM, "epochs": 10000, "patience": 10000, "max_minutes": budget_s / 60}))
    seen: list[str] = []
    while True:
        view = job_status(demo_store, job_id)
        if not seen or seen[-1] != view.status:
            seen.append(view.status)
        if view.finished:
            break
        time.sleep(0.2)
    assert view.status == "succeeded", view.error
    assert [ORDER.index(s) for s in seen] == sorted(ORDER.index(s) for s in seen), seen
    t = view.metrics["timings"]
    assert [m[0] for m in t["stages"]] == ["starting", "training", "evaluating"]
    assert t["budget_seconds"] == pytest.approx(budget_s)
    assert t["startup_seconds"] > 0 and t["train_seconds"] > 0, t
    assert t["startup_seconds"] + t["train_seconds"] <= budget_s + 5, t
    assert t["total_seconds"] <= budget_s + 5, t
    # The job's own wall time as the store recorded it (created -> finished) agrees with its clock.
    assert (view.created_at is not None) and view.duration_s <= t["total_seconds"] + 1, (view.duration_s, t)
    with session_scope(demo_store) as s:  # the registered settings keep the user's budget, not what was left
        row = next(m for m in list_models(s) if m.id == view.model_id)
        assert row.params["max_minutes"] == pytest.approx(budget_s / 60)


@pytest.mark.slow
def test_start_up_stages_are_reported_by_name(demo_store):
    from core.training.worker import STARTUP_STAGES

    job_id = launch_training(demo_store, TrainRequest(model="ease", name="ease-stages"))
    stages = set()
    while not (view := job_status(demo_store, job_id)).finished:
        if view.status == "starting" and view.progress.get("stage"):
            stages.add(view.progress["stage"])
            assert view.progress["n_stages"] == len(STARTUP_STAGES)
            assert 0.0 <= view.fraction < 1.0
        time.sleep(0.05)
    assert view.status == "succeeded", view.error
    assert stages <= set(STARTUP_STAGES)
    assert wait_for(demo_store, job_id).metrics["timings"]["stages"][0][0] == "starting"


def test_training_page_says_why_a_model_was_not_activated_and_can_activate_it_anyway(demo_store):
    from tests.conftest import app_test

    before = _active(demo_store)
    view = _run_in_process(demo_store, TrainRequest(model="popularity", name="pop-page"))
    at = app_test("training").run()
    assert not at.exception
    warning = next(w.value for w in at.warning if "was not made active" in w.value)
    act = view.metrics["activation"]
    assert f"{act['new_ndcg@10']:.4f}" in warning and f"{act['active_ndcg@10']:.4f}" in warning
    assert act["compared_with"] in warning and _active(demo_store) == before
    jobs = at.dataframe[0].value
    assert "stays active" in jobs[jobs["job"] == view.id].iloc[0]["note"]
    at.button(key=f"activate_anyway_{view.id}").click().run()
    assert not at.exception
    assert _active(demo_store) == (view.model_id, "pop-page")
    assert not [w for w in at.warning if "was not made active" in w.value]


def test_registry_labels_each_figure_with_its_split_and_separates_other_data(demo_store):
    """A model measured on another split (here: a data set with fewer test customers) is never in the same table."""
    from core.registry import comparable_groups, registry_entries
    from db.tables import ModelVersion
    from tests.conftest import app_test

    with session_scope(demo_store) as s:
        row = s.get(ModelVersion, _model_id(demo_store, "popularity"))
        row.metrics = {**row.metrics, "n_users": 17}
    with session_scope(demo_store) as s:
        groups = comparable_groups(registry_entries(s))
    assert len(groups) == 2
    odd = next(m for m, members in groups if m.n_test_users == 17)
    assert odd.protocol == "loo" and odd.dataset_id is not None and odd.dataset_rows > 0
    at = app_test("training").run()
    assert not at.exception
    measured = [m.value for m in at.markdown if "Measured on" in m.value]
    assert len(measured) == 2 and any("17 test customers" in m for m in measured)
    assert all("leave-one-out, full ranking, K=10" in m for m in measured)
    assert any("comparable only within one table" in i.value for i in at.info)


def test_page_shows_the_start_up_stage_by_name_and_the_live_status(demo_store, monkeypatch):
    """A job in start-up (its worker simulated alive): the bar names the stage with its number, the table says
    "starting", not "queued"."""
    import db.jobs
    from core.training.worker import STARTUP_STAGES
    from db.jobs import mark_running, report_progress
    from tests.conftest import app_test

    monkeypatch.setattr(db.jobs, "process_alive", lambda pid, job_id=None: True)
    with session_scope(demo_store) as s:
        job_id = create_job(s, "train", TrainRequest(model="lm", model_params={"max_minutes": 3}).to_params()).id
        mark_running(s, job_id, 12345)
        report_progress(s, job_id, {"stage": STARTUP_STAGES[3], "stage_index": 4, "n_stages": 4, "fraction": 0.75},
                        point=False)
    at = app_test("training").run()
    assert not at.exception
    bar = at.get("progress")[0]
    assert bar.proto.text == f"Job {job_id}: lm — starting: {STARTUP_STAGES[3]} (4/4)" and bar.value == 75
    jobs = at.dataframe[0].value
    assert jobs[jobs["job"] == job_id].iloc[0]["status"] == "starting"
    left = next(m for m in at.metric if m.label == "Time left (estimate)")
    assert 2.5 < float(left.value.split()[0]) <= 3.0  # the whole job's 3-minute budget, from its creation


@pytest.mark.slow
def test_cli_activate_option(demo_store, capsys):
    import json

    from core.__main__ import main

    before = _active(demo_store)
    assert main(["train", "--model", "popularity", "--name", "pop-cli", "--json", "--db", demo_store]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["activation"]["policy"] == "if-better" and not out["metrics"]["activation"]["activated"]
    assert _active(demo_store) == before
    assert main(["train", "--model", "popularity", "--name", "pop-cli", "--activate", "always", "--json",
                 "--db", demo_store]) == 0
    out = json.loads(capsys.readouterr().out)
    assert _active(demo_store) == (out["model_id"], "pop-cli")


def test_a_choice_made_while_the_job_trained_is_kept(demo_store, monkeypatch):
    """The job would activate its better model, but someone made another model active meanwhile: that stands."""
    import core.training.activation as activation

    with session_scope(demo_store) as s:
        set_active(s, _model_id(demo_store, "popularity"))
    chosen = _model_id(demo_store, "ease")
    original = activation.decide

    def decide_then_user_acts(*args, **kwargs):
        with session_scope(demo_store) as s:
            set_active(s, chosen)
        return original(*args, **kwargs)

    monkeypatch.setattr(activation, "decide", decide_then_user_acts)
    view = _run_in_process(demo_store, TrainRequest(model="ease", name="ease-late"))
    act = view.metrics["activation"]
    assert act["new_ndcg@10"] > act["active_ndcg@10"] and act["activated"] is False
    assert "changed while this job trained" in act["reason"]
    assert _active(demo_store) == (chosen, "ease")
