"""`python -m core abtest`: analyse an exposure log (or a stored experiment) exactly as the A/B tests page does."""

from __future__ import annotations

import argparse
import sys

from core.abtest.analysis import parse_split
from core.abtest.hygiene import HygieneChoices, clean
from core.abtest.log_reader import parse_mapping, read_log
from core.abtest.report import _jsonable, experiment_report
from core.cli.output import emit


def configure(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--log", help="exposure log CSV (.csv, .csv.gz or a .zip holding one CSV)")
    src.add_argument("--experiment", type=int, help="id of an experiment stored in the store")
    parser.add_argument("--mapping", default="", help="canonical=column pairs, e.g. user_id=uid,variant=group "
                        "(unnamed columns are guessed)")
    parser.add_argument("--control", default=None, help="name of the control arm (default: 'control' or the first)")
    parser.add_argument("--split", default="", help="planned split, e.g. control=50,treatment=50 (default: equal)")
    parser.add_argument("--mismatches", choices=("drop", "keep"), default="drop",
                        help="rows whose page is not their variant's page")
    parser.add_argument("--multi-arm", choices=("drop", "first"), default="drop",
                        help="users exposed to more than one arm")
    parser.add_argument("--duplicates", choices=("first", "drop"), default="first",
                        help="repeated exposures of a user in one arm")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--mde", type=float, default=0.02, help="relative lift the verdict plans for (0.02 = 2 %%)")
    parser.add_argument("--orders", default=None, metavar="COL", help="file column of orders per user "
                        "(adds orders per user and average order value)")
    parser.add_argument("--segments", default="", metavar="COLS", help="file columns to break the effect down by, "
                        "e.g. region,device")
    parser.add_argument("--keep", default="", metavar="COLS", help="more file columns to carry for --ratio "
                        "metrics, e.g. sessions,items")
    parser.add_argument("--ratio", action="append", default=[], metavar="NAME=NUM/DEN",
                        help="extra ratio metric over two per-user columns, delta method, e.g. "
                        "'revenue per order=revenue/orders'; repeatable")
    parser.add_argument("--segment-metric", default="conversion", help="metric of the segment breakdown")
    parser.add_argument("--guardrail", action="append", default=[], metavar="METRIC=MARGIN",
                        help="non-inferiority guardrail, e.g. 'average order value=0.02' (may be 2 %% worse); "
                        "repeatable")
    parser.add_argument("--correction", choices=("holm", "bonferroni", "fdr_bh"), default="holm",
                        help="multiple-testing correction over metrics x arms")
    cap = parser.add_mutually_exclusive_group()
    cap.add_argument("--cap-quantile", type=float, default=None, help="winsorise revenue at this pooled quantile "
                     "of the non-zero values, e.g. 0.99")
    cap.add_argument("--cap-value", type=float, default=None, help="winsorise revenue at this amount per user")
    parser.add_argument("--prior", default=None, metavar="MEAN,WEIGHT",
                        help="informative Beta prior on conversion: mean rate and users' worth, e.g. 0.03,1000")
    parser.add_argument("--sequential-tau", type=float, default=None,
                        help="mSPRT mixing scale in rate points (default: 10 %% of the first look's control rate)")
    parser.add_argument("--no-cuped", action="store_true", help="judge by the unadjusted tests even with a pre_metric")
    parser.add_argument("--plan-correction", choices=("bonferroni", "dunnett"), default="bonferroni",
                        help="alpha split over arms vs control in the 'users still needed' plan")
    parser.add_argument("--save", default=None, metavar="NAME", help="store the cleaned log as an experiment")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _guardrails(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, margin = item.rpartition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(margin)
        except ValueError:
            raise ValueError(f"--guardrail {item!r} is not METRIC=MARGIN (e.g. 'revenue per user=0.02')") from None
    return out


def _prior(text: str | None):
    from core.abtest.bayes import BetaPrior

    if not text:
        return None
    try:
        mean, weight = (float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--prior {text!r} is not MEAN,WEIGHT (e.g. 0.03,1000)") from None
    return BetaPrior.from_mean(mean, weight)


def _ratios(items: list[str]):
    from core.abtest.metrics import MetricSpec

    out = []
    for item in items:
        name, sep, expr = item.rpartition("=")
        num, slash, den = expr.partition("/")
        if not (sep and slash and name.strip() and num.strip() and den.strip()):
            raise ValueError(f"--ratio {item!r} is not NAME=NUMERATOR/DENOMINATOR (e.g. 'aov=revenue/orders')")
        out.append(MetricSpec(name.strip(), "ratio", num.strip(), denominator=den.strip()))
    return out


def options_from_args(args: argparse.Namespace, frame):
    """The report options the command line asks for (one place, so the JSON says what was run)."""
    from core.abtest.metrics import default_metrics
    from core.abtest.report import ReportOptions

    ratios = _ratios(args.ratio)
    return ReportOptions(
        metrics=None if not ratios else [*default_metrics(frame), *ratios],
        control=args.control, alpha=args.alpha, correction=args.correction, guardrails=_guardrails(args.guardrail),
        cap_quantile=args.cap_quantile, cap_value=args.cap_value,
        segments=[c.strip() for c in args.segments.split(",") if c.strip()], segment_metric=args.segment_metric,
        prior=_prior(args.prior), use_cuped=not args.no_cuped, sequential_tau=args.sequential_tau,
        planned_split=parse_split(args.split), mde=args.mde, plan_correction=args.plan_correction,
    )


def main(args: argparse.Namespace) -> int:
    from db.engine import session_scope

    try:
        choices = HygieneChoices(mismatches=args.mismatches, multi_arm=args.multi_arm, duplicates=args.duplicates)
        if args.log:
            frame, mapping = read_log(args.log, parse_mapping(args.mapping), orders=args.orders,
                                      segments=[c.strip() for c in f"{args.segments},{args.keep}".split(",")
                                                if c.strip()])
            source = {"log": args.log, "mapping": mapping}
        else:
            from db.experiments import get_experiment, load_exposures

            with session_scope(args.db) as session:
                exp = get_experiment(session, args.experiment)
                frame = load_exposures(session, exp.id)
                args.control = args.control or exp.control
                planned = (exp.config or {}).get("planned_split") or {}
                args.split = args.split or ",".join(f"{arm}={share:g}" for arm, share in planned.items())
                source = {"experiment": exp.id, "name": exp.name, "source": exp.source}
        cleaned, report = clean(frame, choices)
        full = experiment_report(cleaned, options_from_args(args, cleaned))
        result = full.analysis
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"abtest: {exc}", file=sys.stderr)
        return 2
    extended = full.to_dict()
    extended.pop("analysis")  # already at the top level, as before
    payload = {"source": source, "hygiene": report.to_dict(), **_jsonable(result.to_dict()), "report": extended}
    if args.save and args.log:
        from db.experiments import save_experiment

        with session_scope(args.db) as session:
            exp = save_experiment(session, args.save, cleaned, source="upload", control=result.control,
                                  config={"mapping": mapping, "choices": report.choices}, report=report.to_dict())
            payload["saved_experiment_id"] = exp.id
    human = "\n".join(
        [*report.lines(), "", result.arms_frame().to_string(index=False), "",
         result.comparisons_frame().T.to_string(header=False), "",
         f"SRM: chi2 = {result.srm.chi2:.3f}, p = {result.srm.p_value:.3g}" + (" (MISMATCH)" if result.srm.flagged else ""),
         "", result.verdict, "",
         full.metrics_frame()[["metric", "variant", "diff", "ci_low", "ci_high", "p_value", "p_adjusted",
                               "significant"]].to_string(index=False),
         "", full.decision]
    )
    emit(payload, args.json, human)
    return 0
