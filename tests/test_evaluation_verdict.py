"""Issue 17.3: the Evaluation page ends with one plain sentence (which model, by how much, with a 95 % interval
of the paired per-user NDCG@10 difference); the logic is core.evaluation.paired."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.evaluate import ModelSpec, run_evaluation
from core.evaluation.paired import paired_difference, per_user_ndcg, run_verdict
from core.evaluation.protocols import leave_one_out
from tests.conftest import app_test, shared_path
from tests.test_evaluation_page import _run_evaluation


@pytest.fixture(scope="module")
def ml100k_result():
    from core.benchmark_datasets import load_ml100k

    data = load_ml100k(shared_path("ml-100k", "u.data").parent)
    specs = [ModelSpec("popularity", "popularity"), ModelSpec("ease", "ease", params={"lam": 500.0})]
    return run_evaluation(data, specs, split=leave_one_out(data), ks=(10,), diversity="none")


def test_verdict_on_ml100k_names_the_better_model_with_a_paired_interval(ml100k_result):
    records = ml100k_result.to_records()
    by_label = {r["label"]: r for r in records}
    sentence, p = run_verdict(records)
    best = max(records, key=lambda r: r["metrics"]["ndcg@10"])["label"]
    other = next(label for label in by_label if label != best)
    assert (p.a, p.b) == (best, other)
    # The stored per-user ranks reproduce each model's NDCG@10 exactly (same users, same order).
    for r in by_label.values():
        assert per_user_ndcg(r["user_ranks"]).mean() == pytest.approx(r["metrics"]["ndcg@10"], abs=1e-12)
    assert p.n_users == ml100k_result.n_test_users == len(by_label[best]["user_ranks"])
    assert p.low < p.diff < p.high and p.diff == pytest.approx(p.ndcg_a - p.ndcg_b, abs=1e-12)
    # The interval is the paired one: narrower than treating the two models' users as independent samples.
    x, y = per_user_ndcg(by_label[best]["user_ranks"]), per_user_ndcg(by_label[other]["user_ranks"])
    unpaired_half = 1.96 * np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    assert (p.high - p.low) / 2 < unpaired_half
    rel = p.relative
    if p.clear:
        assert str(sentence).startswith(f"Use {best}: NDCG@10 {p.ndcg_a:.3f} vs {p.ndcg_b:.3f} for {other}")
        assert f"({rel[0] * 100:+.0f} %, 95 % CI {rel[1] * 100:+.0f} % to {rel[2] * 100:+.0f} %" in str(sentence)
    else:
        assert str(sentence).startswith("No clear winner")


def test_a_tie_is_no_clear_winner():
    ranks = [0, 3, 25, 9, 1, 40, 2]
    p = paired_difference("a", ranks, "b", ranks)
    assert (p.diff, p.low, p.high, p.clear) == (0.0, 0.0, 0.0, False)
    records = [{"label": name, "metrics": {"ndcg@10": float(per_user_ndcg(ranks).mean())}, "user_ranks": ranks}
               for name in ("ease", "itemknn")]
    sentence, _ = run_verdict(records)
    assert str(sentence).startswith("No clear winner: ease NDCG@10") and "+0 %, 95 % CI +0 % to +0 %" in str(sentence)
    # A consistent gap is clear, in the right direction.
    gap = paired_difference("a", np.zeros(500, int), "b", np.full(500, 15))
    assert gap.clear and gap.low > 0 and "Use a:" in str(run_verdict([
        {"label": "a", "metrics": {"ndcg@10": 1.0}, "user_ranks": [0] * 500},
        {"label": "b", "metrics": {"ndcg@10": 0.0}, "user_ranks": [15] * 500}])[0])
    with pytest.raises(ValueError, match="same, non-empty"):
        paired_difference("a", [1, 2], "b", [1])


def test_runs_without_per_user_ranks_or_with_one_model():
    assert run_verdict([{"label": "ease", "metrics": {"ndcg@10": 0.1}}]) is None
    sentence, p = run_verdict([{"label": "ease", "metrics": {"ndcg@10": 0.1}},
                               {"label": "pop", "metrics": {"ndcg@10": 0.05}}])
    assert p is None and "run it again for an interval" in str(sentence)


@pytest.mark.slow
def test_evaluation_page_ends_with_the_sentence(demo_store):
    at = app_test("evaluation").run()
    at.multiselect(key="models").set_value(["baseline: popularity", "baseline: ease"])
    at.radio(key="protocol").set_value("loo")
    _run_evaluation(at, demo_store)
    assert not at.exception and not at.error
    assert at.subheader[-1].value.startswith("Which model to use")
    shown = [e.value for e in (*at.success, *at.info) if e.value.startswith(("Use ", "No clear winner"))]
    assert len(shown) == 1 and "95 % CI" in shown[0] and "ease" in shown[0] and "popularity" in shown[0]
