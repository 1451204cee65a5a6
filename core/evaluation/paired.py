"""Which model to use, by how much, and how sure: a paired per-user difference in NDCG@10 with a 95 % interval.

Every model of a run ranks the same test users' held-out purchases, so the honest comparison is user by user:
d_u = NDCG@10_a(u) - NDCG@10_b(u), its mean and a normal-approximation interval mean +- 1.96 sd/sqrt(n)
(n is in the hundreds or thousands). Relative figures divide by model b's mean NDCG@10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.i18n import Message

Z95 = 1.959963984540054
K = 10


def per_user_ndcg(ranks: Sequence[int], k: int = K) -> np.ndarray:
    """1 / log2(rank + 2) inside the top k, else 0 (ranks are 0-based, as core.evaluation.metrics.ranks)."""
    r = np.asarray(ranks, dtype=np.float64)
    return np.where(r < k, 1.0 / np.log2(r + 2.0), 0.0)


@dataclass
class PairedDifference:
    """Model a minus model b on the same users."""

    a: str
    b: str
    ndcg_a: float
    ndcg_b: float
    diff: float
    low: float
    high: float
    n_users: int

    @property
    def relative(self) -> tuple[float, float, float] | None:
        """(difference, low, high) as shares of b's NDCG@10; None when b scores 0."""
        if self.ndcg_b <= 0:
            return None
        return self.diff / self.ndcg_b, self.low / self.ndcg_b, self.high / self.ndcg_b

    @property
    def se(self) -> float:
        """The standard error of `diff` (the interval is diff ± 1.96 se)."""
        return (self.high - self.diff) / Z95

    @property
    def clear(self) -> bool:
        """The interval excludes no difference."""
        return self.low > 0 or self.high < 0


def paired_difference(a: str, ranks_a: Sequence[int], b: str, ranks_b: Sequence[int], k: int = K) -> PairedDifference:
    x, y = per_user_ndcg(ranks_a, k), per_user_ndcg(ranks_b, k)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"paired_difference: {a} and {b} need the same, non-empty set of users "
                         f"({len(x)} vs {len(y)})")
    d = x - y
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0
    mean = float(d.mean())
    return PairedDifference(a, b, float(x.mean()), float(y.mean()), mean, mean - Z95 * se, mean + Z95 * se, len(d))


def _pct(x: float) -> str:
    return f"{x * 100:+.0f} %"


def _figures(p: PairedDifference) -> dict[str, Any]:
    rel = p.relative
    if rel is None:
        return {"diff": f"{p.diff:+.3f}", "low": f"{p.low:+.3f}", "high": f"{p.high:+.3f}"}
    return {"diff": _pct(rel[0]), "low": _pct(rel[1]), "high": _pct(rel[2])}


def verdict_sentence(p: PairedDifference) -> Message:
    """One plain sentence: use a (and by how much), or no clear winner. `p.a` is the model with the higher mean."""
    values = dict(a=p.a, b=p.b, x=f"{p.ndcg_a:.3f}", y=f"{p.ndcg_b:.3f}", n=p.n_users, **_figures(p))
    if p.clear:
        return Message("Use {a}: NDCG@10 {x} vs {y} for {b} ({diff}, 95 % CI {low} to {high}, paired over {n} "
                       "customers).", **values)
    return Message("No clear winner: {a} NDCG@10 {x} vs {y} for {b} ({diff}, 95 % CI {low} to {high}, paired over "
                   "{n} customers), so the difference may be chance; either will do.", **values)


def run_verdict(results: list[dict[str, Any]]) -> tuple[Message, PairedDifference | None] | None:
    """The closing sentence of a stored run (its `results` entries): the best model by NDCG@10 against the
    runner-up. None when fewer than two models scored; no interval for runs stored before per-user ranks."""
    ok = [r for r in results if not r.get("error") and (r.get("metrics") or {}).get("ndcg@10") is not None]
    if len(ok) < 2:
        return None
    ok.sort(key=lambda r: r["metrics"]["ndcg@10"], reverse=True)
    best, second = ok[0], ok[1]
    if not best.get("user_ranks") or len(best["user_ranks"]) != len(second.get("user_ranks") or []):
        return Message("Best by NDCG@10: {a} ({x:.3f} vs {y:.3f} for {b}); this run has no per-customer results, "
                       "so run it again for an interval.", a=best.get("label"), b=second.get("label"),
                       x=best["metrics"]["ndcg@10"], y=second["metrics"]["ndcg@10"]), None
    p = paired_difference(best.get("label"), best["user_ranks"], second.get("label"), second["user_ranks"])
    if p.diff < 0:  # the stored means and the capped per-user figures agree; guard against a tie order anyway
        p = paired_difference(second.get("label"), second["user_ranks"], best.get("label"), best["user_ranks"])
    return verdict_sentence(p), p
