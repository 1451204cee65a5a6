"""`python -m core abtest`: analyse an exposure log (or a stored experiment) exactly as the A/B tests page does."""

from __future__ import annotations

import argparse
import sys

from core.abtest.analysis import analyse, parse_split
from core.abtest.hygiene import HygieneChoices, clean
from core.abtest.log_reader import parse_mapping, read_log
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
    parser.add_argument("--save", default=None, metavar="NAME", help="store the cleaned log as an experiment")
    parser.add_argument("--json", action="store_true", help="machine-readable output")



def main(args: argparse.Namespace) -> int:
    from db.engine import session_scope

    try:
        choices = HygieneChoices(mismatches=args.mismatches, multi_arm=args.multi_arm, duplicates=args.duplicates)
        if args.log:
            frame, mapping = read_log(args.log, parse_mapping(args.mapping))
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
        result = analyse(cleaned, control=args.control, planned_split=parse_split(args.split), alpha=args.alpha,
                         mde=args.mde)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"abtest: {exc}", file=sys.stderr)
        return 2
    payload = {"source": source, "hygiene": report.to_dict(), **result.to_dict()}
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
         "", result.verdict]
    )
    emit(payload, args.json, human)
    return 0
