"""Plan a coupon campaign end to end against the store: features, propensity, uplift, targeting, evaluation.

The page and the CLI call `plan_campaign(session, spec)` and render or print the `CampaignPlan` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split
from sqlalchemy.orm import Session

from core.coupons.campaign import CampaignSpec
from core.coupons.decision import (
    REFUSED,
    TargetingDecision,
    decide,
    no_campaign,
    not_chosen,
    refuse_without_propensity,
    too_small,
)
from core.coupons.features import DAY, feature_matrix, make_scope, user_features
from core.coupons.propensity import fit_propensity
from core.coupons.targeting import Scores, campaign_totals, score_and_select, targeted
from core.i18n import Message
from core.interactions import InteractionData, from_store
from core.models.base import Recommender
from core.scoring import NoModelError, ScoringContext
from core.uplift import (
    LEARNERS,
    average_effect,
    make_learner,
    qini_coefficient,
    qini_curve,
    random_baseline,
    uplift_at_k,
)
from core.uplift.calibration import UpliftCalibration, calibrate_uplift, cross_fitted_check
from core.uplift.metrics import bootstrap_uplift

EVAL_K = 0.3
HOLDOUT = 0.3
CROSS_FIT_FOLDS = 5
BOOTSTRAP_DRAWS = 200


@dataclass
class LearnerEval:
    name: str
    qini: float
    uplift_at_k: float
    curve_fraction: list[float]
    curve_gain: list[float]
    # 95 % percentile bootstrap intervals on the held-out users (seeded with the campaign's seed)
    qini_ci: tuple[float, float] = (float("nan"), float("nan"))
    uplift_at_k_ci: tuple[float, float] = (float("nan"), float("nan"))
    # calibration fitted on one half of the held-out users, judged on the other (core.uplift.calibration)
    calibration: dict | None = None


@dataclass
class UpliftEvaluation:
    """Held-out part of the past campaign: each learner's Qini curve and figures against random targeting."""

    experiment_id: int
    outcome: str
    k: float
    n_train: int
    n_test: int
    average_effect: float
    random_qini: float
    random_qini_std: float
    random_uplift_at_k: float
    learners: list[LearnerEval] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "experiment_id": self.experiment_id, "outcome": self.outcome, "k": self.k, "n_train": self.n_train,
            "n_test": self.n_test, "average_effect": self.average_effect,
            "random": {"qini": self.random_qini, "qini_std": self.random_qini_std,
                       "uplift_at_k": self.random_uplift_at_k},
            "learners": {le.name: {"qini": le.qini, "qini_ci": list(le.qini_ci), "uplift_at_k": le.uplift_at_k,
                                   "uplift_at_k_ci": list(le.uplift_at_k_ci), "calibration": le.calibration}
                         for le in self.learners},
        }

    def qini_curves(self) -> dict[str, tuple[list[float], list[float]]]:
        """name -> (customers targeted in %, incremental outcome among the held-out users); "random" last."""
        curves = {le.name: ([f * 100 for f in le.curve_fraction], [g * self.n_test for g in le.curve_gain])
                  for le in self.learners}
        end = self.learners[0].curve_gain[-1] * self.n_test if self.learners else 0.0
        curves["random"] = ([0, 100], [0, end])
        return curves

    def qini_table(self) -> list[dict]:
        """Qini coefficient and uplift@k per targeting with their bootstrap intervals, random first."""
        k = f"uplift@{self.k:.0%}"
        nan = float("nan")
        rows = [{"targeting": "random", "Qini coefficient": self.random_qini, "Qini low": nan, "Qini high": nan,
                 k: self.random_uplift_at_k, f"{k} low": nan, f"{k} high": nan,
                 "calibrated slope on other half": nan}]
        for le in self.learners:
            cal = le.calibration or {}
            rows.append({"targeting": le.name, "Qini coefficient": le.qini, "Qini low": le.qini_ci[0],
                         "Qini high": le.qini_ci[1], k: le.uplift_at_k, f"{k} low": le.uplift_at_k_ci[0],
                         f"{k} high": le.uplift_at_k_ci[1],
                         "calibrated slope on other half": cal.get("heldout_slope", nan)})
        return rows


@dataclass
class CampaignPlan:
    spec: CampaignSpec
    causal: bool
    scored: pd.DataFrame  # every user, with status and numbers
    targets: pd.DataFrame  # the targeted list in rank order
    totals: dict
    evaluation: UpliftEvaluation | None
    propensity: dict
    notes: list[str]
    model_id: int | None
    model_name: str
    experiment_id: int | None
    calibration: dict = field(default_factory=dict)  # outcome -> UpliftCalibration.to_dict()
    decision: TargetingDecision | None = None  # uplift or propensity, and why (core.coupons.decision)

    @property
    def mode(self) -> str:
        return self.decision.mode if self.decision else ("uplift" if self.causal else "propensity")

    def to_dict(self, max_targets: int | None = None) -> dict:
        t = self.targets if max_targets is None else self.targets.head(max_targets)
        t = t.drop(columns=[c for c in ("user_store_id",) if c in t])
        return {
            "campaign": self.spec.to_dict(),
            "causal": self.causal,
            "targeting": self.decision.to_dict() if self.decision else {"mode": self.mode, "reason": ""},
            "model": {"id": self.model_id, "name": self.model_name},
            "experiment_id": self.experiment_id,
            "totals": self.totals,
            "evaluation": self.evaluation.summary() if self.evaluation else None,
            "calibration": self.calibration,
            "propensity": self.propensity,
            "notes": self.notes,
            "targets": t.astype(object).where(t.notna(), None).to_dict("records"),
        }

    def customers_targeted_first(self) -> list[str]:
        """Every user id: the targeted ones in rank order, then the rest (highest rank value first)."""
        users = self.scored.sort_values(["rank"], ascending=False)["user_id"].tolist()
        targeted = self.targets["user_id"].tolist()
        chosen = set(targeted)
        return targeted + [u for u in users if u not in chosen]

    def user_view(self, user_key: str) -> dict:
        """One user's coupon, numbers, status and reason (the per-user coupon view)."""
        rows = self.scored[self.scored["user_id"] == str(user_key)]
        if rows.empty:
            raise KeyError(f"user {user_key!r} is not in the store")
        r = rows.iloc[0]
        keys = ["user_id", "status", "rank", "coupon", "target", "propensity", "p0", "p1", "uplift", "expected_cost",
                "expected_profit", "n_purchases", "days_since_last", "activity", "reason"]
        return {k: (None if pd.isna(r[k]) else r[k]) if not isinstance(r[k], str) else r[k] for k in keys}


def _resolve_model(session: Session, data: InteractionData, notes: list[str]) -> tuple[Recommender, int | None, str]:
    try:
        ctx = ScoringContext.from_store(session, data=data)
        return ctx.model, ctx.model_id, ctx.model_label
    except NoModelError:
        notes.append(Message("no active recommender: s(u, i) comes from a popularity model fitted on the fly"))
    except (OSError, ValueError, KeyError) as exc:
        from db.registry import active_model

        row = active_model(session)
        notes.append(Message("active model {name} v{version} could not be loaded ({error}); popularity used",
                             name=row.name, version=row.version, error=exc))
    from core.models.popularity import Popularity

    return Popularity().fit(data), None, "popularity (fallback)"


def _exposure_features(data: InteractionData, ex: pd.DataFrame, scope, model, now: float) -> pd.DataFrame:
    """Features of each exposed user as of the moment their coupon went out (no later purchases leak in)."""
    index = pd.Series(np.arange(data.n_users), index=data.users["store_id"].to_numpy())
    ex = ex.assign(user=index.reindex(ex["user_store_id"].to_numpy()).to_numpy())
    ex = ex[ex["user"].notna()].reset_index(drop=True)
    ex["user"] = ex["user"].astype(np.int64)
    sent = ex["exposed_at"]
    at = np.where(sent.notna(), (sent.astype("datetime64[ns]").astype("int64") // 10**9).to_numpy(), now)
    parts = []
    for when in np.unique(at):
        rows = np.flatnonzero(at == when)
        f = user_features(data, float(when), scope, model, users=ex["user"].to_numpy()[rows])
        f.index = rows
        parts.append(f)
    feats = pd.concat(parts).sort_index()
    return pd.concat([ex[["treated", "converted", "revenue"]], feats.reset_index(drop=True)], axis=1)


def _evaluate(X: np.ndarray, t: np.ndarray, y: np.ndarray, spec: CampaignSpec, experiment_id: int, outcome: str
              ) -> UpliftEvaluation:
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=HOLDOUT, random_state=spec.seed, stratify=t)
    rnd = random_baseline(y[te], t[te], EVAL_K, n_draws=50, seed=spec.seed)
    ev = UpliftEvaluation(experiment_id, outcome, EVAL_K, len(tr), len(te), average_effect(y[te], t[te]),
                          rnd.qini_mean, rnd.qini_std, rnd.uplift_at_k_mean)
    for name in LEARNERS:
        model = make_learner(name, seed=spec.seed).fit(X[tr], t[tr], y[tr])
        s = model.predict(X[te])
        curve = qini_curve(y[te], t[te], s)
        try:
            at_k = uplift_at_k(y[te], t[te], s, EVAL_K)
        except ValueError:
            at_k = float("nan")
        boot = bootstrap_uplift(y[te], t[te], s, EVAL_K, n_boot=BOOTSTRAP_DRAWS, seed=spec.seed)
        check = cross_fitted_check(y[te], t[te], s, model.predict_outcomes(X[te])[0], seed=spec.seed)
        ev.learners.append(LearnerEval(name, qini_coefficient(y[te], t[te], s), at_k,
                                       curve.fraction.tolist(), curve.gain.tolist(),
                                       (boot.qini.low, boot.qini.high), (boot.uplift_at_k.low, boot.uplift_at_k.high),
                                       check.to_dict()))
    return ev


def _fit_calibrated(X: np.ndarray, t: np.ndarray, y: np.ndarray, spec: CampaignSpec):
    """The campaign's learner on all exposures, plus the scale of its predictions fitted on cross-fitted ones."""
    oof_tau, oof_mu0 = np.zeros(len(y)), np.zeros(len(y))
    for tr, te in StratifiedKFold(CROSS_FIT_FOLDS, shuffle=True, random_state=spec.seed).split(X, t):
        m = make_learner(spec.learner, seed=spec.seed).fit(X[tr], t[tr], y[tr])
        oof_tau[te] = m.predict(X[te])
        oof_mu0[te] = m.predict_outcomes(X[te])[0]
    calibration: UpliftCalibration = calibrate_uplift(y, t, oof_tau, oof_mu0)
    return make_learner(spec.learner, seed=spec.seed).fit(X, t, y), calibration


def plan_campaign(
    session: Session, spec: CampaignSpec, experiment_id: int | None = None, use_uplift: bool = True
) -> CampaignPlan:
    """Score every user, pick the targets under the budget, and evaluate the uplift model on held-out users.

    `experiment_id`: the past randomised campaign to learn uplift from (default: the newest one in the store);
    `use_uplift=False` ranks by propensity alone (what a store without such a campaign gets).
    """
    from db.campaigns import campaign_exposures, randomised_campaigns

    spec.validate()
    notes: list[str] = []
    data = from_store(session)
    if data.n_users == 0:
        raise ValueError("the store has no users: upload data or load the demo shop first")
    last = data.as_of()
    if last is None:
        raise ValueError("the store has no purchases: coupon targeting needs purchase history")
    now = last + 1.0  # the shop's own last day, not the wall clock: recency as the shop's data stands
    model, model_id, model_name = _resolve_model(session, data, notes)
    scope = make_scope(data, spec.scope, spec.category)

    current = user_features(data, now, scope, model)
    then = user_features(data, now - spec.window_days * DAY, scope, model)
    bought = np.array([((ts >= now - spec.window_days * DAY) & (ts < now)).any() for ts in data.times], dtype=int)
    prop = fit_propensity(feature_matrix(then), bought, seed=spec.seed)
    if prop.model is None:
        notes.append(Message("too few buyers to fit a propensity model: everyone gets the base rate"))
    p_now = prop.predict(feature_matrix(current))
    scores = Scores(propensity=p_now)

    evaluation, outside, calibration, decision = None, None, {}, no_campaign()
    if not use_uplift:
        experiment_id, decision = None, not_chosen()
    elif experiment_id is None:
        found = randomised_campaigns(session)
        experiment_id = found[0].id if found else None
    if experiment_id is not None:
        ex = _exposure_features(data, campaign_exposures(session, experiment_id), scope, model, now)
        t = ex["treated"].to_numpy()
        if min((t == 1).sum(), (t == 0).sum()) < 20:
            decision = too_small(experiment_id)
            experiment_id = None
    if experiment_id is not None:
        X = feature_matrix(ex)
        outcome = "converted" if spec.goal == "conversion" else "revenue"
        evaluation = _evaluate(X, t, ex[outcome].to_numpy(dtype=float), spec, experiment_id, outcome)
        decision = decide(evaluation, spec.learner)
    if decision.causal:
        conv, cal = _fit_calibrated(X, t, ex["converted"].to_numpy(dtype=float), spec)
        calibration["converted"] = cal.to_dict()
        Xn = feature_matrix(current)
        p0 = np.clip(conv.predict_outcomes(Xn)[0], 0, 1)
        p1 = np.clip(p0 + cal.apply(conv.predict(Xn)), 0, 1)
        if spec.goal == "revenue":
            rev, cal_rev = _fit_calibrated(X, t, ex["revenue"].to_numpy(dtype=float), spec)
            calibration["revenue"] = cal_rev.to_dict()
            incr = cal_rev.apply(rev.predict(Xn))
        else:
            incr = (p1 - p0) * current["ref_price"].to_numpy(dtype=float)
        scores = Scores(propensity=p_now, p0=p0, p1=p1, incr_revenue=incr)
        reached = set(ex["activity"])
        outside = np.full(len(current), "", dtype=object)
        outside[~current["activity"].isin(reached).to_numpy()] = Message(
            "outside the past campaign's reach (activity bucket it never covered)")

    if prop.model is None:
        decision = refuse_without_propensity(decision)
    if decision.mode == REFUSED:  # nothing to rank by: no list rather than an arbitrary one
        outside = np.full(len(current), Message("nothing to learn from (see the targeting note)"), dtype=object)
    current["user_store_id"] = data.users["store_id"].to_numpy()
    profile = data.users[[c for c in ("age_band", "gender", "region") if c in data.users]]
    titles = data.items["title"].fillna("").astype(str).to_numpy() if "title" in data.items else data.item_keys
    titles = np.where(titles == "", data.item_keys, titles)
    scored = score_and_select(current, profile, data.user_keys, titles, scores, spec, outside)
    return CampaignPlan(
        spec=spec,
        causal=scores.causal,
        scored=scored,
        targets=targeted(scored),
        totals=campaign_totals(scored, spec, scores.causal),
        evaluation=evaluation,
        propensity=prop.quality(),
        notes=notes,
        model_id=model_id,
        model_name=model_name,
        experiment_id=experiment_id,
        calibration=calibration,
        decision=decision,
    )


def save_plan(session: Session, plan: CampaignPlan):
    """Store the campaign (its definition and totals) and every targeted user's assignment."""
    from db.campaigns import save_campaign

    summary = {"totals": plan.totals, "causal": plan.causal, "notes": plan.notes,
               "targeting": plan.decision.to_dict() if plan.decision else None,
               "evaluation": plan.evaluation.summary() if plan.evaluation else None, "experiment_id": plan.experiment_id}
    return save_campaign(session, plan.spec.name, plan.spec.to_dict(), summary, plan.targets, model_id=plan.model_id)
