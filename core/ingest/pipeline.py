"""One upload, start to finish: sniff each file, map its columns, clean it chunk by chunk, write it.

`ingest` writes through `db.shop_write.ShopWriter` inside the caller's transaction and raises `UploadRejected`
(carrying the report) when the upload cannot go in, so the caller's `session_scope` rolls everything back and the
store is left exactly as it was. `ingest_into_store` is that whole sequence for the CLI and scripts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.i18n import Message
from core.ingest import cleaning, timestamps
from core.ingest.mapping import ActionTable, ColumnMapping, guess_mapping, map_actions
from core.ingest.reader import FileFormat, Source, check_separator, read_chunks, sniff
from core.ingest.report import FileReport, IngestError, OptionError, UploadRejected, ValidationReport
from core.schema import FLAG_CANCELLATION, FLAG_NEGATIVE_QUANTITY, OTHER_ACTION, PURCHASE
from db.shop_write import ShopWriter, new_dataset
from db.tables import Dataset

# Profiles and catalogue first, so events in the same upload find their users and items.
_ORDER = {"users": 0, "items": 1, "transactions": 2, "events": 3}
SQLITE_CACHE_KB = 512 * 1024
SQLITE_DEFAULT_CACHE_KB = 2000
_USER_COLS = ("age", "gender", "region", "signup_date")
FUTURE_MARGIN = pd.Timedelta(days=2)  # times after tomorrow (any time zone) are flagged as in the future
_ITEM_COLS = ("title", "description", "category", "price", "brand", "listed_at")


@dataclass
class IngestOptions:
    unknown: str = "create"  # events naming users/items the store lacks: "create" them or "drop" the rows
    strict: bool = False  # reject the whole upload if any row would be dropped
    chunk_rows: int = 100_000
    encoding: str | None = None  # None: sniff
    separator: str | None = None  # None: sniff
    max_bytes: int | None = None  # decompressed bytes read per file; None: core.config.max_upload_bytes()
    progress: Callable[[str, int], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.unknown not in ("create", "drop"):
            raise OptionError(Message("unknown-id policy must be 'create' or 'drop', not {unknown!r}", unknown=self.unknown))
        if self.chunk_rows < 1:
            raise OptionError(Message('chunk_rows must be positive, not {chunk_rows}', chunk_rows=self.chunk_rows))
        if self.max_bytes is not None and self.max_bytes < 1:
            raise OptionError(Message('max_bytes must be positive, not {max_bytes}', max_bytes=self.max_bytes))
        self.separator = check_separator(self.separator)


@dataclass
class Upload:
    """One file of an upload with its (possibly user-corrected) mapping; None means guess it."""

    source: Source
    mapping: ColumnMapping | None = None


def ingest(session: Session, uploads: list[Upload], options: IngestOptions | None = None) -> ValidationReport:
    """Write the upload as one data set version; raises UploadRejected (with the report) when it cannot go in."""
    options = options or IngestOptions()
    report = ValidationReport()
    started = time.perf_counter()
    if not uploads:
        report.accepted, report.error = False, Message("nothing to upload: no files given")
        raise UploadRejected(report)
    uploads = sorted(uploads, key=lambda u: _ORDER.get(u.source.kind, 9))
    kinds = "+".join(dict.fromkeys(u.source.kind for u in uploads))
    names = ", ".join(u.source.name for u in uploads)[:256]
    dataset: Dataset | None = None
    try:
        formats = []
        for up in uploads:  # check every file before writing anything
            fmt = sniff(up.source, options.encoding, options.separator, options.max_bytes)
            mapping = up.mapping or guess_mapping(up.source.kind, fmt.header)
            if mapping.kind != up.source.kind:
                raise IngestError(Message('the mapping is for a {kind} file, the file is a {kind2} file', kind=mapping.kind, kind2=up.source.kind),
                                  file=up.source.name)
            mapping.validate(fmt.header, up.source.name)
            formats.append((up, fmt, mapping))
        _roomy_sqlite_cache(session)
        dataset = new_dataset(session, kinds, names, {f"{u.source.kind}: {u.source.name}": m.to_dict() for u, _, m in formats})
        writer = ShopWriter(session, dataset, unknown=options.unknown)
        for up, fmt, mapping in formats:
            file_report = FileReport(up.source.name, up.source.kind, fmt.encoding, fmt.separator_name,
                                     dict(mapping.columns))
            report.files.append(file_report)
            _FileIngest(up.source, fmt, mapping, writer, file_report, options).run()
        writer.finish()  # a bulk load's keys go back on (checking every row) before the upload is judged
        for f in report.files:
            if f.rows_kept == 0:
                raise IngestError(Message('no row could be kept ({value})', value=_top_reasons(f)), file=f.file)
        if options.strict and report.rows_dropped:
            worst = [f for f in report.files if f.rows_dropped][0]
            raise IngestError(Message('strict upload: {rows_dropped} row(s) would be dropped ({value})', rows_dropped=report.rows_dropped, value=_top_reasons(worst)),
                              file=worst.file)
    except IngestError as exc:
        report.accepted, report.error = False, exc.text
        report.seconds = time.perf_counter() - started
        raise UploadRejected(report) from exc
    finally:
        with contextlib.suppress(SQLAlchemyError):  # never mask the real error of a failed write
            _roomy_sqlite_cache(session, on=False)
    report.seconds = time.perf_counter() - started
    dataset.rows_read, dataset.rows_kept = report.rows_read, report.rows_kept
    report.dataset_id = dataset.id
    dataset.report = report.to_dict()
    session.flush()
    return report


def ingest_into_store(url: str | None, uploads: list[Upload], options: IngestOptions | None = None
                      ) -> ValidationReport:
    """The upload in its own transaction: committed when accepted, rolled back entirely when rejected."""
    from db.engine import session_scope

    try:
        with session_scope(url) as session:
            return ingest(session, uploads, options)
    except UploadRejected as rejected:
        return rejected.report


def _roomy_sqlite_cache(session: Session, on: bool = True) -> None:
    """A big upload is one transaction: let SQLite keep its pages in memory instead of spilling them as it goes
    (and give the memory back afterwards: the pooled connection outlives the upload)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KB if on else SQLITE_DEFAULT_CACHE_KB}")


def _top_reasons(f: FileReport) -> str:
    issues = sorted(f.dropped.values(), key=lambda i: -i.count)[:3]
    if not issues:
        return Message("the file has no data rows")
    parts = [Message("{count} row(s): {message} (e.g. line {line})", count=i.count, message=i.message, line=i.examples[0])
             for i in issues]
    template = "; ".join(f"{{p{n}}}" for n in range(len(parts)))  # only joins: nothing to translate
    return Message(template, **{f"p{n}": p for n, p in enumerate(parts)})


class _FileIngest:
    """The chunk loop of one file."""

    def __init__(self, source: Source, fmt: FileFormat, mapping: ColumnMapping, writer: ShopWriter,
                 report: FileReport, options: IngestOptions):
        self.source, self.fmt, self.mapping, self.writer = source, fmt, mapping, writer
        self.report, self.options = report, options
        self.extra = mapping.extra_columns(fmt.header)
        # field -> source column; profile files keep their other columns as attributes ("attr:<column>")
        self.cols = dict(mapping.columns)
        if source.kind in ("items", "users"):
            self.cols.update({f"attr:{c}": c for c in self.extra})
        self.dedupe = cleaning.Deduplicator()
        self.ts_formats: dict[str, timestamps.TimestampFormat] = {}
        self.marks: dict[str, str] = {}  # field -> decimal mark ("," or ".") the file uses
        self.future_after = pd.Timestamp.now(tz="UTC").tz_convert(None).normalize() + FUTURE_MARGIN
        self.actions = ActionTable({}, set(), set())
        self._profiles: dict[str, dict[str, tuple]] = {}
        kind = source.kind
        self.required = ("user_id", "item_id", "timestamp") if kind in ("events", "transactions") else (
            ("item_id",) if kind == "items" else ("user_id",))

    def run(self) -> None:
        kind = self.source.kind
        if kind in ("events", "transactions") and self.extra:
            self.report.warn(Message('columns not used: {value}', value=', '.join(self.extra)))
        if kind == "events" and "action_type" not in self.cols and not self.mapping.all_purchases:
            self.report.warn(Message('no action column is mapped: every row is counted as a purchase'))
        for chunk in read_chunks(self.source, self.fmt, self.options.chunk_rows,
                                 self.options.max_bytes):
            self.report.rows_read += len(chunk)
            df = self._clean(chunk)
            if len(df):
                if kind in ("events", "transactions"):
                    self._write_events(df)
                elif kind == "items":
                    self._write_profiles(df, "item_id", _ITEM_COLS)
                else:
                    self._write_profiles(df, "user_id", _USER_COLS)
            if self.options.progress:
                self.options.progress(self.source.name, self.report.rows_read)
        if self.actions.unknown:
            self.report.warn(Message("action values not recognised, stored as '{other_action}': {value}", other_action=OTHER_ACTION, value=', '.join(sorted(self.actions.unknown)[:20])))
        if self.actions.cancellations:
            self.report.warn(Message('action values read as cancellations: {value}', value=', '.join(sorted(self.actions.cancellations))))

    # ---- cleaning ---------------------------------------------------------------------------
    def _clean(self, chunk: pd.DataFrame) -> pd.DataFrame:
        report, cols = self.report, self.cols
        chunk = cleaning.drop_blank(chunk, report)
        df = cleaning.strip_cells(chunk[list(cols.values())].set_axis(list(cols.keys()), axis=1))
        df = cleaning.limit_sizes(df, report, cols)
        df = cleaning.require(df, self.required, report, cols)
        for f in ("user_id", "item_id"):
            if f in df.columns:
                df[f] = cleaning.normalise_ids(df[f])
        for f in ("timestamp", "listed_at", "signup_date"):
            if f in df.columns:
                df = self._parse_time(df, f, required=f in self.required)
                if f in df.columns:
                    self._flag_future(df, f)
        keep = self.dedupe.drop(chunk, df.index, report)
        df = df.loc[keep]
        if self.source.kind in ("items", "users"):
            key = self.required[0]
            dup = df[key].duplicated(keep="last")
            if dup.any():
                report.drop(f"repeated_{key}", Message('the same {key} appears again further down; the later line is used', key=key),
                            df.index[dup])
                df = df[~dup]
        for f in ("quantity", "price", "age"):
            if f in df.columns:
                df = cleaning.to_number(df, f, report, cols, self._decimal_mark(df, f))
        if "price" in df.columns:
            negative = df["price"] < 0
            report.flag("negative_price", Message('column {price!r}: a negative price (stored as given; a refund or a typo?)', price=cols['price']), df.index[negative])
        if "age" in df.columns:
            odd = df["age"].notna() & ((df["age"] < 0) | (df["age"] > 120))
            if odd.any():
                report.warn(Message('column {age!r}: {n_value} age(s) outside 0-120 were left empty', age=cols['age'], n_value=int(odd.sum())))
                df.loc[odd, "age"] = float("nan")
        return df

    def _decimal_mark(self, df: pd.DataFrame, f: str) -> str | None:
        """The column's decimal mark, decided by the first chunk that shows one and held for the whole file."""
        try:
            mark = cleaning.decimal_mark(df[f], self.fmt.separator, self.cols[f], self.marks.get(f))
        except ValueError as exc:
            raise IngestError(exc.args[0], file=self.source.name, column=self.cols[f]) from exc
        if mark is not None:
            self.marks[f] = mark
        return mark

    def _flag_future(self, df: pd.DataFrame, f: str) -> None:
        later = df[f] > self.future_after
        self.report.flag(f"future_{f}", Message('column {cols!r}: a time after {future_after} (in the future when uploaded; stored as given: a wrong clock or a placeholder date?)', cols=self.cols[f], future_after=self.future_after.strftime("%Y-%m-%d")),
                         df.index[later.fillna(False).astype(bool)])

    def _parse_time(self, df: pd.DataFrame, f: str, required: bool) -> pd.DataFrame:
        col = self.cols[f]
        fmt = self.ts_formats.get(f)
        if fmt is not None and fmt.format == "unusable":
            return df.drop(columns=[f])
        if fmt is None:
            fmt = timestamps.detect(df[f], self.mapping.timestamp_format if f == "timestamp" else None)
            if fmt is None:
                sample = df[f].dropna()
                if sample.empty:
                    return df
                if not required:  # an optional date column that holds no dates is left out, not fatal
                    self.report.warn(Message('column {col!r} does not hold dates (e.g. {value!r} on line {index}); it was not used for {f}', col=col, value=sample.iloc[0][:40], index=sample.index[0], f=f))
                    self.ts_formats[f] = timestamps.TimestampFormat("unusable")
                    return df.drop(columns=[f])
                raise IngestError(
                    Message('cannot read the times: values such as {value!r} (line {index}) match none of ISO 8601 (2024-03-01 14:30), d/m/Y or m/d/Y with optional time, Y/m/d, Unix seconds or milliseconds; check the column mapping or set the timestamp format', value=sample.iloc[0][:40], index=sample.index[0]),
                    file=self.source.name, line=int(sample.index[0]), column=col)
            self.ts_formats[f] = fmt
            if f == "timestamp":
                self.report.timestamp_format = fmt.format
            if fmt.warning:
                self.report.warn(Message('column {col!r}: {warning}', col=col, warning=fmt.warning))
        try:
            parsed = timestamps.parse(df[f], fmt.format)
        except ValueError as exc:
            raise IngestError(Message('the timestamp format {format!r} is not valid ({exc}); use strftime codes such as %d/%m/%Y %H:%M, or ISO8601, unix-seconds, unix-milliseconds', format=fmt.format, exc=exc),
                              file=self.source.name, column=col) from exc
        bad = parsed.isna() & df[f].notna()
        df[f] = parsed
        if bad.any():
            if required:
                self.report.drop(f"bad_{f}", Message("column {col!r}: not a valid time in the file's format {format} (or outside {min_year}-{max_year})", col=col, format=fmt.format, min_year=timestamps.MIN_YEAR, max_year=timestamps.MAX_YEAR), df.index[bad])
                df = df[~bad]
            else:
                self.report.warn(Message('column {col!r}: {n_value} unreadable date(s) left empty (e.g. line {value})', col=col, n_value=int(bad.sum()), value=df.index[bad][0]))
        return df

    # ---- writing ----------------------------------------------------------------------------
    def _events_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({"user_id": df["user_id"], "item_id": df["item_id"], "ts": df["timestamp"]},
                           index=df.index)
        raw = df["action_type"] if "action_type" in df.columns else None
        if self.mapping.all_purchases or raw is None:
            out["action"] = PURCHASE
            out["raw_action"] = raw if raw is not None else None
        else:
            new = raw.dropna()
            new = new[~new.isin(list(self.actions.actions))]
            if len(new):
                table = map_actions(new, self.mapping)
                self.actions.actions.update(table.actions)
                self.actions.cancellations |= table.cancellations
                self.actions.unknown |= table.unknown
            missing = raw.isna()
            if missing.any():
                self.report.drop("missing_action_type", Message('no action (column {action_type!r} is empty)', action_type=self.cols['action_type']),
                                 df.index[missing])
                out, df, raw = out[~missing], df[~missing], raw[~missing]
            out["action"] = raw.map(self.actions.actions)
            out["raw_action"] = raw
        flag = pd.Series(None, index=out.index, dtype=object)
        if "quantity" in df.columns:
            flag = flag.mask(df["quantity"] < 0, FLAG_NEGATIVE_QUANTITY)
        if "invoice" in df.columns:
            flag = flag.mask(df["invoice"].str.upper().str.startswith("C").fillna(False).astype(bool),
                             FLAG_CANCELLATION)
        if raw is not None and self.actions.cancellations:
            flag = flag.mask(raw.isin(list(self.actions.cancellations)), FLAG_CANCELLATION)
        flagged = flag.notna()
        if flagged.any():
            cancel = flag == FLAG_CANCELLATION
            self.report.flag(FLAG_CANCELLATION, Message('a cancellation (invoice starting with C, or a cancel/refund action): kept for the record, never counted as a purchase'), out.index[cancel])
            self.report.flag(FLAG_NEGATIVE_QUANTITY, Message('a negative quantity (a return or correction): kept for the record, never counted as a purchase'), out.index[flag == FLAG_NEGATIVE_QUANTITY])
            out["raw_action"] = out["raw_action"].where(~flagged | out["raw_action"].notna(), out["action"])
            out.loc[flagged, "action"] = OTHER_ACTION
        out["flag"] = flag
        for f in ("quantity", "price", "session"):
            if f in df.columns:
                out[f] = df[f]
        return out

    def _write_events(self, df: pd.DataFrame) -> None:
        events = self._events_frame(df)
        df = df.loc[events.index]
        if self.source.kind == "transactions":
            self._feed_profiles(df)
        result = self.writer.add_events(events.reset_index(drop=True), events.index.to_numpy())
        r = self.report
        r.drop("unknown_user", Message("the user id is not in the store (unknown ids are set to 'drop')"),
               result.dropped_unknown_user)
        r.drop("unknown_item", Message("the item id is not in the store (unknown ids are set to 'drop')"),
               result.dropped_unknown_item)
        r.drop("already_stored", Message('the same event (user, item, action, time) is already in the store'),
               result.already_stored)
        r.rows_kept += result.inserted
        r.count("events_inserted", result.inserted)
        r.count("users_created", result.unknown_users_created)
        r.count("items_created", result.unknown_items_created)

    def _feed_profiles(self, df: pd.DataFrame) -> None:
        """A transactions file also describes its items (name, price) and customers (country)."""
        for key, fields, upsert, label in (("item_id", _ITEM_COLS, self.writer.upsert_items, "items"),
                                           ("user_id", _USER_COLS, self.writer.upsert_users, "users")):
            cols = [f for f in fields if f in df.columns]
            if cols:
                frame = df.groupby(key, sort=False)[cols].last().reset_index()  # last non-empty value per id
            else:
                frame = pd.DataFrame({key: pd.unique(df[key])})
            frame = self._changed(label, frame, key)
            created, updated = upsert(frame)
            self.report.count(f"{label}_created", created)
            self.report.count(f"{label}_updated", updated)

    def _changed(self, label: str, frame: pd.DataFrame, key: str) -> pd.DataFrame:
        """Only the ids whose values differ from what this file already wrote (each update is one statement)."""
        seen = self._profiles.setdefault(label, {})
        keep = []
        for row in frame.astype(object).itertuples(index=False, name=None):
            values = tuple(v if v == v else None for v in row[1:])  # NaN -> None
            keep.append(seen.get(row[0]) != values)
            seen[row[0]] = values
        return frame[keep]

    def _write_profiles(self, df: pd.DataFrame, key: str, fields: tuple[str, ...]) -> None:
        frame = df[[key] + [f for f in fields if f in df.columns]].copy()
        attr_cols = [c for c in df.columns if c.startswith("attr:")]
        if attr_cols:
            names = [c[len("attr:"):] for c in attr_cols]
            frame["attributes"] = [
                {k: v for k, v in zip(names, row) if isinstance(v, str)}
                for row in df[attr_cols].itertuples(index=False, name=None)
            ]
        label = "items" if key == "item_id" else "users"
        upsert = self.writer.upsert_items if key == "item_id" else self.writer.upsert_users
        created, updated = upsert(frame.reset_index(drop=True))
        self.report.rows_kept += len(frame)
        self.report.count(f"{label}_created", created)
        self.report.count(f"{label}_updated", updated)
