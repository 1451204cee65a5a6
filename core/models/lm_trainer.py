"""The LM's trainer: the epoch loop, early stopping on validation NDCG@10, the learning-rate schedule, the
wall-time budget and the final refit epochs (RecBole's Trainer, for `TransformerLM`).

The recommender (core.models.lm) builds the network and holds the weights; `LMTrainer.run` trains them in place.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.interactions import InteractionData
from core.models.base import ProgressCallback
from core.models.lm_loss import fused_cross_entropy
from core.models.lm_memory import memory_grid
from core.models.lm_network import torch_module
from core.models.lm_votes import votes_grid

if TYPE_CHECKING:
    from core.models.lm import TransformerLM


@dataclass
class ValidSet:
    """Held-out next items for early stopping: histories[j] (item indices, oldest first) -> targets[j]."""

    histories: list[np.ndarray]
    targets: np.ndarray
    users: np.ndarray | None = None  # row -> user index of the training data, when known


class TrainingStopped(Exception):
    """Raised inside fit when the callback asks to abort without a model (cancellation)."""


def as_valid(valid: Any) -> ValidSet | None:
    """Accept our ValidSet or the evaluation protocol's EvalSet (anything with histories + targets)."""
    if valid is None:
        return None
    hist = [np.asarray(h, dtype=np.int64) for h in valid.histories]
    users = getattr(valid, "users", None)
    return ValidSet(hist, np.asarray(valid.targets, dtype=np.int64), None if users is None else np.asarray(users))


def _rows(valid: ValidSet, rows: np.ndarray) -> ValidSet:
    users = None if valid.users is None else valid.users[rows]
    return ValidSet([valid.histories[j] for j in rows], valid.targets[rows], users)


def split_last_item(data: InteractionData) -> tuple[InteractionData, ValidSet]:
    """Hold out each user's last purchase (users with at least 3) as the early-stopping validation set."""
    train_seqs, hist, targets, users = [], [], [], []
    for u, seq in enumerate(data.sequences):
        seq = np.asarray(seq, dtype=np.int64)
        if len(seq) >= 3:
            train_seqs.append(seq[:-1])
            hist.append(seq[:-1])
            targets.append(int(seq[-1]))
            users.append(u)
        else:
            train_seqs.append(seq)
    return data.with_sequences(train_seqs), ValidSet(hist, np.asarray(targets, dtype=np.int64), np.asarray(users))


def with_valid_targets(sequences: Sequence[np.ndarray], valid: ValidSet) -> list[np.ndarray]:
    """Training sequences with each validation purchase appended (what the refit epochs learn from)."""
    seqs = [np.asarray(s, dtype=np.int64) for s in sequences]
    extended = [np.append(h, t).astype(np.int64) for h, t in zip(valid.histories, valid.targets)]
    if valid.users is None:
        return seqs + extended
    for u, ext in zip(valid.users, extended):
        seqs[int(u)] = ext
    return seqs


@dataclass
class FitData:
    """What one fit trains on: `train` (early-stopping rows), `valid` (the users early stopping watches) and
    `base` + `full_valid` (what the refit epochs learn: every validation purchase appended)."""

    train: InteractionData
    valid: ValidSet
    full_valid: ValidSet
    base: list[np.ndarray]


def prepare_fit_data(data: InteractionData, valid: Any, valid_users: int, rng: np.random.Generator) -> FitData:
    """Early stopping needs only `valid_users` users; the others' held-out purchases are the freshest data, so
    they are learnt from the first epoch (the refit epochs add the rest). `valid` None: hold out last items."""
    valid_set = as_valid(valid)
    train = data
    if valid_set is None:
        train, valid_set = split_last_item(data)
    full_valid, base = valid_set, train.sequences
    if len(valid_set.targets) > valid_users:
        pick = np.sort(rng.choice(len(valid_set.targets), valid_users, replace=False))
        rest = np.setdiff1d(np.arange(len(valid_set.targets)), pick)
        train = train.with_sequences(with_valid_targets(train.sequences, _rows(valid_set, rest)))
        valid_set = _rows(valid_set, pick)
    return FitData(train=train, valid=valid_set, full_valid=full_valid, base=base)


def length_buckets(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, pool: int = 50) -> list[np.ndarray]:
    """Random batches of similar-length rows (sorted within pools of `pool` batches): little padding, still shuffled."""
    order = rng.permutation(len(lengths))
    batches = []
    span = batch_size * pool
    for start in range(0, len(order), span):
        chunk = order[start : start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def optimizer(net, lr: float, weight_decay: float):
    """AdamW; decay (the L2 term) on weight matrices and embeddings, not on biases and norms."""
    torch = torch_module()
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "ln" in name.split(".")[-2:][0] else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def _lengths(rows: list[np.ndarray]) -> np.ndarray:
    return np.fromiter((len(x) for x in rows), dtype=np.int64, count=len(rows))


class LMTrainer:
    """One fit of a TransformerLM's network: state of the loop (best epoch, patience, budget) lives here."""

    def __init__(self, model: TransformerLM, callback: ProgressCallback | None, rng: np.random.Generator):
        self.model, self.callback, self.rng = model, callback, rng
        self.history: list[dict[str, Any]] = []
        self.step, self.n_batches = 0, 1
        self.best_ndcg, self.best_state, self.best_epoch, self.bad_epochs = -1.0, None, 0, 0
        self.cancelled = False
        self.memory_setting = None
        self.memory_seconds = 0.0
        self.votes_setting = None
        self.votes_seconds = 0.0
        self.budget = model.max_minutes * 60.0
        self.t0 = self.cpu0 = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def run(self, fit: FitData) -> None:
        """Train with early stopping, keep the best epoch's weights, then the refit epochs (unless cancelled).

        max_minutes covers the refit epochs too: the main loop leaves them the time they will take.
        """
        m = self.model
        inputs, targets = m._training_rows(fit.train.sequences)
        if len(inputs) == 0:
            raise ValueError("TransformerLM.fit: no user has a purchase to learn from")
        opt = optimizer(m.net_, m.lr, m.weight_decay)
        lengths = _lengths(inputs)
        self.n_batches = math.ceil(len(inputs) / m.batch_size)
        refit = bool(m.refit_epochs and len(fit.full_valid.targets))
        refit_share = 0.0
        if refit:
            ext_in, ext_tgt = m._training_rows(with_valid_targets(fit.base, fit.full_valid))
            ext_len = _lengths(ext_in)
            refit_share = m.refit_epochs * (ext_len.sum() / max(lengths.sum(), 1))
        self.t0, self.cpu0 = time.perf_counter(), time.process_time()
        self._main_loop(opt, inputs, targets, lengths, fit.valid, refit_share)
        if self.best_state is not None:
            m.net_.load_state_dict(self.best_state)
        if (m.memory or m.item_votes) and not self.cancelled and self.elapsed() < self.budget:
            # Before the refit, while the validation purchases are still unseen.
            t = time.perf_counter()
            memory = m.tune_memory(inputs, targets, fit.valid) if m.memory else None
            self.memory_setting = memory.setting if memory is not None else None
            self.memory_seconds = time.perf_counter() - t
            if m.item_votes:
                t = time.perf_counter()
                self.votes_setting = m.tune_votes(fit.train, fit.valid, memory)
                self.votes_seconds = time.perf_counter() - t
        if refit and not self.cancelled:
            self._refit(ext_in, ext_tgt, ext_len)

    def _main_loop(self, opt, inputs, targets, lengths, valid: ValidSet, refit_share: float) -> None:
        m = self.model
        reserve, train_seconds = 0.0, 0.0
        for epoch in range(1, m.epochs + 1):
            m.net_.train()
            t_epoch = time.perf_counter()
            losses, stop = self._epoch(opt, inputs, targets, lengths, epoch, reserve)
            train_seconds += time.perf_counter() - t_epoch
            t_valid = time.perf_counter()
            ndcg = valid_ndcg(m, valid)
            t_valid = time.perf_counter() - t_valid
            # Left for what follows: the refit epochs and, with the memory, its tuning (a forward pass over the
            # training rows, then each setting ranks the validation users: ~40 s on Beauty); the votes' likewise.
            tuning = (train_seconds / epoch / 3 + t_valid * len(memory_grid()) / 4) if m.memory else 0.0
            tuning += t_valid * (1 + len(votes_grid(bool(m.net_.text_dim))) / 8) if m.item_votes else 0.0
            reserve = 1.1 * (refit_share * train_seconds / epoch + tuning)
            elapsed = self.elapsed()
            mean_loss = float(np.mean(losses)) if losses else float("nan")
            self.history.append(
                {"epoch": epoch, "loss": mean_loss, "val_ndcg10": ndcg, "lr": opt.param_groups[0]["lr"],
                 "seconds": round(elapsed, 2), "cpu_seconds": round(time.process_time() - self.cpu0, 2)}
            )
            self._early_stopping(opt, epoch, ndcg)
            if self.callback is not None and self.callback(self._progress(float(epoch), mean_loss, ndcg, elapsed)):
                stop = self.cancelled = True
            if stop or self.bad_epochs >= m.patience or elapsed > self.budget - reserve:
                break

    def _epoch(self, opt, inputs, targets, lengths, epoch: int, reserve: float) -> tuple[list[float], bool]:
        """One pass; (losses, stop) where stop means cancelled or out of time."""
        m = self.model
        losses = []
        for b, rows in enumerate(length_buckets(lengths, m.batch_size, self.rng)):
            loss = train_step(m, opt, [inputs[r] for r in rows], [targets[r] for r in rows])
            losses.append(loss)
            self.step += 1
            elapsed = self.elapsed()
            if self.callback is not None and (b % 10 == 0 or b == self.n_batches - 1):
                done = (epoch - 1) + (b + 1) / self.n_batches
                if self.callback(self._progress(done, loss, None, elapsed)):
                    self.cancelled = True
                    return losses, True
            if elapsed > self.budget - reserve:
                return losses, True
        return losses, False

    def _early_stopping(self, opt, epoch: int, ndcg: float) -> None:
        """Keep the best weights; after `decay_patience` epochs without progress multiply the rate by `lr_decay`."""
        m = self.model
        # A tie keeps the later (longer trained) weights but does not reset the patience.
        if ndcg >= self.best_ndcg:
            self.bad_epochs = 0 if ndcg > self.best_ndcg else self.bad_epochs + 1
            self.best_ndcg, self.best_epoch = ndcg, epoch
            self.best_state = copy.deepcopy(m.net_.state_dict())
        else:
            self.bad_epochs += 1
        if self.bad_epochs and self.bad_epochs % m.decay_patience == 0:
            # A plateau at this step size: smaller steps settle further
            # (Beauty best validation NDCG@10 .0614 -> .0623).
            for group in opt.param_groups:
                group["lr"] *= m.lr_decay

    def _refit(self, ext_in, ext_tgt, ext_len) -> None:
        """The validation purchases are the freshest data: learn them too, with a fresh optimizer. Beauty test
        NDCG@10 after 4 such epochs from one best state: at the decayed rate .0592, at 3e-3 .0600, 1e-3 .0608."""
        m = self.model
        opt = optimizer(m.net_, m.refit_lr, m.weight_decay)
        elapsed = self.elapsed()
        for extra in range(m.refit_epochs):
            m.net_.train()
            for b, rows in enumerate(length_buckets(ext_len, m.batch_size, self.rng)):
                loss = train_step(m, opt, [ext_in[r] for r in rows], [ext_tgt[r] for r in rows])
                self.step += 1
                elapsed = self.elapsed()
                if self.callback is not None and b % 10 == 0:
                    if self.callback(self._progress(self.best_epoch + extra + 1, loss, None, elapsed)):
                        self.cancelled = True
                if self.cancelled or elapsed > self.budget:
                    break
            if self.cancelled or elapsed > self.budget:
                break

    def _progress(self, epoch, loss, ndcg, elapsed) -> dict[str, Any]:
        m = self.model
        total = m.epochs * self.n_batches
        eta = min(elapsed / max(self.step, 1) * (total - self.step), max(m.max_minutes * 60.0 - elapsed, 0.0))
        return {
            "step": int(self.step),
            "epoch": round(float(epoch), 4),
            "epochs": int(m.epochs),
            "loss": float(loss),
            "val_ndcg10": None if ndcg is None else float(ndcg),
            "elapsed_s": round(elapsed, 2),
            "eta_s": round(eta, 1),
            # Share of the budget used: epochs or wall time, whichever runs out first.
            "fraction": round(min(1.0, max(epoch / m.epochs, elapsed / (m.max_minutes * 60.0))), 4),
        }


def train_step(model: TransformerLM, opt, inputs: list[np.ndarray], targets: list[np.ndarray]) -> float:
    """One AdamW step on full-softmax cross-entropy over the catalogue, every position of every row."""
    torch = torch_module()
    net = model.net_
    ids, mask, pos = model._batch(inputs)
    drop = None
    if model.id_dropout and net.has_content:
        # Id dropout: some items are seen by their content alone this step, as never-bought and new items are.
        drop = torch.rand(net.n_items, device=ids.device) < model.id_dropout
    table, bias = net.item_table(drop)
    hidden = net.hidden(ids, mask, pos, table if net.has_content else None)
    length = ids.shape[1]
    tgt = np.full((len(targets), length), -1, dtype=np.int64)
    for r, t in enumerate(targets):
        tgt[r, length - len(t) :] = t
    tgt_t = torch.as_tensor(tgt, device=model.device)
    keep = tgt_t >= 0
    # The catalogue-wide output layer is most of the cost: its loss is fused (core.models.lm_loss).
    h, y = hidden[keep], tgt_t[keep]
    loss = fused_cross_entropy(h, table, bias, y, model.use_bf16())
    if model.text_align and net.text_dim:
        loss = loss + model.text_align * text_alignment_loss(net, h, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def text_alignment_loss(net, hidden, target):
    """In-batch softmax of each position's next item among the batch's target items scored by their projected text
    alone: the text map must rank the right item by itself, so a rarely bought or new item, placed mostly by its
    text, is placed where buyers' histories point."""
    torch = torch_module()
    items, index = torch.unique(target, return_inverse=True)
    text = net.text_proj(net.item_text[items])
    return torch.nn.functional.cross_entropy(hidden @ text.T, index)


def valid_ndcg(model: TransformerLM, valid: ValidSet, k: int = 10) -> float:
    """Full-sort NDCG@k of the held-out items, the users' earlier items excluded from the ranking."""
    if len(valid.targets) == 0:
        return 0.0
    from core.evaluation.metrics import ndcg_at_k

    return ndcg_at_k(model.target_ranks(valid.histories, valid.targets), k)
