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
from core.training import (
    TrainRequest,
    cancel_training,
    curves,
    launch_training,
    list_job_views,
    running_job,
)
from db.audit import record
from db.registry import list_models, set_active
from pages.common import db_url, store_session
from pages.components.language import N_, _, dataframe
from pages.components.models import kind_picker, param_inputs
from pages.components.signin import current as current_user

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
    activate = st.checkbox(_("Make it the active model when it finishes"), True, key="activate",
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


@st.fragment(run_every=2 if current is not None else None)
def live_job() -> None:
    job = running_job(db_url())
    if job is None:
        if current is not None:  # it just finished: refresh the tables below
            st.rerun(scope="app")
        return
    p = job.progress
    label = f"Job {job.id}: {job.params.get('model')} — {job.status}"
    if p:
        label += f", epoch {p.get('epoch', 0):.1f}/{p.get('epochs', '?')}"
    st.progress(job.fraction, text=label)
    c1, c2, c3 = st.columns(3)
    c1.metric(_("Loss"), f"{p['loss']:.4f}" if p.get("loss") is not None else "—")
    best = max((q["val_ndcg10"] for q in curves(db_url(), job.id) if q["val_ndcg10"] is not None), default=None)
    c2.metric(_("Best validation NDCG@10"), f"{best:.4f}" if best is not None else "—")
    c3.metric(_("Time left (estimate)"), f"{p['eta_s'] / 60:.1f} min" if p.get("eta_s") is not None else "—")
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
st.subheader(_("Training jobs"))
jobs = list_job_views(db_url())
if not jobs:
    st.info(_("No training job yet."))
else:
    table = pd.DataFrame(
        [
            {
                "job": j.id,
                "model": j.params.get("model"),
                "status": j.status,
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
st.subheader(_("Model registry"))
with store_session() as session:
    models = [
        {
            "id": m.id, "name": m.name, "version": m.version, "kind": m.kind, "active": m.is_active,
            "created": m.created_at, "data set": m.dataset_id, "NDCG@10": m.metrics.get("ndcg@10"),
            "HR@10": m.metrics.get("hr@10"), "size (MB)": round(m.size_bytes / 1e6, 2),
            "train time (s)": round(m.train_seconds, 1), "params": m.params,
        }
        for m in list_models(session)
    ]
if not models:
    st.info(_("No model is registered yet."))
else:
    dataframe(pd.DataFrame(models).drop(columns=["params"]), hide_index=True, key="models_table")
    labels = {(_("{name} v{version} (id {id}) — active") if m["active"] else _("{name} v{version} (id {id})")).format(
        name=m["name"], version=m["version"], id=m["id"]): m["id"] for m in models}
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
        st.json(next(m["params"] for m in models if m["id"] == labels[choice]))
