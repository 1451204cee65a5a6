"""The LM's rare-item votes: what item-kNN and the item text say of a customer, damped by popularity, mixed into
the LM's softmax.

Why: a softmax LM (its purchase memory too) ranks by how often things are bought, so an item with one or two
training purchases seldom reaches a top 10 even right after its only co-purchase partner was bought: on Beauty's
<= 2-purchase slice item-kNN's cosine (.0336) beat the LM (.0179). Two votes add that evidence back:
- co-purchase: item-kNN's score of each item (the sum of its cosine similarities to the history's items);
- text: a softmax over the cosine between each item's sentence vector and the mean of the last bought items';
each divided by the item's purchase count ** `damping`, normalised over the catalogue (history excluded), then
p = (1 - co_weight - text_weight) p_LM + co_weight p_co + text_weight p_text. Items never bought keep p_LM: the votes
hold no purchase of them (a new item placed by its text competes on the LM's own terms).

The setting is chosen on the validation purchases: among the settings whose overall NDCG@10 is at least the LM's
alone, the one that ranks the validation targets with <= 2 training purchases best (overall NDCG breaks ties, and
decides alone where that slice has too few users to measure). No setting keeps the LM's overall NDCG: votes off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from core.interactions import InteractionData
from core.models.itemknn import ItemKNN
from core.models.lm_network import torch_module

VOTES_GRID_CO = (0.0, 0.1, 0.2, 0.3, 0.4)
VOTES_GRID_TEXT = (0.0, 0.1)
VOTES_GRID_DAMPING = (0.5, 1.0, 1.5)
# Cosine temperature of the text vote (sentence-encoder cosines of related items differ by a few hundredths).
TEXT_TEMPERATURE = 0.02
# The text query: the mean sentence vector of a customer's last few items (the freshest intent).
TEXT_QUERY_ITEMS = 3
# Below this many validation users in the rare-item slice, its NDCG is noise: overall NDCG alone decides.
MIN_SLICE_USERS = 30


@dataclass(frozen=True)
class VoteSetting:
    """Shares of the co-purchase and text votes in the mix, and the popularity exponent that damps both."""

    co_weight: float
    text_weight: float
    damping: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def votes_grid(has_text: bool) -> list[VoteSetting]:
    texts = VOTES_GRID_TEXT if has_text else (0.0,)
    return [VoteSetting(c, t, d) for d in VOTES_GRID_DAMPING for c in VOTES_GRID_CO for t in texts if c or t]


class ItemVotes:
    """Item-kNN similarities, purchase counts and item text vectors: what the votes are computed from."""

    def __init__(self, knn: ItemKNN, counts: np.ndarray, text=None, setting: VoteSetting | None = None):
        torch = torch_module()
        self.knn = knn
        self.counts = np.asarray(counts, dtype=np.int64)
        self.known = torch.as_tensor(self.counts > 0)
        self.text_t = None
        if text is not None:
            t = torch.as_tensor(np.asarray(text, dtype=np.float32))
            norms = t.norm(dim=1, keepdim=True)
            # Items without text (zero vectors) stay zero: no text vote for or from them. Stored width x catalogue:
            # a customer's query reads it row after row (8 instead of 18 ms for one customer at 100k items).
            if bool((norms > 0).any()):
                self.text_t = torch.where(norms > 0, t / norms.clamp_min(1e-12), t).T.contiguous()
        self.setting = setting

    @classmethod
    def build(cls, data: InteractionData, text=None) -> ItemVotes:
        """From the purchases `data` holds (and the items' sentence vectors, None without text)."""
        return cls(ItemKNN().fit(data), data.purchase_counts(), text)

    def distributions(self, histories: Sequence[np.ndarray], damping: float, text: bool = True):
        """(p_co, p_text or None): each vote over the catalogue, history and never-bought items at zero; `text`
        False skips the text vote (a batch x width x catalogue product)."""
        return self.damped(self.undamped(histories, text), damping)

    def undamped(self, histories: Sequence[np.ndarray], text: bool = True):
        """(co, text or None) before the popularity damping and normalisation: what every damping of a grid shares."""
        torch = torch_module()
        keep = torch.ones((len(histories), len(self.counts)), dtype=torch.bool)
        for r, h in enumerate(histories):
            h = np.asarray(h, dtype=np.int64)
            keep[r, h[(h >= 0) & (h < len(self.counts))]] = False
        keep &= self.known
        co = torch.as_tensor(self.knn.score(histories)) * keep
        if not (text and self.text_t is not None):
            return co, None
        q = torch.zeros((len(histories), self.text_t.shape[0]))
        for r, h in enumerate(histories):
            h = np.asarray(h, dtype=np.int64)
            h = h[(h >= 0) & (h < len(self.counts))][-TEXT_QUERY_ITEMS:]
            if len(h):
                q[r] = self.text_t[:, torch.as_tensor(h)].mean(1)
        has = q.norm(dim=1, keepdim=True) > 0
        q = torch.where(has, q / q.norm(dim=1, keepdim=True).clamp_min(1e-12), q)
        # The softmax's denominator cancels in `damped`'s normalisation: exp of the cosine over the temperature,
        # shifted by the row's best, in place (one pass over batch x catalogue instead of four).
        s = q @ self.text_t
        s.sub_(s.max(dim=1, keepdim=True).values).div_(TEXT_TEMPERATURE).exp_()
        return co, s.mul_(keep).mul_(has)  # no text bought: no vote

    def damped(self, undamped, damping: float):
        """Each undamped vote divided by purchase count ** damping, normalised over the catalogue."""
        torch = torch_module()
        damp = torch.as_tensor(np.maximum(self.counts, 1).astype(np.float32)) ** -float(damping)
        co, text = undamped
        return _normalise(co * damp), (None if text is None else _normalise(text * damp))

    def mix(self, log_probs, histories: Sequence[np.ndarray], setting: VoteSetting | None = None):
        """log p of the mix, from the LM's (memory-aware) log-probabilities; unchanged when the votes are off."""
        setting = setting or self.setting
        if setting is None:
            return log_probs
        p_co, p_text = self.distributions(histories, setting.damping, text=setting.text_weight > 0)
        return mix_votes(log_probs, p_co, p_text, setting, self.known)

    def arrays(self) -> dict[str, np.ndarray]:
        """What a saved model stores (the text vectors are the network's own buffer)."""
        return {"votes_counts_": self.counts, **{f"votes_{k}": v for k, v in self.knn._state().items()}}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], text, setting: VoteSetting) -> ItemVotes:
        knn = ItemKNN()
        knn._set_state({k[len("votes_"):]: v for k, v in arrays.items() if k.startswith("votes_sim_")
                        or k == "votes_item_keys_"})
        return cls(knn, arrays["votes_counts_"], text, setting)


def _normalise(p):
    return p / p.sum(dim=1, keepdim=True).clamp_min(1e-30)


def mix_votes(log_probs, p_co, p_text, setting: VoteSetting, known):
    """log((1 - co - text) p_LM + co p_co + text p_text), in log space (tiny LM probabilities do not underflow).
    A vote with nothing to say for a customer (no co-purchase, no text) leaves its share to the LM, so each row
    stays a distribution; items never bought keep log p_LM."""
    torch = torch_module()
    co = setting.co_weight * (p_co.sum(dim=1, keepdim=True) > 0)
    votes = co * p_co
    rest = 1.0 - co
    if p_text is not None and setting.text_weight:
        text = setting.text_weight * (p_text.sum(dim=1, keepdim=True) > 0)
        votes, rest = votes + text * p_text, rest - text
    out = torch.logaddexp(log_probs + torch.log(rest), torch.log(votes))
    return torch.where(known, out, log_probs)


def tune_votes(votes: ItemVotes, log_probs: Callable, histories: Sequence[np.ndarray], targets: np.ndarray,
               rare_max: int, grid: Sequence[VoteSetting] | None = None, k_eval: int = 10, chunk: int = 1024,
               ) -> tuple[VoteSetting | None, list[dict[str, float]]]:
    """The rule of the module docstring on (histories, targets). `log_probs(histories)`: the LM's normalised
    (memory-aware) log-probabilities. Returns (chosen or None, table of {co_weight, text_weight, damping, ndcg,
    rare_ndcg}, the first row being the LM alone)."""
    from core.evaluation.metrics import ndcg_at_k, ranks

    grid = list(grid or votes_grid(votes.text_t is not None))
    targets = np.asarray(targets, dtype=np.int64)
    rank = np.zeros((len(grid) + 1, len(targets)), dtype=np.int64)
    torch = torch_module()
    use_text = any(s.text_weight for s in grid)
    for start in range(0, len(targets), chunk):
        hist, tgt = histories[start : start + chunk], targets[start : start + chunk]
        rows = slice(start, start + len(tgt))
        lp = log_probs(hist)
        rank[0, rows] = ranks(lp.numpy(), hist, tgt)
        # Ranking needs only the mix's order, so it is built in probability space, each row divided by its
        # best LM probability (no underflow where it matters): mix_votes' logaddexp and logs cost 3x more.
        top = lp.max(dim=1, keepdim=True).values
        p = torch.exp(lp - top)
        p_known, p_new, scale = p * votes.known, p * ~votes.known, torch.exp(-top)
        undamped = votes.undamped(hist, use_text)
        for damping in sorted({s.damping for s in grid}):
            p_co, p_text = votes.damped(undamped, damping)
            has_co = (p_co.sum(dim=1, keepdim=True) > 0).float()
            has_text = None if p_text is None else (p_text.sum(dim=1, keepdim=True) > 0).float()
            for g, s in enumerate(grid, start=1):
                if s.damping != damping:
                    continue
                co = s.co_weight * has_co  # a vote with nothing to say leaves its share to the LM (mix_votes)
                text = s.text_weight * has_text if has_text is not None else 0.0
                mixed = p_known * (1.0 - co - text) + p_new + (co * scale) * p_co
                if has_text is not None and s.text_weight:
                    mixed += (text * scale) * p_text
                rank[g, rows] = ranks(mixed.numpy(), hist, tgt)
    rare = votes.counts[targets] <= rare_max
    ndcg = np.array([ndcg_at_k(r, k_eval) for r in rank])
    rare_ndcg = np.array([ndcg_at_k(r[rare], k_eval) if rare.any() else 0.0 for r in rank])
    table = [{"co_weight": 0.0, "text_weight": 0.0, "damping": 0.0, "ndcg": ndcg[0], "rare_ndcg": rare_ndcg[0]}]
    table += [{**s.as_dict(), "ndcg": ndcg[g], "rare_ndcg": rare_ndcg[g]} for g, s in enumerate(grid, start=1)]
    ok = np.flatnonzero(ndcg >= ndcg[0])  # row 0 (the LM alone) always qualifies
    if rare.sum() >= MIN_SLICE_USERS:
        best = ok[np.lexsort((ndcg[ok], rare_ndcg[ok]))[-1]]
    else:
        best = ok[np.argmax(ndcg[ok])]
    return (grid[best - 1] if best > 0 else None), [{k: float(v) for k, v in row.items()} for row in table]
