"""Shaping a stored evaluation run for display: errors apart, metrics long for charts (what the page shows)."""

from __future__ import annotations

import pandas as pd


def run_errors(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of models that failed (an `error` column is present only when one did)."""
    return table[table["error"].notna()] if "error" in table else table.iloc[0:0]


def metrics_long(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, metric@K): columns model, metric ("ndcg@10"), value, name ("ndcg"), K ("10")."""
    long = table.melt(id_vars=["model"], value_vars=[c for c in table.columns if "@" in c], var_name="metric",
                      value_name="value")
    long[["name", "K"]] = long["metric"].str.split("@", expand=True)
    return long
