"""The LM's network: a GPT-2 (or local Hugging Face) backbone over item tokens with a tied item output layer.

Item i is token `offset + i`; then the pad token, then BOS. Sequences are left-padded so the most recent item
always sits at the last position, and positions count back from it, in training and in scoring alike.
Torch and transformers are imported lazily: the baselines never load them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def torch_module():
    import torch

    return torch


def fused_gelu(config):
    """GPT-2's tanh GELU ("gelu_new", pure Python ops) -> the same function fused in torch (a third of the forward)."""
    if getattr(config, "activation_function", None) == "gelu_new":
        config.activation_function = "gelu_pytorch_tanh"
    return config


def embedding_param_name(backbone) -> str:
    emb = backbone.get_input_embeddings().weight
    for name, p in backbone.named_parameters():
        if p is emb:
            return name
    raise ValueError("backbone input embeddings not found among its parameters")


def set_dropout(backbone, p: float) -> None:
    torch = torch_module()
    for m in backbone.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = p


def checkpoint_backbone(base_checkpoint: str, n_items: int, dropout: float):
    """(backbone, offset) from a local Hugging Face folder, its vocabulary extended by the item tokens."""
    torch = torch_module()
    from transformers import AutoConfig, AutoModel

    path = Path(base_checkpoint)
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"base_checkpoint {str(path)!r} is not a Hugging Face model folder (no config.json there)"
        )
    config = fused_gelu(AutoConfig.from_pretrained(str(path), local_files_only=True))
    backbone = AutoModel.from_pretrained(str(path), config=config, local_files_only=True)
    offset = backbone.get_input_embeddings().weight.shape[0]
    backbone.resize_token_embeddings(offset + n_items + 2, mean_resizing=False)
    emb = backbone.get_input_embeddings().weight
    with torch.no_grad():
        std = float(emb[:offset].std()) if offset > 1 else 0.02
        emb[offset:].normal_(0.0, std)
    set_dropout(backbone, dropout)
    return backbone, offset


def gpt2_backbone(n_items: int, max_len: int, n_embd: int, n_layer: int, n_head: int, n_inner: int | None,
                  dropout: float):
    """(backbone, 0): a fresh GPT-2 whose vocabulary is the items, then pad, then BOS."""
    from transformers import GPT2Config, GPT2Model

    cfg = GPT2Config(
        vocab_size=n_items + 2,
        n_positions=max_len,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_inner=n_inner,
        activation_function="gelu_pytorch_tanh",  # see fused_gelu
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=n_items + 1,
        eos_token_id=n_items + 1,
        pad_token_id=n_items,
    )
    cfg._attn_implementation = "sdpa"
    return GPT2Model(cfg), 0


def backbone_from_config(path: str | Path):
    """A saved backbone's architecture (weights are loaded with the whole ItemLM state)."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(str(path), local_files_only=True)
    config._attn_implementation = "sdpa"
    return AutoModel.from_config(fused_gelu(config))


def left_padded(seqs: Sequence[np.ndarray], pad: int, offset: int, max_len: int, device: str):
    """Left-padded (token ids, attention mask, position ids) for item-index sequences (already tokens)."""
    torch = torch_module()
    length = max(1, max(len(s) for s in seqs))
    ids = np.full((len(seqs), length), pad, dtype=np.int64)
    mask = np.zeros((len(seqs), length), dtype=np.int64)
    for r, s in enumerate(seqs):
        if len(s):
            ids[r, length - len(s) :] = s
            mask[r, length - len(s) :] = 1
    ids_t = torch.as_tensor(ids, device=device) + offset
    mask_t = torch.as_tensor(mask, device=device)
    # The last position always has id max_len-1: positions count back from the most recent item.
    pos = torch.arange(max_len - length, max_len, device=device).unsqueeze(0).expand(len(seqs), -1)
    return ids_t, mask_t, pos


def _make_item_lm():
    torch = torch_module()

    class ItemLM(torch.nn.Module):
        """Backbone + output layer tied to the item vectors (+ a per-item bias).

        An item's vector is its id embedding plus, when the catalogue has text, two content parts: a learned
        projection of its frozen sentence-encoder vector (`text_dim` > 0, `item_text`) and the mean of its learned
        word vectors (`n_words` > 0, `item_words`, core.models.lm_words; the word vectors carry a bias column too).
        The same vectors feed the input and the output layer, so text informs every item throughout training, and
        an item with its id part dropped (`item_table(drop)`: id dropout in training, never-bought and new items
        when scoring) is placed by its content alone.
        """

        def __init__(self, backbone, offset: int, n_items: int, input_scale: float = 1.0, text_dim: int = 0,
                     n_words: int = 0, words_per_item: int = 1):
            super().__init__()
            self.backbone = backbone
            self.input_scale = input_scale
            self.offset = offset
            self.n_items = n_items
            self.item_bias = torch.nn.Parameter(torch.zeros(n_items))
            self.text_dim = text_dim
            self.n_words = n_words
            width = self.embedding.weight.shape[1]
            if text_dim:
                self.register_buffer("item_text", torch.zeros(n_items, text_dim))
                self.text_proj = torch.nn.Linear(text_dim, width, bias=False)
                torch.nn.init.zeros_(self.text_proj.weight)  # starts as the id model; learns what text adds
            if n_words:
                self.register_buffer("item_words", torch.full((n_items, words_per_item), n_words, dtype=torch.long))
                # Last column: the word's bias. Zero start, like text_proj; the pad row stays zero.
                self.words = torch.nn.EmbeddingBag(n_words + 1, width + 1, mode="mean", padding_idx=n_words)
                with torch.no_grad():
                    self.words.weight.zero_()
            self._table_key, self._table = None, None

        @property
        def embedding(self):
            return self.backbone.get_input_embeddings()

        @property
        def has_content(self) -> bool:
            """Whether items have a text or word part (what id dropout and new items rely on)."""
            return bool(self.text_dim or self.n_words)

        def content(self, text=None, word_ids=None):
            """(vectors, biases) of the content parts for text vectors and word ids (every item's when None)."""
            vec, bias = None, None
            if self.text_dim:
                vec = self.text_proj(self.item_text if text is None else text)
            if self.n_words:
                wb = self.words(self.item_words if word_ids is None else word_ids)
                vec = wb[:, :-1] if vec is None else vec + wb[:, :-1]
                bias = wb[:, -1]
            return vec, bias

        def item_table(self, drop=None):
            """(vectors (n_items, width), biases (n_items,)) of every item: its id part, zero where `drop`, plus its
            content parts. In eval mode the result is cached until a weight changes."""
            key = None
            if drop is None and not self.training:
                key = tuple((id(t), t._version) for t in self._table_inputs())
                if key == self._table_key:
                    return self._table
            vec = self.embedding.weight[self.offset : self.offset + self.n_items]
            bias = self.item_bias
            if drop is not None:
                keep = (~drop).to(vec.dtype)
                vec, bias = vec * keep[:, None], bias * keep
            extra, extra_bias = self.content()
            if extra is not None:
                vec = vec + extra
            if extra_bias is not None:
                bias = bias + extra_bias
            if key is not None:
                self._table_key, self._table = key, (vec.detach(), bias.detach())
            return vec, bias

        def _table_inputs(self):
            yield self.embedding.weight
            yield self.item_bias
            if self.text_dim:
                yield self.text_proj.weight
                yield self.item_text
            if self.n_words:
                yield self.words.weight
                yield self.item_words

        def item_weight(self):
            return self.item_table()[0]

        def hidden(self, ids, mask, pos, table=None):
            """Last hidden states; `table`: the item vectors to read item positions from (default: item_table)."""
            if table is None and self.has_content:
                table = self.item_table()[0]
            if table is not None:
                emb = self.embedding(ids)
                rel = ids - self.offset
                is_item = ((rel >= 0) & (rel < self.n_items)).unsqueeze(-1)
                emb = torch.where(is_item, table[rel.clamp(0, self.n_items - 1)], emb) * self.input_scale
                out = self.backbone(inputs_embeds=emb, attention_mask=mask, position_ids=pos, use_cache=False)
            elif self.input_scale != 1.0:
                emb = self.embedding(ids) * self.input_scale
                out = self.backbone(inputs_embeds=emb, attention_mask=mask, position_ids=pos, use_cache=False)
            else:
                out = self.backbone(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False)
            return out.last_hidden_state

        def logits(self, hidden):
            vec, bias = self.item_table()
            return torch.addmm(bias, hidden, vec.T)

    return ItemLM


_ITEM_LM = None


def item_lm(backbone, offset: int, n_items: int, input_scale: float = 1.0, text_dim: int = 0, n_words: int = 0,
            words_per_item: int = 1):
    """The ItemLM module (its class is defined on first use so that importing this file does not load torch)."""
    global _ITEM_LM
    if _ITEM_LM is None:
        _ITEM_LM = _make_item_lm()
    return _ITEM_LM(backbone, offset, n_items, input_scale, text_dim, n_words, words_per_item)
