"""`python -m core ingest`: upload CSV exports through the column mapping; prints the validation report.

Exit code 0 when the upload went in, 1 when it was rejected (the store is then unchanged), 2 on bad options
(argparse's own errors, and options found wrong once read: --sep, --encoding, --map, --timestamp-format,
--chunk-rows, --max-bytes); an option error prints its message on stderr and changes nothing.
"""

from __future__ import annotations

import argparse
import sys

from core.cli.output import emit
from core.ingest import (
    ColumnMapping,
    IngestError,
    IngestOptions,
    OptionError,
    Source,
    Upload,
    ValidationReport,
    guess_mapping,
    ingest_into_store,
    sniff,
)
from core.ingest.mapping import parse_overrides
from core.ingest.timestamps import check_format

EXIT_CODES = "exit status: 0 when the upload went in, 1 when it was rejected (the store unchanged), 2 on bad options"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXIT_CODES
    parser.add_argument("--events", action="append", default=[], metavar="FILE", help="behaviour events CSV")
    parser.add_argument("--items", action="append", default=[], metavar="FILE", help="item catalogue CSV")
    parser.add_argument("--users", action="append", default=[], metavar="FILE", help="user profiles CSV")
    parser.add_argument("--transactions", action="append", default=[], metavar="FILE",
                        help="transactions export: feeds events, items (descriptions) and users (country)")
    parser.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                        help="correct the guessed mapping, e.g. --map CustomerID=user_id (FIELD 'ignore' unmaps)")
    buy = parser.add_mutually_exclusive_group()
    buy.add_argument("--purchase-values", default=None, metavar="V1,V2",
                     help="action values that mean purchase (others are not purchases)")
    buy.add_argument("--all-purchases", action="store_true", help="every event row is a purchase")
    parser.add_argument("--timestamp-format", default=None,
                        help="strftime pattern, ISO8601, unix-seconds or unix-milliseconds (default: detect)")
    parser.add_argument("--unknown", choices=("create", "drop"), default="create",
                        help="events naming users/items the store lacks: create them (default) or drop the rows")
    parser.add_argument("--strict", action="store_true", help="reject the upload if any row would be dropped")
    parser.add_argument("--encoding", default=None, help="force the encoding (default: detect UTF-8 / GBK)")
    parser.add_argument("--sep", default=None,
                        help="force the separator, one character or 'tab' (default: detect , ; tab |)")
    parser.add_argument("--chunk-rows", type=int, default=100_000, help="rows per chunk (memory vs. speed)")
    parser.add_argument("--max-bytes", type=int, default=None,
                        help="largest decompressed file read, in bytes (default: RECOLM_MAX_UPLOAD_BYTES or 5 GB)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _mapping(source: Source, args: argparse.Namespace, overrides: dict[str, str]) -> ColumnMapping:
    header = sniff(source, args.encoding, args.sep, args.max_bytes).header
    mine = {c: f for c, f in overrides.items() if c in header}
    mapping = guess_mapping(source.kind, header).with_overrides(mine)
    if args.purchase_values is not None:
        mapping.purchase_values = tuple(v.strip() for v in args.purchase_values.split(",") if v.strip())
        mapping.all_purchases = False
    if args.all_purchases:
        mapping.all_purchases = True
    mapping.timestamp_format = args.timestamp_format
    return mapping


def _human(report: ValidationReport) -> str:
    lines = [("ACCEPTED" if report.accepted else "REJECTED") + f": {report.rows_read} rows read, "
             f"{report.rows_kept} kept, {report.rows_dropped} dropped ({report.seconds:.1f} s)"]
    if report.error:
        lines.append(f"  error: {report.error}")
    for f in report.files:
        lines.append(f"  {f.file} ({f.kind}, {f.encoding}, {f.separator}): {f.rows_read} read, {f.rows_kept} kept")
        for row in report.dropped_table():
            if row["file"] == f.file:
                lines.append(f"    {row['status']} {row['rows']} x {row['reason']}: {row['what it means']} "
                             f"(lines {row['example lines']})")
        lines += [f"    warning: {w}" for w in f.warnings]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    files = [(k, p) for k in ("users", "items", "transactions", "events") for p in getattr(args, k)]
    if not files:
        print("give at least one of --events, --items, --users, --transactions", file=sys.stderr)
        return 2
    try:
        overrides = parse_overrides(args.map)
        if args.timestamp_format:
            try:
                check_format(args.timestamp_format)
            except ValueError as exc:
                raise OptionError(f"--timestamp-format {args.timestamp_format!r} is not valid ({exc}); use strftime "
                                  "codes such as %d/%m/%Y %H:%M, or ISO8601, unix-seconds, unix-milliseconds") from exc
        options = IngestOptions(unknown=args.unknown, strict=args.strict, chunk_rows=args.chunk_rows,
                                encoding=args.encoding, separator=args.sep, max_bytes=args.max_bytes)
        uploads = []
        for kind, path in files:
            source = Source(kind, path)
            uploads.append(Upload(source, _mapping(source, args, overrides)))
    except OptionError as exc:
        print(f"python -m core ingest: error: {exc}", file=sys.stderr)
        return 2
    except IngestError as exc:
        report = ValidationReport(accepted=False, error=str(exc))
    else:
        report = ingest_into_store(args.db, uploads, options)
    emit(report.to_dict(), args.json, _human(report))
    return 0 if report.accepted else 1
