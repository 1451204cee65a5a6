"""The cold-item section of the Evaluation page: how each model ranks held-out items that training barely showed.

Self-contained: it reads the run's item breakdown (core.evaluation.cold's ≤2-purchase slice) and draws nothing
else, so the page can place it anywhere.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.evaluation.cold import COLD_MAX_PURCHASES
from core.evaluation.evaluate import COLD_SLICE
from pages.components.charts import grouped_bars
from pages.components.language import _, dataframe


def cold_items_section(items: pd.DataFrame, protocol: str, group_column: str = "held-out item") -> None:
    """Subheader, explanation, chart and table of the cold-item slice; a note when the run has no such users."""
    st.subheader(_("Cold items: held-out items with at most {n} training purchases").format(n=COLD_MAX_PURCHASES))
    if protocol == "new-items":
        st.caption(_("This run is the simulated new-item split: every held-out item was removed from training, "
                     "so only a model that reads item text can place it; id-only models score it like nothing."))
    else:
        st.caption(_("Shops add products every week: a model that needs many purchases of an item before it "
                     "recommends it fails there. A model trained with item text can place such items by their "
                     "words. Choose the new-item protocol for items never seen in training."))
    if not len(items) or group_column not in items or not (items[group_column] == COLD_SLICE).any():
        st.info(_("No customer in this run held out a cold item."))
        return
    cold = items[items[group_column] == COLD_SLICE].copy()
    cols = {"model": _("model"), "n_users": _("customers"), "hr@10": "HR@10", "ndcg@10": "NDCG@10",
            "ndcg10_se": _("NDCG@10 standard error"), "median_rank": _("median rank")}
    cold = cold[[c for c in cols if c in cold]].rename(columns=cols)
    grouped_bars(cold, cols["model"], "NDCG@10", cols["model"], "chart_cold_items")
    dataframe(cold, hide_index=True, key="cold_items")
