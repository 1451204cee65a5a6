"""`InteractionData`: what every recommender fits on and every protocol splits.

Built from the store (`from_store`) or by a benchmark loader (Beauty, ML-100K, Online Retail) so
that the app and the benchmarks run the exact same models and protocols.
Items and users are dense indices 0..n-1; `item_keys` / `user_keys` hold the external ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from core.schema import PURCHASE, age_band
from db.shop_read import interaction_frames


@dataclass
class InteractionData:
    """Purchase sequences per user plus item and user side information.

    sequences[u]: item indices user u bought, oldest first (repeat buys kept).
    times[u]: matching Unix seconds, or None when the source has only the order (Beauty).
    items: one row per item index: columns title, description, category, price, listed_at (any may be missing).
    users: one row per user index: columns age, gender, region, age_band (any may be missing).
    """

    item_keys: np.ndarray
    user_keys: np.ndarray
    sequences: list[np.ndarray]
    times: list[np.ndarray] | None = None
    items: pd.DataFrame = field(default_factory=pd.DataFrame)
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    name: str = "store"
    dataset_id: int | None = None

    @property
    def n_items(self) -> int:
        return len(self.item_keys)

    @property
    def n_users(self) -> int:
        return len(self.user_keys)

    def item_texts(self) -> list[str]:
        """Title + description + category + brand per item: the whole item's text, as the encoder sees it."""
        if self.items.empty:
            return [""] * self.n_items
        parts = [self.items[c].fillna("").astype(str) for c in ("title", "description", "category", "brand") if c in self.items]
        if not parts:
            return [""] * self.n_items
        text = parts[0]
        for p in parts[1:]:
            text = text.str.cat(p, sep=". ")
        return [t.strip(". ").strip() for t in text.tolist()]

    def has_text(self) -> bool:
        return any(t for t in self.item_texts())

    def with_sequences(self, sequences: list[np.ndarray], times: list[np.ndarray] | None = None) -> InteractionData:
        """Same items/users, other sequences (a protocol's training part)."""
        return replace(self, sequences=sequences, times=times)

    def purchase_counts(self) -> np.ndarray:
        """How often each item was bought (popularity, novelty)."""
        counts = np.zeros(self.n_items, dtype=np.int64)
        if self.sequences:
            allitems = np.concatenate([s for s in self.sequences if len(s)] or [np.zeros(0, dtype=np.int64)])
            np.add.at(counts, allitems, 1)
        return counts

    def as_of(self) -> float | None:
        """The shop's "today" (unix seconds): its latest event. Shops' data is historical (an upload may end in
        2011), so recency is counted back from here, never from the wall clock; None without timestamps."""
        last = [float(t.max()) for t in (self.times or []) if len(t)]
        return max(last) if last else None

    def user_item_matrix(self, binary: bool = True):
        """Sparse users x items matrix of the sequences (scipy CSR, float32)."""
        return history_matrix(self.sequences, self.n_items, binary=binary)


def history_matrix(histories: Sequence[np.ndarray], n_items: int, binary: bool = True):
    """CSR (len(histories), n_items) float32 purchase counts, or 1 where bought (`binary`): the one user-item
    matrix builder (kNN and EASE score histories through it, reasons count co-purchases with it)."""
    import scipy.sparse as sp

    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories] or [np.zeros(0, dtype=np.int64)])
    if len(cols) and (cols.min() < 0 or cols.max() >= n_items):
        raise ValueError(f"history contains an item index outside 0..{n_items - 1}")
    m = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(histories), n_items))
    m.sum_duplicates()
    if binary:
        m.data[:] = 1.0
    return m


def _to_unix(ts: pd.Series) -> np.ndarray:
    return (pd.to_datetime(ts).astype("datetime64[ns]").astype("int64") // 10**9).to_numpy()


def from_store(session: Session, action: str = PURCHASE, dataset_id: int | None = None) -> InteractionData:
    """Every user's purchase sequence from the store (flagged rows such as cancellations excluded)."""
    frames = interaction_frames(session, action=action, dataset_id=dataset_id)
    items, users, events = frames.items, frames.users, frames.events
    item_index = pd.Series(np.arange(len(items)), index=items["id"].to_numpy())
    user_index = pd.Series(np.arange(len(users)), index=users["id"].to_numpy())
    u = user_index.reindex(events["user_id"].to_numpy()).to_numpy()
    i = item_index.reindex(events["item_id"].to_numpy()).to_numpy()
    t = _to_unix(events["ts"]) if len(events) else np.zeros(0, dtype=np.int64)
    n_users = len(users)
    bounds = np.searchsorted(u, np.arange(n_users + 1)) if len(u) else np.zeros(n_users + 1, dtype=np.int64)
    sequences = [i[bounds[k] : bounds[k + 1]].astype(np.int64) for k in range(n_users)]
    times = [t[bounds[k] : bounds[k + 1]].astype(np.int64) for k in range(n_users)]

    users_df = users.drop(columns=["id", "external_id"]).reset_index(drop=True)
    users_df["age_band"] = [age_band(a) for a in users_df["age"]]
    items_df = items.drop(columns=["external_id"]).rename(columns={"id": "store_id"}).reset_index(drop=True)
    users_df.insert(0, "store_id", users["id"].to_numpy())
    return InteractionData(
        item_keys=items["external_id"].astype(str).to_numpy(),
        user_keys=users["external_id"].astype(str).to_numpy(),
        sequences=sequences,
        times=times,
        items=items_df,
        users=users_df,
        name="store",
        dataset_id=frames.dataset_id,
    )
