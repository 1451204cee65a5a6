"""Offline evaluation: protocols (leave-one-out, temporal), full-sort metrics, and the multi-model runner."""

from core.evaluation.metrics import (
    DEFAULT_KS,
    coverage,
    evaluate_model,
    hr_at_k,
    intra_list_diversity,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    rank_eval_set,
    ranks,
)
from core.evaluation.protocols import EvalSet, Split, leave_one_out, make_split, temporal_split

__all__ = [
    "DEFAULT_KS",
    "EvalSet",
    "Split",
    "coverage",
    "evaluate_model",
    "hr_at_k",
    "intra_list_diversity",
    "leave_one_out",
    "make_split",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "rank_eval_set",
    "ranks",
    "temporal_split",
]
