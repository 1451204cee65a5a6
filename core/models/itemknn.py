"""Item-kNN: items bought by the same customers are similar; recommend the neighbours of what a customer bought."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from core.i18n import N_
from core.interactions import InteractionData, history_matrix
from core.models.base import Recommender


class ItemKNN(Recommender):
    """Item-item cosine on the binary co-occurrence matrix, `neighbors` strongest per item kept.

    sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i| |U_j|) + shrink); score(user, j) = sum over history items i of sim(i, j).
    """

    kind = "itemknn"
    label = N_("Item-to-item similarity (ItemKNN)")

    def __init__(self, neighbors: int = 100, shrink: float = 0.0):
        self.neighbors = neighbors
        self.shrink = shrink

    def _fit(self, data: InteractionData) -> ItemKNN:
        if int(self.neighbors) < 1:
            raise ValueError(f"ItemKNN: neighbors must be >= 1, got {self.neighbors}")
        if self.shrink < 0:
            raise ValueError(f"ItemKNN: shrink must be >= 0, got {self.shrink}")
        self.item_keys_ = np.asarray(data.item_keys).astype(str)
        x = data.user_item_matrix(binary=True)
        co = (x.T @ x).tocsr().astype(np.float32)
        norms = np.sqrt(np.asarray(co.diagonal(), dtype=np.float32))
        co.setdiag(0.0)
        co.eliminate_zeros()
        co = co.tocoo()
        sims = co.data / (norms[co.row] * norms[co.col] + np.float32(self.shrink))
        sim = sp.csr_matrix((sims.astype(np.float32), (co.row, co.col)), shape=co.shape)
        sim = self._prune(sim, int(self.neighbors))
        self.sim_data_, self.sim_indices_, self.sim_indptr_ = sim.data, sim.indices, sim.indptr
        self._sim = sim
        return self

    @staticmethod
    def _prune(sim: sp.csr_matrix, k: int) -> sp.csr_matrix:
        """Keep the k largest similarities in each row (item i -> its k nearest neighbours)."""
        sim.sort_indices()
        data, indices, indptr = sim.data, sim.indices, sim.indptr
        keep = np.zeros(len(data), dtype=bool)
        for row in range(sim.shape[0]):
            lo, hi = indptr[row], indptr[row + 1]
            if hi - lo <= k:
                keep[lo:hi] = True
            else:
                part = np.argpartition(-data[lo:hi], k - 1)[:k]
                keep[lo + part] = True
        rows = np.repeat(np.arange(sim.shape[0]), np.diff(indptr))
        return sp.csr_matrix((data[keep], (rows[keep], indices[keep])), shape=sim.shape, dtype=np.float32)

    def _matrix(self) -> sp.csr_matrix:
        if getattr(self, "_sim", None) is None:
            n = len(self.item_keys_)
            self._sim = sp.csr_matrix((self.sim_data_, self.sim_indices_, self.sim_indptr_), shape=(n, n))
        return self._sim

    def score(self, histories: Sequence[np.ndarray], users: np.ndarray | None = None) -> np.ndarray:
        h = history_matrix(histories, self.n_items_)
        return np.asarray((h @ self._matrix()).toarray(), dtype=np.float32)
