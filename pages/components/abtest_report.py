"""The A/B page's report sections: the options a rigorous analyst sets, and the metrics, guardrails, segments
(forest plot) and Bayesian decision (P(best) bars) of core.abtest.report.ExperimentReport. UI only."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.abtest.bayes import BetaPrior
from core.abtest.metrics import default_metrics
from core.abtest.report import CORRECTIONS, ExperimentReport, ReportOptions
from core.schema import EXPOSURES
from pages.components.language import _, dataframe, label, tr, translated_values

CORRECTION_NAMES = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg (FDR)"}


def segment_candidates(frame: pd.DataFrame) -> list[str]:
    """Columns a breakdown can use: not a canonical column, a handful of distinct values."""
    skip = set(EXPOSURES.columns) | {"orders"}
    return [c for c in frame.columns if c not in skip and 1 < frame[c].nunique() <= 50]


def report_options(frame: pd.DataFrame, key: str, control: str, planned_split: dict[str, float] | None,
                   mde: float) -> ReportOptions:
    """The analyst's choices, in one expander; defaults reproduce the plain analysis."""
    metrics = [m.name for m in default_metrics(frame)]
    has_revenue = "revenue" in frame and frame["revenue"].fillna(0).ne(0).any()
    with st.expander(_("Analysis options: metrics, guardrails, segments, priors, sequential test")):
        c1, c2, c3 = st.columns(3)
        correction = c1.selectbox(_("Multiple-testing correction (metrics × arms)"), CORRECTIONS,
                                  format_func=CORRECTION_NAMES.get, key=f"{key}_correction")
        use_cuped = c1.checkbox(_("Use CUPED when a pre-period metric exists"), True, key=f"{key}_cuped",
                                help=_("Adjusted p-values drive the correction and the significance call."))
        guard = c2.multiselect(_("Guardrail metrics (must not get worse)"), metrics, key=f"{key}_guard",
                               placeholder=_("Choose options"), format_func=label)
        margin = c2.number_input(_("Non-inferiority margin (% of control)"), 0.1, 50.0, 2.0, 0.5,
                                 key=f"{key}_margin") / 100
        cap_q = 0.0
        if has_revenue:
            cap_q = c3.number_input(_("Cap revenue at quantile of buyers (0 = no cap)"), 0.0, 0.999, 0.0, 0.01,
                                    format="%.3f", key=f"{key}_cap",
                                    help=_("Winsorise heavy-tailed spend (pooled over arms), e.g. 0.99."))
        tau = c3.number_input(_("Sequential mixing scale τ (rate points, 0 = default)"), 0.0, 1.0, 0.0, 0.001,
                              format="%.4f", key=f"{key}_tau",
                              help=_("Fixed for the experiment. Default: 10 % of the first day's control rate."))
        s1, s2, s3 = st.columns(3)
        segments = s1.multiselect(_("Break down by"), segment_candidates(frame), key=f"{key}_segments", placeholder=_("Choose options"))
        seg_metric = s1.selectbox(_("Segment metric"), metrics, key=f"{key}_seg_metric", format_func=label)
        prior_mean = s2.number_input(_("Prior conversion rate (%, 0 = flat prior)"), 0.0, 99.0, 0.0, 0.1,
                                     key=f"{key}_prior_mean") / 100
        prior_weight = s2.number_input(_("Prior worth (users)"), 1, 10**7, 1000, key=f"{key}_prior_weight")
        plan_corr = s3.radio(_("Planner alpha split over arms"), ["bonferroni", "dunnett"], key=f"{key}_plan_corr",
                             format_func={"bonferroni": _("Bonferroni"), "dunnett": _("Dunnett")}.get)
    return ReportOptions(
        control=control, correction=correction, guardrails={g: margin for g in guard},
        cap_quantile=cap_q or None, segments=segments, segment_metric=seg_metric,
        prior=BetaPrior.from_mean(prior_mean, prior_weight) if prior_mean > 0 else None, use_cuped=use_cuped,
        sequential_tau=tau or None, planned_split=planned_split, mde=mde, plan_correction=plan_corr,
    )


def forest_plot(frame: pd.DataFrame, title: str) -> go.Figure:
    """One row per level × arm: the effect with its interval, a zero line."""
    fig = go.Figure()
    for arm, part in frame.groupby("arm", sort=False):
        fig.add_trace(go.Scatter(
            x=part["difference"], y=part["level"].astype(str), mode="markers", name=str(arm),
            error_x={"type": "data", "symmetric": False, "array": part["high"] - part["difference"],
                     "arrayminus": part["difference"] - part["low"]},
            customdata=part[["p-value (corrected)"]].to_numpy(),
            hovertemplate="%{y}: %{x:.4f}<br>corrected p = %{customdata[0]:.3g}<extra>" + str(arm) + "</extra>",
        ))
    fig.add_vline(x=0, line_dash="dot")
    fig.update_layout(title=title, xaxis_title=_("difference (arm − control)"), height=120 + 40 * frame["level"].nunique(),
                      margin={"t": 50, "b": 30})
    return fig


def p_best_chart(report: ExperimentReport) -> go.Figure:
    fig = go.Figure()
    for dec in report.bayes:
        fig.add_trace(go.Bar(x=[a.variant for a in dec.arms], y=[a.p_best * 100 for a in dec.arms],
                             name=label(dec.metric), text=[f"{a.p_best:.0%}" for a in dec.arms], textposition="outside"))
    fig.update_layout(title=_("Probability of being the best arm"), yaxis_title="%", yaxis_range=[0, 110],
                      barmode="group", height=340, margin={"t": 50, "b": 30})
    return fig


def render_report(report: ExperimentReport, key: str) -> None:
    """Metrics with one correction, guardrails, segment forest plots, Bayesian decision, plan."""
    st.subheader(_("All metrics"))
    st.markdown(str(tr(report.decision)).replace("\n", "  \n"))
    for note in report.notes:
        st.caption(tr(note))
    cols = ["metric", "variant", "value_control", "value_variant", "diff", "ci_low", "ci_high", "rel_diff",
            "p_value", "p_adjusted", "significant", "method"]
    dataframe(translated_values(report.metrics_frame()[cols], "metric"), hide_index=True, key=f"{key}_metrics",
                 column_config={"rel_diff": st.column_config.NumberColumn(_("relative"), format="percent"),
                                "p_value": st.column_config.NumberColumn(_("p-value"), format="%.4g"),
                                "p_adjusted": st.column_config.NumberColumn(_("p (corrected)"), format="%.4g")})
    if report.guardrails:
        st.caption(_("Guardrails: one-sided non-inferiority test that the arm is not worse than control by the margin."))
        dataframe(translated_values(report.guardrails_frame(), "metric"), hide_index=True, key=f"{key}_guardrails")
    for seg in report.segments:
        table = seg.frame()
        if table.empty:
            st.caption(_("{column}: no level has {min_segment_users} users in each arm.").format(column=seg.column, min_segment_users=report.options['min_segment_users']))
            continue
        st.plotly_chart(forest_plot(table, _("{metric} by {column}").format(metric=label(seg.metric), column=label(seg.column))), key=f"{key}_forest_{seg.column}")
        for h in seg.heterogeneity:
            st.caption(_("{variant}: does the effect differ by {column}? Cochran's Q = {q:.2f} on {df} df, p = {p_value:.3g}, I² = {i2:.0%}.").format(variant=h.variant, column=seg.column, q=h.q, df=h.df, p_value=h.p_value, i2=h.i2))
        if seg.skipped:
            st.caption(_("Too few users to show: {value}.").format(value=', '.join(seg.skipped)))
        with st.expander(_("{column}: figures per level").format(column=seg.column)):
            dataframe(table, hide_index=True, key=f"{key}_segtable_{seg.column}")
    if report.bayes:
        st.subheader(_("Bayesian decision"))
        st.plotly_chart(p_best_chart(report), key=f"{key}_pbest")
        rows = [{"metric": label(d.metric), **a.__dict__} for d in report.bayes for a in d.arms]
        dataframe(pd.DataFrame(rows), hide_index=True, key=f"{key}_bayes",
                     column_config={"p_best": st.column_config.NumberColumn(_("P(best)"), format="percent"),
                                    "expected_loss": st.column_config.NumberColumn(_("expected loss"), format="%.5f")})
    if report.plan is not None:
        p = report.plan
        st.caption(_("Plan for {n_arms} arms ({correction}, per-comparison alpha {per_test_alpha:.4f}): {n_per_arm:,} users per arm detect a {mde:.0%} lift on {baseline:.2%}.").format(n_arms=p.n_arms, correction=p.correction, per_test_alpha=p.per_test_alpha, n_per_arm=p.n_per_arm, mde=report.options['mde'], baseline=p.baseline))
