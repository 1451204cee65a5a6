"""`RecommendationService`: everything the preview needs, built once per (store data version, model version).

It holds the purchase data (core.interactions.from_store), the model, the item text vectors (computed lazily, cached
on disk by core.text_encoder) and the reason context; `preview`, `search` and the batch export all go
through `model_scores`, which maps store items onto the model's own item index space.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from core.i18n import Message
from core.interactions import InteractionData
from core.models.base import Recommender
from core.recommend.cold_start import cold_scores, fit_segment_popularity
from core.recommend.reasons import Reason, ReasonContext, explain
from core.recommend.rerank import ItemFilter, ListQuality, RerankOptions, freshness_weights, list_quality, rerank
from core.recommend.search import STRONG_SHARE, ParsedQuery, catalogue_vocabulary, parse_query, rank_matches
from core.schema import activity_bucket
from core.scoring import ScoringContext


@dataclass(frozen=True)
class PreviewOptions:
    """The preview's controls (see the page for what each means to a marketer)."""

    k: int = 10
    exclude_seen: bool = True
    filter: ItemFilter = field(default_factory=ItemFilter)
    diversity: float = 0.0
    freshness: float = 0.0
    fresh_days: float = 30.0
    exploration: float = 0.0

    def rerank_options(self) -> RerankOptions:
        return RerankOptions(k=self.k, diversity=self.diversity, freshness=self.freshness,
                             fresh_days=self.fresh_days, exploration=self.exploration)


@dataclass
class Recommendation:
    rank: int
    item_index: int
    item_id: str
    title: str
    category: str | None
    price: float | None
    score: float
    reason: str
    reason_kind: str
    is_new: bool = False
    explore: bool = False
    evidence: tuple[int, ...] = ()


@dataclass
class Preview:
    """The shown list, what re-ranking changed, and what the list is based on."""

    user_index: int | None
    items: list[Recommendation]
    plain: list[int]  # item indices of the plain model ranking (before re-ranking)
    before: ListQuality
    after: ListQuality
    cold: bool
    based_on: str
    notes: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return recommendations_frame(self.items)


@dataclass
class UserScores:
    scores: np.ndarray  # over store items
    cold: bool  # True: no purchases, scored from the profile (and typed interests)
    based_on: str  # what the scores come from, in words
    interest_similarity: np.ndarray | None = None


@dataclass
class SearchResult:
    parsed: ParsedQuery
    items: list[Recommendation]
    similarity: list[float]

    def frame(self) -> pd.DataFrame:
        """One row per found item: rank, item_id, title, category, price, similarity, reason."""
        return pd.DataFrame([{"rank": r.rank, "item_id": r.item_id, "title": r.title, "category": r.category,
                              "price": r.price, "similarity": s, "reason": r.reason}
                             for r, s in zip(self.items, self.similarity)])


def recommendations_frame(items: list[Recommendation]) -> pd.DataFrame:
    cols = ["rank", "item_id", "title", "category", "price", "score", "reason", "is_new", "explore"]
    return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in items], columns=cols)


class RecommendationService:
    """Built once per (data version, model version); cheap per call (one user's scores + a small pool)."""

    def __init__(
        self,
        data: InteractionData,
        model: Recommender,
        model_id: int | None = None,
        model_label: str | None = None,
        vectors: np.ndarray | None = None,
    ):
        if data.n_items == 0:
            raise ValueError("the store has no items: upload a catalogue or build the demo shop first")
        self.context = ScoringContext(data, model, model_id=model_id, model_label=model_label)
        self.data = data
        self.model = model
        self.model_id = model_id
        self.model_label = self.context.model_label
        if vectors is not None:
            if vectors.shape[0] != data.n_items:
                raise ValueError(f"vectors has {vectors.shape[0]} rows for {data.n_items} items")
            self.__dict__["vectors"] = vectors
        store_keys = np.asarray(data.item_keys).astype(str)
        self.item_index = pd.Series(np.arange(data.n_items), index=store_keys)
        self.user_index = pd.Series(np.arange(data.n_users), index=np.asarray(data.user_keys).astype(str))

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def from_store(cls, session, model_ref: int | str | None = None) -> RecommendationService:
        """The store's data and the active model (or `model_ref`: a registered model's id or name)."""
        ctx = ScoringContext.from_store(session, model_ref)
        return cls(ctx.data, ctx.model, model_id=ctx.model_id, model_label=ctx.model_label)

    # ---- lazily computed, then kept ------------------------------------------------------------
    @cached_property
    def texts(self) -> list[str]:
        return self.data.item_texts()

    @cached_property
    def vectors(self) -> np.ndarray | None:
        """(n_items, 384) unit text vectors, or None when the catalogue has no text at all."""
        if not any(self.texts):
            return None
        from core.text_encoder import encode_cached

        return encode_cached(self.texts)

    @cached_property
    def text_encoder(self) -> str:
        """The encoder behind `vectors` (by the catalogue's language); queries against them must use it too."""
        from core.text_encoder import encoder_for

        return encoder_for(self.texts)

    @cached_property
    def reasons(self) -> ReasonContext:
        return ReasonContext.build(self.data, self.vectors)

    @cached_property
    def segpop(self):
        return fit_segment_popularity(self.data)

    @cached_property
    def vocabulary(self) -> set[str]:
        return catalogue_vocabulary(self.texts)

    @cached_property
    def categories(self) -> np.ndarray:
        if "category" not in self.data.items:
            return np.full(self.data.n_items, None, dtype=object)
        return np.asarray([c if isinstance(c, str) else None for c in self.data.items["category"]], dtype=object)

    @cached_property
    def now(self) -> pd.Timestamp | None:
        """The shop's "today": its latest event or listing (the demo and uploads are historical data)."""
        stamps = []
        if self.data.as_of() is not None:
            stamps.append(pd.Timestamp(int(self.data.as_of()), unit="s"))
        if "listed_at" in self.data.items:
            listed = pd.to_datetime(self.data.items["listed_at"], errors="coerce").max()
            if pd.notna(listed):
                stamps.append(listed)
        return max(stamps) if stamps else None

    def fresh(self, fresh_days: float = 30.0) -> np.ndarray:
        if "listed_at" not in self.data.items:
            return np.zeros(self.data.n_items, dtype=np.float32)
        return freshness_weights(self.data.items["listed_at"], self.now, fresh_days)

    # ---- users ------------------------------------------------------------------------------------
    def find_user(self, user_id: str) -> int:
        """User index of an external customer id; KeyError naming the id when unknown."""
        key = str(user_id).strip()
        if key not in self.user_index.index:
            raise KeyError(f"no customer with id {key!r} in the store")
        return int(self.user_index[key])

    def history(self, user_index: int) -> np.ndarray:
        self._check_user(user_index)
        return self.data.sequences[user_index]

    def _check_user(self, user_index: int) -> None:
        if not 0 <= int(user_index) < self.data.n_users:
            raise IndexError(f"user index {user_index} is outside 0..{self.data.n_users - 1}")

    @cached_property
    def users_frame(self) -> pd.DataFrame:
        """One row per user: id, profile, purchases, activity bucket (for pickers and batch segments)."""
        users = self.data.users
        n = self.data.n_users
        n_purchases = np.fromiter((len(s) for s in self.data.sequences), dtype=np.int64, count=n)
        frame = pd.DataFrame({
            "user_index": np.arange(n),
            "user_id": np.asarray(self.data.user_keys).astype(str),
            "region": users["region"].to_numpy() if "region" in users else None,
            "age_band": users["age_band"].to_numpy() if "age_band" in users else None,
            "gender": users["gender"].to_numpy() if "gender" in users else None,
            "purchases": n_purchases,
        })
        frame["activity"] = [activity_bucket(int(p)) for p in n_purchases]
        return frame

    def select_users(
        self,
        region: str | None = None,
        age_band: str | None = None,
        activity: str | None = None,
        id_contains: str | None = None,
    ) -> np.ndarray:
        """User indices matching every given condition (None = any); activity '0' = no purchases yet."""
        f = self.users_frame
        keep = np.ones(len(f), dtype=bool)
        if region:
            keep &= (f["region"] == region).to_numpy()
        if age_band:
            keep &= (f["age_band"] == age_band).to_numpy()
        if activity:
            keep &= (f["activity"] == activity).to_numpy()
        if id_contains:
            keep &= f["user_id"].str.contains(str(id_contains).strip(), case=False, regex=False).to_numpy()
        return np.flatnonzero(keep)

    def user_categories(self, history: np.ndarray) -> set[str]:
        return {c for c in self.categories[np.asarray(history, dtype=np.int64)] if c}

    # ---- scoring ------------------------------------------------------------------------------------
    def model_scores(self, histories: list[np.ndarray], users: np.ndarray | None = None) -> np.ndarray:
        """(n, n_store_items) float32 model scores; store items the model never saw are -inf."""
        mapping = self.context.mapping
        if mapping.same:
            return self.context.scores(histories, users)
        mapped = mapping.histories(histories)
        out = mapping.store_scores(np.asarray(self.model.score(mapped, users), dtype=np.float32))
        unknown = self._text_only_items
        if len(unknown):
            # A model that can score items from their text alone (the LM) ranks new items; others leave them -inf.
            out[:, unknown] = self.model.score_new_items(mapped, [self.texts[i] for i in unknown])
        return out

    @cached_property
    def _text_only_items(self) -> np.ndarray:
        """Store items the model never saw that it can still score from their text (empty for most models)."""
        unknown = np.flatnonzero(self.context.mapping.to_model < 0)
        if not len(unknown):
            return unknown.astype(np.int64)
        texts = self.texts
        unknown = np.asarray([i for i in unknown if texts[i]], dtype=np.int64)
        if not len(unknown) or not self.model.can_score_new_items([texts[int(i)] for i in unknown]):
            return np.zeros(0, dtype=np.int64)
        return unknown

    def user_scores(self, user_index: int | None, interests: str | None = None) -> UserScores:
        """One user's scores over store items: the model's on their history, or cold-start scores without one."""
        hist = self.history(user_index) if user_index is not None else np.zeros(0, dtype=np.int64)
        if len(hist):
            scores = self.model_scores([hist], np.asarray([user_index]))[0].copy()
            n = len(hist)
            text = (Message("model {model} on {n} purchase", model=self.model_label, n=n) if n == 1
                    else Message("model {model} on {n} purchases", model=self.model_label, n=n))
            return UserScores(scores, False, text)
        cold = cold_scores(self.data, self.segpop, user_index, self.vectors if interests else None, interests,
                           self.text_encoder)
        profile = (Message("popular with {segment}", segment=cold.segment) if cold.segment
                   else Message("popular in the whole shop (no usable profile)"))
        if interests and interests.strip():
            text = Message("no purchases yet: typed interests “{interests}” + {profile}", interests=interests.strip(),
                           profile=profile)
        else:
            text = Message("no purchases yet: {profile}", profile=profile)
        return UserScores(cold.scores.copy(), True, text, cold.interest_similarity)

    def allowed(self, flt: ItemFilter, history: np.ndarray | None = None) -> np.ndarray:
        mask = flt.mask(self.data.items, self.data.n_items)
        if history is not None and len(history):
            mask[np.asarray(history, dtype=np.int64)] = False
        return mask

    # ---- the preview ------------------------------------------------------------------------------
    def preview(
        self, user_index: int | None, options: PreviewOptions | None = None, interests: str | None = None
    ) -> Preview:
        """Top-K for one user (None = an anonymous visitor) with reasons, before/after diversity and novelty."""
        options = options or PreviewOptions()
        hist = self.history(user_index) if user_index is not None else np.zeros(0, dtype=np.int64)
        scored = self.user_scores(user_index, interests)
        scores, cold, based_on = scored.scores, scored.cold, scored.based_on
        allowed = self.allowed(options.filter, hist if options.exclude_seen else None)
        scores[~allowed] = -np.inf
        fresh = self.fresh(options.fresh_days)
        ranked = rerank(scores, options.rerank_options(), self.vectors, fresh, self.categories,
                        self.user_categories(hist))
        # The profile's segment label, precomputed per user (profile_segment's answer, without a pandas row read).
        segment = (self.reasons.segments[user_index] or None) if user_index is not None else None
        reasons = explain(self.reasons, user_index, hist, ranked.items, fresh, ranked.explore, segment)
        if scored.interest_similarity is not None:
            reasons = self._interest_reasons(ranked.items, reasons, interests.strip(), fresh,
                                             scored.interest_similarity)
        items = self._recommendations(ranked.items, scores, reasons, fresh, ranked.explore)
        notes = []
        if len(items) < options.k:
            notes.append(Message("only {n} items pass the filters", n=len(items)))
        if interests and interests.strip() and not cold:
            notes.append(Message("typed interests are used for customers without purchases; "
                                 "this one is served by the model"))
        counts = self.reasons.counts
        return Preview(
            user_index=user_index,
            items=items,
            plain=[int(i) for i in ranked.plain],
            before=list_quality(ranked.plain, self.vectors, counts, self.categories),
            after=list_quality(ranked.items, self.vectors, counts, self.categories),
            cold=cold,
            based_on=based_on,
            notes=notes,
        )

    def _interest_reasons(self, items, reasons: list[Reason], interests: str, fresh, similarity) -> list[Reason]:
        """Say "matches your interests" only for items whose text is close to them (not for a boosted newcomer)."""
        label = interests if len(interests) <= 40 else interests[:39] + "…"
        close = similarity >= STRONG_SHARE * float(similarity.max())
        out = []
        for item, reason in zip(items, reasons):
            if not close[item]:
                out.append(reason)
            elif reason.kind == "segment":
                out.append(Reason("segment", Message("{reason}; fits “{label}”", reason=reason.text, label=label)))
            elif fresh[item] > 0:
                out.append(Reason("interest", Message("new arrival matching your interests “{label}”", label=label)))
            else:
                out.append(Reason("interest", Message("matches your interests “{label}”", label=label)))
        return out

    @cached_property
    def titles(self) -> np.ndarray:
        """Full item titles for lists and exports (reasons use shortened ones); the item id when untitled."""
        raw = self.data.items["title"].tolist() if "title" in self.data.items else [None] * self.data.n_items
        keys = np.asarray(self.data.item_keys).astype(str)
        return np.asarray([t if isinstance(t, str) and t.strip() else f"item {k}" for t, k in zip(raw, keys)],
                          dtype=object)

    @cached_property
    def prices(self) -> np.ndarray:
        if "price" not in self.data.items:
            return np.full(self.data.n_items, np.nan)
        return pd.to_numeric(self.data.items["price"], errors="coerce").to_numpy(dtype=np.float64)

    def _recommendations(self, items, scores, reasons, fresh, explore) -> list[Recommendation]:
        out = []
        for rank, (item, reason) in enumerate(zip(items, reasons), start=1):
            item = int(item)
            price = self.prices[item]
            out.append(Recommendation(
                rank=rank,
                item_index=item,
                item_id=str(self.data.item_keys[item]),
                title=self.titles[item],
                category=self.categories[item],
                price=float(price) if np.isfinite(price) else None,
                score=float(scores[item]),
                reason=reason.text,
                reason_kind=reason.kind,
                is_new=bool(fresh[item] > 0),
                explore=bool(explore[rank - 1]) if len(explore) else False,
                evidence=reason.evidence,
            ))
        return out

    # ---- semantic search ----------------------------------------------------------------------------
    def search(
        self, query: str, user_index: int | None = None, k: int = 10, flt: ItemFilter | None = None,
        personal_weight: float = 0.4,
    ) -> SearchResult:
        """Items matching a shopper's question, re-ranked by this user's s(u, i); see core.recommend.search."""
        vectors = self.vectors
        if vectors is None:
            raise ValueError("semantic search needs item titles or descriptions; this catalogue has no text")
        from core.text_encoder import E5

        parsed = parse_query(query, self.vocabulary, multilingual=self.text_encoder == E5)
        from core.text_encoder import encode

        similarity = vectors @ encode([parsed.text], encoder=self.text_encoder, query=True)[0]
        bounds = ItemFilter(min_price=parsed.min_price, max_price=parsed.max_price)
        allowed = self.allowed(flt or ItemFilter()) & bounds.mask(self.data.items, self.data.n_items)
        allowed &= np.any(vectors != 0, axis=1)
        user_scores = None
        hist = np.zeros(0, dtype=np.int64)
        if user_index is not None:
            user_scores = self.user_scores(user_index).scores
            hist = self.history(user_index)
        items, _ = rank_matches(similarity, user_scores, allowed, k, personal_weight=personal_weight)
        label = parsed.text if len(parsed.text) <= 40 else parsed.text[:39] + "…"
        best = float(np.max(np.where(allowed, similarity, -np.inf))) if allowed.any() else 0.0
        base = explain(self.reasons, user_index, hist, items, None, None) if len(hist) else None
        reasons = []
        for n, item in enumerate(items):
            close = similarity[item] >= STRONG_SHARE * best
            sim = f"{similarity[item]:.2f}"
            text = (Message("matches “{label}” (text similarity {similarity})", label=label, similarity=sim) if close
                    else Message("loosely related to “{label}” (text similarity {similarity})", label=label,
                                 similarity=sim))
            if base is not None and base[n].kind == "similar":
                text = Message("{reason}; {similar}", reason=text, similar=base[n].text)
            reasons.append(Reason("search", text, base[n].evidence if base is not None else ()))
        scores = user_scores if user_scores is not None else similarity
        recs = self._recommendations(items, scores, reasons, self.fresh(), np.zeros(len(items), dtype=bool))
        return SearchResult(parsed=parsed, items=recs, similarity=[float(similarity[i]) for i in items])
