"""Loaders for the public benchmark data sets in ../shared/data, producing `InteractionData`.

Used by bench/ scripts and tests; never copies the data into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import PROJECT_ROOT
from core.data import InteractionData


def shared_data_dir() -> Path:
    return Path(os.environ.get("RECOLM_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def load_beauty(path: str | Path | None = None) -> InteractionData:
    """Amazon Beauty, S3-Rec split: `user item item …` per line, oldest first, no timestamps, no text."""
    path = Path(path) if path else shared_data_dir() / "amazon_s3rec" / "Beauty.txt"
    users, seqs = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2:
                continue
            users.append(parts[0])
            seqs.append(parts[1:])
    keys = sorted({i for s in seqs for i in s}, key=lambda x: (len(x), x))
    index = {k: n for n, k in enumerate(keys)}
    sequences = [np.fromiter((index[i] for i in s), dtype=np.int64, count=len(s)) for s in seqs]
    return InteractionData(
        item_keys=np.asarray(keys),
        user_keys=np.asarray(users),
        sequences=sequences,
        times=None,
        items=pd.DataFrame(index=range(len(keys))),
        users=pd.DataFrame(index=range(len(users))),
        name="beauty",
    )
