"""The Hillstrom (MineThatData 2008) randomised e-mail test as an uplift problem: features, treatment, outcomes.

A real randomised campaign lets the uplift learners be checked against ground truth the demo shop cannot give.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.benchmark_datasets import shared_data_dir

OUTCOMES: tuple[str, ...] = ("visit", "conversion", "spend")
CONTROL = "No E-Mail"


@dataclass
class UpliftData:
    X: np.ndarray
    t: np.ndarray
    outcomes: pd.DataFrame  # one column per outcome
    feature_names: list[str]


def load_hillstrom(path: str | Path | None = None, treatment: str = "Womens E-Mail") -> UpliftData:
    """Rows of `treatment` (t=1) and "No E-Mail" (t=0); the other arm is dropped."""
    path = Path(path) if path else shared_data_dir() / "hillstrom_email" / "hillstrom.csv"
    if not path.exists():
        raise FileNotFoundError(f"Hillstrom data not found at {path}")
    df = pd.read_csv(path)
    missing = {"recency", "history", "mens", "womens", "zip_code", "newbie", "channel", "segment", *OUTCOMES} - set(df)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    arms = set(df["segment"].unique())
    if treatment not in arms or CONTROL not in arms:
        raise ValueError(f"{path}: segment column must hold {treatment!r} and {CONTROL!r}, found {sorted(arms)}")
    df = df[df["segment"].isin([treatment, CONTROL])].reset_index(drop=True)
    num = df[["recency", "history", "mens", "womens", "newbie"]].astype(float)
    dummies = pd.get_dummies(df[["zip_code", "channel"]].astype(str), dtype=float)
    feats = pd.concat([num, dummies], axis=1)
    return UpliftData(
        X=feats.to_numpy(dtype=np.float64),
        t=(df["segment"] == treatment).to_numpy().astype(np.int64),
        outcomes=df[list(OUTCOMES)].astype(float),
        feature_names=list(feats.columns),
    )
