"""Loaders for the public benchmark data sets in ../shared/data, producing `InteractionData`.

Used by bench/ scripts and tests; never copies the data into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import PROJECT_ROOT
from core.interactions import InteractionData


def shared_data_dir() -> Path:
    return Path(os.environ.get("RECOLM_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def load_beauty(path: str | Path | None = None, attributes: bool = False) -> InteractionData:
    """Amazon Beauty, S3-Rec split: `user item item …` per line, oldest first, no timestamps, no text.

    `attributes`: each item's category and brand from S3-Rec's `Beauty_item2attributes.json` (637 anonymised ids,
    ~3.7 an item) as its category text, "a17 a4 a1": codes, not words, but shared by the items that have them,
    which is what the LM's learned words use (core.models.lm_words)."""
    path = Path(path) if path else shared_data_dir() / "amazon_s3rec" / "Beauty.txt"
    users, seqs = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2:
                continue
            users.append(parts[0])
            seqs.append(parts[1:])
    keys = sorted({i for s in seqs for i in s}, key=lambda x: (len(x), x))
    index = {k: n for n, k in enumerate(keys)}
    sequences = [np.fromiter((index[i] for i in s), dtype=np.int64, count=len(s)) for s in seqs]
    items = pd.DataFrame(index=range(len(keys)))
    if attributes:
        import json

        attr_file = path.with_name(path.stem + "_item2attributes.json")
        if not attr_file.exists():
            raise FileNotFoundError(f"{attr_file}: the attribute file beside {path.name} is missing")
        attrs = json.loads(attr_file.read_text(encoding="utf-8"))
        items = pd.DataFrame({"category": [" ".join(f"a{a}" for a in attrs.get(k, [])) or None for k in keys]})
    return InteractionData(
        item_keys=np.asarray(keys),
        user_keys=np.asarray(users),
        sequences=sequences,
        times=None,
        items=items,
        users=pd.DataFrame(index=range(len(users))),
        name="beauty-attributes" if attributes else "beauty",
    )


def _sequences_from_events(user_codes: np.ndarray, item_codes: np.ndarray, times: np.ndarray, n_users: int):
    """Events already sorted by (user, time) -> per-user item and time arrays."""
    bounds = np.searchsorted(user_codes, np.arange(n_users + 1))
    seqs = [item_codes[bounds[u] : bounds[u + 1]].astype(np.int64) for u in range(n_users)]
    tms = [times[bounds[u] : bounds[u + 1]].astype(np.int64) for u in range(n_users)]
    return seqs, tms


def load_ml100k(folder: str | Path | None = None) -> InteractionData:
    """MovieLens 100K: every rating is an interaction, ordered by timestamp.

    Items: title (u.item is latin-1) and genres joined by "|" as category. Users: age, gender, occupation, and
    region = first digit of the US zip code (the national zip zone), so segment popularity has a region.
    """
    from core.schema import age_band

    folder = Path(folder) if folder else shared_data_dir() / "ml-100k"
    ratings = pd.read_csv(folder / "u.data", sep="\t", names=["user", "item", "rating", "ts"], dtype=np.int64)
    genres = pd.read_csv(folder / "u.genre", sep="|", names=["genre", "id"], encoding="latin-1").dropna()
    item_cols = ["item", "title", "release", "video", "url"] + genres["genre"].tolist()
    items = pd.read_csv(folder / "u.item", sep="|", names=item_cols, encoding="latin-1")
    users = pd.read_csv(folder / "u.user", sep="|", names=["user", "age", "gender", "occupation", "zip"], dtype={"zip": str})
    items = items.sort_values("item").reset_index(drop=True)
    users = users.sort_values("user").reset_index(drop=True)
    genre_flags = items[genres["genre"].tolist()].to_numpy().astype(bool)
    names = np.asarray(genres["genre"].tolist(), dtype=object)
    category = ["|".join(names[row]) if row.any() else None for row in genre_flags]
    item_index = pd.Series(np.arange(len(items)), index=items["item"].to_numpy())
    user_index = pd.Series(np.arange(len(users)), index=users["user"].to_numpy())
    ratings = ratings.assign(u=user_index.reindex(ratings["user"]).to_numpy(), i=item_index.reindex(ratings["item"]).to_numpy())
    if ratings[["u", "i"]].isna().any().any():
        raise ValueError(f"{folder / 'u.data'}: ratings refer to users or items missing from u.user / u.item")
    ratings = ratings.sort_values(["u", "ts"], kind="stable")
    seqs, times = _sequences_from_events(
        ratings["u"].to_numpy(np.int64), ratings["i"].to_numpy(np.int64), ratings["ts"].to_numpy(np.int64), len(users)
    )
    users_df = pd.DataFrame(
        {
            "age": users["age"].astype(float),
            "gender": users["gender"].astype(str),
            "region": ["zip " + z[0] if isinstance(z, str) and z[:1].isdigit() else None for z in users["zip"]],
            "occupation": users["occupation"].astype(str),
        }
    )
    users_df["age_band"] = [age_band(a) for a in users_df["age"]]
    items_df = pd.DataFrame({"title": items["title"].fillna("").astype(str), "category": category})
    return InteractionData(
        item_keys=items["item"].astype(str).to_numpy(),
        user_keys=users["user"].astype(str).to_numpy(),
        sequences=seqs,
        times=times,
        items=items_df,
        users=users_df,
        name="ml-100k",
    )


def load_online_retail(path: str | Path | None = None) -> InteractionData:
    """UCI Online Retail: purchases per CustomerID ordered by InvoiceDate; Description as the item text.

    Skipped: cancellations (InvoiceNo starting with "C"), Quantity <= 0, missing CustomerID. Item text and price
    are each StockCode's most frequent description and median unit price; a customer's region is their country.
    """
    path = Path(path) if path else shared_data_dir() / "uci_online_retail" / "onlineretail.csv.gz"
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "Country": str})
    missing = {"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"} - set(df)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    keep = ~df["InvoiceNo"].str.startswith("C", na=False) & (df["Quantity"] > 0) & df["CustomerID"].notna()
    df = df.loc[keep].copy()
    df["customer"] = df["CustomerID"].astype(np.int64).astype(str)
    df["ts"] = pd.to_datetime(df["InvoiceDate"]).astype("datetime64[s]").astype(np.int64)
    df["row"] = np.arange(len(df))
    item_keys = np.sort(df["StockCode"].unique())
    user_keys = np.sort(df["customer"].unique())
    df["i"] = np.searchsorted(item_keys, df["StockCode"].to_numpy())
    df["u"] = np.searchsorted(user_keys, df["customer"].to_numpy())
    df = df.sort_values(["u", "ts", "row"], kind="stable")
    seqs, times = _sequences_from_events(
        df["u"].to_numpy(np.int64), df["i"].to_numpy(np.int64), df["ts"].to_numpy(np.int64), len(user_keys)
    )
    desc = df.dropna(subset=["Description"]).groupby("StockCode")["Description"].agg(lambda s: s.value_counts().index[0])
    price = df.groupby("StockCode")["UnitPrice"].median()
    country = df.groupby("customer")["Country"].agg(lambda s: s.value_counts().index[0] if s.notna().any() else None)
    items_df = pd.DataFrame(
        {
            "title": desc.reindex(item_keys).str.strip().str.capitalize().to_numpy(),
            "price": price.reindex(item_keys).to_numpy(dtype=float),
        }
    )
    users_df = pd.DataFrame({"region": country.reindex(user_keys).to_numpy()})
    return InteractionData(
        item_keys=item_keys.astype(str),
        user_keys=user_keys.astype(str),
        sequences=seqs,
        times=times,
        items=items_df,
        users=users_df,
        name="online-retail",
    )
