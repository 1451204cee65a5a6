"""`python -m core coupons --campaign FILE_OR_NAME`: target a coupon campaign exactly as the Coupons page does.

FILE is a JSON campaign definition (core.coupons.CampaignSpec fields); NAME (or id) re-runs a stored campaign.
The JSON's `targeting` says how the list was ranked (`mode`: uplift | propensity) and why (`reason`): uplift only
when the learner beat random targeting on the past campaign's held-out customers (core.coupons.decision).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.output import emit


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--campaign", required=True, metavar="FILE_OR_NAME",
                        help="JSON campaign definition file, or the name/id of a stored campaign")
    parser.add_argument("--experiment", type=int, default=None,
                        help="past randomised campaign (experiment id) to learn uplift from (default: newest)")
    parser.add_argument("--save", action="store_true", help="store the campaign and its assignments")
    parser.add_argument("--out", default=None, metavar="CSV", help="write the targeted list as CSV (formula cells escaped)")
    parser.add_argument("--encoding", default="utf-8-sig", choices=["utf-8-sig", "gb18030", "gbk"],
                        help="--out: CSV encoding (default UTF-8 with BOM; GB18030/GBK for Excel in Chinese Windows)")
    parser.add_argument("--top", type=int, default=20, help="targeted users to print (default 20; --json prints all)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _load_spec(session, ref: str):
    from core.coupons import CampaignSpec
    from db.campaigns import find_campaign

    path = Path(ref)
    if path.suffix.lower() == ".json" or path.exists():
        if not path.exists():
            raise FileNotFoundError(f"campaign file {path} does not exist")
        return CampaignSpec.from_file(path)
    row = find_campaign(session, ref)
    if row is None:
        raise KeyError(f"no campaign file or stored campaign called {ref!r}")
    return CampaignSpec.from_dict(row.config)


def _human(plan, top: int) -> str:
    t = plan.totals
    lines = [f"Campaign {plan.spec.name!r}: {t['n_targeted']} of {t['n_users']} users targeted "
             f"({t['n_eligible']} eligible), recommender {plan.model_name}",
             "Ranking: " + {"uplift": "expected incremental profit from uplift (causal)",
                            "propensity": "purchase propensity — NOT causal",
                            "refused": "none — nobody targeted"}[plan.mode],
             f"Why: {plan.decision.reason if plan.decision else ''}",
             f"Budget: {t['budget_used']:.2f} of {t['budget_amount']:.2f} ({t['budget_kind']})",
             f"Expected conversions {t['expected_conversions']:.1f}, expected cost {t['expected_cost']:.2f}"]
    if plan.causal:
        lines.append(f"Incremental conversions {t['incremental_conversions']:.1f}, incremental revenue "
                     f"{t['incremental_revenue']:.2f}, expected incremental profit {t['expected_incremental_profit']:.2f}")
    if plan.evaluation:
        ev = plan.evaluation
        lines.append(f"Held-out past campaign ({ev.n_test} users, outcome {ev.outcome}): Qini / uplift@{ev.k:.0%}")
        lines.append(f"  random      {ev.random_qini:+.4f} / {ev.random_uplift_at_k:+.4f}")
        for le in ev.learners:
            held = (le.calibration or {}).get("heldout_slope", float("nan"))
            lines.append(f"  {le.name:<11} {le.qini:+.4f} [{le.qini_ci[0]:+.4f}, {le.qini_ci[1]:+.4f}] / "
                         f"{le.uplift_at_k:+.4f} [{le.uplift_at_k_ci[0]:+.4f}, {le.uplift_at_k_ci[1]:+.4f}]; "
                         f"calibrated slope on the other half {held:.2f}")
    cal = plan.calibration.get("converted")
    if cal:
        lines.append(f"Average coupon effect on buying {cal['ate']:+.3f} (se {cal['ate_se']:.3f}); share of predicted "
                     f"differences that held up out of fold {cal['slope']:.2f} (se {cal['slope_se']:.2f})")
    lines += [f"Note: {n}" for n in plan.notes]
    lines.append("")
    lines.append(plan.targets.head(top)[["rank", "user_id", "coupon", "target", "reason"]].to_string(index=False))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    from core.coupons import CampaignError
    from core.coupons.plan import plan_campaign, save_plan
    from core.export import write_csv
    from db.engine import session_scope

    try:
        with session_scope(args.db) as session:
            spec = _load_spec(session, args.campaign)
            plan = plan_campaign(session, spec, experiment_id=args.experiment)
            if args.out:  # before saving: a cell the encoding cannot hold (ValueError) stores and writes nothing
                write_csv(plan.targets.drop(columns=["user_store_id"], errors="ignore"), args.out, args.encoding)
            saved = save_plan(session, plan).id if args.save else None
    except (CampaignError, ValueError, KeyError, FileNotFoundError) as exc:
        print(f"coupons: {exc}", file=sys.stderr)
        return 2
    payload = plan.to_dict(None if args.json else args.top)
    payload["saved_campaign_id"] = saved
    emit(payload, args.json, _human(plan, args.top))
    return 0
