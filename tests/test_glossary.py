"""Every metric a page shows has one plain sentence in core.glossary (shown as the column's tooltip): the figures
the A/B tables, the evaluation metrics and the coupon evaluation produce are checked against it, so a new metric
column without a meaning fails here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.abtest.analysis import analyse, display_tables
from core.coupons.plan import LearnerEval, UpliftEvaluation
from core.evaluation.metrics import RankResult, metrics_from_ranks
from core.glossary import GLOSSARY, meaning
from core.uplift import LEARNERS
from pages.components.labels import LABELS


def _ab_frame(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treated = rng.integers(0, 2, n)
    pre = rng.gamma(2.0, 10.0, n)
    revenue = np.maximum(0.0, 0.8 * pre + rng.normal(0, 10, n) + 2.0 * treated)
    return pd.DataFrame({"user_id": np.arange(n), "variant": np.where(treated == 1, "treatment", "control"),
                         "converted": (revenue > 30).astype(int), "revenue": revenue, "pre_metric": pre})


def test_every_ab_figure_column_has_a_meaning():
    tables = display_tables(analyse(_ab_frame(), control="control", planned_split={"control": 0.5, "treatment": 0.5}))
    assert {"arms", "comparisons", "srm", "revenue", "cuped"} <= set(tables)
    figures = {c for t in tables.values() for c in t.columns if pd.api.types.is_float_dtype(t[c])}
    assert {"conversion rate", "sequential p-value", "chance to beat control", "variance removed"} <= figures
    missing = sorted(c for c in figures if meaning(c) is None)
    assert not missing, f"A/B columns without a glossary entry: {missing}"


def test_every_evaluation_metric_has_a_meaning():
    result = RankResult(ranks=np.array([1, 3, 12, 50]), top=np.array([[0, 1], [1, 2], [2, 3], [3, 0]]))
    names = metrics_from_ranks(result, n_items=5, ks=(10,), train_counts=np.array([5, 4, 3, 2, 1]))
    names = [n for n in names if n != "n_users"]
    assert {"ndcg@10", "hr@10", "mrr@10", "novelty@10"} <= set(names)
    assert not [n for n in names if meaning(n) is None]
    assert meaning(LABELS["val_ndcg10"]) is not None  # the training page's "validation NDCG@10"


def test_every_coupon_evaluation_figure_and_learner_has_a_meaning():
    ev = UpliftEvaluation(1, "converted", 0.3, 100, 50, 0.01, 0.0, 0.01, 0.01,
                          [LearnerEval(n, 0.0, 0.0, [0.0], [0.0]) for n in LEARNERS])
    columns = [c for c in ev.qini_table()[0] if c != "targeting"]
    assert not [c for c in columns if meaning(c) is None]
    assert all(meaning(n) for n in LEARNERS)
    for column in ("propensity", "p0", "p1", "uplift", "expected_cost", "expected_profit", "incr_revenue"):
        assert meaning(column), column


def test_meaning_normalises_and_rejects_unknown_words():
    assert meaning("NDCG@10") == meaning("ndcg") == GLOSSARY["ndcg"]
    assert meaning("Qini low") == meaning("Qini coefficient") and meaning("uplift@30% high") == GLOSSARY["uplift"]
    assert meaning("title") is None and meaning(None) is None
