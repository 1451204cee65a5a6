"""`python -m core train --model lm [--epochs N …] [--json]`: run a training job, wait, print its metrics.

The job runs exactly as one launched from the dashboard (own worker process, progress in the store,
registered in the model registry), so it shows up on the Training page too.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.cli.output import emit

# CLI flag -> TransformerLM parameter (only the LM's; baselines take --param key=value).
LM_FLAGS: dict[str, tuple[type, str]] = {
    "epochs": (int, "maximum passes over the data"),
    "max_minutes": (float, "training time budget in minutes, final refit epochs included"),
    "lr": (float, "Adam learning rate"),
    "batch_size": (int, "users per step"),
    "n_layer": (int, "transformer blocks"),
    "n_embd": (int, "model width"),
    "n_head": (int, "attention heads (must divide the width)"),
    "dropout": (float, "dropout rate"),
    "weight_decay": (float, "L2 weight decay"),
    "max_len": (int, "most recent purchases the model reads"),
    "patience": (int, "epochs without validation gain before stopping"),
    "lr_decay": (float, "learning-rate factor after each plateau (1 = constant)"),
    "decay_patience": (int, "epochs without validation gain before the learning rate is cut"),
    "refit_epochs": (int, "final epochs that also learn the validation purchases"),
    "refit_lr": (float, "learning rate of those final epochs"),
    "seed": (int, "random seed"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="lm", help="model kind: lm, popularity, segment_popularity, itemknn, ease")
    parser.add_argument("--name", default=None, help="registry name (default: the kind)")
    for flag, (typ, help_text) in LM_FLAGS.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=typ, default=None, help=help_text)
    parser.add_argument("--no-text-init", action="store_true", help="LM: random item embeddings instead of text")
    parser.add_argument("--base-checkpoint", default=None, help="LM: local Hugging Face model folder to fine-tune")
    parser.add_argument("--warm-start", default=None, help="LM: registry id or name of an LM to continue from")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="any other model parameter (JSON value), repeatable")
    parser.add_argument("--no-activate", action="store_true", help="register without making it the active model")
    parser.add_argument("--timeout", type=float, default=None, help="give up waiting after this many seconds")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _parse_param(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise ValueError(f"--param {text!r}: expected KEY=VALUE")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def request_from_args(args: argparse.Namespace, url: str):
    from core.training.worker import TrainRequest

    params: dict[str, object] = {}
    if args.model == "lm":
        params.update({k: getattr(args, k) for k in LM_FLAGS if getattr(args, k) is not None})
        if args.no_text_init:
            params["text_init"] = False
        if args.base_checkpoint:
            params["base_checkpoint"] = args.base_checkpoint
    else:
        given = [k for k in LM_FLAGS if getattr(args, k) is not None]
        if given or args.base_checkpoint or args.no_text_init or args.warm_start:
            raise ValueError(f"LM options were given for model {args.model!r}; use --param KEY=VALUE for baselines")
    params.update(dict(_parse_param(p) for p in args.param))
    warm = None
    if args.warm_start:
        from db.engine import session_scope
        from db.registry import find_model

        with session_scope(url) as s:
            row = find_model(s, args.warm_start)
            if row is None:
                raise ValueError(f"--warm-start {args.warm_start!r}: no such registered model")
            warm = row.id
    return TrainRequest(model=args.model, name=args.name, activate=not args.no_activate, model_params=params,
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
