"""A/B tests: analyse an uploaded log or a stored experiment, replay two models offline, plan a test."""

from __future__ import annotations

import io

import plotly.graph_objects as go
import streamlit as st

from core.abtest.analysis import (
    P_COLUMNS,
    RATE_COLUMNS,
    Analysis,
    cumulative,
    display_tables,
    parse_split,
)
from core.abtest.hygiene import HygieneChoices, clean
from core.abtest.log_reader import guess_log_mapping, read_table, to_exposures
from core.abtest.planner import sample_size_plan
from core.abtest.report import experiment_report
from core.schema import EXPOSURES
from db.experiments import experiment_sizes, list_experiments, load_exposures, save_experiment
from pages.common import store_session
from pages.components.abtest_report import render_report, report_options
from pages.components.language import N_, _, dataframe, file_uploader_chrome, glossary_help, tr

LOG_TYPES = ["csv", "gz", "zip", "txt", "tsv"]
NONE = "— none —"
SPLIT_HELP = "Shares per arm as arm=share, e.g. control=50,treatment=50. Blank: equal split."


@st.cache_data(show_spinner=_("Reading the log…"), max_entries=4)
def _read(content: bytes, name: str):
    return read_table(io.BytesIO(content), name)


def _column_config(frame):
    cfg = {}
    for col in frame.columns:
        if col in RATE_COLUMNS:
            cfg[col] = st.column_config.NumberColumn(col, format="percent", width="small")
        elif col in P_COLUMNS:
            cfg[col] = st.column_config.NumberColumn(col, format="%.4f", width="small")
        elif frame[col].dtype.kind == "f":
            cfg[col] = st.column_config.NumberColumn(col, format="%.4f", width="small")
    return cfg


def _table(frame, key: str) -> None:
    dataframe(frame, hide_index=True, column_config=_column_config(frame), key=key, width="stretch")


def _lift_chart(series, variant: str, control: str) -> go.Figure:
    # The first days' handful of users gives intervals wide enough to flatten the rest of the plot: start once
    # each arm has 5 % of its final users.
    last = series.iloc[-1]
    settled = (series["users_control"] >= 0.05 * last["users_control"]) & (
        series["users_variant"] >= 0.05 * last["users_variant"])
    series = series[settled.to_numpy()]
    fig = go.Figure()
    x = list(series["day"]) + list(series["day"])[::-1]
    band = list(series["rel_ci_high"] * 100) + list(series["rel_ci_low"] * 100)[::-1]
    fig.add_trace(go.Scatter(x=x, y=band, fill="toself", line={"width": 0}, opacity=0.25, name=_("95 % interval"),
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=series["day"], y=series["rel_lift"] * 100, mode="lines+markers",
                             name=_("{variant} vs {control}").format(variant=variant, control=control)))
    fig.add_hline(y=0, line_dash="dot")
    fig.update_layout(title=_("Cumulative relative lift of {variant} over {control}").format(variant=variant, control=control), yaxis_title=_("lift (%)"),
                      xaxis_title=_("day"), height=360, margin={"t": 50, "b": 30})
    return fig


def render(result: Analysis, frame, key: str) -> None:
    """Everything one analysis shows; `frame` is the cleaned exposure frame (for the cumulative plot)."""
    for note in result.notes:
        st.caption(tr(note))
    if result.srm.flagged:
        st.error(_("Sample-ratio mismatch: chi-square p = {p_value:.2g} (< 0.01). The arms' sizes do not match the planned split, so assignment or logging is broken; do not trust the figures below.").format(p_value=result.srm.p_value))
    st.info(str(tr(result.verdict)).replace("\n", "  \n"))
    tables = display_tables(result)
    st.subheader(_("Per arm"))
    _table(tables["arms"], f"{key}_arms")
    st.subheader(_("Against {control}").format(control=result.control))
    st.caption(_("Conversion. Lift: Wald 95 % interval; relative lift: log-ratio interval; p-value: two-proportion "
               "z-test. Chance to beat control: Beta-Binomial posterior. Sequential p-value: always valid (mSPRT), "
               "safe to check every day."))
    _table(tables["comparisons"], f"{key}_comparisons")
    st.caption(glossary_help("sequential p-value"))
    if "revenue" in tables:
        st.caption(_("Revenue per user: difference with its 95 % interval, Welch's t-test."))
        _table(tables["revenue"], f"{key}_revenue")
    if "cuped" in tables:
        st.subheader(_("CUPED (adjusted for the pre-period metric)"))
        st.caption(glossary_help("cuped"))
        _table(tables["cuped"], f"{key}_cuped")
    with st.expander(_("Sample-ratio check: chi-square = {chi2:.3f}, p = {p_value:.4f}").format(chi2=result.srm.chi2, p_value=result.srm.p_value),
                     expanded=result.srm.flagged):
        _table(tables["srm"], f"{key}_srm")
    for c in result.comparisons:
        series = cumulative(frame, result.control, c.variant, alpha=result.alpha, tau=c.sequential_tau)
        if len(series) >= 2:
            st.plotly_chart(_lift_chart(series, c.variant, result.control), key=f"{key}_plot_{c.variant}")


def _hygiene_choices(has_page: bool, key: str) -> HygieneChoices:
    cols = st.columns(3) if has_page else [None, *st.columns(2)]
    mismatches = "drop"
    if has_page:
        mismatches = cols[0].radio(_("Rows showing another arm's page"), ["drop", "keep"], key=f"{key}_mis",
                                   help=_("drop: the user did not see their variant; keep: analyse as assigned"))
    multi = cols[1].radio(_("Users in more than one arm"), ["drop", "first"], key=f"{key}_multi",
                          format_func={"drop": _("drop them"), "first": _("keep first exposure")}.get)
    dups = cols[2].radio(_("Repeated exposures in one arm"), ["first", "drop"], key=f"{key}_dup",
                         format_func={"drop": _("drop those users"), "first": _("keep first exposure")}.get)
    return HygieneChoices(mismatches=mismatches, multi_arm=multi, duplicates=dups)



def _analyse_section() -> None:
    with store_session() as session:
        stored = list_experiments(session)
        sizes = experiment_sizes(session)
    options = [N_("Upload a log"), N_("A stored experiment")]
    source = st.radio(_("Experiment"), options, index=1 if stored else 0, horizontal=True, key="source", format_func=_)
    frame, name, mapping, exp_id, control_hint, split_hint = None, "", {}, None, None, ""
    if source == "Upload a log":
        file_uploader_chrome(LOG_TYPES)
        upload = st.file_uploader(_("Exposure log (CSV, .csv.gz, or a .zip holding one CSV)"), type=LOG_TYPES, key="log")
        if upload is None:
            st.caption(_("Columns: {value} (required); {value2}.").format(value=', '.join(EXPOSURES.required), value2=', '.join(EXPOSURES.optional)))
            return
        try:
            table = _read(upload.getvalue(), upload.name)
        except ValueError as exc:
            st.error(str(exc))
            return
        name = upload.name
        guessed = guess_log_mapping(list(table.columns))
        st.caption(_("Column mapping (guessed; correct it if needed)"))
        choices = [NONE, *map(str, table.columns)]
        cols = st.columns(len(EXPOSURES.columns))
        for col, canon in zip(cols, EXPOSURES.columns):
            picked = col.selectbox(canon + (" *" if canon in EXPOSURES.required else ""), choices,
                                   index=choices.index(guessed[canon]) if canon in guessed else 0, key=f"map_{canon}")
            if picked != NONE:
                mapping[canon] = picked
        extra = [c for c in map(str, table.columns) if c not in mapping.values()]
        e1, e2 = st.columns([1, 3])
        orders_col = e1.selectbox(_("Orders per user column"), [NONE, *extra], key="map_orders")
        segment_cols = e2.multiselect(_("Segment columns (region, age band, device, …)"),
                                      [c for c in extra if c != orders_col], key="map_segments", placeholder=_("Choose options"))
        try:
            frame = to_exposures(table, mapping, orders=None if orders_col == NONE else orders_col,
                                 segments=segment_cols)
        except ValueError as exc:
            st.error(str(exc))
            return
    else:
        if not stored:
            st.info(_("No stored experiment yet: upload a log, or save a replay."))
            return
        labels = {e.id: f"#{e.id} {e.name} ({e.source}, {sizes.get(e.id, 0):,} users)" for e in stored}
        exp_id = st.selectbox(_("Stored experiment"), list(labels), format_func=labels.get, key="experiment")
        exp = next(e for e in stored if e.id == exp_id)
        control_hint, name = exp.control, exp.name
        planned = (exp.config or {}).get("planned_split") or {}
        split_hint = ",".join(f"{arm}={share:g}" for arm, share in planned.items())
        with store_session() as session:
            frame = load_exposures(session, exp_id)

    st.subheader(_("Data hygiene"))
    choices = _hygiene_choices("page" in frame, "hyg")
    try:
        cleaned, report = clean(frame, choices)
    except ValueError as exc:
        st.error(str(exc))
        return
    st.markdown("\n".join(f"- {tr(line)}" for line in report.lines()))

    arms = sorted(cleaned["variant"].astype(str).unique().tolist())
    if len(arms) < 2:
        st.error(_("An A/B test needs at least two arms; after cleaning the log has {arms}.").format(arms=arms))
        return
    default = control_hint if control_hint in arms else next((a for a in arms if a.lower() == "control"), arms[0])
    c1, c2, c3 = st.columns([1, 2, 1])
    control = c1.selectbox(_("Control arm"), arms, index=arms.index(default), key="control")
    split_text = c2.text_input(_("Planned split"), split_hint, help=SPLIT_HELP, key=f"split_{exp_id}")
    mde = c3.number_input(_("Lift to plan for (%)"), 0.1, 100.0, 2.0, 0.5, key="mde") / 100
    results_box = st.container()  # results above, the options that shape them below
    try:
        options = report_options(cleaned, "main", control, parse_split(split_text), mde)
        full = experiment_report(cleaned, options)
    except ValueError as exc:
        st.error(str(exc))
        return
    result = full.analysis
    # The planner's baseline follows the test on screen: its control arm's rate, keyed by which test it is.
    control_arm = next((a for a in result.arms if a.variant == result.control), result.arms[0])
    st.session_state["last_baseline"] = (f"{source}:{exp_id or name}:{len(frame)}", control_arm.rate)
    with results_box:
        render(result, cleaned, "main")
        render_report(full, "main")

    if source == "Upload a log":
        with st.form("save_form"):
            exp_name = st.text_input(_("Save this cleaned log as experiment"), name, key="save_name")
            if st.form_submit_button(_("Save experiment")):
                with store_session() as session:
                    exp = save_experiment(session, exp_name or name, cleaned, source="upload", control=control,
                                          config={"mapping": mapping, "choices": report.choices},
                                          report=report.to_dict())
                st.success(_("Saved as experiment #{id}.").format(id=exp.id))


def _replay_section() -> None:
    from core.abtest.replay import replay_registered
    from db.registry import list_models

    st.warning(_("Simulation: users with a held-out next purchase are split at random between two models; a user "
               "'converts' when that purchase is in the top-K their arm's model shows. Real users react to what they "
               "see, so treat this as a preview, not a live result."))
    with store_session() as session:
        models = list_models(session)
    if len(models) < 2:
        st.info(_("Train at least two models (Training page) to replay them against each other."))
        return
    labels = {m.id: f"#{m.id} {m.name} v{m.version} ({m.kind})" for m in models}
    ids = list(labels)
    c1, c2 = st.columns(2)
    a = c1.selectbox(_("Arm A (control)"), ids, index=min(1, len(ids) - 1), format_func=labels.get, key="replay_a")
    b = c2.selectbox(_("Arm B"), ids, index=0, format_func=labels.get, key="replay_b")
    c3, c4, c5, c6 = st.columns(4)
    k = c3.number_input(_("Top-K shown"), 1, 100, 10, key="replay_k")
    share = c4.slider(_("Share of users in B"), 0.1, 0.9, 0.5, 0.05, key="replay_share")
    seed = c5.number_input(_("Random seed"), 0, 10**6, 0, key="replay_seed")
    refit = c6.checkbox(_("Retrain on the training part"), True, key="replay_refit",
                        help=_("Honest (the models never saw the held-out purchases); slow for the language model."))
    if st.button(_("Run simulation"), disabled=a == b, key="replay_run"):
        with st.spinner(_("Replaying…")), store_session() as session:
            res = replay_registered(session, a, b, k=int(k), share_b=float(share), seed=int(seed), refit=refit)
        st.session_state["replay"] = res
    res = st.session_state.get("replay")
    if res is not None:
        render(res.analysis, res.exposures, "replay")
        if st.button(_("Save this simulation as an experiment"), key="replay_save"):
            with store_session() as session:
                exp = save_experiment(session, f"replay {' vs '.join(res.arms)} top-{res.k}", res.exposures,
                                      source="replay", control=res.analysis.control,
                                      config={"k": res.k, "refit": res.refit, "models": res.arms})
            st.success(_("Saved as experiment #{id}.").format(id=exp.id))


def _planner_section() -> None:
    st.caption(_("How many users a conversion test needs (two-sided z-test, statsmodels power), and for how long."))
    test, rate = st.session_state.get("last_baseline") or (None, 0.1)
    # A widget keeps its own value across reruns; reset it whenever another test is loaded (not on every rerun,
    # so a baseline typed by hand stays until the test changes).
    if "plan_base" not in st.session_state or st.session_state.get("plan_base_test") != test:
        st.session_state["plan_base"] = round(float(rate) * 100, 2)
        st.session_state["plan_base_test"] = test
    c1, c2, c3 = st.columns(3)
    baseline = c1.number_input(_("Baseline conversion (%)"), 0.01, 99.0, key="plan_base",
                               help=_("Taken from the control arm of the test loaded above; change it freely.")) / 100
    mde = c2.number_input(_("Minimum detectable effect (%)"), 0.1, 500.0, 2.0, key="plan_mde") / 100
    relative = c3.radio(_("Effect is"), [N_("relative"), N_("absolute (points)")], horizontal=True, key="plan_rel",
                        format_func=_) == "relative"
    c4, c5, c6, c7, c8 = st.columns(5)
    power = c4.number_input(_("Power"), 0.5, 0.99, 0.8, 0.05, key="plan_power")
    alpha = c5.number_input(_("Alpha"), 0.001, 0.2, 0.05, 0.01, format="%.3f", key="plan_alpha")
    traffic = c6.number_input(_("Daily users entering the test"), 1, 10**8, 1000, key="plan_traffic")
    arms = c7.number_input(_("Arms (incl. control)"), 2, 10, 2, key="plan_arms")
    correction = c8.radio(_("Alpha split over arms"), ["bonferroni", "dunnett"], key="plan_correction",
                          format_func={"bonferroni": _("Bonferroni"), "dunnett": _("Dunnett")}.get)
    try:
        p = sample_size_plan(baseline, mde, relative=relative, power=power, alpha=alpha, daily_traffic=traffic,
                             n_arms=int(arms), correction=correction)
    except ValueError as exc:
        st.error(str(exc))
        return
    dataframe(
        {"users per arm": [p.n_per_arm], "users in total": [p.n_total], "days": [p.days],
         "baseline": [p.baseline], "target rate": [p.target]},
        hide_index=True, key="plan_table",
        column_config={"baseline": st.column_config.NumberColumn(format="percent"),
                       "target rate": st.column_config.NumberColumn(format="percent")},
    )
    st.markdown(_("**{n_per_arm:,} users per arm** ({n_total:,} in total): about **{days} days** at {value:,} users a day to detect {value2:.2f} % → {value3:.2f} %.").format(n_per_arm=p.n_per_arm, n_total=p.n_total, days=p.days, value=int(traffic), value2=p.baseline * 100, value3=p.target * 100))
    if p.n_arms > 2:
        st.caption(_("{value} arms against control: each comparison is planned at alpha {per_test_alpha:.4f} ({correction}), so the whole test errs at most {alpha:g}.").format(value=p.n_arms - 1, per_test_alpha=p.per_test_alpha, correction=p.correction, alpha=p.alpha))


st.title(_("A/B tests"))
st.caption(_("Read an experiment's results correctly: hygiene first, then lift with intervals, p-values and a verdict."))
tab_analyse, tab_live, tab_replay, tab_plan = st.tabs([_("Analyse a test"), _("Live tests (API)"),
                                                       _("Offline replay (simulation)"), _("Plan a test")])
with tab_analyse:
    _analyse_section()
with tab_live:
    from pages.components import live_experiments

    live_experiments.render()
with tab_replay:
    _replay_section()
with tab_plan:
    _planner_section()
