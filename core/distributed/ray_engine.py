"""Ray actors and tasks around the single-process batch scorer and evaluator.

Batch scoring: the RecommendationService (data + model) is put in the object store once; each actor receives
it once (so each worker loads the model once), scores its shards of users with `batch_recommend`, and writes
one Parquet partition per shard. The driver reads the partitions back in shard order (the same frame the
single-process path returns) and stores the batch.

Evaluation: the split is made once on the driver; every model is fitted and scored by `run_evaluation` in its
own task on that same split, and the per-model results are put back together in the order given.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.config import PROJECT_ROOT, ray_address
from core.evaluation.evaluate import EvaluationResult, ModelSpec
from core.recommend.batch import BatchResult
from core.recommend.rerank import ItemFilter
from core.recommend.service import RecommendationService

DEFAULT_LOCAL_CPUS = 2


@contextmanager
def ray_session(num_cpus: int | None = None, address: str | None = None) -> Iterator[Any]:
    """ray.init for the duration (local mode unless RECOLM_RAY_ADDRESS / `address`), reusing a running one."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    address = address or ray_address()
    if address:
        # A cluster's nodes get RecoLM's code shipped with the job.
        import core
        import db

        ray.init(address=address, runtime_env={"py_modules": [core, db]}, log_to_driver=False)
    else:
        pythonpath = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        ray.init(num_cpus=num_cpus or DEFAULT_LOCAL_CPUS, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": pythonpath, "RECOLM_THREADS": "1"}})
    try:
        yield ray
    finally:
        ray.shutdown()


@dataclass
class ShardResult:
    shard: int
    path: str
    n_users: int
    seconds: float
    worker_pid: int
    worker_peak_rss_mb: float  # the worker's peak resident memory so far (model + one shard at a time)


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _scorer_class(ray):
    @ray.remote(num_cpus=1)
    class Scorer:
        """One worker: the service (data + model) arrives once, then shard after shard is scored."""

        def __init__(self, service: RecommendationService):
            self.service = service

        def score(self, shard: int, users: np.ndarray, out_dir: str, k: int, exclude_seen: bool,
                  flt: ItemFilter | None, with_reasons: bool) -> ShardResult:
            from core.recommend.batch import batch_recommend

            t0 = time.perf_counter()
            result = batch_recommend(self.service, users, k=k, exclude_seen=exclude_seen, flt=flt,
                                     with_reasons=with_reasons)
            path = Path(out_dir) / f"part-{shard:05d}.parquet"
            result.frame.to_parquet(path, index=False)
            n = len(users)
            del result
            return ShardResult(shard, str(path), n, time.perf_counter() - t0, os.getpid(), _peak_rss_mb())

        def pid(self) -> int:
            return os.getpid()

    return Scorer


def shard_users(users: np.ndarray, n_shards: int) -> list[np.ndarray]:
    """Contiguous shards (so the partitions concatenate back in the single-process order)."""
    n_shards = max(1, min(n_shards, len(users)))
    return [s for s in np.array_split(np.asarray(users, dtype=np.int64), n_shards) if len(s)]


class ScorerPool:
    """`n_workers` Ray actors holding one service each (put in the object store once, received once per actor).

    Reusable across batches, so the workers' start-up and model load are paid once (`startup_seconds`).
    """

    def __init__(self, service: RecommendationService, n_workers: int = DEFAULT_LOCAL_CPUS):
        import ray

        t0 = time.perf_counter()
        self.service = service
        ref = ray.put(service)
        scorer = _scorer_class(ray)
        self.actors = [scorer.remote(ref) for _ in range(max(1, n_workers))]
        ray.get([a.pid.remote() for a in self.actors])  # wait until every worker holds the model
        self.startup_seconds = time.perf_counter() - t0

    def run(self, out_dir: str | Path, user_indices: np.ndarray | None = None, k: int = 10, exclude_seen: bool = True,
            flt: ItemFilter | None = None, with_reasons: bool = True, users_per_shard: int = 50_000,
            collect: bool = True) -> tuple[BatchResult, list[ShardResult]]:
        """Score the users shard by shard (at least one shard per worker); see ray_batch_recommend."""
        import ray

        t0 = time.perf_counter()
        n_users = self.service.data.n_users
        users = np.arange(n_users) if user_indices is None else np.asarray(user_indices, dtype=np.int64)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("part-*.parquet"):
            old.unlink()
        n = len(self.actors)
        shards = shard_users(users, max(n, -(-len(users) // users_per_shard)))
        pending = [self.actors[i % n].score.remote(i, part, str(out), k, exclude_seen, flt, with_reasons)
                   for i, part in enumerate(shards)]
        shard_results = sorted(ray.get(pending), key=lambda r: r.shard)
        frames = [pd.read_parquet(r.path) for r in shard_results] if collect else []
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return BatchResult(frame=frame, n_users=len(users), seconds=time.perf_counter() - t0), shard_results

    def close(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []

    def __enter__(self) -> ScorerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def ray_batch_recommend(
    service: RecommendationService,
    out_dir: str | Path,
    user_indices: np.ndarray | None = None,
    k: int = 10,
    exclude_seen: bool = True,
    flt: ItemFilter | None = None,
    with_reasons: bool = True,
    n_workers: int = DEFAULT_LOCAL_CPUS,
    users_per_shard: int = 50_000,
    collect: bool = True,
) -> tuple[BatchResult, list[ShardResult]]:
    """`core.recommend.batch.batch_recommend` sharded over Ray actors; Parquet partitions land in `out_dir`.

    Shards are contiguous, so the partitions read back in order give the single-process frame. collect=False
    leaves the rows in the partitions (the returned frame is empty), so the driver's memory does not grow with
    the number of users; each worker holds the model plus one shard. `seconds` includes the workers' start-up.
    """
    t0 = time.perf_counter()
    with ScorerPool(service, n_workers) as pool:
        result, shards = pool.run(out_dir, user_indices, k=k, exclude_seen=exclude_seen, flt=flt,
                                  with_reasons=with_reasons, users_per_shard=users_per_shard, collect=collect)
    result.seconds = time.perf_counter() - t0
    return result, shards


def _evaluate_one(data, spec: ModelSpec, split, ks, diversity: str, batch_size: int) -> EvaluationResult:
    from core.evaluation.evaluate import run_evaluation

    return run_evaluation(data, [spec], ks=ks, split=split, diversity=diversity, batch_size=batch_size)


def ray_run_evaluation(
    data,
    specs: Sequence[ModelSpec],
    protocol: str = "loo",
    ks: Sequence[int] = (5, 10, 20),
    split=None,
    split_kwargs: dict[str, Any] | None = None,
    diversity: str = "auto",
    batch_size: int = 512,
    progress=None,
    **_ignored: Any,
) -> EvaluationResult:
    """`core.evaluation.evaluate.run_evaluation` with one Ray task per model, all on the same split.

    Same signature as run_evaluation, so core.evaluation.store_runs.evaluate_store can take it as its runner.
    """
    import ray

    from core.evaluation.protocols import make_split

    if not specs:
        raise ValueError("run_evaluation: choose at least one model")
    say = progress or (lambda _msg: None)
    if split is None:
        split = make_split(data, protocol, **(split_kwargs or {}))
    data_ref, split_ref = ray.put(data), ray.put(split)
    task = ray.remote(num_cpus=1)(_evaluate_one)
    say(f"evaluating {len(specs)} model(s) in parallel on Ray")
    parts: list[EvaluationResult] = ray.get([task.remote(data_ref, s, split_ref, tuple(ks), diversity, batch_size)
                                             for s in specs])
    first = parts[0]
    config = {**first.config, "split": split_kwargs or {}, "engine": "ray"}
    return replace(first, results=[r for p in parts for r in p.results], config=config)
