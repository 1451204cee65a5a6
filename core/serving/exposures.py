"""Served lists of a live experiment, written to the store in the background (one transaction per flush).

A request only appends to a list; a thread flushes it every `flush_seconds`, so the store's single writer is
not on the request path. `flush()` is also called at shutdown, so a stopped server loses nothing it served.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from db.tables import utcnow

log = logging.getLogger("recolm.serving")


class ExposureLog:
    def __init__(self, url: str, flush_seconds: float = 0.5):
        self.url = url
        self.flush_seconds = flush_seconds
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0

    def add(self, experiment_id: int, user_key: str, arm: str, model_id: int | None, n_items: int) -> None:
        row = {"experiment_id": experiment_id, "user_key": user_key, "arm": arm, "model_id": model_id,
               "n_items": n_items, "served_at": utcnow()}
        with self._lock:
            self._rows.append(row)

    def flush(self) -> int:
        from db.engine import session_scope
        from db.live_experiments import add_exposures

        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            with session_scope(self.url) as session:
                add_exposures(session, rows)
        except Exception:
            with self._lock:  # keep them for the next flush rather than lose exposures
                self._rows = rows + self._rows
            raise
        self.written += len(rows)
        return len(rows)

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:
                log.exception("writing exposures failed; retrying")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="recolm-exposures", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
