"""The FastAPI application: `create_app(url)`; `python -m core serve` runs it under uvicorn.

Every /v1 route needs `Authorization: Bearer KEY` (core.auth.keys); answers and errors are JSON, an error as
{"error": "...", ...} with the status that says what is wrong (401 key, 404 unknown id, 422 bad input, 429 rate,
503 no model yet). Recommendations go through RecommendationService.preview, the same call the Recommendations
page makes, so the API and the dashboard never disagree.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from core.recommend.rerank import ItemFilter
from core.recommend.service import PreviewOptions, Recommendation, RecommendationService
from core.serving.exposures import ExposureLog
from core.serving.feedback import MAX_BATCH, FeedbackRejected, take_feedback
from core.serving.holder import ModelHolder, Snapshot
from core.serving.limits import KeyCache, KeyInfo, RateLimiter
from core.serving.live import HOLDOUT

log = logging.getLogger("recolm.serving")
MAX_K = 100


@dataclass
class ServingConfig:
    rate_per_minute: int | None = None  # default per-key limit (a key's own limit wins); None: unlimited
    poll_seconds: float = 2.0  # how often the active model / live experiment is re-read
    data_refresh_seconds: float = 60.0  # new shop data (feedback) is loaded at most this often
    exposure_flush_seconds: float = 0.5
    key_cache_seconds: float = 1.0  # a revoked key stops working within this


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


# ---- response shapes (they are the OpenAPI docs at /docs) -------------------------------------------------------
class RecommendedItem(BaseModel):
    rank: int
    item_id: str
    title: str
    score: float
    reason: str
    category: str | None = None
    price: float | None = None


class ExperimentInfo(BaseModel):
    id: int
    arm: str


class RecommendResponse(BaseModel):
    user_id: str
    model_id: int | None
    model: str | None
    cold_start: bool
    based_on: str
    items: list[RecommendedItem]
    experiment: ExperimentInfo | None = None


class SimilarResponse(BaseModel):
    item_id: str
    title: str
    model_id: int | None
    items: list[RecommendedItem]


class CouponResponse(BaseModel):
    user_id: str
    campaign_id: int
    campaign: str
    coupon: dict[str, Any] | None


class FeedbackBatch(BaseModel):
    events: list[dict[str, Any]] = Field(
        ..., description=f"up to {MAX_BATCH:,} events: event_id (the client's id; retries are stored once), "
                         "user_id, item_id, action (purchase, view, cart, …), timestamp (ISO 8601 or Unix seconds), "
                         "optional quantity, price, session")


def _items(recs: list[Recommendation]) -> list[RecommendedItem]:
    return [RecommendedItem(rank=r.rank, item_id=r.item_id, title=r.title, score=r.score, reason=r.reason,
                            category=r.category, price=r.price) for r in recs]


def create_app(url: str, config: ServingConfig | None = None) -> FastAPI:
    """The API over the store at `url`; models load at startup and follow the store's active model."""
    from db.engine import open_store

    config = config or ServingConfig()
    factory = open_store(url)  # creates the serving tables on an older store
    holder = ModelHolder(url, config.poll_seconds, config.data_refresh_seconds)
    exposures = ExposureLog(url, config.exposure_flush_seconds)
    limiter = RateLimiter()

    def lookup_key(key_hash: str) -> KeyInfo | None:
        from db.api_keys import key_by_hash

        with factory() as session:
            row = key_by_hash(session, key_hash)
            if row is None:
                return None
            return KeyInfo(row.id, row.name, row.revoked_at is not None, row.rate_per_minute)

    keys = KeyCache(lookup_key, config.key_cache_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        holder.start()
        exposures.start()
        try:
            yield
        finally:
            holder.stop()
            exposures.stop()

    app = FastAPI(title="RecoLM API", version="1", lifespan=lifespan,
                  description="Recommendations, similar items, coupons and feedback for your shop. Every /v1 call "
                              "needs `Authorization: Bearer KEY` (create one with `python -m core apikey create`).")
    app.state.holder, app.state.exposures = holder, exposures

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        headers = exc.extra.pop("headers", None)
        return JSONResponse({"error": exc.message, **exc.extra}, status_code=exc.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        problems = [{"where": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "")}
                    for e in exc.errors()[:20]]
        text = "; ".join(f"{p['where']}: {p['reason']}" for p in problems)
        return JSONResponse({"error": f"invalid request: {text}", "problems": problems}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        log.exception("unexpected error")
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    # ---- dependencies ----------------------------------------------------------------------------------------
    def require_key(authorization: str | None = Header(None, description="Bearer KEY")) -> KeyInfo:
        from core.auth.keys import hash_key

        challenge = {"WWW-Authenticate": "Bearer"}
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiError(401, "missing API key: send the header 'Authorization: Bearer KEY' "
                                "(create a key with `python -m core apikey create --name NAME`)", headers=challenge)
        info = keys.get(hash_key(authorization[7:].strip()))
        if info is None:
            raise ApiError(401, "unknown API key", headers=challenge)
        if info.revoked:
            raise ApiError(401, "this API key was revoked", headers=challenge)
        ok, wait = limiter.allow(info.id, info.rate_per_minute or config.rate_per_minute)
        if not ok:
            raise ApiError(429, f"rate limit of key {info.name!r} reached; retry in {wait:.1f} s",
                           headers={"Retry-After": str(max(1, int(np.ceil(wait))))})
        return info

    def snapshot() -> Snapshot:
        snap = holder.snapshot
        if snap.active is None:
            raise ApiError(503, snap.error or "no active model: train one (`python -m core train`) and activate it")
        return snap

    # ---- routes -------------------------------------------------------------------------------------------------
    @app.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        """No key needed: is the store reachable, which model is served."""
        from sqlalchemy import text

        snap = holder.snapshot
        try:
            with factory() as session:
                session.execute(text("SELECT 1"))
            store = "reachable"
        except Exception as exc:
            store = f"unreachable: {exc}"
        active = snap.active
        ok = store == "reachable" and active is not None
        return {"ok": ok, "store": store, "active_model_id": snap.active_id,
                "active_model": active.model_label if active is not None else None,
                "live_experiment_id": snap.experiment.id if snap.experiment else None, "error": snap.error,
                "pid": os.getpid()}  # which --workers process answered

    def _user_index(service: RecommendationService, user_id: str) -> int | None:
        """The customer's index; None for one the store knows but the loaded data does not yet (cold start)."""
        from db.serving_reads import user_exists

        try:
            return service.find_user(user_id)
        except KeyError:
            pass
        with factory() as session:
            if user_exists(session, user_id.strip()):
                return None
        raise ApiError(404, f"no customer with id {user_id!r} in the store", user_id=user_id)

    @app.get("/v1/recommend/{user_id}", response_model=RecommendResponse, tags=["recommendations"])
    def recommend(
        user_id: str = Path(..., max_length=128),
        k: int = Query(10, ge=1, le=MAX_K, description="how many items"),
        category: list[str] | None = Query(None, description="only these categories (repeat for several)"),
        diversity: float = Query(0.0, ge=0.0, le=1.0, description="0 = plain model order, 1 = most varied"),
        _key: KeyInfo = Depends(require_key),
    ) -> RecommendResponse:
        """The served model's top-K for one customer, with the reasons the dashboard shows."""
        snap = snapshot()
        service = snap.active
        experiment = None
        arm_model = snap.active_id
        if snap.experiment is not None:
            arm = snap.experiment.assign(user_id)
            experiment = ExperimentInfo(id=snap.experiment.id, arm=arm.name)
            arm_model = arm.model_id
            if arm.model_id is not None:
                service = snap.services.get(arm.model_id)
                if service is None:
                    raise ApiError(503, f"arm {arm.name!r}: model {arm.model_id} is still loading; retry shortly")
        if category:
            known = {c for c in snap.active.categories if c}
            unknown = [c for c in category if c not in known]
            if unknown:
                raise ApiError(422, f"unknown category {unknown[0]!r}; the shop's categories are: "
                                    f"{', '.join(sorted(known)[:50])}", parameter="category")
        u = _user_index(service if service is not None else snap.active, user_id)
        if experiment is not None and arm_model is None:  # holdout: the arm shows no recommendations
            exposures.add(experiment.id, user_id, experiment.arm, None, 0)
            return RecommendResponse(user_id=user_id, model_id=None, model=HOLDOUT, cold_start=u is None,
                                     based_on="holdout arm: no recommendations are shown", items=[],
                                     experiment=experiment)
        options = PreviewOptions(k=k, filter=ItemFilter(categories=tuple(category or ())), diversity=diversity)
        preview = service.preview(u, options)
        if experiment is not None:
            exposures.add(experiment.id, user_id, experiment.arm, arm_model, len(preview.items))
        return RecommendResponse(user_id=user_id, model_id=service.model_id, model=service.model_label,
                                 cold_start=preview.cold, based_on=preview.based_on, items=_items(preview.items),
                                 experiment=experiment)

    @app.get("/v1/items/{item_id}/similar", response_model=SimilarResponse, tags=["recommendations"])
    def similar(item_id: str = Path(..., max_length=128), k: int = Query(10, ge=1, le=MAX_K),
                _key: KeyInfo = Depends(require_key)) -> SimilarResponse:
        """What the active model would show next to someone who just bought this item."""
        service = snapshot().active
        key = item_id.strip()
        if key not in service.item_index.index:
            raise ApiError(404, f"no item with id {item_id!r} in the catalogue", item_id=item_id)
        idx = int(service.item_index[key])
        scores = service.model_scores([np.asarray([idx], dtype=np.int64)])[0].copy()
        scores[idx] = -np.inf
        finite = np.flatnonzero(np.isfinite(scores))
        top = finite[np.argsort(-scores[finite], kind="stable")[:k]]
        title = str(service.titles[idx])
        recs = [Recommendation(rank=n + 1, item_index=int(i), item_id=str(service.data.item_keys[i]),
                               title=str(service.titles[i]), category=service.categories[i],
                               price=float(service.prices[i]) if np.isfinite(service.prices[i]) else None,
                               score=float(scores[i]), reason=f"the model's next pick after “{title}”",
                               reason_kind="similar") for n, i in enumerate(top)]
        return SimilarResponse(item_id=key, title=title, model_id=service.model_id, items=_items(recs))

    @app.get("/v1/coupons/{user_id}", response_model=CouponResponse, tags=["coupons"])
    def coupon(user_id: str = Path(..., max_length=128), _key: KeyInfo = Depends(require_key)) -> CouponResponse:
        """The customer's coupon in the shop's current (newest) campaign; coupon is null when not targeted."""
        from db.serving_reads import latest_campaign, user_coupon, user_exists

        with factory() as session:
            if not user_exists(session, user_id.strip()):
                raise ApiError(404, f"no customer with id {user_id!r} in the store", user_id=user_id)
            campaign = latest_campaign(session)
            if campaign is None:
                raise ApiError(404, "no coupon campaign yet: target one on the Coupons page "
                                    "(or `python -m core coupons`)")
            found = user_coupon(session, campaign.id, user_id.strip())
            return CouponResponse(user_id=user_id, campaign_id=campaign.id, campaign=campaign.name, coupon=found)

    @app.post("/v1/feedback", tags=["feedback"])
    def feedback(batch: FeedbackBatch, _key: KeyInfo = Depends(require_key)) -> dict[str, Any]:
        """Events in one transaction, validated like an upload; one bad row: 422 naming it, nothing stored."""
        from db.engine import session_scope

        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                with session_scope(factory=factory) as session:
                    result = take_feedback(session, batch.events)
                break
            except FeedbackRejected as rejected:
                raise ApiError(422, rejected.message, **{k: v for k, v in rejected.to_dict().items()
                                                          if k != "error"}) from rejected
            except IntegrityError:  # the same ids sent twice at once: the second sees the first's receipts
                if attempt == 2:
                    raise
        out = result.to_dict()
        out["seconds"] = round(time.perf_counter() - started, 4)
        return out

    return app
