"""Segment breakdowns: the effect of each arm within each level of a segment column, corrected for the many cells,
and a heterogeneity test of whether the effect differs between levels at all.

Looking at twenty segments finds a "significant" one by chance: cell p-values are corrected (Holm by default) over
every level x arm of the column. The heterogeneity test is Cochran's Q over the levels' inverse-variance weighted
effects (statsmodels `combine_effects`), the standard test of "does the effect differ by segment".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from core.abtest.metrics import MetricResult, MetricSpec, compare_metric

MIN_USERS = 30  # per arm and level; smaller cells are listed as skipped


@dataclass
class SegmentCell:
    column: str
    level: str
    users_control: int
    users_variant: int
    result: MetricResult


@dataclass
class Heterogeneity:
    """Cochran's Q: chi-square with (levels - 1) df under 'same effect in every level'; I^2 = share of the spread
    between levels beyond chance."""

    column: str
    variant: str
    q: float
    df: int
    p_value: float
    i2: float
    pooled_effect: float


@dataclass
class SegmentBreakdown:
    column: str
    metric: str
    cells: list[SegmentCell] = field(default_factory=list)
    heterogeneity: list[Heterogeneity] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # levels with fewer than MIN_USERS in an arm

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"segment": c.column, "level": c.level, "arm": c.result.variant,
                              "users control": c.users_control, "users arm": c.users_variant,
                              "control": c.result.value_control, "arm value": c.result.value_variant,
                              "difference": c.result.diff, "low": c.result.ci_low, "high": c.result.ci_high,
                              "p-value": c.result.p_value, "p-value (corrected)": c.result.p_adjusted,
                              "significant": c.result.significant} for c in self.cells])


def breakdown(frame: pd.DataFrame, column: str, spec: MetricSpec, control: str, variants: list[str],
              alpha: float = 0.05, correction: str = "holm", min_users: int = MIN_USERS) -> SegmentBreakdown:
    """Each level of `column` x each arm against control on `spec`, with corrected p-values and Cochran's Q."""
    if column not in frame:
        raise ValueError(f"segment column {column!r} is not in the frame (columns: {', '.join(map(str, frame))})")
    out = SegmentBreakdown(column, spec.name)
    levels = frame[column].astype(str).fillna("(missing)")
    for level in sorted(levels.unique()):
        part = frame[levels == level]
        ctrl = part[part["variant"] == control]
        for v in variants:
            arm = part[part["variant"] == v]
            if len(ctrl) < min_users or len(arm) < min_users:
                out.skipped.append(f"{level} ({v})")
                continue
            res = compare_metric(spec, arm, ctrl, (v, control), alpha)
            out.cells.append(SegmentCell(column, level, len(ctrl), len(arm), res))
    if out.cells:
        adjusted = multipletests([c.result.p_value for c in out.cells], alpha=alpha, method=correction)
        for c, p_adj, rej in zip(out.cells, adjusted[1], adjusted[0]):
            c.result.p_adjusted, c.result.significant = float(p_adj), bool(rej)
    for v in variants:
        cells = [c for c in out.cells if c.result.variant == v and c.result.se > 0]
        if len(cells) < 2:
            continue
        eff = np.array([c.result.diff for c in cells])
        var = np.array([c.result.se ** 2 for c in cells])
        res = combine_effects(eff, var)
        q, p = res.test_homogeneity()[:2]
        out.heterogeneity.append(Heterogeneity(column, v, float(q), len(cells) - 1, float(p),
                                               float(max(res.i2, 0.0)), float(res.mean_effect_fe)))
    return out
