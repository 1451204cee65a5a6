"""The LM's purchase memory: a kNN-LM (Khandelwal et al., ICLR 2020) over the LM's own hidden states.

Why: with the dropout a sparse shop needs (0.5 on Beauty) the transformer generalises well but memorises little of
what individual histories went on to buy; the memory adds that back (Beauty NDCG@10 +5.5 %, though it does not win
the <= 2-purchase items back from item-kNN: a broad vote, which validation prefers, favours well-bought items). The memory
keeps, for every training position, the LM's hidden state there (key) and the item bought next (value). At scoring,
the `k` stored states nearest the customer's state vote for their next items (softmax of -squared distance /
temperature) and the vote is mixed into the LM's own softmax: p = (1 - weight) p_LM + weight p_memory. The three
settings are chosen on the validation purchases; where no setting beats the plain LM (ML-100K) the memory is off.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from core.models.lm_network import torch_module

# The stored states nearest a customer's: a few tens carry the signal (more dilute it: Beauty 32 > 256).
MEMORY_GRID_K = (32, 128)
MEMORY_GRID_WEIGHT = (0.1, 0.2, 0.3)
# Relative temperatures: multiples of the median squared distance to the nearest stored state, so the grid does
# not depend on the width of the hidden state. Beauty's validation prefers a broad vote (30; 1-3 lose to the LM).
MEMORY_GRID_TEMPERATURE = (3.0, 10.0, 30.0, 100.0)
# Bound on the stored states (float32 in memory; beyond it a random set of histories is kept): 2M of width 64,
# 170k of a GPT-2 checkpoint's 768.
MAX_MEMORY_BYTES = 512 * 2**20
# Queries per distance product: 256 x 176k Beauty keys is a 180 MB float32 block.
_QUERY_CHUNK = 256


@dataclass(frozen=True)
class MemorySetting:
    """How the memory votes: `weight` of its distribution in the mix, `k` neighbours, `temperature` (relative)."""

    weight: float
    k: int
    temperature: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def memory_grid() -> list[MemorySetting]:
    return [MemorySetting(w, k, t) for w in MEMORY_GRID_WEIGHT for k in MEMORY_GRID_K for t in MEMORY_GRID_TEMPERATURE]


class PurchaseMemory:
    """(hidden state -> next item) pairs of the training positions, and the mix of their vote into LM scores."""

    def __init__(self, keys: np.ndarray, values: np.ndarray, n_items: int, scale: float,
                 setting: MemorySetting | None = None):
        torch = torch_module()
        if len(keys) != len(values):
            raise ValueError(f"PurchaseMemory: {len(keys)} keys for {len(values)} values")
        self.keys = torch.as_tensor(np.asarray(keys, dtype=np.float32))
        self.values = torch.as_tensor(np.asarray(values, dtype=np.int64))
        self.key_norms = (self.keys * self.keys).sum(1)
        # Items the memory holds a purchase of; for the others it abstains (their score stays the LM's own).
        self.known = torch.bincount(self.values, minlength=int(n_items))[: int(n_items)] > 0
        self.n_items, self.scale, self.setting = int(n_items), float(scale), setting

    @classmethod
    def build(cls, states: Callable[[Sequence[np.ndarray]], np.ndarray], inputs: Sequence[np.ndarray],
              targets: Sequence[np.ndarray], n_items: int) -> PurchaseMemory:
        """`states(rows)`: the hidden state at every position of each input row, stacked in row order."""
        width = len(states(inputs[:1])[0]) if len(inputs) else 1
        lengths = np.fromiter((len(t) for t in targets), dtype=np.int64, count=len(targets))
        cap = MAX_MEMORY_BYTES // (4 * width)
        if lengths.sum() > cap:  # a random set of rows that fits
            order = np.random.default_rng(0).permutation(len(lengths))
            keep = np.sort(order[np.cumsum(lengths[order]) <= cap])
            inputs, targets = [inputs[r] for r in keep], [targets[r] for r in keep]
        keys = states(inputs)
        values = np.concatenate([np.asarray(t, dtype=np.int64) for t in targets]) if len(targets) else np.zeros(0)
        memory = cls(keys, values, n_items, 1.0)
        memory.scale = memory._nearest_scale()
        return memory

    def _nearest_scale(self, sample: int = 2000) -> float:
        """Median squared distance from a stored state to its nearest distinct stored state (the temperature unit)."""
        torch = torch_module()
        n = len(self.keys)
        if n < 2:
            return 1.0
        idx = torch.as_tensor(np.random.default_rng(0).choice(n, size=min(sample, n), replace=False))
        d = self._distances(self.keys[idx])
        d[torch.arange(len(idx)), idx] = float("inf")
        nearest = d.min(dim=1).values
        nearest = nearest[nearest > 0]  # repeated states (every history's first position) say nothing of scale
        return max(float(nearest.median()), 1e-6) if len(nearest) else 1.0

    def _distances(self, q):
        torch = torch_module()
        q = q.float()
        return ((q * q).sum(1, keepdim=True) - 2.0 * q @ self.keys.T + self.key_norms).clamp_min_(0.0) \
            if len(self.keys) else torch.zeros((len(q), 0))

    def neighbours(self, q, k: int):
        """(squared distances, items) of the `k` stored states nearest each query state."""
        torch = torch_module()
        k = min(k, len(self.keys))
        out_d, out_i = [], []
        for s in range(0, len(q), _QUERY_CHUNK):
            neg, idx = torch.topk(-self._distances(q[s : s + _QUERY_CHUNK]), k, dim=1)
            out_d.append(-neg)
            out_i.append(self.values[idx])
        return torch.cat(out_d), torch.cat(out_i)

    def votes(self, dist, items, setting: MemorySetting):
        """p_memory over the catalogue from precomputed neighbours (zero for items no neighbour bought)."""
        torch = torch_module()
        k = min(setting.k, dist.shape[1])
        w = torch.softmax(-dist[:, :k] / (setting.temperature * self.scale), dim=1)
        return torch.zeros((len(dist), self.n_items), dtype=torch.float32).scatter_add_(1, items[:, :k], w)

    def mix(self, logits, q, setting: MemorySetting | None = None):
        """log((1 - weight) softmax(logits) + weight p_memory): the memory-aware scores, ranked like probabilities."""
        setting = setting or self.setting
        if setting is None or setting.weight <= 0 or not len(self.keys):
            return logits
        torch = torch_module()
        dist, items = self.neighbours(q, setting.k)
        return mix_log_probs(torch.log_softmax(logits.float(), dim=1), self.votes(dist, items, setting),
                             items[:, : setting.k], setting.weight, self.known)

    def arrays(self) -> dict[str, np.ndarray]:
        """What a saved model stores (float16 keys: half the disk, ranking unchanged within rounding)."""
        return {"memory_keys_": self.keys.numpy().astype(np.float16), "memory_values_": self.values.numpy()}


def mix_log_probs(lm_log_probs, votes, voted, weight: float, known=None):
    """log((1 - weight) p_LM + weight p_memory), from log p_LM, the dense votes and the voted items per row.

    Only the voted items (k per row) need a log-sum; every other item is log p_LM + log(1 - weight). An item the
    memory never stored (`known` False: a new item placed by its text) keeps log p_LM: the memory has no evidence
    on it, and scaling it down alone cut Online Retail's new-item NDCG@10 from .0558 to .0410."""
    torch = torch_module()
    out = lm_log_probs + math.log1p(-weight)
    if known is not None:
        out = torch.where(known, out, lm_log_probs)
    vote = votes.gather(1, voted)
    out.scatter_(1, voted, torch.logaddexp(out.gather(1, voted), torch.log(vote * weight)))
    return out


def tune_memory(memory: PurchaseMemory, last_state: Callable, histories: Sequence[np.ndarray], targets: np.ndarray,
                grid: Sequence[MemorySetting] | None = None, k_eval: int = 10, chunk: int = 1024,
                ) -> tuple[MemorySetting | None, list[dict[str, float]]]:
    """The setting with the best validation NDCG@k_eval, or None where none beats the LM alone.

    `last_state(histories)`: the LM's (last hidden states, logits) after those histories. Returns (best, table),
    table rows {weight, k, temperature, ndcg}, the first (weight 0) being the LM alone."""
    from core.evaluation.metrics import ndcg_at_k, ranks

    torch = torch_module()
    grid = list(grid or memory_grid())
    kmax = max(s.k for s in grid)
    targets = np.asarray(targets)
    rank = np.zeros((len(grid) + 1, len(targets)), dtype=np.int64)
    for start in range(0, len(targets), chunk):
        hist, tgt = histories[start : start + chunk], targets[start : start + chunk]
        states, logits = last_state(hist)
        rows = slice(start, start + len(tgt))
        rank[0, rows] = ranks(logits.float().numpy(), hist, tgt)
        lm = torch.log_softmax(logits.float(), dim=1)
        dist, items = memory.neighbours(states, kmax)
        for g, setting in enumerate(grid, start=1):
            votes = memory.votes(dist, items, setting)
            mixed = mix_log_probs(lm, votes, items[:, : setting.k], setting.weight, memory.known)
            rank[g, rows] = ranks(mixed.numpy(), hist, tgt)
    ndcg = [ndcg_at_k(r, k_eval) for r in rank]
    table = [{"weight": 0.0, "k": 0, "temperature": 0.0, "ndcg": ndcg[0]}]
    table += [{**s.as_dict(), "ndcg": v} for s, v in zip(grid, ndcg[1:])]
    g = int(np.argmax(ndcg))
    return (grid[g - 1] if g > 0 else None), table
