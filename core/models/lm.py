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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.config import n_threads
from core.i18n import N_
from core.interactions import InteractionData
from core.models.base import Param, ProgressCallback, Recommender
from core.models.lm_memory import MemorySetting, PurchaseMemory, tune_memory
from core.models.lm_network import (
    backbone_from_config,
    checkpoint_backbone,
    embedding_param_name,
    gpt2_backbone,
    item_lm,
    left_padded,
    torch_module,
)
from core.models.lm_trainer import (  # noqa: F401  ValidSet, TrainingStopped, split_last_item: the LM's public API
    LMTrainer,
    TrainingStopped,
    ValidSet,
    prepare_fit_data,
    split_last_item,
    with_valid_targets,
)
from core.models.lm_votes import ItemVotes, VoteSetting, tune_votes
from core.models.lm_words import WORD_MIN_LIFT, build_item_words, encode_words


class TransformerLM(Recommender):
    """Causal transformer LM over item tokens (GPT-2 from scratch, or a local HF checkpoint fine-tuned)."""

    kind = "lm"
    label = N_("Transformer language model (recommended)")
    uses_validation = True
    supports_warm_start = True
    supports_base_checkpoint = True
    is_slow = True
    param_specs = (
        Param("epochs", int, N_("Max epochs"), N_("Passes over the data; early stopping usually ends sooner."), 1, 1000),
        Param("max_minutes", float, N_("Time budget (min)"),
              N_("Wall-time budget, final refit included; training keeps its best epoch."), 0.5, 600.0, 0.5),
        Param("patience", int, N_("Patience (epochs)"),
              N_("Stop after this many epochs without a better validation NDCG@10."), 1, 100),
        Param("lr", float, N_("Learning rate"), N_("Adam step size; halved after each 3 epochs without progress."),
              1e-5, 1e-1, fmt="%.5f"),
        Param("n_layer", int, N_("Layers"), N_("Transformer blocks."), 1, 12, group="architecture"),
        Param("n_embd", int, N_("Width"), N_("Size of each item's vector and of the hidden state."), 8, 1024, 8,
              group="architecture"),
        Param("n_head", int, N_("Heads"), N_("Attention heads; must divide the width."), 1, 16, group="architecture"),
        Param("dropout", float, N_("Dropout"), N_("Against over-fitting; high values suit sparse shops."), 0.0, 0.9, 0.05),
        Param("weight_decay", float, N_("Weight decay (L2)"), N_("Penalty on large weights."), 0.0, 1.0, 0.001, "%.4f"),
        Param("batch_size", int, N_("Batch size"), N_("Customers per training step."), 8, 4096, 8),
        Param("max_len", int, N_("History length"), N_("How many most recent purchases the model reads."), 2, 512),
        Param("text_init", bool, N_("Text initialisation"),
              N_("Start each item's vector from its title, description, category and brand.")),
        Param("text_add", bool, N_("Text throughout training"),
              N_("Add each item's text vector to its learned vector at every step: rarely bought and new items are "
                 "placed by their text.")),
        Param("text_words", bool, N_("Learn the words"),
              N_("Every word of the item texts gets a learned vector shared by all items that carry it.")),
        Param("id_dropout", float, N_("Id dropout"),
              N_("Share of items seen by their text alone at each step, so that new items are placed well."),
              0.0, 0.9, 0.05),
        Param("memory", bool, N_("Purchase memory"),
              N_("Also recall what customers in a similar state bought next (kNN-LM): rarely bought items are "
                 "remembered. Its weight is chosen on the validation purchases; off where it does not help.")),
        Param("item_votes", bool, N_("Rare-item votes"),
              N_("Also let item-to-item similarity and the item texts vote, damped by popularity, so that items "
                 "bought once or twice reach the top 10. Chosen on the validation purchases, never at the cost of "
                 "overall accuracy.")),
        Param("lr_decay", float, N_("Learning-rate decay"), N_("learning-rate factor after each plateau (1 = constant)"),
              group="advanced"),
        Param("decay_patience", int, N_("Decay patience"),
              N_("epochs without validation gain before the learning rate is cut"), group="advanced"),
        Param("refit_epochs", int, N_("Refit epochs"), N_("final epochs that also learn the validation purchases"),
              group="advanced"),
        Param("refit_lr", float, N_("Refit learning rate"), N_("learning rate of those final epochs"), group="advanced"),
        Param("bf16", bool, N_("bfloat16 output layer"),
              N_("bfloat16 products in the output layer (default: where the CPU has them)"), group="advanced"),
        Param("seed", int, N_("Seed"), N_("random seed"), group="advanced"),
    )

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
        text_add: bool = True,
        text_words: bool = True,
        id_dropout: float = 0.1,
        text_align: float = 0.0,
        memory: bool = True,
        item_votes: bool = True,
        max_minutes: float = 20.0,
        seed: int = 0,
        scale_inputs: bool = True,
        refit_epochs: int = 4,
        refit_lr: float = 1e-3,
        base_checkpoint: str | None = None,
        warm_start: str | None = None,
        valid_users: int = 10000,
        bf16: bool | None = None,
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
        self.text_add = text_add
        self.text_words = text_words
        self.id_dropout = id_dropout
        self.text_align = text_align
        self.max_minutes = max_minutes
        self.seed = seed
        self.scale_inputs = scale_inputs
        self.memory = memory
        self.item_votes = item_votes
        self.refit_epochs = refit_epochs
        self.refit_lr = refit_lr
        self.base_checkpoint = base_checkpoint
        self.warm_start = warm_start
        self.valid_users = valid_users
        self.bf16 = bf16
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
            "text_align": self.text_align >= 0,
            "id_dropout": 0.0 <= self.id_dropout < 1.0,
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
        if self.base_checkpoint:
            return checkpoint_backbone(self.base_checkpoint, n_items, self.dropout)
        return gpt2_backbone(n_items, self.max_len, self.n_embd, self.n_layer, self.n_head, self.n_inner,
                             self.dropout)

    def use_bf16(self) -> bool:
        """bfloat16 products in the training loss: as asked, else where the CPU multiplies bfloat16 natively
        (AVX512-BF16 or AMX: the loss 1.4-1.8x faster on Beauty, gradients within ~0.3 %); float32 on a GPU."""
        if self.bf16 is not None:
            return bool(self.bf16)
        if self.device != "cpu":
            return False
        torch = torch_module()
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())

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
        torch = torch_module()
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
        torch = torch_module()
        old = TransformerLM.load(self.warm_start)
        old_net = old.net_
        if old.offset_ != self.offset_ or type(old_net.backbone) is not type(self.net_.backbone):
            raise ValueError(f"warm_start {self.warm_start!r} has another architecture than this model")
        old_sd = old_net.backbone.state_dict()
        new_sd = self.net_.backbone.state_dict()
        emb_name = embedding_param_name(self.net_.backbone)
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
        if getattr(old_net, "text_dim", 0) and getattr(self.net_, "text_dim", 0) == old_net.text_dim:
            self.net_.text_proj.load_state_dict(old_net.text_proj.state_dict())
        old_words = {w: n for n, w in enumerate(getattr(old, "words_vocab_", []))}
        word_pairs = [(n, old_words[w]) for n, w in enumerate(self.words_vocab_) if w in old_words]
        if word_pairs and getattr(old_net, "n_words", 0) and self.net_.n_words:
            with torch.no_grad():
                self.net_.words.weight[torch.as_tensor([p[0] for p in word_pairs])] = old_net.words.weight[
                    torch.as_tensor([p[1] for p in word_pairs])
                ]
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
        weights so far are kept); raising TrainingStopped aborts. The loop itself is `LMTrainer`'s.
        """
        torch = torch_module()
        self._validate_params()
        torch.set_num_threads(n_threads())
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        if data.n_items == 0:
            raise ValueError("TransformerLM.fit: the data has no items")
        fit_data = prepare_fit_data(data, valid, self.valid_users, rng)
        self.memory_, self.memory_table_ = None, []
        self.votes_, self.votes_table_ = None, []
        text = self._build_network(data)
        trainer = LMTrainer(self, callback, rng)
        self.history_: list[dict[str, Any]] = trainer.history
        trainer.run(fit_data)
        self.net_.eval()
        self.best_epoch_ = trainer.best_epoch
        self.best_val_ndcg_ = trainer.best_ndcg
        self.train_seconds_ = trainer.elapsed()
        seen = np.bincount(np.concatenate([np.asarray(s, dtype=np.int64) for s in data.sequences]
                                          + [np.asarray(fit_data.full_valid.targets, dtype=np.int64)]),
                           minlength=data.n_items)[: data.n_items] > 0
        self._fit_text_map(text, seen)
        self._place_unseen_items(text, seen)
        # Memory and votes are tuned before the refit on what early stopping held out; both then hold every
        # purchase fit was given.
        everything = with_valid_targets(fit_data.base, fit_data.full_valid)
        if trainer.memory_setting is not None:
            inputs, targets = self._training_rows(everything)
            self.memory_ = PurchaseMemory.build(self._position_states, inputs, targets, data.n_items)
            self.memory_.setting = trainer.memory_setting
        if trainer.votes_setting is not None:
            self.votes_ = ItemVotes.build(data.with_sequences(everything), self._text_matrix())
            self.votes_.setting = trainer.votes_setting
        self.fit_info_ = {"seconds": self.train_seconds_, "best_epoch": int(trainer.best_epoch),
                          "memory": trainer.memory_setting.as_dict() if trainer.memory_setting else None,
                          "memory_seconds": round(trainer.memory_seconds, 2)}
        if self.item_votes:
            self.fit_info_.update(votes=trainer.votes_setting.as_dict() if trainer.votes_setting else None,
                                  votes_seconds=round(trainer.votes_seconds, 2))
        return self

    def _build_network(self, data: InteractionData) -> np.ndarray | None:
        """A fresh network for `data`'s items (text-initialised, warm-started if asked); returns the text vectors."""
        self.item_keys_ = np.asarray(data.item_keys).astype(str)
        backbone, offset = self._new_backbone(data.n_items)
        self.offset_ = offset
        text = self._text_vectors(data)
        text_dim = text.shape[1] if text is not None and self.text_add else 0
        words = None
        if text is not None and self.text_words:
            words = build_item_words(data.item_texts(), sequences=data.sequences, min_lift=WORD_MIN_LIFT)
        self.words_vocab_ = np.asarray(words.vocab if words else [], dtype=str)
        self.net_ = item_lm(backbone, offset, data.n_items, self._input_scale(), text_dim,
                            len(words.vocab) if words else 0, words.ids.shape[1] if words else 1).to(self.device)
        if words is not None:
            torch = torch_module()
            self.net_.item_words.copy_(torch.as_tensor(words.ids))
        if text is not None:
            self._init_from_text(text, self.net_.embedding.weight, offset)
            if text_dim:
                torch = torch_module()
                with torch.no_grad():
                    self.net_.item_text.copy_(torch.as_tensor(text, dtype=torch.float32))
        if self.warm_start:
            self._warm_start_from(data, text)
        return text

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
        return left_padded(seqs, self.n_items_, self.offset_, self.max_len, self.device)

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
        torch = torch_module()
        bos = self.n_items_ + 1
        seqs = []
        for h in histories:
            h = np.asarray(h, dtype=np.int64)
            h = h[(h >= 0) & (h < self.n_items_)]
            seqs.append(np.concatenate([[bos], h])[-self.max_len :])
        ids, mask, pos = self._batch(seqs)
        with torch.no_grad():
            return self.net_.hidden(ids, mask, pos)[:, -1, :]

    def _last_state(self, histories: Sequence[np.ndarray]):
        """(last hidden states, item logits) after each history, the network in eval mode."""
        torch = torch_module()
        if self.net_.training:  # eval() walks every submodule: ~1 ms of a one-user request
            self.net_.eval()
        with torch.no_grad():
            h = self._last_hidden(histories)
            return h.float().cpu(), self.net_.logits(h).float().cpu()

    def _score_tensor(self, histories: Sequence[np.ndarray]):
        h, logits = self._last_state(histories)
        memory = getattr(self, "memory_", None)
        out = logits if memory is None else memory.mix(logits, h)
        if self._votes_on():
            out = self.votes_.mix(torch_module().log_softmax(out, dim=1), histories)
        return out

    def scoring_variants(self) -> dict[str, TransformerLM]:
        """The same network without its rare-item votes, and without memory and votes: what each buys, paired."""
        out: dict[str, TransformerLM] = {}
        if self._votes_on():
            out["votes off"] = copy.copy(self)
            out["votes off"].votes_ = None
        if self._memory_on():
            name = "memory and votes off" if out else "memory off"
            out[name] = copy.copy(self)
            out[name].votes_ = out[name].memory_ = None
        return out

    def _memory_on(self) -> bool:
        memory = getattr(self, "memory_", None)
        return memory is not None and memory.setting is not None

    def _votes_on(self) -> bool:
        votes = getattr(self, "votes_", None)
        return votes is not None and votes.setting is not None

    def _text_matrix(self) -> np.ndarray | None:
        """The items' frozen sentence vectors the network holds (None without text)."""
        return self.net_.item_text.float().cpu().numpy() if self.net_.text_dim else None

    def _position_states(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """The hidden state at every position of each input row (rows of `_training_rows`), stacked in row order."""
        torch = torch_module()
        self.net_.eval()
        lengths = np.fromiter((len(x) for x in inputs), dtype=np.int64, count=len(inputs))
        starts = np.concatenate([[0], np.cumsum(lengths)])
        out = np.empty((int(starts[-1]), self.net_.embedding.weight.shape[1]), dtype=np.float32)
        order = np.argsort(lengths, kind="stable")
        for s in range(0, len(order), 512):
            rows = order[s : s + 512]
            ids, mask, pos = self._batch([inputs[r] for r in rows])
            with torch.no_grad():
                h = self.net_.hidden(ids, mask, pos).float().cpu().numpy()
            width = ids.shape[1]
            for j, r in enumerate(rows):
                out[starts[r] : starts[r + 1]] = h[j, width - lengths[r] :]
        return out

    def tune_memory(self, inputs: Sequence[np.ndarray], targets: Sequence[np.ndarray], valid: ValidSet
                    ) -> PurchaseMemory | None:
        """A memory of the training rows (`inputs` -> `targets`) with its setting chosen on `valid` (setting None:
        memory off, no setting beat the LM alone). The table of every setting is kept."""
        if not len(valid.targets):
            return None
        memory = PurchaseMemory.build(self._position_states, inputs, targets, self.n_items_)
        memory.setting, self.memory_table_ = tune_memory(memory, self._last_state, valid.histories, valid.targets)
        return memory

    def tune_votes(self, train: InteractionData, valid: ValidSet, memory: PurchaseMemory | None
                   ) -> VoteSetting | None:
        """Choose the rare-item votes' setting on `valid`, with votes from `train` over the LM as it will score
        (with `memory` where that is on); None: off. The table of every setting is kept."""
        if not len(valid.targets):
            return None
        from core.evaluation.cold import COLD_MAX_PURCHASES  # the slice the Evaluation page shows

        torch = torch_module()
        votes = ItemVotes.build(train, self._text_matrix())

        def log_probs(histories):
            h, logits = self._last_state(histories)
            if memory is not None:  # mix() leaves the logits alone where the memory is off
                logits = memory.mix(logits, h)
            return torch.log_softmax(logits, dim=1)

        setting, self.votes_table_ = tune_votes(votes, log_probs, valid.histories, valid.targets,
                                                COLD_MAX_PURCHASES)
        return setting

    def score(self, histories: Sequence[np.ndarray], users: np.ndarray | None = None, chunk: int = 1024) -> np.ndarray:
        """Item logits after each history (last position only)."""
        torch = torch_module()
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
    def _fit_text_map(self, text: np.ndarray | None, seen: np.ndarray | None = None, ridge: float = 1.0) -> None:
        """Learn text vector -> (item vector, bias) by ridge regression over the items training showed (`seen`):
        a never-bought item's vector was only ever pushed down as a negative, so it would teach the map nothing."""
        self.text_map_ = None
        if text is None:
            return
        has = np.abs(text).sum(axis=1) > 0
        if seen is not None:
            has &= np.asarray(seen, dtype=bool)
        if has.sum() < 2:
            return
        x = np.hstack([text[has], np.ones((int(has.sum()), 1), dtype=np.float32)]).astype(np.float64)
        emb = self.net_.item_weight().detach().cpu().numpy()[has]
        bias = self.net_.item_bias.detach().cpu().numpy()[has][:, None]
        y = np.hstack([emb, bias]).astype(np.float64)
        w = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
        self.text_map_ = w.astype(np.float32)

    def _place_unseen_items(self, text: np.ndarray | None, seen: np.ndarray) -> None:
        """Items with text that no training sequence contains are placed by their text, so the model can rank a new
        item (an id-only model has nothing to place it by): with content parts (text added, words) their id part is
        dropped, as id dropout trained the content to stand alone; else they get the vector and bias their text
        vector maps to (`_fit_text_map`)."""
        if text is None:
            return
        rows = np.flatnonzero(~np.asarray(seen, dtype=bool) & (np.abs(text).sum(axis=1) > 0))
        if not len(rows):
            return
        torch = torch_module()
        if self.net_.has_content:
            with torch.no_grad():
                idx = torch.as_tensor(rows)
                self.net_.embedding.weight[idx + self.offset_] = 0.0
                self.net_.item_bias[idx] = 0.0
            self.unseen_items_placed_ = int(len(rows))
            return
        if getattr(self, "text_map_", None) is None:
            return
        x = np.hstack([text[rows], np.ones((len(rows), 1), dtype=np.float32)]) @ self.text_map_
        with torch.no_grad():
            target = torch.as_tensor(x[:, :-1], dtype=torch.float32)
            idx = torch.as_tensor(rows)
            emb = self.net_.embedding.weight
            emb[idx + self.offset_] = target.to(emb.dtype)
            self.net_.item_bias[idx] = torch.as_tensor(x[:, -1], dtype=self.net_.item_bias.dtype)
        self.unseen_items_placed_ = int(len(rows))

    def text_item_vectors(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings, biases) for items known only by their text (title, description, category, brand): their
        content parts, as a never-bought item's; for a model with text only as initialisation, the ridge map."""
        if not self._reads_text():
            raise ValueError(
                "This model was trained without item text (text_init off or the catalogue has no text), "
                "so it cannot score text-only items"
            )
        from core.text_encoder import MINILM, encode

        vecs = encode(list(texts), encoder=getattr(self, "text_encoder_", MINILM))
        if self.net_.has_content:
            torch = torch_module()
            words = None
            if self.net_.n_words:
                ids = encode_words(texts, list(self.words_vocab_), self.net_.item_words.shape[1])
                words = torch.as_tensor(ids, device=self.device)
            with torch.no_grad():
                vec, bias = self.net_.content(torch.as_tensor(vecs, device=self.device), words)
            if vec is None:
                vec = torch.zeros(len(texts), self.net_.embedding.weight.shape[1])
            if bias is None:
                bias = torch.zeros(len(texts))
            return vec.float().cpu().numpy(), bias.float().cpu().numpy()
        x = np.hstack([vecs, np.ones((len(texts), 1), dtype=np.float32)])
        out = x @ self.text_map_
        return out[:, :-1].astype(np.float32), out[:, -1].astype(np.float32)

    def _reads_text(self) -> bool:
        return getattr(self, "text_map_", None) is not None or self.net_.has_content

    def can_score_new_items(self, texts: Sequence[str]) -> bool:
        """Only a model trained with item text maps new items' text into its item space."""
        return self._reads_text() and any(texts)

    def score_new_items(self, histories: Sequence[np.ndarray], texts: list[str]) -> np.ndarray:
        """(n_histories, len(texts)) scores of new, text-only items, comparable with `score`'s columns."""
        torch = torch_module()
        emb, bias = self.text_item_vectors(texts)
        h, logits = self._last_state(histories)
        with torch.no_grad():
            new = h @ torch.as_tensor(emb).T + torch.as_tensor(bias)
            if self._memory_on() or self._votes_on():
                # On `score`'s scale: the LM's log-probability (memory and votes abstain on never-bought items).
                new = new - torch.logsumexp(logits, dim=1, keepdim=True)
            return new.numpy().astype(np.float32)

    # ------------------------------------------------------------------ persistence ------------
    def save(self, path: str | Path) -> Path:
        torch = torch_module()
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
            "text_dim": int(getattr(self.net_, "text_dim", 0)),
            "n_words": int(self.net_.n_words),
            "words_per_item": int(self.net_.item_words.shape[1]) if self.net_.n_words else 1,
            "memory": None if getattr(self, "memory_", None) is None else
            {**self.memory_.setting.as_dict(), "scale": self.memory_.scale},
            "memory_table": getattr(self, "memory_table_", []),
            "votes": self.votes_.setting.as_dict() if self._votes_on() else None,
            "votes_table": getattr(self, "votes_table_", []),
        }
        (path / "model.json").write_text(json.dumps(meta, default=str, indent=1))
        self.net_.backbone.config.save_pretrained(path / "backbone")
        torch.save(self.net_.state_dict(), path / "weights.pt")
        arrays = {"item_keys_": self.item_keys_.astype(str),
                  "words_vocab_": np.asarray(getattr(self, "words_vocab_", []), dtype=str)}
        if getattr(self, "text_map_", None) is not None:
            arrays["text_map_"] = self.text_map_
        if getattr(self, "memory_", None) is not None:
            arrays.update(self.memory_.arrays())
        if self._votes_on():
            arrays.update(self.votes_.arrays())
        np.savez(path / "state.npz", **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> TransformerLM:
        torch = torch_module()
        path = Path(path)
        meta = json.loads((path / "model.json").read_text())
        model = cls(**meta["params"])
        with np.load(path / "state.npz", allow_pickle=False) as z:
            model.item_keys_ = z["item_keys_"].astype(str)
            model.text_map_ = z["text_map_"] if "text_map_" in z.files else None
            model.words_vocab_ = z["words_vocab_"].astype(str) if "words_vocab_" in z.files else np.zeros(0, str)
            mem = meta.get("memory")
            model.memory_ = None
            if mem and "memory_keys_" in z.files:
                setting = MemorySetting(float(mem["weight"]), int(mem["k"]), float(mem["temperature"]))
                model.memory_ = PurchaseMemory(z["memory_keys_"], z["memory_values_"], len(model.item_keys_),
                                               float(mem["scale"]), setting)
            vote_arrays = {k: z[k] for k in z.files if k.startswith("votes_")}
        model.memory_table_ = meta.get("memory_table", [])
        model.votes_table_ = meta.get("votes_table", [])
        backbone = backbone_from_config(path / "backbone")
        model.offset_ = int(meta["offset"])
        model.net_ = item_lm(backbone, model.offset_, len(model.item_keys_), model._input_scale(),
                             int(meta.get("text_dim", 0)), int(meta.get("n_words", 0)),
                             int(meta.get("words_per_item", 1)))
        model.net_.load_state_dict(torch.load(path / "weights.pt", map_location=model.device, weights_only=True))
        model.net_.to(model.device).eval()
        votes = meta.get("votes")
        model.votes_ = None
        if votes and "votes_counts_" in vote_arrays:
            model.votes_ = ItemVotes.from_arrays(vote_arrays, model._text_matrix(), VoteSetting(**votes))
        model.best_epoch_ = meta.get("best_epoch", 0)
        model.best_val_ndcg_ = meta.get("best_val_ndcg10", 0.0)
        model.history_ = meta.get("history", [])
        from core.text_encoder import MINILM

        model.text_encoder_ = meta.get("text_encoder") or MINILM  # models saved before the choice used MiniLM
        return model

