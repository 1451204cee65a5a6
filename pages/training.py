"""Training & registry: launch a training job, watch it live, keep versions and roll back in one click.

Training runs in its own process (it survives page reloads and closed browsers); this page only reads
its progress from the store and can ask it to stop.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.models import MODEL_KINDS, model_class
from core.registry import PROTOCOL_NAMES, comparable_groups, registry_entries
from core.training import (
    TrainRequest,
    cancel_training,
    curves,
    launch_training,
    list_job_views,
    running_job,
)
from db.audit import record
from db.registry import active_model, list_models, set_active
from pages.common import db_url, store_session
from pages.components.language import N_, _, dataframe
from pages.components.models import kind_picker, param_inputs
from pages.components.signin import current as current_user

ACTIVATION = {
    "if-better": N_("Make it active only if it beats the active model on the same held-out purchases"),
    "always": N_("Always make it the active model"),
    "never": N_("Keep the active model (register only)"),
}
STATUS = {"queued": N_("queued"), "starting": N_("starting"), "training": N_("training"),
          "evaluating": N_("evaluating"), "running": N_("training"), "succeeded": N_("done"),
          "failed": N_("failed"), "cancelled": N_("cancelled")}
BASES = {
    "scratch": N_("From scratch (item tokens initialised from their text)"),
    "checkpoint": N_("Local Hugging Face checkpoint folder (GPT-2, Qwen, …)"),
    "warm": N_("Warm start: continue from a registered language model"),
}
st.title(_("Training & model registry"))
st.caption(
    _("Train a model on your shop's purchases, watch its progress, and choose which version the "
    "recommendations and coupons use. Each customer's last purchase is held out to measure the model.")
)

# ---------------------------------------------------------------- launch ------------------------------------
with store_session() as session:
    registered = [(m.id, m.name, m.version, m.kind) for m in list_models(session)]
current = running_job(db_url())

with st.expander(_("Train a new model"), expanded=current is None):
    kind = kind_picker()
    cls = model_class(kind)
    params: dict = {}
    warm_id = None
    base = "scratch"
    if cls.supports_base_checkpoint or cls.supports_warm_start:
        base = st.radio(_("Starting point"), list(BASES), format_func=lambda b: _(BASES[b]), key="base")
        if base == "checkpoint":
            params["base_checkpoint"] = st.text_input(
                _("Checkpoint folder"), key="ckpt", help=_("A folder on this machine with config.json and weights; "
                "nothing is downloaded. Item tokens are added to its vocabulary."))
        elif base == "warm":
            versions = {f"{name} v{ver} (id {mid})": mid for mid, name, ver, k in registered if k == kind}
            if versions:
                warm_id = versions[st.selectbox(_("Registered language model"), list(versions), key="warm")]
            else:
                st.info(_("No language model is registered yet; train one from scratch first."))
    params.update(param_inputs(cls, hide_groups=("architecture",) if base == "checkpoint" else ()))
    activate = st.radio(
        _("When it finishes"), list(ACTIVATION), format_func=lambda p: _(ACTIVATION[p]), key="activate",
        help=_("The active model drives the recommendations and coupons; you can roll back below."))
    launch = st.button(_("Start training"), type="primary", key="launch", disabled=current is not None)
    if current is not None:
        st.caption(_("Job {id} is {status}; one training at a time.").format(id=current.id, status=current.status))
    if launch:
        try:
            if base == "checkpoint" and not params.get("base_checkpoint", "").strip():
                raise ValueError("Enter the checkpoint folder to fine-tune, or choose another starting point.")
            req = TrainRequest(model=kind, activate=activate, model_params=params, warm_start_model=warm_id)
            job_id = launch_training(db_url(), req)
            with store_session() as session:
                record(session, current_user().username, "train", f"job {job_id}", {"model": kind})
            st.toast(_("Training job {job_id} started").format(job_id=job_id))
            st.rerun()
        except (ValueError, KeyError) as exc:
            st.error(str(exc))


# ---------------------------------------------------------------- live view ---------------------------------
def _curve_figure(points: list[dict]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("Training loss"), _("Validation NDCG@10")))
    loss = [p for p in points if p["loss"] is not None]
    val = [p for p in points if p["val_ndcg10"] is not None]
    fig.add_trace(go.Scatter(x=[p["epoch"] for p in loss], y=[p["loss"] for p in loss], name=_("loss")), row=1, col=1)
    fig.add_trace(go.Scatter(x=[p["epoch"] for p in val], y=[p["val_ndcg10"] for p in val], mode="lines+markers",
                             name=_("val NDCG@10")), row=1, col=2)
    fig.update_xaxes(title_text=_("epoch"))
    fig.update_layout(height=320, showlegend=False, margin=dict(t=40, b=10))
    return fig


def _status(status: str) -> str:
    return _(STATUS[status]) if status in STATUS else status


def _progress_label(job) -> str:
    """What the bar says: the start-up stage by name and number, then epochs, then the final evaluation."""
    p = job.progress
    head = _("Job {id}: {model}").format(id=job.id, model=job.params.get("model"))
    if job.status == "starting" and p.get("stage"):
        return _("{head} — starting: {stage} ({index}/{n})").format(
            head=head, stage=_(p["stage"]), index=p.get("stage_index", "?"), n=p.get("n_stages", "?"))
    if job.status == "queued":
        return _("{head} — queued: starting the worker process").format(head=head)
    if job.status == "evaluating":
        return _("{head} — evaluating on the held-out purchases and comparing with the active model").format(
            head=head)
    if p.get("epochs"):
        return _("{head} — training, epoch {epoch:.1f} of at most {epochs}").format(
            head=head, epoch=p.get("epoch", 0.0), epochs=p["epochs"])
    return _("{head} — {status}").format(head=head, status=_status(job.status))


@st.fragment(run_every=2 if current is not None else None)
def live_job() -> None:
    job = running_job(db_url())
    if job is None:
        if current is not None:  # it just finished: refresh the tables below
            st.rerun(scope="app")
        return
    st.progress(job.fraction, text=_progress_label(job))
    p = job.progress
    left = job.time_left_s
    c1, c2, c3 = st.columns(3)
    c1.metric(_("Loss"), f"{p['loss']:.4f}" if p.get("loss") is not None else "—")
    best = max((q["val_ndcg10"] for q in curves(db_url(), job.id) if q["val_ndcg10"] is not None), default=None)
    c2.metric(_("Best validation NDCG@10"), f"{best:.4f}" if best is not None else "—")
    c3.metric(_("Time left (estimate)"), _("{value:.1f} min").format(value=left / 60) if left is not None else "—",
              help=_("The budget covers the whole job: start-up, training and the final evaluation."))
    points = curves(db_url(), job.id)
    if points:
        st.plotly_chart(_curve_figure(points), key=f"live_{job.id}")
    if st.button(_("Cancel training"), key="cancel"):
        cancel_training(db_url(), job.id)
        st.toast(_("Cancellation requested; the active model stays as it is."))


if current is not None:
    st.subheader(_("Running now"))
    live_job()

# ---------------------------------------------------------------- history -----------------------------------
def _not_activated(job) -> None:
    """The newest finished job whose model was not made active: say why, plainly, and offer to activate it."""
    act = job.metrics.get("activation") or {}
    if job.status != "succeeded" or act.get("activated", True) or act.get("policy") == "never" or not job.model_id:
        return
    with store_session() as session:
        active = active_model(session)
        if active is not None and active.id == job.model_id:
            return
    new, old, who = act.get("new_ndcg@10"), act.get("active_ndcg@10"), act.get("compared_with") or "?"
    n_test = (act.get("split") or {}).get("n_test_users", "?")
    if new is not None and old is not None:
        st.warning(_("Job {id}'s model (id {model_id}) was not made active: its NDCG@10 {new:.4f} does not beat "
                     "{who}'s {old:.4f}, both measured by the job on the same held-out purchases (the last purchase "
                     "of {n} customers). {who} stays active.").format(
            id=job.id, model_id=job.model_id, new=new, old=old, who=who, n=n_test), icon="⚠️")
    else:
        st.warning(_("Job {id}'s model (id {model_id}) was not made active: it could not be compared with {who} on "
                     "the same held-out purchases, so {who} stays active.").format(
            id=job.id, model_id=job.model_id, who=who), icon="⚠️")
    may = current_user().can("rollback")
    if st.button(_("Activate it anyway"), key=f"activate_anyway_{job.id}", disabled=not may,
                 help=None if may else _("Only an admin can change the active model.")):
        with store_session() as session:
            set_active(session, job.model_id)
            record(session, current_user().username, "activate_model", f"model {job.model_id}",
                   {"job": job.id, "despite": act.get("reason")})
        st.toast(_("Model {id} is now the active model").format(id=job.model_id))
        st.rerun()


@st.fragment(run_every=2 if current is not None else None)
def jobs_table() -> None:
    """Read from the store on every refresh, so the status column is live while a job runs."""
    jobs = list_job_views(db_url())
    if not jobs:
        st.info(_("No training job yet."))
        return
    table = pd.DataFrame(
        [
            {
                "job": j.id,
                "model": j.params.get("model"),
                "status": _status(j.status),
                "started": j.created_at,
                "duration (s)": None if j.duration_s is None else round(j.duration_s, 1),
                "NDCG@10": j.metrics.get("ndcg@10"),
                "HR@10": j.metrics.get("hr@10"),
                "val NDCG@10": j.metrics.get("val_ndcg@10"),
                "model id": j.model_id,
                "error": (j.error or "").split("\n")[0],
                "note": j.metrics.get("activation_note"),
            }
            for j in jobs
        ]
    )
    dataframe(table, hide_index=True, key="jobs_table")


st.subheader(_("Training jobs"))
jobs_table()
jobs = list_job_views(db_url())
finished = [j for j in jobs if j.finished]
if finished:
    _not_activated(finished[0])
done = [j for j in jobs if j.params.get("model") in MODEL_KINDS and model_class(j.params["model"]).uses_validation
        and j.status != "queued"]
if done:
    pick = st.selectbox(_("Curves of job"), [j.id for j in done], key="curves_job")
    points = curves(db_url(), pick)
    if points:
        st.plotly_chart(_curve_figure(points), key="history_curves")
    failed = next(j for j in done if j.id == pick)
    if failed.error:
        st.error(failed.error)

# ---------------------------------------------------------------- registry ----------------------------------
def _measured_on_label(m) -> str:
    name = _("demo shop") if m.dataset_kind == "demo" else m.dataset_name  # an upload's name is its file's
    data = (_("data set {id} ({name}, {rows:,} purchase rows)").format(
        id=m.dataset_id, name=name, rows=m.dataset_rows) if m.dataset_name is not None
        else _("data set {id}").format(id=m.dataset_id if m.dataset_id is not None else "?"))
    if m.protocol is None:
        return _("{data} · not measured").format(data=data)
    proto = _(PROTOCOL_NAMES[m.protocol]) if m.protocol in PROTOCOL_NAMES else m.protocol
    return _("{data} · {protocol}, K={k}, {n} test customers").format(
        data=data, protocol=proto, k=m.k, n=m.n_test_users if m.n_test_users is not None else "?")


st.subheader(_("Model registry"))
with store_session() as session:
    entries = registry_entries(session)
if not entries:
    st.info(_("No model is registered yet."))
else:
    groups = comparable_groups(entries)
    if len(groups) > 1:
        st.info(_("These models were measured on {n} different splits (data set or held-out customers differ). "
                  "NDCG@10 and HR@10 are comparable only within one table below; to compare across them, run them "
                  "together on the Evaluation page.").format(n=len(groups)))
    for i, (measured, members) in enumerate(groups):
        st.markdown(_("**Measured on:** {value}").format(value=_measured_on_label(measured)))
        dataframe(pd.DataFrame([
            {"id": e.id, "name": e.name, "version": e.version, "kind": e.kind, "active": e.active,
             "created": e.created_at, "NDCG@10": e.ndcg10, "HR@10": e.hr10, "size (MB)": e.size_mb,
             "train time (s)": e.train_seconds}
            for e in members]), hide_index=True, key=f"models_table_{i}")
    labels = {(_("{name} v{version} (id {id}) — active") if e.active else _("{name} v{version} (id {id})")).format(
        name=e.name, version=e.version, id=e.id): e.id for e in entries}
    c1, c2 = st.columns([3, 1])
    choice = c1.selectbox(_("Model to use"), list(labels), key="activate_choice",
                          help=_("Activating an older version is a rollback; nothing is deleted."))
    may_roll_back = current_user().can("rollback")
    if c2.button(_("Make active"), key="make_active", disabled=not may_roll_back,
                 help=None if may_roll_back else _("Only an admin can change the active model.")):
        with store_session() as session:
            set_active(session, labels[choice])
            record(session, current_user().username, "activate_model", f"model {labels[choice]}")
        st.toast(_("{value} is now the active model").format(value=choice.split(' — ')[0]))
        st.rerun()
    with st.expander(_("Hyper-parameters of the selected model")):
        st.json(next(e.params for e in entries if e.id == labels[choice]))
