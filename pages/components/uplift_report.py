"""The Coupons page's evaluation figures with their uncertainty: Qini and uplift@k with bootstrap intervals
(an interval plot against random targeting) and the calibration judged on users it was not fitted on. UI only."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.coupons.plan import BOOTSTRAP_DRAWS, UpliftEvaluation
from pages.components.language import _, dataframe


def interval_plot(ev: UpliftEvaluation) -> go.Figure:
    """Each learner's Qini coefficient with its 95 % interval, and random targeting's ±2 sd band."""
    names = [le.name for le in ev.learners]
    q = [le.qini for le in ev.learners]
    fig = go.Figure(go.Scatter(
        x=q, y=names, mode="markers", name=_("Qini coefficient"),
        error_x={"type": "data", "symmetric": False, "array": [le.qini_ci[1] - le.qini for le in ev.learners],
                 "arrayminus": [le.qini - le.qini_ci[0] for le in ev.learners]}))
    lo, hi = ev.random_qini - 2 * ev.random_qini_std, ev.random_qini + 2 * ev.random_qini_std
    fig.add_vrect(x0=lo, x1=hi, opacity=0.15, line_width=0, annotation_text=_("random ±2 sd"))
    fig.update_layout(title=_("Qini coefficient with its 95 % bootstrap interval"), height=120 + 50 * len(names),
                      xaxis_title=_("Qini coefficient (held-out users)"), margin={"t": 50, "b": 30})
    return fig


def render_uplift_evaluation(ev: UpliftEvaluation, key: str = "qini") -> None:
    dataframe(pd.DataFrame(ev.qini_table()), hide_index=True, key=f"{key}_table")
    st.caption(_("Intervals: percentile bootstrap over {BOOTSTRAP_DRAWS} resamples of the held-out users within each arm (seeded). Calibrated slope: the calibration fitted on one half of the held-out users, judged on the other (1 = the calibrated per-customer uplift holds its scale; below 1 it still promises too much).").format(BOOTSTRAP_DRAWS=BOOTSTRAP_DRAWS))
    if ev.learners:
        st.plotly_chart(interval_plot(ev), key=f"{key}_intervals")
