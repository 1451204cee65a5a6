"""EASE (Steck 2019): a closed-form item-item linear model, usually the strongest simple baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.config import n_threads
from core.i18n import N_
from core.interactions import InteractionData, history_matrix
from core.models.base import Recommender


class EASE(Recommender):
    """B = argmin ||X - XB||² + λ||B||², diag(B) = 0; closed form B = -P / diag(P), P = (XᵀX + λI)⁻¹.

    The Gram inverse runs in float32 through torch (Cholesky) (scipy's OpenBLAS float64 inverse crashes on
    ≥16k items on 2 threads). Memory is ~3 × n_items² × 4 bytes, so catalogues above `max_items` are refused.
    """

    kind = "ease"
    label = N_("EASE (linear item-item)")

    def __init__(self, lam: float = 500.0, max_items: int = 25000):
        self.lam = lam
        self.max_items = max_items

    def _fit(self, data: InteractionData) -> EASE:
        import torch

        if self.lam <= 0:
            raise ValueError(f"EASE: lam (L2 regularisation) must be > 0, got {self.lam}")
        if data.n_items > self.max_items:
            raise ValueError(
                f"EASE: {data.n_items} items exceeds max_items={self.max_items} (needs ~{3 * 4 * data.n_items**2 / 2**30:.1f} "
                "GiB); use itemknn for a catalogue this large"
            )
        torch.set_num_threads(n_threads())
        self.item_keys_ = np.asarray(data.item_keys).astype(str)
        x = data.user_item_matrix(binary=True)
        gram = torch.from_numpy((x.T @ x).toarray().astype(np.float32))
        gram.diagonal().add_(float(self.lam))
        # Cholesky + inverse from the factor: half the time of a general inverse for this SPD matrix.
        p = torch.cholesky_inverse(torch.linalg.cholesky(gram))
        del gram
        if not p.is_contiguous():
            p = p.T  # P is symmetric; LAPACK hands it back column-major, its transpose is row-major for free
        diag = p.diagonal().clone()
        p.div_(-diag)  # B_ij = -P_ij / P_jj
        p.diagonal().zero_()
        self.weights_ = np.ascontiguousarray(p.numpy())
        return self

    def score(self, histories: Sequence[np.ndarray], users: np.ndarray | None = None) -> np.ndarray:
        h = history_matrix(histories, self.n_items_)
        return np.asarray(h @ self.weights_, dtype=np.float32)
