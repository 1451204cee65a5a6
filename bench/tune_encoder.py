"""Tune the text encoder on a shop's purchases (LLM2Rec / LLMEmb-style) and save it, to measure what that buys.

    .venv/bin/python bench/tune_encoder.py --dataset ml-100k --out /tmp/ml-encoder
    RECOLM_TEXT_ENCODER=/tmp/ml-encoder .venv/bin/python bench/accuracy.py --dataset ml-100k --models lm lm-notext

MiniLM (or the RECOLM_TEXT_ENCODER folder) is fine-tuned with a symmetric in-batch InfoNCE loss over pairs of items
bought one or two purchases apart, taken from the training part of the leave-one-out split only (no validation or
test target is seen), then saved as a sentence-transformers folder that RECOLM_TEXT_ENCODER points the app and the
benchmarks at. Prints the loss as it goes and the seconds taken (`--json` for machines). Measured 2026-12-07: no
change on ML-100K or Online Retail (bench/RESULTS.md), so the shipped encoder stays the default.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.accuracy import LOADERS, load_bench_data  # noqa: E402

PAIR_LAGS = (1, 2)  # an item and the one or two purchases after it: what a buyer moves between
TEMPERATURE = 0.05  # of the InfoNCE cosines (sentence-transformers' MultipleNegativesRankingLoss uses 1/20)


def next_purchase_pairs(sequences: list[np.ndarray], lags: tuple[int, ...] = PAIR_LAGS) -> np.ndarray:
    """(n, 2) item pairs (earlier, later) from each sequence, an item paired with itself left out."""
    parts = [np.stack([s[:-lag], s[lag:]], axis=1) for s in map(np.asarray, sequences) for lag in lags if len(s) > lag]
    pairs = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
    return pairs[pairs[:, 0] != pairs[:, 1]]


def tune_encoder(texts: list[str], pairs: np.ndarray, steps: int, batch: int = 96, lr: float = 2e-5, seed: int = 0,
                 log=print):
    """The encoder at `core.text_encoder.encoder_path()`, fine-tuned for `steps` batches of `pairs`; returns
    (model, losses). Each batch encodes its distinct items once; a batch's repeated later item is not its own
    negative."""
    import torch
    from sentence_transformers import SentenceTransformer

    from core.text_encoder import encoder_path

    if not len(pairs):
        raise ValueError("tune_encoder: no pair of items bought one after the other to learn from")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SentenceTransformer(encoder_path(), device="cpu", local_files_only=True)
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr)

    def embed(items: np.ndarray):
        distinct, back = np.unique(items, return_inverse=True)
        out = model(model.preprocess([texts[i] for i in distinct]))["sentence_embedding"]
        return torch.nn.functional.normalize(out, dim=1)[torch.as_tensor(back)]

    losses, t0 = [], time.perf_counter()
    for step in range(steps):
        b = pairs[rng.integers(0, len(pairs), batch)]
        logits = embed(b[:, 0]) @ embed(b[:, 1]).T / TEMPERATURE
        twin = torch.as_tensor(b[:, 1][None, :] == b[:, 1][:, None]) & ~torch.eye(len(b), dtype=torch.bool)
        logits = logits.masked_fill(twin, float("-inf"))
        target = torch.arange(len(b))
        loss = (torch.nn.functional.cross_entropy(logits, target)
                + torch.nn.functional.cross_entropy(logits.T, target)) / 2
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            log(f"step {step}: loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)")
    model.eval()
    return model, losses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(LOADERS), default="ml-100k")
    parser.add_argument("--csv-dir", type=Path, help="a shop export folder instead (as bench/accuracy.py reads it)")
    parser.add_argument("--out", type=Path, required=True, help="folder to save the tuned encoder in")
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--batch", type=int, default=96, help="pairs a step (the other pairs are the negatives)")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)

    from core.evaluation.protocols import make_split

    def log(msg: str) -> None:  # progress to stderr: --json output stays parseable
        print(msg, file=sys.stderr)

    try:
        data = load_bench_data(args.dataset, args.csv_dir)
        if not data.has_text():
            raise ValueError(f"{data.name}: the items have no text to encode")
        pairs = next_purchase_pairs(make_split(data, "loo").train.sequences)  # valid and test targets unseen
        log(f"{data.name}: {len(pairs)} pairs over {data.n_items} items; {args.steps} steps of {args.batch}")
        t0 = time.perf_counter()
        model, losses = tune_encoder(data.item_texts(), pairs, args.steps, args.batch, args.lr, args.seed, log)
    except ValueError as exc:
        print(f"bench/tune_encoder.py: error: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    model.save(str(args.out))
    result = {"dataset": data.name, "pairs": int(len(pairs)), "steps": args.steps, "batch": args.batch,
              "seconds": round(seconds, 1), "first_loss": losses[0], "last_50_loss": float(np.mean(losses[-50:])),
              "out": str(args.out)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{data.name}: tuned in {seconds:.0f} s, loss {losses[0]:.3f} -> {result['last_50_loss']:.3f} "
              f"(mean of the last 50 steps); saved to {args.out}\n"
              f"use it: RECOLM_TEXT_ENCODER={args.out} .venv/bin/python bench/accuracy.py ...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
