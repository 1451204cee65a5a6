"""Histories (lists of item index arrays) as a sparse binary users x items matrix: how kNN and EASE score fast."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp


def history_matrix(histories: Sequence[np.ndarray], n_items: int) -> sp.csr_matrix:
    """Binary CSR (len(histories), n_items): 1 where the item is in the history (repeats count once)."""
    lengths = [len(h) for h in histories]
    rows = np.repeat(np.arange(len(histories)), lengths)
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories] or [np.zeros(0, dtype=np.int64)])
    if len(cols) and (cols.min() < 0 or cols.max() >= n_items):
        raise ValueError(f"history contains an item index outside 0..{n_items - 1}")
    m = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(histories), n_items))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m
