"""The models the API serves, loaded once per process and swapped without a restart.

A poller reads the store every `poll_seconds`: the active model id, the running live experiment, and the data
version. A changed active model (a rollback on the Training page) or a newly needed arm model is loaded in the
poller's thread, warmed, and then swapped in with one assignment, so requests never wait for a load and never see
a half-built service. New shop data (feedback) is picked up at most every `data_refresh_seconds`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from core.recommend.service import RecommendationService
from core.serving.live import ExperimentPlan

log = logging.getLogger("recolm.serving")


@dataclass(frozen=True)
class Snapshot:
    """What one request reads: never mutated, replaced whole."""

    active_id: int | None
    services: dict[int, RecommendationService] = field(default_factory=dict)
    experiment: ExperimentPlan | None = None
    data_version: tuple | None = None  # the store's data version the services were built on
    loaded_at: float = 0.0
    error: str | None = None

    @property
    def active(self) -> RecommendationService | None:
        return self.services.get(self.active_id) if self.active_id is not None else None


class ServingService(RecommendationService):
    """The preview's service, with the per-call freshness weights kept (they depend only on the data and the
    window, and were the largest share of a request's time). Same lists as the page: nothing else changes."""

    def fresh(self, fresh_days: float = 30.0):
        cache = self.__dict__.setdefault("_fresh_cache", {})
        if fresh_days not in cache:
            weights = super().fresh(fresh_days)
            weights.setflags(write=False)
            cache[fresh_days] = weights
        return cache[fresh_days]


def _warm(service: RecommendationService) -> RecommendationService:
    """Compute the lazily cached parts now, in the poller, so no request pays for them (or races on them)."""
    _ = service.vectors, service.reasons, service.segpop, service.categories, service.titles, service.prices
    _ = service._text_only_items, service.now, service.fresh()
    return service


class ModelHolder:
    def __init__(self, url: str, poll_seconds: float = 2.0, data_refresh_seconds: float = 60.0):
        self.url = url
        self.poll_seconds = poll_seconds
        self.data_refresh_seconds = data_refresh_seconds
        self.snapshot = Snapshot(None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.loads = 0  # models loaded so far

    def refresh(self) -> Snapshot:
        """Bring the snapshot up to date with the store (loading what changed); returns the new snapshot."""
        from db.engine import session_scope
        from db.live_experiments import running_experiments
        from db.recommendations import data_version
        from db.registry import active_model

        old = self.snapshot
        with session_scope(self.url) as session:
            row = active_model(session)
            active_id = row.id if row is not None else None
            running = running_experiments(session)
            plan = ExperimentPlan.from_row(running[0]) if running else None
            version = data_version(session)
            needed = {active_id} if active_id is not None else set()
            if plan is not None:
                needed |= {a.model_id for a in plan.arms if a.model_id is not None}
            stale_data = version != old.data_version and (
                old.loaded_at == 0.0 or time.monotonic() - old.loaded_at >= self.data_refresh_seconds)
            services = {} if stale_data else {k: v for k, v in old.services.items() if k in needed}
            error = None
            for model_id in sorted(needed - set(services)):
                try:
                    services[model_id] = _warm(ServingService.from_store(session, model_id))
                    self.loads += 1
                    log.info("loaded model %s", model_id)
                except Exception as exc:  # a broken artifact must not take the server down; /health says it
                    error = f"model {model_id} could not be loaded: {exc}"
                    log.exception("model %s failed to load", model_id)
        if stale_data:
            loaded_at = time.monotonic()
        else:  # the kept services were built on the old data: keep its version so a refresh stays due
            version, loaded_at = old.data_version, old.loaded_at
        self.snapshot = Snapshot(active_id, services, plan, version, loaded_at, error)
        return self.snapshot

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # the store may be busy or briefly locked; try again next tick
                log.exception("model poll failed")

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="recolm-model-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
