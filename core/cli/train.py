"""`python -m core train [--model KIND] [--epochs N …] [--json]`: run a training job, wait, print its metrics.

The job runs exactly as one launched from the dashboard (own worker process, progress in the store,
registered in the model registry), so it shows up on the Training page too.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.cli.output import emit
from core.models import DEFAULT_KIND, MODEL_KINDS, Param, model_class


def schema_flags() -> dict[str, Param]:
    """Every model kind's parameters (`Recommender.param_schema`) by name: one flag each, shared across kinds."""
    flags: dict[str, Param] = {}
    for kind in MODEL_KINDS:
        for param in model_class(kind).param_schema():
            flags.setdefault(param.name, param)
    return flags


def _flag(name: str, param: Param) -> str:
    dashed = name.replace("_", "-")
    return f"--no-{dashed}" if param.type is bool and param.default else f"--{dashed}"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_KIND, help=f"model kind: {', '.join(MODEL_KINDS)}")
    parser.add_argument("--name", default=None, help="registry name (default: the kind)")
    for name, param in schema_flags().items():
        if param.type is bool:
            parser.add_argument(_flag(name, param), dest=name, action="store_const", const=not param.default,
                                default=None, help=param.help)
        else:
            parser.add_argument(_flag(name, param), dest=name, type=param.type, default=None, help=param.help)
    parser.add_argument("--base-checkpoint", default=None, help="local Hugging Face model folder to fine-tune")
    parser.add_argument("--warm-start", default=None, help="registry id or name of a model to continue from")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="any other model parameter (JSON value), repeatable")
    parser.add_argument("--activate", choices=("if-better", "always", "never"), default="if-better",
                        help="if-better (default): active only when it beats the active model's NDCG@10 on the "
                             "job's own held-out split; always; never")
    parser.add_argument("--no-activate", action="store_true", help="same as --activate never")
    parser.add_argument("--timeout", type=float, default=None, help="give up waiting after this many seconds")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def parse_param(text: str, flag: str = "--param") -> tuple[str, object]:
    """KEY=VALUE with VALUE read as JSON (128, 0.3, false, null) or else kept as text."""
    if "=" not in text:
        raise ValueError(f"{flag} {text!r}: expected KEY=VALUE")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def request_from_args(args: argparse.Namespace, url: str):
    from core.training.worker import TrainRequest

    if args.model not in MODEL_KINDS:
        raise ValueError(f"--model {args.model!r}: unknown kind; known: {', '.join(MODEL_KINDS)}")
    cls = model_class(args.model)
    own = {p.name for p in cls.param_schema()}
    flags = schema_flags()
    given = {k: getattr(args, k) for k in flags if getattr(args, k) is not None}
    foreign = [_flag(k, flags[k]) for k in given if k not in own]
    if args.base_checkpoint and not cls.supports_base_checkpoint:
        foreign.append("--base-checkpoint")
    if args.warm_start and not cls.supports_warm_start:
        foreign.append("--warm-start")
    if foreign:
        raise ValueError(f"{', '.join(foreign)} are not options of model {args.model!r}; use --param KEY=VALUE "
                         "for its own parameters")
    params: dict[str, object] = dict(given)
    if args.base_checkpoint:
        params["base_checkpoint"] = args.base_checkpoint
    params.update(dict(parse_param(p) for p in args.param))
    warm = None
    if args.warm_start:
        from db.engine import session_scope
        from db.registry import find_model

        with session_scope(url) as s:
            row = find_model(s, args.warm_start)
            if row is None:
                raise ValueError(f"--warm-start {args.warm_start!r}: no such registered model")
            warm = row.id
    activate = "never" if args.no_activate else args.activate
    return TrainRequest(model=args.model, name=args.name, activate=activate, model_params=params,
                        warm_start_model=warm)


def _audit(url: str, job_id: int, model: str) -> None:
    from core.cli.apikey import cli_actor
    from db.audit import record
    from db.engine import session_scope

    with session_scope(url) as session:
        record(session, cli_actor(), "train", f"job {job_id}", {"model": model})


def main(args: argparse.Namespace) -> int:
    from core.config import database_url
    from core.training.jobs import launch_training, wait_for
    from db.engine import open_store

    url = args.db or database_url()
    open_store(url)
    try:
        req = request_from_args(args, url)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    job_id = launch_training(url, req)
    _audit(url, job_id, req.model)
    print(f"job {job_id}: training {req.model} …", file=sys.stderr)

    def show(view) -> None:
        p = view.progress
        if p:
            val = p.get("val_ndcg10")
            loss = p.get("loss")
            print(
                f"  epoch {p.get('epoch', 0):.2f}  step {p.get('step', 0)}"
                + (f"  loss {loss:.4f}" if loss is not None else "")
                + (f"  val NDCG@10 {val:.4f}" if val is not None else "")
                + (f"  ETA {p['eta_s']:.0f}s" if p.get("eta_s") is not None else ""),
                file=sys.stderr,
            )

    view = wait_for(url, job_id, timeout=args.timeout, on_progress=None if args.json else show)
    payload = {"job": view.id, "status": view.status, "model_id": view.model_id, "metrics": view.metrics,
               "error": view.error, "duration_s": view.duration_s}
    human = (
        f"job {view.id} {view.status}"
        + (f": model {view.model_id}  " + "  ".join(f"{k}={v}" for k, v in view.metrics.items()) if view.model_id else "")
        + (f"\n{view.error}" if view.error else "")
    )
    emit(payload, args.json, human)
    return 0 if view.status == "succeeded" else 1
