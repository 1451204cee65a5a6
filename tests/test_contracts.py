"""One model contract, one scoring context, and the core functions the pages render (real data: ML-100K and the
demo shop)."""

from __future__ import annotations

import argparse
import inspect

import numpy as np
import pytest

from core.models import MODEL_KINDS, make_model, model_class
from tests.conftest import shared_path

BASELINES = [k for k in MODEL_KINDS if not model_class(k).is_slow]


@pytest.fixture(scope="module")
def ml100k():
    from core.benchmark_datasets import load_ml100k

    return load_ml100k(shared_path("ml-100k", "u.data").parent)


def test_schema_defaults_are_the_init_defaults():
    for kind in MODEL_KINDS:
        cls = model_class(kind)
        init = inspect.signature(cls.__init__).parameters
        for param in cls.param_schema():
            assert param.default == init[param.name].default, (kind, param.name)
            assert param.type is bool or param.low is None or param.low <= param.default <= param.high
    form = {p.name for p in model_class("lm").param_schema() if p.in_form}
    assert {"epochs", "max_minutes", "lr", "n_layer", "n_embd", "dropout", "max_len", "text_init"} <= form


def _train_args(*argv: str):
    from core.cli.train import configure

    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    configure(parser)
    return parser.parse_args(list(argv))


def test_cli_flags_come_from_the_schema_and_belong_to_their_model():
    from core.cli.train import request_from_args

    req = request_from_args(_train_args("--model", "lm", "--epochs", "3", "--lr", "0.01", "--no-text-init"), "")
    assert req.model_params == {"epochs": 3, "lr": 0.01, "text_init": False}
    with pytest.raises(ValueError, match="--epochs"):
        request_from_args(_train_args("--model", "ease", "--epochs", "3"), "")
    with pytest.raises(ValueError, match="--warm-start"):
        request_from_args(_train_args("--model", "popularity", "--warm-start", "1"), "")
    assert request_from_args(_train_args("--model", "ease", "--param", "lam=50"), "").model_params == {"lam": 50}


@pytest.mark.parametrize("kind", BASELINES)
def test_every_baseline_fits_through_the_one_contract(kind, ml100k):
    from core.evaluation.protocols import leave_one_out

    split = leave_one_out(ml100k)
    steps: list[dict] = []
    model = make_model(kind).fit(split.train, valid=split.valid, callback=steps.append)
    assert len(steps) == 1 and steps[0]["step"] == 0
    assert model.fit_info_["seconds"] >= 0 and "best_epoch" not in model.fit_info_
    assert not model.uses_validation and not model.can_score_new_items(["a new red lipstick"])
    with pytest.raises(NotImplementedError, match="cannot score items"):
        model.score_new_items([np.zeros(0, dtype=np.int64)], ["a new red lipstick"])
    assert model.score(split.test.histories[:3]).shape == (3, ml100k.n_items)


def test_scoring_context_maps_another_catalogue_and_masks_bought_items(ml100k):
    from core.scoring import ScoringContext

    # The model knows only the first 1,000 items of the store, in reverse order.
    keep = np.arange(1000)[::-1]
    position = {int(i): j for j, i in enumerate(keep)}
    old_seqs = [np.array([position[int(i)] for i in s if int(i) in position], dtype=np.int64) for s in ml100k.sequences]
    old = ml100k.with_sequences(old_seqs)
    old.item_keys = ml100k.item_keys[keep]
    model = make_model("popularity").fit(old)
    ctx = ScoringContext(ml100k, model)
    assert not ctx.mapping.same and len(ctx.mapping.known) == 1000
    hist = [ml100k.sequences[0], ml100k.sequences[1]]
    scores = ctx.scores(hist)
    raw = model.score([np.array([position[int(i)] for i in h if int(i) in position]) for h in hist])
    assert np.array_equal(scores[:, keep], raw)
    assert np.isneginf(scores[:, 1000:]).all()
    masked = ctx.mask_bought(scores.copy(), hist)
    assert np.isneginf(masked[0, hist[0]]).all() and np.isneginf(masked[1, hist[1]]).all()
    unbought = np.setdiff1d(np.arange(1000), hist[0])
    assert np.array_equal(masked[0, unbought], scores[0, unbought])
    matrix = ctx.user_item_matrix()
    assert matrix.shape == (ml100k.n_users, ml100k.n_items) and matrix[0, hist[0]].min() == 1.0


def test_evaluation_tables_for_the_page(demo_store):
    from core.evaluation.report import metrics_long, run_errors
    from core.evaluation.store_runs import evaluate_store
    from db.engine import session_scope
    from db.evaluations import run_table

    with session_scope(demo_store) as s:
        _, run = evaluate_store(s, ["baseline:popularity"])
        table = run_table(run)
    long = metrics_long(table)
    assert run_errors(table).empty
    row = long[(long["name"] == "ndcg") & (long["K"] == "10")]
    assert len(row) == 1 and row["value"].iloc[0] == table["ndcg@10"].iloc[0]
    assert set(long["K"]) == {"5", "10", "20"} and len(long) == sum("@" in c for c in table.columns)


def test_replay_of_two_registered_models(demo_store):
    from core.abtest.replay import replay_registered
    from db.engine import session_scope
    from db.registry import list_models

    with session_scope(demo_store) as s:
        rows = {m.name: m for m in list_models(s)}
        res = replay_registered(s, rows["popularity"].id, rows["ease"].id, k=10, refit=False)
    assert set(res.exposures["variant"]) == {f"A: popularity v{rows['popularity'].version}",
                                             f"B: ease v{rows['ease'].version}"}
    assert res.analysis.control.startswith("A: popularity") and res.n_users == len(res.exposures)


def test_campaign_statistics_for_the_page(demo_store):
    from core.coupons import Budget, CampaignSpec, Coupon
    from core.coupons.plan import plan_campaign
    from db.engine import session_scope

    spec = CampaignSpec(name="t", budget=Budget("count", 50.0), coupon=Coupon("fixed", 10.0), seed=1).validate()
    with session_scope(demo_store) as s:
        plan = plan_campaign(s, spec)
    order = plan.customers_targeted_first()
    assert order[: len(plan.targets)] == plan.targets["user_id"].tolist()
    assert sorted(order) == sorted(plan.scored["user_id"].tolist())
    ev = plan.evaluation
    assert ev is not None
    table = ev.qini_table()
    assert [r["targeting"] for r in table] == ["random", *(le.name for le in ev.learners)]
    curves = ev.qini_curves()
    assert list(curves)[-1] == "random" and curves["random"][1][-1] == pytest.approx(
        ev.learners[0].curve_gain[-1] * ev.n_test)
