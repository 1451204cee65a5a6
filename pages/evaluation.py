"""Evaluation: is a model worth using before it touches a customer? Pick models and a protocol, run, compare.

Every held-out purchase is ranked against ALL items (full sort, the customer's earlier purchases excluded).
"""

from __future__ import annotations

import streamlit as st

from core.evaluation.evaluate import BASELINE_KINDS
from core.evaluation.job import JOB_KIND as EVAL_KIND
from core.evaluation.job import STAGES, EvaluationRequest, launch_evaluation, live_times
from core.evaluation.paired import run_verdict
from core.evaluation.report import metrics_long, run_errors
from core.evaluation.store_runs import BASELINE_PREFIX
from core.models import model_class
from core.training.jobs import cancel_training, job_status, running_job
from db.evaluations import get_run, list_runs, run_breakdown, run_table
from db.registry import active_model, list_models
from pages.common import db_url, store_session
from pages.components.charts import grouped_bars
from pages.components.cold_items import cold_items_section
from pages.components.csv_download import csv_download
from pages.components.language import N_, _, dataframe, glossary_help, tr

PROTOCOLS = {
    "loo": N_("Leave-one-out: each customer's last purchase (second to last tunes)"),
    "temporal": N_("Temporal: each customer's first purchase after a cutoff date"),
    "new-items": N_("New items: a tenth of the items never seen in training, each customer's last purchase one of them"),
}
METRICS = {"hr": N_("Hit rate"), "ndcg": "NDCG", "mrr": "MRR", "coverage": N_("Catalogue coverage"),
           "novelty": N_("Novelty (bits)"), "diversity": N_("Intra-list diversity")}

st.title(_("Evaluation"))
st.caption(
    _("Offline accuracy on your own purchases. Each customer's held-out purchase is ranked against **all** items in "
    "the catalogue (full sort, their earlier purchases excluded) — no sampled negatives. Figures from papers that "
    "rank against 100 sampled items are about 3× higher and are not comparable.")
)

with store_session() as session:
    registered = list_models(session)
    active = active_model(session)
reg_labels = {(_("{name} v{version} (id {id}) — active") if m.is_active else _("{name} v{version} (id {id})")).format(
    name=m.name, version=m.version, id=m.id): str(m.id) for m in registered}
base_labels = {_("baseline: {kind}").format(kind=k): f"{BASELINE_PREFIX}{k}" for k in BASELINE_KINDS}
options = {**reg_labels, **base_labels}
default = [lbl for lbl, v in reg_labels.items() if active is not None and v == str(active.id)]
default += [_("baseline: {kind}").format(kind=k) for k in ("popularity", "itemknn", "ease")]

chosen = st.multiselect(
    _("Models"), list(options), default=[d for d in default if d in options], key="models",
    help=_("Registered models are refitted on the protocol's training part with their saved settings, so the "
         "held-out purchases never leak into them. Baselines are fitted on the fly; EASE's λ is tuned on validation."), placeholder=_("Choose options")
)
slow = [m for m in registered if model_class(m.kind).is_slow and str(m.id) in {options[c] for c in chosen}]
for m in slow:
    budget = (m.params or {}).get("max_minutes")
    st.warning(_("{name} v{version} is a language model: it is retrained on the training part so the held-out purchases cannot leak into it, which takes up to {value} minutes.").format(name=m.name, version=m.version, value=budget or '?'))
protocol = st.radio(_("Protocol"), list(PROTOCOLS), format_func=lambda p: _(PROTOCOLS[p]), key="protocol")
split_kwargs = {}
if protocol == "temporal":
    share = st.slider(_("Test period: last share of all purchases"), 0.05, 0.30, 0.10, 0.05, key="test_share")
    split_kwargs = {"test_fraction": float(share)}

EVAL_JOB = "eval_job"  # (store URL, job id) of this session's evaluation running in the background


def _stage_text(job) -> str:
    """"Step 3 of 9: ease v1: fitting · 12 s elapsed · about 40 s left" from the job's progress."""
    p = job.progress
    if not p:
        return _("Evaluation job {id} is starting…").format(id=job.id)
    stage = _(STAGES[p["stage"]]) if p.get("stage") in STAGES else str(p.get("stage", ""))
    what = f"{p['model']}: {stage}" if p.get("model") else stage
    elapsed, left = live_times(p)
    text = _("Step {step} of {steps}: {what} · {elapsed:.0f} s elapsed").format(
        step=p["step"], steps=p["steps"], what=what, elapsed=elapsed)
    if left is not None:
        text += " · " + _("about {eta:.0f} s left (estimate)").format(eta=left)
    return text


if st.button(_("Run evaluation"), type="primary", key="run", disabled=not chosen):
    try:
        request = EvaluationRequest(models=[options[c] for c in chosen], protocol=protocol, split_kwargs=split_kwargs)
        st.session_state[EVAL_JOB] = (db_url(), launch_evaluation(db_url(), request))
    except ValueError as exc:
        st.error(str(exc))

job_url, job_id = st.session_state.get(EVAL_JOB) or (None, None)
if job_url != db_url():  # none started here (or another shop's): show one another session started
    other = running_job(db_url(), kind=EVAL_KIND)
    job_id = None if other is None else other.id
    st.session_state[EVAL_JOB] = None if other is None else (db_url(), other.id)
try:
    job = job_status(db_url(), job_id) if job_id is not None else None
except KeyError:
    job = None
if job is not None and job.finished:
    st.session_state[EVAL_JOB] = None
    if job.status == "succeeded":
        st.session_state["eval_run_id"] = st.session_state["show_run"] = int(job.metrics["run_id"])
    elif job.status == "failed":
        st.error(_("The evaluation failed: {error}").format(error=(job.error or "").split("\n")[0]))
    else:
        st.info(_("The evaluation was stopped; no run was stored."))
elif job is not None:

    @st.fragment(run_every=1)
    def _live_evaluation() -> None:
        """Polls the job every second; the whole page reruns once it is done, to show the new run."""
        view = job_status(db_url(), job_id)
        if view.finished:
            st.rerun(scope="app")
        st.progress(view.fraction, text=_stage_text(view))
        st.caption(_("The evaluation runs in the background: you can leave this page and come back."))
        if st.button(_("Stop the evaluation"), key="eval_cancel"):
            cancel_training(db_url(), view.id)

    _live_evaluation()

with store_session() as session:
    runs = list_runs(session, limit=50)
    run_id = st.session_state.get("eval_run_id") or (int(runs["id"].iloc[0]) if len(runs) else None)
    if len(runs):
        ids = runs["id"].astype(int).tolist()
        run_id = st.selectbox(
            _("Show run"), ids, index=ids.index(run_id) if run_id in ids else 0, key="show_run",
            format_func=lambda i: f"run {i} — {runs.set_index('id').loc[i, 'protocol']}: {runs.set_index('id').loc[i, 'models']}",
        )
    run = get_run(session, run_id) if run_id is not None else None
    if run is not None:
        table = run_table(run)
        activity = run_breakdown(run, "activity").rename(columns={"group": "purchases before"})
        items = run_breakdown(run, "items").rename(columns={"group": "held-out item"})
        cfg = dict(run.config)
        verdict = run_verdict(list(run.results))

if run is None:
    if job is None or job.finished:  # while the first run is under way, its progress says enough
        st.info(_("No evaluation yet: pick models and press **Run evaluation**."))
    st.stop()

st.subheader(_("Run {id}: {value}").format(id=run.id, value=_(PROTOCOLS[run.protocol]) if run.protocol in PROTOCOLS else run.protocol))
st.markdown(
    _("{value:,} customers, each ranked against all {value2:,} items · data set version {dataset_id} · created {created_at:%Y-%m-%d %H:%M} UTC").format(value=cfg.get('n_test_users', '?'), value2=cfg.get('n_items', '?'), dataset_id=run.dataset_id, created_at=run.created_at)
)
for _unused, row in run_errors(table).iterrows():
    st.error(f"{row['model']}: {row['error']}")
dataframe(table, hide_index=True, key="results")
csv_download(table, _("Download results (CSV)"), f"evaluation_run_{run.id}.csv", "csv")

ks = cfg.get("ks", [5, 10, 20])
long = metrics_long(table)
tabs = st.tabs([_(METRICS[m]) for m in METRICS if (long["name"] == m).any()])
for tab, name in zip(tabs, [m for m in METRICS if (long["name"] == m).any()]):
    with tab:
        st.caption(glossary_help(name))
        grouped_bars(long[long["name"] == name], "model", "value", "K", f"chart_{name}",
                     title=_("{value} at K").format(value=_(METRICS[name])), category_orders={"K": [str(k) for k in ks]})

st.subheader(_("By customer activity (purchases before the held-out one)"))
if len(activity):
    grouped_bars(activity, "purchases before", "ndcg@10" if "ndcg@10" in activity else activity.columns[-1], "model",
                 "chart_activity", hover_data=["n_users"])
    dataframe(activity, hide_index=True, key="activity")
st.subheader(_("By held-out item: cold vs warm, and repeat purchase vs new to the customer"))
if len(items):
    dataframe(items, hide_index=True, key="items")
cold_items_section(items, run.protocol)

st.subheader(_("Earlier runs"))
dataframe(runs, hide_index=True, key="runs")

# ---------------------------------------------------------------- closing sentence (core.evaluation.paired) ----
st.subheader(_("Which model to use (run {id})").format(id=run.id))
if verdict is None:
    st.info(_("Evaluate at least two models together to get a recommendation."))
else:
    sentence, paired = verdict
    (st.success if paired is not None and paired.clear else st.info)(tr(sentence))
