"""An evaluation run is a background job: the page starts it and shows its stages, the worker stores the run.

The job shares the training jobs' table and worker but not their views: the Training page never sees it.
"""

from __future__ import annotations

import pytest

from core.evaluation.job import JOB_KIND, EvaluationCancelled, StageReporter, _SpecPlan, live_times
from core.training.jobs import list_job_views, running_job, wait_for
from db.engine import session_scope
from db.evaluations import list_runs
from db.jobs import create_job, get_job, request_cancel
from tests.conftest import app_test


def _evaluation_jobs(url: str):
    return list_job_views(url, kind=JOB_KIND)


def test_page_starts_a_background_job_shows_its_progress_then_the_run(demo_store):
    at = app_test("evaluation")
    at.run()
    at.multiselect(key="models").set_value(["baseline: popularity", "baseline: itemknn"])
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    jobs = _evaluation_jobs(demo_store)
    assert len(jobs) == 1 and jobs[0].params["models"] == ["baseline:popularity", "baseline:itemknn"]
    # The page did not wait for the run: it shows the job's progress, and no run is stored yet.
    bars = at.get("progress")
    assert len(bars) == 1
    assert f"job {jobs[0].id} is starting" in bars[0].proto.text or bars[0].proto.text.startswith("Step ")
    assert any("background" in c.value for c in at.caption)
    assert not any("No evaluation yet" in i.value for i in at.info)  # the progress replaces the empty-page hint
    # Training stays free to start: the Training page only sees training jobs.
    assert running_job(demo_store) is None and list_job_views(demo_store) == []

    done = wait_for(demo_store, jobs[0].id, timeout=300, poll=0.5)
    assert done.status == "succeeded", done.error
    p = done.progress
    assert p["stage"] == "save" and p["step"] == p["steps"] and p["elapsed_s"] >= 0
    with session_scope(demo_store) as s:
        runs = list_runs(s)
    assert list(runs["id"]) == [done.metrics["run_id"]]

    at.run()  # the next poll: the page shows the new run
    assert not at.exception and not at.error
    assert not at.get("progress")
    results = next(d.value for d in at.dataframe if "kind" in d.value.columns)
    assert list(results["model"]) == ["popularity", "itemknn"]
    assert at.selectbox(key="show_run").value == done.metrics["run_id"]


def test_a_failed_evaluation_job_says_why_and_stores_no_run(store_url):
    """On an empty store the worker fails with the reason; the page shows it once, no run is stored."""
    at = app_test("evaluation")
    at.run()
    at.multiselect(key="models").set_value(["baseline: popularity"])
    at.button(key="run").click().run()
    job = _evaluation_jobs(store_url)[0]
    done = wait_for(store_url, job.id, timeout=120, poll=0.5)
    assert done.status == "failed" and "no purchases" in done.error
    at.run()
    assert any("no purchases" in e.value for e in at.error)
    with session_scope(store_url) as s:
        assert list_runs(s).empty
    at.run()
    assert not at.error  # reported once, not on every rerun


def test_reporter_counts_stages_estimates_the_time_left_and_honours_cancel(store_url):
    with session_scope(store_url) as s:
        job_id = create_job(s, JOB_KIND, {"models": ["lm", "ease"]}).id
    plans = [_SpecPlan("lm", 2, budget_s=120.0), _SpecPlan("ease", 3, budget_s=None)]
    reporter = StageReporter(store_url, job_id, plans)
    assert reporter.steps == 1 + 2 + 3 + 1
    reporter.stage("load")
    reporter("lm: fitting")
    with session_scope(store_url) as s:
        p = dict(get_job(s, job_id).progress)
    assert (p["step"], p["stage"], p["model"]) == (2, "fit", "lm")
    # The LM's fit is expected to take its budget; the other stages as long as the (quick) load stage took.
    assert 119 <= p["eta_s"] <= 125
    reporter("lm: scoring 100 users")
    reporter("ease: fitting")
    with session_scope(store_url) as s:
        p = dict(get_job(s, job_id).progress)
    assert (p["step"], p["stage"], p["model"]) == (4, "fit", "ease")
    # The LM's budget is spent; three fast stages and the save are left, at the measured mean duration.
    assert p["eta_s"] is not None and p["eta_s"] < 120
    elapsed, left = live_times(p, now=p["reported_at"] + 5)
    assert elapsed == pytest.approx(p["elapsed_s"] + 5) and left == pytest.approx(max(p["eta_s"] - 5, 0.0))
    reporter("something else entirely")  # not a per-model message: ignored
    with session_scope(store_url) as s:
        assert get_job(s, job_id).progress["step"] == 4
        request_cancel(s, job_id)
    with pytest.raises(EvaluationCancelled):
        reporter("ease: {'lam': 100.0} -> validation ndcg@10 0.0100")
