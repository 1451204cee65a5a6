"""The Evaluation page (AppTest) on the demo shop: run baselines, see the table, charts, breakdown, stored runs."""

from __future__ import annotations

import pytest

from tests.conftest import app_test


def _run_evaluation(at, url: str) -> None:
    """Press Run evaluation, wait for its background job, and let the page show the stored run."""
    from core.training.jobs import wait_for

    at.button(key="run").click()
    at.run()
    assert not at.exception and not at.error
    _url, job_id = at.session_state["eval_job"]
    assert wait_for(url, job_id, timeout=600, poll=0.5).status == "succeeded"
    at.run()


def _frame(at, column: str):
    """The page's table that has `column` (AppTest does not expose dataframe keys)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column; tables: {[list(d.value.columns) for d in at.dataframe]}")


@pytest.mark.slow
def test_page_runs_baselines_and_lists_the_stored_run(demo_store):
    at = app_test("evaluation")
    at.run()
    assert not at.exception
    # The demo registers models; the baselines are always offered. Keep it to three fast ones.
    at.multiselect(key="models").set_value(["baseline: popularity", "baseline: itemknn", "baseline: ease"])
    at.radio(key="protocol").set_value("loo")
    _run_evaluation(at, demo_store)
    assert not at.exception and not at.error

    results = _frame(at, "kind").set_index("model")
    assert list(results.index) == ["popularity", "itemknn", "ease"]
    for col in ("hr@5", "ndcg@10", "mrr@20", "coverage@10", "novelty@10"):
        assert col in results.columns
    # The demo's follow-up purchases are learnable: the co-purchase models beat popularity on the same split.
    assert results.loc["ease", "ndcg@10"] > results.loc["popularity", "ndcg@10"]
    assert results.loc["itemknn", "hr@10"] > results.loc["popularity", "hr@10"]
    assert ((results["hr@5"] <= results["hr@10"]) & (results["hr@10"] <= results["hr@20"])).all()
    assert any("full sort" in c.value or "**all** items" in c.value for c in at.caption)

    activity = _frame(at, "purchases before")
    assert set(activity["model"]) == {"popularity", "itemknn", "ease"}
    # Every test customer falls in exactly one activity bucket.
    per_model = activity.groupby("model")["n_users"].sum()
    assert (per_model == per_model.iloc[0]).all()
    runs = _frame(at, "best_ndcg@10")
    assert len(runs) == 1 and runs["protocol"].iloc[0] == "loo"
    assert at.get("download_button")  # the CSV download is offered

    # A temporal run is stored beside the first one and shown.
    at.radio(key="protocol").set_value("temporal")
    at.multiselect(key="models").set_value(["baseline: popularity"])
    _run_evaluation(at, demo_store)
    assert not at.exception and not at.error
    runs = _frame(at, "best_ndcg@10")
    assert list(runs["protocol"]) == ["temporal", "loo"]
    assert list(_frame(at, "kind")["model"]) == ["popularity"]


def test_page_without_runs_explains_what_to_do(store_url):
    at = app_test("evaluation")
    at.run()
    assert not at.exception
    assert any("No evaluation yet" in i.value for i in at.info)


@pytest.mark.slow
def test_cli_evaluates_a_registered_model_and_a_baseline(demo_store, capsys):
    """The CLI shares the page's path (core.evaluation.store_runs.evaluate_store): same protocol, run stored with model ids."""
    import json

    from core.__main__ import main
    from db.engine import session_scope
    from db.evaluations import get_run
    from db.registry import find_model

    assert main(["evaluate", "--db", demo_store, "--model", "ease", "--model", "baseline:popularity",
                 "--protocol", "loo", "--k", "10", "--diversity", "category", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    with session_scope(demo_store) as session:
        ease_row = find_model(session, "ease")
        run = get_run(session, payload["run_id"])
        assert run is not None and run.protocol == "loo"
        assert [r["model_id"] for r in run.results] == [ease_row.id, None]
    labels = [m["label"] for m in payload["models"]]
    assert labels == [f"ease v{ease_row.version}", "popularity"]
    ease, pop = payload["models"]
    assert ease["params"]["lam"] == ease_row.params["lam"]  # refitted with its stored settings
    assert ease["metrics"]["ndcg@10"] > pop["metrics"]["ndcg@10"]
    assert payload["ranking"].startswith("full sort")
    assert 0 < ease["metrics"]["diversity@10"] <= 1  # share of list pairs from different categories

    assert main(["evaluate", "--db", demo_store, "--model", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err
