"""Segment picker: region, age band and activity bucket, "any" meaning no condition."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.schema import ACTIVITY_BUCKETS, AGE_BANDS
from pages.components.language import N_, _

ANY = N_("any")
ACTIVITY = ["0", *(name for name, _, _ in ACTIVITY_BUCKETS)]


@dataclass(frozen=True)
class Segment:
    region: str | None = None
    age_band: str | None = None
    activity: str | None = None

    def as_kwargs(self) -> dict[str, str | None]:
        """For RecommendationService.select_users."""
        return {"region": self.region, "age_band": self.age_band, "activity": self.activity}


def _value(choice: str) -> str | None:
    return None if choice == ANY else choice


def segment_picker(users: pd.DataFrame, prefix: str, labels: tuple[str, str, str] = (N_("Region"), N_("Age band"),
                   N_("Activity bucket")), activity_help: str | None = None) -> Segment:
    """Three select boxes in a row (keys `{prefix}region`, `{prefix}band`, `{prefix}activity`)."""
    c1, c2, c3 = st.columns(3)
    shown = lambda v: _(v) if v == ANY else v  # noqa: E731
    region = c1.selectbox(_(labels[0]), [ANY, *sorted(users["region"].dropna().unique())], key=f"{prefix}region",
                          format_func=shown)
    band = c2.selectbox(_(labels[1]), [ANY, *(b for b, _, _ in AGE_BANDS)], key=f"{prefix}band", format_func=shown)
    activity = c3.selectbox(_(labels[2]), [ANY, *ACTIVITY], key=f"{prefix}activity", help=activity_help,
                            format_func=shown)
    return Segment(_value(region), _value(band), _value(activity))
