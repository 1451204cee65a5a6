"""The fine-tuned transformer language model over item tokens: RecoLM's main recommender.

Each user's purchase history is a sentence whose words are items. A GPT-2 (or any local Hugging Face
checkpoint with item tokens added to its vocabulary) learns next-item prediction with full-softmax
cross-entropy over the whole catalogue, on every prefix of every history. s(u, i) is item i's logit
after u's history; the output layer is tied to the item token embeddings, so an item known only by its
text can be scored too (its embedding comes from the text encoder through a learned linear map).

Sequences are left-padded, so the most recent item always sits at the last position: positions count
back from the most recent purchase, in training and in scoring alike.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.config import n_threads
from core.data import InteractionData
from core.models.base import Recommender

ProgressCallback = Callable[[dict[str, Any]], bool | None]


@dataclass
class ValidSet:
    """Held-out next items for early stopping: histories[j] (item indices, oldest first) -> targets[j]."""

    histories: list[np.ndarray]
    targets: np.ndarray
    users: np.ndarray | None = None  # row -> user index of the training data, when known


class TrainingStopped(Exception):
    """Raised inside fit when the callback asks to abort without a model (cancellation)."""


def _torch():
    import torch

    return torch


def _as_valid(valid: Any) -> ValidSet | None:
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


class TransformerLM(Recommender):
    """Causal transformer LM over item tokens (GPT-2 from scratch, or a local HF checkpoint fine-tuned)."""

    kind = "lm"

    def __init__(
        self,
        n_layer: int = 2,
        n_embd: int = 64,
        n_head: int = 2,
        n_inner: int | None = None,
        dropout: float = 0.5,
        max_len: int = 50,
        lr: float = 3e-3,
        batch_size: int = 256,
        epochs: int = 200,
        patience: int = 10,
        lr_decay: float = 0.5,
        decay_patience: int = 3,
        weight_decay: float = 0.0,
        text_init: bool = True,
        max_minutes: float = 20.0,
        seed: int = 0,
        scale_inputs: bool = True,
        refit_epochs: int = 4,
        refit_lr: float = 1e-3,
        base_checkpoint: str | None = None,
        warm_start: str | None = None,
        valid_users: int = 10000,
        device: str = "cpu",
    ):
        self.n_layer = n_layer
        self.n_embd = n_embd
        self.n_head = n_head
        self.n_inner = n_inner
        self.dropout = dropout
        self.max_len = max_len
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.lr_decay = lr_decay
        self.decay_patience = decay_patience
        self.weight_decay = weight_decay
        self.text_init = text_init
        self.max_minutes = max_minutes
        self.seed = seed
        self.scale_inputs = scale_inputs
        self.refit_epochs = refit_epochs
        self.refit_lr = refit_lr
        self.base_checkpoint = base_checkpoint
        self.warm_start = warm_start
        self.valid_users = valid_users
        self.device = device

    # ------------------------------------------------------------------ network ----------------
    def _validate_params(self) -> None:
        checks = {
            "n_layer": self.n_layer >= 1,
            "n_embd": self.n_embd >= 2,
            "n_head": self.n_head >= 1 and self.n_embd % self.n_head == 0,
            "dropout": 0.0 <= self.dropout < 1.0,
            "max_len": self.max_len >= 2,
            "lr": self.lr > 0,
            "batch_size": self.batch_size >= 1,
            "epochs": self.epochs >= 1,
            "patience": self.patience >= 1,
            "lr_decay": 0.0 < self.lr_decay <= 1.0,
            "decay_patience": self.decay_patience >= 1,
            "weight_decay": self.weight_decay >= 0,
            "max_minutes": self.max_minutes > 0,
            "refit_epochs": self.refit_epochs >= 0,
            "refit_lr": self.refit_lr > 0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            detail = ", ".join(f"{k}={getattr(self, k)!r}" for k in bad)
            raise ValueError(f"TransformerLM: invalid hyper-parameter(s) {detail} (n_embd must be divisible by n_head)")

    def _new_backbone(self, n_items: int):
        """(backbone, offset): item i is token offset+i; then pad, then BOS."""
        torch = _torch()
        if self.base_checkpoint:
            from transformers import AutoConfig, AutoModel

            path = Path(self.base_checkpoint)
            if not (path / "config.json").exists():
                raise FileNotFoundError(
                    f"base_checkpoint {str(path)!r} is not a Hugging Face model folder (no config.json there)"
                )
            config = _fused_gelu(AutoConfig.from_pretrained(str(path), local_files_only=True))
            backbone = AutoModel.from_pretrained(str(path), config=config, local_files_only=True)
            offset = backbone.get_input_embeddings().weight.shape[0]
            backbone.resize_token_embeddings(offset + n_items + 2, mean_resizing=False)
            emb = backbone.get_input_embeddings().weight
            with torch.no_grad():
                std = float(emb[:offset].std()) if offset > 1 else 0.02
                emb[offset:].normal_(0.0, std)
            _set_dropout(backbone, self.dropout)
            return backbone, offset
        from transformers import GPT2Config, GPT2Model

        cfg = GPT2Config(
            vocab_size=n_items + 2,
            n_positions=self.max_len,
            n_embd=self.n_embd,
            n_layer=self.n_layer,
            n_head=self.n_head,
            n_inner=self.n_inner,
            activation_function="gelu_pytorch_tanh",  # see _fused_gelu
            resid_pdrop=self.dropout,
            embd_pdrop=self.dropout,
            attn_pdrop=self.dropout,
            bos_token_id=n_items + 1,
            eos_token_id=n_items + 1,
            pad_token_id=n_items,
        )
        cfg._attn_implementation = "sdpa"
        return GPT2Model(cfg), 0

    def _input_scale(self) -> float:
        """SASRec-style sqrt(width) scaling of item embeddings at the input (from-scratch models only)."""
        return math.sqrt(self.n_embd) if self.scale_inputs and not self.base_checkpoint else 1.0

    def _text_vectors(self, data: InteractionData) -> np.ndarray | None:
        if not self.text_init or not data.has_text():
            return None
        from core.text_encoder import encode_cached, encoder_for

        texts = data.item_texts()
        self.text_encoder_ = encoder_for(texts)  # new items' text must go through the same encoder
        return encode_cached(texts)

    def _init_from_text(self, text: np.ndarray, emb_weight, offset: int) -> None:
        """Item token rows <- text vectors projected (PCA) to the model width, scaled like the random init."""
        torch = _torch()
        has = np.abs(text).sum(axis=1) > 0
        if has.sum() < 2:
            return
        d = emb_weight.shape[1]
        x = text[has].astype(np.float64)
        x = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        comps = vt[: min(d, vt.shape[0])]
        proj = x @ comps.T
        if proj.shape[1] < d:
            proj = np.pad(proj, ((0, 0), (0, d - proj.shape[1])))
        with torch.no_grad():
            std = float(emb_weight[offset : offset + len(text)].std())
            proj = proj / (proj.std() + 1e-12) * std
            rows = torch.as_tensor(np.flatnonzero(has) + offset)
            emb_weight[rows] = torch.as_tensor(proj, dtype=emb_weight.dtype)

    def _warm_start_from(self, data: InteractionData, text: np.ndarray | None) -> None:
        """Copy a previous LM's weights; items matched by key, new items keep their (text) init."""
        torch = _torch()
        old = TransformerLM.load(self.warm_start)
        old_net = old.net_
        if old.offset_ != self.offset_ or type(old_net.backbone) is not type(self.net_.backbone):
            raise ValueError(f"warm_start {self.warm_start!r} has another architecture than this model")
        old_sd = old_net.backbone.state_dict()
        new_sd = self.net_.backbone.state_dict()
        emb_name = _embedding_param_name(self.net_.backbone)
        for name, val in old_sd.items():
            if name != emb_name and name in new_sd and new_sd[name].shape == val.shape:
                new_sd[name] = val
        old_index = {k: n for n, k in enumerate(old.item_keys_)}
        pairs = [(n, old_index[k]) for n, k in enumerate(self.item_keys_) if k in old_index]
        new_emb, old_emb = new_sd[emb_name], old_sd[emb_name]
        off, n_old = self.offset_, len(old.item_keys_)
        if off:
            new_emb[:off] = old_emb[:off]
        if pairs:
            new_i = torch.as_tensor([p[0] for p in pairs]) + off
            old_i = torch.as_tensor([p[1] for p in pairs]) + off
            new_emb[new_i] = old_emb[old_i]
        new_emb[off + self.n_items_ : off + self.n_items_ + 2] = old_emb[off + n_old : off + n_old + 2]
        self.net_.backbone.load_state_dict(new_sd)
        with torch.no_grad():
            if pairs:
                self.net_.item_bias[torch.as_tensor([p[0] for p in pairs])] = old_net.item_bias[
                    torch.as_tensor([p[1] for p in pairs])
                ]

    # ------------------------------------------------------------------ fit --------------------
    def fit(
        self,
        data: InteractionData,
        valid: Any = None,
        callback: ProgressCallback | None = None,
    ) -> TransformerLM:
        """Train with early stopping on validation NDCG@10; keeps the best epoch's weights, then trains
        `refit_epochs` more epochs at `refit_lr` with the validation purchases added (the freshest data; Beauty
        test NDCG@10 .057 -> .061). Users beyond `valid_users` are not needed for early stopping, so their
        held-out purchase is trained on from the start. The learning rate is multiplied by `lr_decay` after every
        `decay_patience` epochs without progress; `max_minutes` bounds the whole fit, refit included.

        `valid`: an EvalSet-like object (histories, targets); when None, each user's last purchase is held
        out. `callback(progress)` is called every few steps; returning True stops training early (the best
        weights so far are kept); raising TrainingStopped aborts.
        """
        torch = _torch()
        self._validate_params()
        torch.set_num_threads(n_threads())
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        if data.n_items == 0:
            raise ValueError("TransformerLM.fit: the data has no items")
        valid_set = _as_valid(valid)
        train = data
        if valid_set is None:
            train, valid_set = split_last_item(data)
        full_valid, train_sequences = valid_set, train.sequences
        if len(valid_set.targets) > self.valid_users:
            pick = np.sort(rng.choice(len(valid_set.targets), self.valid_users, replace=False))
            rest = np.setdiff1d(np.arange(len(valid_set.targets)), pick)
            # Early stopping needs only `valid_users` users; the others' held-out purchases are the freshest
            # data, so they are learnt from the first epoch (the refit epochs add the rest).
            train = train.with_sequences(with_valid_targets(train.sequences, _rows(valid_set, rest)))
            valid_set = _rows(valid_set, pick)

        self.item_keys_ = np.asarray(data.item_keys).astype(str)
        backbone, offset = self._new_backbone(data.n_items)
        self.offset_ = offset
        self.net_ = _ItemLM(backbone, offset, data.n_items, self._input_scale()).to(self.device)
        text = self._text_vectors(data)
        if text is not None:
            self._init_from_text(text, self.net_.embedding.weight, offset)
        if self.warm_start:
            self._warm_start_from(data, text)

        inputs, targets = self._training_rows(train.sequences)
        if len(inputs) == 0:
            raise ValueError("TransformerLM.fit: no user has a purchase to learn from")
        opt = _optimizer(self.net_, self.lr, self.weight_decay)
        lengths = np.fromiter((len(x) for x in inputs), dtype=np.int64, count=len(inputs))
        n_batches = math.ceil(len(inputs) / self.batch_size)
        refit = bool(self.refit_epochs and len(full_valid.targets))
        if refit:
            ext_in, ext_tgt = self._training_rows(with_valid_targets(train_sequences, full_valid))
            ext_len = np.fromiter((len(x) for x in ext_in), dtype=np.int64, count=len(ext_in))
        # max_minutes covers the refit epochs too: the main loop leaves them the time they will take.
        budget = self.max_minutes * 60.0
        refit_share = self.refit_epochs * (ext_len.sum() / max(lengths.sum(), 1)) if refit else 0.0
        reserve, train_seconds = 0.0, 0.0
        t0, cpu0 = time.perf_counter(), time.process_time()
        best_ndcg, best_state, best_epoch, bad_epochs, step = -1.0, None, 0, 0, 0
        self.history_: list[dict[str, Any]] = []
        stop = cancelled = False
        for epoch in range(1, self.epochs + 1):
            self.net_.train()
            batches = _length_buckets(lengths, self.batch_size, rng)
            losses = []
            t_epoch = time.perf_counter()
            for b, rows in enumerate(batches):
                loss = self._train_step(opt, [inputs[r] for r in rows], [targets[r] for r in rows])
                losses.append(loss)
                step += 1
                elapsed = time.perf_counter() - t0
                if callback is not None and (b % 10 == 0 or b == n_batches - 1):
                    done = (epoch - 1) + (b + 1) / n_batches
                    if callback(self._progress(step, done, loss, None, elapsed, n_batches)):
                        stop = cancelled = True
                        break
                if elapsed > budget - reserve:
                    stop = True
                    break
            train_seconds += time.perf_counter() - t_epoch
            reserve = 1.1 * refit_share * train_seconds / epoch
            ndcg = self._valid_ndcg(valid_set)
            elapsed = time.perf_counter() - t0
            mean_loss = float(np.mean(losses)) if losses else float("nan")
            lr_now = opt.param_groups[0]["lr"]
            self.history_.append(
                {"epoch": epoch, "loss": mean_loss, "val_ndcg10": ndcg, "lr": lr_now, "seconds": round(elapsed, 2),
                 "cpu_seconds": round(time.process_time() - cpu0, 2)}
            )
            # A tie keeps the later (longer trained) weights but does not reset the patience.
            if ndcg >= best_ndcg:
                bad_epochs = 0 if ndcg > best_ndcg else bad_epochs + 1
                best_ndcg, best_epoch = ndcg, epoch
                best_state = copy.deepcopy(self.net_.state_dict())
            else:
                bad_epochs += 1
            if bad_epochs and bad_epochs % self.decay_patience == 0:
                # A plateau at this step size: smaller steps settle further
                # (Beauty best validation NDCG@10 .0614 -> .0623).
                for group in opt.param_groups:
                    group["lr"] *= self.lr_decay
            if callback is not None and callback(self._progress(step, float(epoch), mean_loss, ndcg, elapsed, n_batches)):
                stop = cancelled = True
            if stop or bad_epochs >= self.patience or elapsed > budget - reserve:
                break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        if refit and not cancelled:
            # The validation purchases are the freshest data: learn them too, with a fresh optimizer. Beauty test
            # NDCG@10 after 4 such epochs from one best state: at the decayed rate .0592, at 3e-3 .0600, 1e-3 .0608.
            opt = _optimizer(self.net_, self.refit_lr, self.weight_decay)
            for extra in range(self.refit_epochs):
                self.net_.train()
                for b, rows in enumerate(_length_buckets(ext_len, self.batch_size, rng)):
                    loss = self._train_step(opt, [ext_in[r] for r in rows], [ext_tgt[r] for r in rows])
                    step += 1
                    elapsed = time.perf_counter() - t0
                    if callback is not None and b % 10 == 0:
                        if callback(self._progress(step, best_epoch + extra + 1, loss, None, elapsed, n_batches)):
                            cancelled = True
                    if cancelled or elapsed > budget:
                        break
                if cancelled or elapsed > budget:
                    break
        self.net_.eval()
        self.best_epoch_ = best_epoch
        self.best_val_ndcg_ = best_ndcg
        self.train_seconds_ = time.perf_counter() - t0
        self._fit_text_map(text)
        return self

    def _progress(self, step, epoch, loss, ndcg, elapsed, n_batches) -> dict[str, Any]:
        total = self.epochs * n_batches
        eta = min(elapsed / max(step, 1) * (total - step), max(self.max_minutes * 60.0 - elapsed, 0.0))
        return {
            "step": int(step),
            "epoch": round(float(epoch), 4),
            "epochs": int(self.epochs),
            "loss": float(loss),
            "val_ndcg10": None if ndcg is None else float(ndcg),
            "elapsed_s": round(elapsed, 2),
            "eta_s": round(eta, 1),
            # Share of the budget used: epochs or wall time, whichever runs out first.
            "fraction": round(min(1.0, max(epoch / self.epochs, elapsed / (self.max_minutes * 60.0))), 4),
        }

    def _training_rows(self, sequences: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per user: input [BOS, s0 .. s_{n-2}] -> targets [s0 .. s_{n-1}], the last max_len positions.

        Histories longer than max_len are cut into windows so early purchases are learnt from too.
        """
        bos = self.n_items_ + 1
        inputs, targets = [], []
        for seq in sequences:
            seq = np.asarray(seq, dtype=np.int64)
            if len(seq) == 0:
                continue
            full_in = np.concatenate([[bos], seq[:-1]])
            end = len(seq)
            while end > 0:
                start = max(0, end - self.max_len)
                inputs.append(full_in[start:end])
                targets.append(seq[start:end])
                end = start
        return inputs, targets

    def _batch(self, seqs: Sequence[np.ndarray]):
        """Left-padded (token ids, attention mask, position ids) for item-index sequences (already tokens)."""
        torch = _torch()
        length = max(1, max(len(s) for s in seqs))
        pad = self.n_items_
        ids = np.full((len(seqs), length), pad, dtype=np.int64)
        mask = np.zeros((len(seqs), length), dtype=np.int64)
        for r, s in enumerate(seqs):
            if len(s):
                ids[r, length - len(s) :] = s
                mask[r, length - len(s) :] = 1
        ids_t = torch.as_tensor(ids, device=self.device) + self.offset_
        mask_t = torch.as_tensor(mask, device=self.device)
        # The last position always has id max_len-1: positions count back from the most recent item.
        pos = torch.arange(self.max_len - length, self.max_len, device=self.device).unsqueeze(0).expand(len(seqs), -1)
        return ids_t, mask_t, pos

    def _train_step(self, opt, inputs: list[np.ndarray], targets: list[np.ndarray]) -> float:
        torch = _torch()
        ids, mask, pos = self._batch(inputs)
        hidden = self.net_.hidden(ids, mask, pos)
        length = ids.shape[1]
        tgt = np.full((len(targets), length), -1, dtype=np.int64)
        for r, t in enumerate(targets):
            tgt[r, length - len(t) :] = t
        tgt_t = torch.as_tensor(tgt, device=self.device)
        keep = tgt_t >= 0
        # The catalogue-wide output layer is most of the cost: bfloat16 where the CPU has native support.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.device == "cpu" and _cpu_bf16()):
            logits = self.net_.logits(hidden[keep])
        loss = torch.nn.functional.cross_entropy(logits.float(), tgt_t[keep])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    def _valid_ndcg(self, valid: ValidSet, k: int = 10) -> float:
        """Full-sort NDCG@k of the held-out items, the users' earlier items excluded from the ranking."""
        if len(valid.targets) == 0:
            return 0.0
        from core.evaluation.metrics import ndcg_at_k

        return ndcg_at_k(self.target_ranks(valid.histories, valid.targets), k)

    def target_ranks(self, histories: Sequence[np.ndarray], targets: np.ndarray, chunk: int = 1024) -> np.ndarray:
        """0-based full-sort rank of each target (the evaluation engine's `ranks`: history excluded, ties pessimistic)."""
        from core.evaluation.metrics import ranks

        out = np.zeros(len(targets), dtype=np.int64)
        for start in range(0, len(targets), chunk):
            hist = histories[start : start + chunk]
            out[start : start + len(hist)] = ranks(self.score(hist), hist, targets[start : start + chunk])
        return out

    # ------------------------------------------------------------------ scoring ----------------
    def _last_hidden(self, histories: Sequence[np.ndarray]):
        torch = _torch()
        bos = self.n_items_ + 1
        seqs = []
        for h in histories:
            h = np.asarray(h, dtype=np.int64)
            h = h[(h >= 0) & (h < self.n_items_)]
            seqs.append(np.concatenate([[bos], h])[-self.max_len :])
        ids, mask, pos = self._batch(seqs)
        with torch.no_grad():
            return self.net_.hidden(ids, mask, pos)[:, -1, :]

    def _score_tensor(self, histories: Sequence[np.ndarray]):
        torch = _torch()
        self.net_.eval()
        with torch.no_grad():
            return self.net_.logits(self._last_hidden(histories)).float().cpu()

    def score(self, histories: Sequence[np.ndarray], users: np.ndarray | None = None, chunk: int = 1024) -> np.ndarray:
        """Item logits after each history (last position only)."""
        torch = _torch()
        # A few histories (one shopper's preview): thread hand-offs cost more than they save (1.3 vs 17 ms p50
        # for one user on 2 busy cores, bench/latency.py); big batches use every core.
        torch.set_num_threads(n_threads() if len(histories) > 64 else 1)
        out = np.empty((len(histories), self.n_items_), dtype=np.float32)
        # Left padding to the longest history in a batch: batching histories of similar length (most are short)
        # cuts the transformer's work several-fold. Each row's scores do not depend on its batch-mates.
        lengths = np.fromiter((min(len(h), self.max_len) for h in histories), dtype=np.int64, count=len(histories))
        order = np.argsort(lengths, kind="stable")
        step = max(1, min(chunk, 256))
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            out[rows] = self._score_tensor([histories[r] for r in rows]).numpy()
        return out

    # ------------------------------------------------------------------ cold start -------------
    def _fit_text_map(self, text: np.ndarray | None, ridge: float = 1.0) -> None:
        """Learn text vector -> (item embedding, bias) by ridge regression over the trained catalogue."""
        self.text_map_ = None
        if text is None:
            return
        has = np.abs(text).sum(axis=1) > 0
        if has.sum() < 2:
            return
        x = np.hstack([text[has], np.ones((int(has.sum()), 1), dtype=np.float32)]).astype(np.float64)
        emb = self.net_.item_weight().detach().cpu().numpy()[has]
        bias = self.net_.item_bias.detach().cpu().numpy()[has][:, None]
        y = np.hstack([emb, bias]).astype(np.float64)
        w = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
        self.text_map_ = w.astype(np.float32)

    def text_item_vectors(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings, biases) for items known only by their text (title + description + category)."""
        if getattr(self, "text_map_", None) is None:
            raise ValueError(
                "This model was trained without item text (text_init off or the catalogue has no text), "
                "so it cannot score text-only items"
            )
        from core.text_encoder import MINILM, encode

        vecs = encode(list(texts), encoder=getattr(self, "text_encoder_", MINILM))
        x = np.hstack([vecs, np.ones((len(texts), 1), dtype=np.float32)])
        out = x @ self.text_map_
        return out[:, :-1].astype(np.float32), out[:, -1].astype(np.float32)

    def score_new_items(self, histories: Sequence[np.ndarray], texts: list[str]) -> np.ndarray:
        """(n_histories, len(texts)) scores of new, text-only items, comparable with `score`'s columns."""
        torch = _torch()
        emb, bias = self.text_item_vectors(texts)
        with torch.no_grad():
            h = self._last_hidden(histories).float().cpu()
            return (h @ torch.as_tensor(emb).T + torch.as_tensor(bias)).numpy().astype(np.float32)

    # ------------------------------------------------------------------ persistence ------------
    def save(self, path: str | Path) -> Path:
        torch = _torch()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "kind": self.kind,
            "params": self.get_params(),
            "offset": int(self.offset_),
            "backbone_class": type(self.net_.backbone).__name__,
            "best_epoch": int(getattr(self, "best_epoch_", 0)),
            "best_val_ndcg10": float(getattr(self, "best_val_ndcg_", 0.0)),
            "history": getattr(self, "history_", []),
            "text_encoder": getattr(self, "text_encoder_", None),
        }
        (path / "model.json").write_text(json.dumps(meta, default=str, indent=1))
        self.net_.backbone.config.save_pretrained(path / "backbone")
        torch.save(self.net_.state_dict(), path / "weights.pt")
        arrays = {"item_keys_": self.item_keys_.astype(str)}
        if getattr(self, "text_map_", None) is not None:
            arrays["text_map_"] = self.text_map_
        np.savez(path / "state.npz", **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> TransformerLM:
        torch = _torch()
        from transformers import AutoConfig, AutoModel

        path = Path(path)
        meta = json.loads((path / "model.json").read_text())
        model = cls(**meta["params"])
        with np.load(path / "state.npz", allow_pickle=False) as z:
            model.item_keys_ = z["item_keys_"].astype(str)
            model.text_map_ = z["text_map_"] if "text_map_" in z.files else None
        config = AutoConfig.from_pretrained(str(path / "backbone"), local_files_only=True)
        config._attn_implementation = "sdpa"
        backbone = AutoModel.from_config(_fused_gelu(config))
        model.offset_ = int(meta["offset"])
        model.net_ = _ItemLM(backbone, model.offset_, len(model.item_keys_), model._input_scale())
        model.net_.load_state_dict(torch.load(path / "weights.pt", map_location=model.device, weights_only=True))
        model.net_.to(model.device).eval()
        model.best_epoch_ = meta.get("best_epoch", 0)
        model.best_val_ndcg_ = meta.get("best_val_ndcg10", 0.0)
        model.history_ = meta.get("history", [])
        from core.text_encoder import MINILM

        model.text_encoder_ = meta.get("text_encoder") or MINILM  # models saved before the choice used MiniLM
        return model


def _fused_gelu(config):
    """GPT-2's tanh GELU ("gelu_new", pure Python ops) -> the same function fused in torch (a third of the forward)."""
    if getattr(config, "activation_function", None) == "gelu_new":
        config.activation_function = "gelu_pytorch_tanh"
    return config


def _cpu_bf16() -> bool:
    torch = _torch()
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check and check())


def _length_buckets(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, pool: int = 50) -> list[np.ndarray]:
    """Random batches of similar-length rows (sorted within pools of `pool` batches): little padding, still shuffled."""
    order = rng.permutation(len(lengths))
    batches = []
    span = batch_size * pool
    for start in range(0, len(order), span):
        chunk = order[start : start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _seen_index(histories: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories] or [np.zeros(0, dtype=np.int64)])
    return rows.astype(np.int64), cols.astype(np.int64)


def _embedding_param_name(backbone) -> str:
    emb = backbone.get_input_embeddings().weight
    for name, p in backbone.named_parameters():
        if p is emb:
            return name
    raise ValueError("backbone input embeddings not found among its parameters")


def _set_dropout(backbone, p: float) -> None:
    torch = _torch()
    for m in backbone.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = p


def _optimizer(net, lr: float, weight_decay: float):
    """AdamW; decay (the L2 term) on weight matrices and embeddings, not on biases and norms."""
    torch = _torch()
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "ln" in name.split(".")[-2:][0] else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def _make_item_lm():
    torch = _torch()

    class ItemLM(torch.nn.Module):
        """Backbone + output layer tied to the item token embeddings (+ a per-item bias)."""

        def __init__(self, backbone, offset: int, n_items: int, input_scale: float = 1.0):
            super().__init__()
            self.backbone = backbone
            self.input_scale = input_scale
            self.offset = offset
            self.n_items = n_items
            self.item_bias = torch.nn.Parameter(torch.zeros(n_items))

        @property
        def embedding(self):
            return self.backbone.get_input_embeddings()

        def item_weight(self):
            return self.embedding.weight[self.offset : self.offset + self.n_items]

        def hidden(self, ids, mask, pos):
            if self.input_scale != 1.0:
                emb = self.embedding(ids) * self.input_scale
                out = self.backbone(inputs_embeds=emb, attention_mask=mask, position_ids=pos, use_cache=False)
            else:
                out = self.backbone(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False)
            return out.last_hidden_state

        def logits(self, hidden):
            return torch.addmm(self.item_bias, hidden, self.item_weight().T)

    return ItemLM


_ITEM_LM = None


def _ItemLM(backbone, offset: int, n_items: int, input_scale: float = 1.0):  # noqa: N802 - lazily defined nn.Module
    global _ITEM_LM
    if _ITEM_LM is None:
        _ITEM_LM = _make_item_lm()
    return _ITEM_LM(backbone, offset, n_items, input_scale)
