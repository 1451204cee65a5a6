"""Running RecoLM's batch work on Ray (`--engine ray`): batch scoring of every customer and offline evaluation.

Ray is imported only here and only when asked for; the single-process path stays the default. Each piece calls
the single-process function it parallelises (core.recommend.batch, core.evaluation.evaluate), so both engines
give the same results. Local mode by default (`ray.init(num_cpus=...)` on this machine); a cluster with
`RECOLM_RAY_ADDRESS=ray://host:10001` (or `auto`).
"""

from core.distributed.ray_engine import ScorerPool, ray_batch_recommend, ray_run_evaluation, ray_session

__all__ = ["ScorerPool", "ray_batch_recommend", "ray_run_evaluation", "ray_session"]
