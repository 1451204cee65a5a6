"""The A/B page's live tests: start one through the API (arms, shares, metric), watch it, stop it, pick the winner.

The analysis is core.abtest's (via core.serving.live.analyse_live); this file only lays it out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.abtest.analysis import display_tables
from core.serving.live import HOLDOUT, METRICS, Arm, analyse_live, start, stop
from db.live_experiments import list_live_experiments
from db.registry import list_models
from pages.common import store_session
from pages.components.language import _, dataframe
from pages.components.signin import current

NO_RECS = "— no recommendations (holdout) —"
METRIC_LABELS = {"conversion": "Conversion (bought anything after the first list)", "revenue_per_user": "Revenue per user"}
REFRESH_SECONDS = 5


def _models() -> dict[str, int | None]:
    with store_session() as session:
        rows = [(m.id, m.name, m.version, m.is_active) for m in list_models(session)]
    labels = {f"{n} v{v} (id {i}){' — active' if a else ''}": i for i, n, v, a in rows}
    return {**labels, NO_RECS: None}


def _start_form() -> None:
    models = _models()
    if len(models) < 2:
        st.info(_("Register a model first (Training page): an experiment serves registered models."))
        return
    st.caption(_("The API (`python -m core serve`) assigns each customer to an arm by a hash of (experiment, customer), "
               "serves that arm's model, stores every served list as an exposure and counts the purchases the shop "
               "reports back through POST /v1/feedback. One live experiment at a time."))
    name = st.text_input(_("Name"), "Model test", key="live_name")
    n_arms = st.number_input(_("Arms"), 2, 4, 2, key="live_n_arms")
    labels = list(models)
    arms = []
    for i in range(int(n_arms)):
        c1, c2, c3 = st.columns([2, 3, 1])
        arm_name = c1.text_input(_("Arm {value} name").format(value=i + 1), ["control", "challenger", "holdout", "arm4"][i], key=f"live_arm_{i}")
        default = min(i, len(labels) - 1) if i < 2 else labels.index(NO_RECS)
        model = c2.selectbox(_("Arm {value} serves").format(value=i + 1), labels, index=default, key=f"live_model_{i}")
        share = c3.number_input(_("Arm {value} share (%)").format(value=i + 1), 1.0, 100.0, 100.0 / int(n_arms), key=f"live_share_{i}")
        arms.append(Arm(arm_name.strip(), models[model], share / 100.0))
    c1, c2 = st.columns(2)
    control = c1.selectbox(_("Control arm"), [a.name for a in arms], key="live_control")
    metric = c2.selectbox(_("Metric"), list(METRICS), format_func=METRIC_LABELS.get, key="live_metric")
    if st.button(_("Start live experiment"), type="primary", key="live_start"):
        try:
            with store_session() as session:
                exp_id = start(session, name, arms, control, metric, actor=current().username)
            st.toast(_("Live experiment #{exp_id} started; the API picks it up within seconds").format(exp_id=exp_id))
            st.rerun()
        except ValueError as exc:
            st.error(str(exc))


def _show(experiment_id: int, key: str) -> None:
    with store_session() as session:
        result = analyse_live(session, experiment_id)
    served = pd.DataFrame({"arm": list(result.served), "lists served": list(result.served.values())})
    c1, c2, c3 = st.columns(3)
    c1.metric(_("Customers exposed"), f"{len(result.frame):,}")
    c2.metric(_("Lists served"), f"{sum(result.served.values()):,}")
    c3.metric(_("Buyers"), f"{int(result.frame['converted'].sum()) if len(result.frame) else 0:,}")
    if result.analysis is None:
        st.info(result.message)
        if len(served):
            dataframe(served, hide_index=True, key=f"{key}_served")
        return
    a = result.analysis
    for note in a.notes + result.notes:
        st.caption(note)
    if a.srm.flagged:
        st.error(_("Sample-ratio mismatch: chi-square p = {p_value:.2g}. The arms' sizes do not match the planned shares: assignment or logging is broken; do not trust the figures below.").format(p_value=a.srm.p_value))
    st.info(a.verdict)
    if result.leader:
        st.markdown(_("**Leading on {value}:** {leader}").format(value=METRIC_LABELS[result.metric].lower(), leader=result.leader))
    tables = display_tables(a)
    st.subheader(_("Per arm"))
    dataframe(tables["arms"], hide_index=True, key=f"{key}_arms")
    st.subheader(_("Against {control}").format(control=a.control))
    dataframe(tables["comparisons"], hide_index=True, key=f"{key}_cmp")
    if "revenue" in tables:
        dataframe(tables["revenue"], hide_index=True, key=f"{key}_rev")
    if "cuped" in tables:
        st.subheader(_("CUPED (adjusted for purchases before the test)"))
        dataframe(tables["cuped"], hide_index=True, key=f"{key}_cuped")
    with st.expander(_("Sample-ratio check and served lists")):
        dataframe(tables["srm"], hide_index=True, key=f"{key}_srm")
        dataframe(served, hide_index=True, key=f"{key}_served")


@st.fragment(run_every=REFRESH_SECONDS)
def _running(experiment_id: int, name: str) -> None:
    st.subheader(_("Running: #{experiment_id} {name}").format(experiment_id=experiment_id, name=name))
    st.caption(_("Refreshed every {REFRESH_SECONDS} s while it runs.").format(REFRESH_SECONDS=REFRESH_SECONDS))
    _show(experiment_id, f"live_{experiment_id}")


def _stop_form(exp) -> None:
    arms = [a["name"] for a in exp.arms]
    c1, c2 = st.columns([3, 1])
    winner = c1.selectbox(_("Winner"), ["— stop without a winner —", *arms], key="live_winner",
                          help=_("A winning arm with a model becomes the active model for everyone."))
    if c2.button(_("Stop experiment"), key="live_stop"):
        chosen = None if winner.startswith("—") else winner
        with store_session() as session:
            activated = stop(session, exp.id, chosen, actor=current().username)
        st.toast(_("Experiment #{id} stopped; model {model} is now active").format(id=exp.id, model=activated)
                 if activated else _("Experiment #{id} stopped").format(id=exp.id))
        st.rerun()


def render() -> None:
    """The whole live-tests section (a tab of the A/B page)."""
    with store_session() as session:
        experiments = list_live_experiments(session)
    running = [e for e in experiments if e.status == "running"]
    if running:
        exp = running[0]
        st.markdown(", ".join(f"**{a['name']}**: {'holdout' if a.get('model_id') is None else 'model ' + str(a['model_id'])}"
                              f" ({a['share'] * 100:.0f} %)" for a in exp.arms))
        _running(exp.id, exp.name)
        _stop_form(exp)
    else:
        st.subheader(_("Start a live experiment"))
        _start_form()
    past = [e for e in experiments if e.status != "running"]
    if past:
        st.subheader(_("Finished live experiments"))
        labels = {f"#{e.id} {e.name} (winner: {e.winner or 'none'})": e.id for e in past}
        choice = st.selectbox(_("Experiment"), list(labels), key="live_past")
        _show(labels[choice], f"past_{labels[choice]}")


__all__ = ["HOLDOUT", "render"]
