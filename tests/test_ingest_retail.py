"""UCI Online Retail through the guessed mapping into events, items and profiles; counts checked independently.

Rows without CustomerID and exact duplicate lines must be reported as dropped, cancellations (InvoiceNo 'C…')
and other negative quantities reported as flagged — nothing lost silently.
"""

from __future__ import annotations

import pandas as pd
import pytest

from core.ingest import Source, Upload, ingest_into_store
from core.schema import FLAG_CANCELLATION, FLAG_NEGATIVE_QUANTITY
from db.engine import session_scope
from db.shop_read import flagged_counts, store_counts
from db.tables import Item, User
from tests.conftest import shared_path


@pytest.mark.slow
def test_online_retail_upload_counts(store_url):
    path = shared_path("uci_online_retail", "onlineretail.csv.gz")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    n = len(raw)
    no_customer = raw["CustomerID"].isna()
    with_customer = raw[~no_customer]
    duplicate = with_customer.duplicated()
    kept = with_customer[~duplicate]
    cancelled = kept["InvoiceNo"].str.upper().str.startswith("C")
    negative = (pd.to_numeric(kept["Quantity"]) < 0) & ~cancelled

    report = ingest_into_store(store_url, [Upload(Source("transactions", path))])
    assert report.accepted, report.error
    f = report.files[0]
    assert f.rows_read == n == 541_909
    assert f.dropped["missing_user_id"].count == int(no_customer.sum()) == 135_080
    assert f.dropped["duplicate_row"].count == int(duplicate.sum())
    assert set(f.dropped) == {"missing_user_id", "duplicate_row"}
    assert f.rows_kept == len(kept) == n - f.rows_dropped
    assert f.flagged[FLAG_CANCELLATION].count == int(cancelled.sum())
    negative_flagged = f.flagged[FLAG_NEGATIVE_QUANTITY].count if FLAG_NEGATIVE_QUANTITY in f.flagged else 0
    assert negative_flagged == int(negative.sum())
    # Example line numbers point at the right rows of the file (line = data row + 2).
    first_missing = f.dropped["missing_user_id"].examples[0]
    assert pd.isna(raw["CustomerID"].iloc[first_missing - 2])
    assert raw["InvoiceNo"].iloc[f.flagged[FLAG_CANCELLATION].examples[0] - 2].startswith("C")

    with session_scope(store_url) as s:
        counts = store_counts(s)
        assert counts.events == len(kept)
        assert counts.users == kept["CustomerID"].nunique() == 4_372
        assert counts.items == kept["StockCode"].nunique()
        assert counts.purchases == int((~cancelled & ~negative).sum())
        assert flagged_counts(s).get(FLAG_CANCELLATION) == int(cancelled.sum())
        customer = kept.iloc[0]
        user = s.query(User).filter_by(external_id=customer["CustomerID"].removesuffix(".0")).one()
        assert user.region == kept[kept["CustomerID"] == customer["CustomerID"]]["Country"].iloc[-1]
        item = s.query(Item).filter_by(external_id="85123A").one()
        titles = kept.loc[kept["StockCode"] == "85123A", "Description"].dropna()
        assert item.title == titles.iloc[-1]
        assert s.query(Item).filter(Item.title.is_(None)).count() == 0
