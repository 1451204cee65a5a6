"""Chart layout shared by the pages: one place for heights, margins and the grouped-bar look."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from pages.components.language import chart_labels


def show(fig, key: str, height: int | None = None, compact: bool = False) -> None:
    """Render a plotly figure; `compact` drops the outer margins (timelines, small multiples)."""
    if height is not None:
        fig.update_layout(height=height)
    if compact:
        fig.update_layout(margin=dict(l=0, r=0, t=10, b=0), legend_title_text="")
    st.plotly_chart(fig, key=key)


def grouped_bars(frame: pd.DataFrame, x: str, y: str, color: str, key: str, **kwargs) -> None:
    """Bars of `y` per `x`, one colour per `color` value side by side."""
    kwargs.setdefault("labels", chart_labels(x, y, color))
    show(px.bar(frame, x=x, y=y, color=color, barmode="group", **kwargs), key)
