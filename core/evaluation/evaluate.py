"""Run several models under one protocol on one data set: the table a recommender researcher would trust.

Every model sees the same split. Baselines with a tuning grid (EASE's λ) are tuned on validation with models
fitted on `Split.train`, then refitted on `Split.train_full` (train + validation period) for the test figures,
as the S3-Rec-style Beauty numbers are produced. Models whose `fit` takes `valid=` (the LM) use validation
for early stopping instead and are fitted on `Split.train`. Ranking is full-sort against all items.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.evaluation.cold import COLD_MAX_PURCHASES, cold_slice_mask, cold_slice_metrics, ndcg_se
from core.evaluation.metrics import DEFAULT_KS, RankResult, hr_at_k, metrics_from_ranks, ndcg_at_k, rank_eval_set
from core.evaluation.protocols import EvalSet, Split, make_split
from core.interactions import InteractionData
from core.models import MODEL_KINDS, make_model
from core.schema import ACTIVITY_BUCKETS, activity_bucket

TUNE_METRIC = "ndcg@10"
# Small default grids, tuned on validation.
DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "ease": {"lam": [20.0, 50.0, 100.0, 500.0]},
}
BASELINE_KINDS: tuple[str, ...] = ("popularity", "segment_popularity", "itemknn", "ease")
# Stored per-user ranks are capped here (every rank >= 20 scores 0 in NDCG@10 and HR@10 alike).
PAIRED_RANK_CAP = 20
# Items with fewer training purchases than this are "cold" in the breakdown.
COLD_ITEM_PURCHASES = 5
# The cold-item slice (core.evaluation.cold): held-out items with at most COLD_MAX_PURCHASES training purchases.
COLD_SLICE = f"cold item (≤{COLD_MAX_PURCHASES} buys)"

Progress = Callable[[str], None]


@dataclass
class ModelSpec:
    """One model to evaluate: a kind fitted on the split (optionally tuned), or a registered model version.

    A registered model is refitted on the split with its stored parameters (`model_id` recorded), because the
    stored artifact may have been trained on the very purchases the protocol holds out.
    """

    label: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] | None = None
    model_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"Model {self.label!r}: unknown kind {self.kind!r}; known: {', '.join(MODEL_KINDS)}")


@dataclass
class ModelResult:
    label: str
    kind: str
    model_id: int | None
    params: dict[str, Any]
    metrics: dict[str, float]
    activity: dict[str, dict[str, float]]  # activity bucket -> {n_users, hr@k, ndcg@k}
    # held-out item groups -> {n_users, hr@k, ndcg@k}: cold / warm, and (overlapping) repeat / new to the customer
    items: dict[str, dict[str, float]]
    fit_seconds: float
    eval_seconds: float
    fitted_on: str
    tuning: list[dict[str, Any]] = field(default_factory=list)  # [{params, ndcg@10}] on validation
    error: str | None = None
    # Per test user (same order for every model of a run), the held-out item's rank capped at PAIRED_RANK_CAP:
    # enough for per-user NDCG@10, so two models can be compared user by user (core.evaluation.paired).
    user_ranks: list[int] = field(default_factory=list)


@dataclass
class EvaluationResult:
    protocol: str
    dataset: str
    dataset_id: int | None
    n_users: int
    n_items: int
    n_test_users: int
    ks: tuple[int, ...]
    results: list[ModelResult]
    config: dict[str, Any] = field(default_factory=dict)
    # Per test user (the order of ModelResult.user_ranks): is the held-out item in the cold-item slice? So a
    # paired difference can be taken on the slice too (core.evaluation.paired).
    cold_users: list[bool] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """One row per model: every metric plus fit/eval seconds."""
        rows = []
        for r in self.results:
            row: dict[str, Any] = {"model": r.label, "kind": r.kind}
            row.update({k: v for k, v in r.metrics.items() if k != "n_users"})
            row.update({"fit_s": round(r.fit_seconds, 2), "eval_s": round(r.eval_seconds, 2), "error": r.error})
            rows.append(row)
        frame = pd.DataFrame(rows)
        if "error" in frame and frame["error"].isna().all():
            frame = frame.drop(columns="error")
        return frame

    def breakdown(self, what: str = "activity") -> pd.DataFrame:
        """Long table: model, group, n_users, metrics (what = "activity" or "items")."""
        rows = []
        for r in self.results:
            for group, vals in getattr(r, what).items():
                rows.append({"model": r.label, "group": group, **vals})
        return pd.DataFrame(rows)

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready entries, one per model (what db.evaluations stores)."""
        return [_jsonable(asdict(r)) for r in self.results]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def baseline_specs(kinds: Sequence[str] = BASELINE_KINDS, tune: bool = True) -> list[ModelSpec]:
    """Specs for baseline kinds with their default tuning grids."""
    return [ModelSpec(label=k, kind=k, grid=DEFAULT_GRIDS.get(k) if tune else None) for k in kinds]


def _grid_points(grid: dict[str, list[Any]] | None) -> list[dict[str, Any]]:
    if not grid:
        return []
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def planned_stages(spec: ModelSpec, has_validation: bool) -> int:
    """How many progress messages run_evaluation sends for `spec`: fitting, one per tuning point, scoring."""
    return 2 + (len(_grid_points(spec.grid)) if has_validation else 0)


def _group_metrics(rank: np.ndarray, ks: Sequence[int]) -> dict[str, float]:
    out: dict[str, float] = {"n_users": int(len(rank))}
    for k in ks:
        out[f"hr@{k}"] = hr_at_k(rank, k)
        out[f"ndcg@{k}"] = ndcg_at_k(rank, k)
    return out


def activity_groups(eval_set: EvalSet) -> np.ndarray:
    """Activity bucket per evaluated user: purchases in the history the model sees ("0" = cold user)."""
    return np.asarray([activity_bucket(len(h)) for h in eval_set.histories], dtype=object)


def item_groups(eval_set: EvalSet, train_counts: np.ndarray, threshold: int = COLD_ITEM_PURCHASES) -> np.ndarray:
    """"cold" when the target had fewer than `threshold` training purchases, else "warm"."""
    cold = np.asarray(train_counts)[eval_set.targets] < threshold
    return np.where(cold, f"cold (<{threshold} buys)", f"warm ({threshold}+ buys)").astype(object)


def _breakdowns(
    result: RankResult, eval_set: EvalSet, train_counts: np.ndarray, ks: Sequence[int], cold_threshold: int
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    acts = activity_groups(eval_set)
    order = ["0"] + [name for name, _, _ in ACTIVITY_BUCKETS]
    activity = {b: _group_metrics(result.ranks[acts == b], ks) for b in order if (acts == b).any()}
    groups = item_groups(eval_set, train_counts, cold_threshold)
    items = {g: _group_metrics(result.ranks[groups == g], ks) for g in sorted(set(groups))}
    # A second, overlapping view: re-buying an item already in the history is far easier to predict.
    repeat = np.asarray([t in h for t, h in zip(eval_set.targets, eval_set.histories)], dtype=bool)
    for name, mask in (("repeat purchase", repeat), ("new to the customer", ~repeat)):
        if mask.any():
            items[name] = _group_metrics(result.ranks[mask], ks)
    cold = cold_slice_metrics(result.ranks, eval_set, train_counts, ks)
    if cold["n_users"]:
        items[COLD_SLICE] = cold
    return activity, items


def diversity_inputs(data: InteractionData, mode: str = "auto") -> tuple[np.ndarray | None, list | None]:
    """(item_vectors, categories) for intra-list diversity: text embeddings if the items have text, else categories.

    mode: "auto" | "text" | "category" | "none".
    """
    if mode not in ("auto", "text", "category", "none"):
        raise ValueError(f"diversity mode must be auto, text, category or none; got {mode!r}")
    if mode == "none":
        return None, None
    if mode in ("auto", "text") and data.has_text():
        from core.text_encoder import encode_cached

        return encode_cached(data.item_texts()), None
    if mode in ("auto", "category") and "category" in data.items and data.items["category"].notna().any():
        return None, data.items["category"].tolist()
    return None, None


def run_evaluation(
    data: InteractionData,
    specs: Sequence[ModelSpec],
    protocol: str = "loo",
    ks: Sequence[int] = DEFAULT_KS,
    split: Split | None = None,
    split_kwargs: dict[str, Any] | None = None,
    diversity: str = "auto",
    cold_threshold: int = COLD_ITEM_PURCHASES,
    batch_size: int = 512,
    progress: Progress | None = None,
    scoring_variants: bool = False,
) -> EvaluationResult:
    """Fit, tune and score every spec on the same split; a model that fails is reported, not fatal.

    `scoring_variants`: also score each fitted model's `scoring_variants()` (the same fit with a scoring-time
    part off), one more result each, labelled "<label>, <what is off>": paired ablations without refitting."""
    if not specs:
        raise ValueError("run_evaluation: choose at least one model")
    ks = tuple(sorted({int(k) for k in ks}))
    if not ks or ks[0] < 1:
        raise ValueError(f"run_evaluation: K values must be positive, got {ks}")
    say = progress or (lambda _msg: None)
    if split is None:
        split = make_split(data, protocol, **(split_kwargs or {}))
    if len(split.test) == 0:
        raise ValueError(
            f"Protocol {split.protocol!r} leaves no test users on {data.name!r}: leave-one-out needs users with "
            "at least 3 purchases, the temporal split needs purchases after the cutoff"
        )
    fit_data = split.test_fit_data()
    train_counts = fit_data.purchase_counts()
    vectors, categories = diversity_inputs(data, diversity)
    results = []
    for spec in specs:
        say(f"{spec.label}: fitting")
        try:
            results.extend(_evaluate_spec(spec, split, ks, train_counts, vectors, categories, cold_threshold,
                                          batch_size, say, scoring_variants))
        except (ValueError, RuntimeError, MemoryError, ImportError) as exc:
            results.append(
                ModelResult(spec.label, spec.kind, spec.model_id, dict(spec.params), {}, {}, {}, 0.0, 0.0, "",
                            error=f"{type(exc).__name__}: {exc}")
            )
    return EvaluationResult(
        protocol=split.protocol,
        dataset=data.name,
        dataset_id=data.dataset_id,
        n_users=data.n_users,
        n_items=data.n_items,
        n_test_users=len(split.test),
        ks=ks,
        results=results,
        config={"split": split_kwargs or {}, "cold_item_purchases": cold_threshold, "diversity": diversity,
                "n_valid_users": len(split.valid), "ranking": "full sort over all items, history excluded"},
        cold_users=cold_slice_mask(split.test, train_counts).tolist(),
    )


def _evaluate_spec(
    spec: ModelSpec,
    split: Split,
    ks: tuple[int, ...],
    train_counts: np.ndarray,
    vectors: np.ndarray | None,
    categories: list | None,
    cold_threshold: int,
    batch_size: int,
    say: Progress,
    scoring_variants: bool = False,
) -> list[ModelResult]:
    """The spec's result, then (with `scoring_variants`) one per scoring variant of the same fit."""
    params = dict(spec.params)
    tuning: list[dict[str, Any]] = []
    points = _grid_points(spec.grid)
    if points and len(split.valid):
        best = None
        for point in points:
            trial = {**params, **point}
            model = make_model(spec.kind, **trial).fit(split.train)
            val = rank_eval_set(model, split.valid, k_max=10, batch_size=batch_size)
            score = ndcg_at_k(val.ranks, 10)
            tuning.append({"params": point, TUNE_METRIC: score})
            say(f"{spec.label}: {point} -> validation {TUNE_METRIC} {score:.4f}")
            if best is None or score > best[0]:
                best = (score, point)
            del model
        params.update(best[1])
    model = make_model(spec.kind, **params)
    t0 = time.perf_counter()
    if model.uses_validation and len(split.valid):
        model.fit(split.train, valid=split.valid)
        fitted_on = "train (validation for early stopping)"
    else:
        model.fit(split.test_fit_data())
        fitted_on = "train + validation period"
    fit_seconds = time.perf_counter() - t0
    history = getattr(model, "history_", None)
    if history:
        say(f"{spec.label}: trained {len(history)} epochs in {fit_seconds:.0f} s, best epoch "
            f"{getattr(model, 'best_epoch_', '?')} (validation ndcg@10 {getattr(model, 'best_val_ndcg_', 0.0):.4f})")
    info = getattr(model, "fit_info_", None) or {}
    # What the LM chose on validation after training (its purchase memory, its rare-item votes), for the log.
    for part, name, shown, off in (
        ("memory", "purchase memory", "weight {weight}, {k} neighbours, temperature {temperature}",
         "off (no setting beat the LM alone on validation)"),
        ("votes", "rare-item votes", "co-purchase {co_weight}, text {text_weight}, popularity damping {damping}",
         "off (every setting cost overall accuracy on validation)"),
    ):
        if part in info:
            chosen = info[part]
            say(f"{spec.label}: {name} {shown.format(**chosen) if chosen else off} "
                f"(tuned in {info.get(f'{part}_seconds', 0):.0f} s)")

    def scored(label: str, scorer, seconds: float, on: str) -> ModelResult:
        say(f"{label}: scoring {len(split.test)} users")
        t0 = time.perf_counter()
        result = rank_eval_set(scorer, split.test, k_max=max(ks), batch_size=batch_size)
        metrics = metrics_from_ranks(result, scorer.n_items_, ks, train_counts, vectors, categories)
        metrics["ndcg10_se"] = ndcg_se(result.ranks, 10)
        eval_seconds = time.perf_counter() - t0
        activity, items = _breakdowns(result, split.test, train_counts, ks, cold_threshold)
        return ModelResult(
            label=label,
            kind=spec.kind,
            model_id=spec.model_id,
            params=_jsonable(model.get_params()),
            metrics=metrics,
            activity=activity,
            items=items,
            fit_seconds=seconds,
            eval_seconds=eval_seconds,
            fitted_on=on,
            tuning=tuning,
            user_ranks=np.minimum(result.ranks, PAIRED_RANK_CAP).astype(int).tolist(),
        )

    out = [scored(spec.label, model, fit_seconds, fitted_on)]
    if scoring_variants:
        for off, variant in model.scoring_variants().items():
            out.append(scored(f"{spec.label}, {off}", variant, 0.0, f"the fit of {spec.label}, {off}"))
    return out
