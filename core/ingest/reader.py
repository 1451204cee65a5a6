"""Opening a shop's CSV safely: encoding and separator sniffing, binary/empty/truncated detection, chunked reading.

Every cell is read as text (ids such as 00123 keep their zeros); typing happens in cleaning. Row numbers handed
on are 1-based file line numbers: blank lines are kept as empty rows so the numbering stays true (a quoted field
that spans several lines shifts the numbers after it).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import os
import stat
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from core.i18n import Message
from core.ingest.report import IngestError, OptionError

SAMPLE_BYTES = 1 << 20
TAIL_BYTES = 1 << 16
SEPARATORS = (",", ";", "\t", "|")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk", "latin-1", "cp1252")
SEPARATOR_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
MAX_RATIO = 200  # real CSV exports shrink 3-30x in gzip/zip; a file expanding more is a decompression bomb
RATIO_PROBE_BYTES = 16 << 20  # the expansion is measured over this much decompressed output
MAX_COLUMNS = 1000  # no shop export has more; a wider header is a wrong file (or an attack on the sniffer)
csv.field_size_limit(2**31 - 1)  # giant cells are reported by cleaning with their line, not crash the sniffing

# Signatures of files people upload by mistake instead of a CSV export.
_MAGIC = {
    b"PK\x03\x04": Message("a ZIP archive or an Excel .xlsx workbook"),
    b"\xd0\xcf\x11\xe0": Message("an old Excel .xls workbook"),
    b"%PDF": Message("a PDF document"),
    b"\x89PNG": Message("a PNG image"),
    b"\xff\xd8\xff": Message("a JPEG image"),
    b"SQLite format 3": Message("an SQLite database"),
}


@dataclass
class Source:
    """One uploaded file: a path on disk or the bytes the browser sent, and which table(s) it feeds."""

    kind: str  # events | items | users | transactions
    data: Path | bytes
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.data, str):
            self.data = Path(self.data)
        if not self.name:
            self.name = self.data.name if isinstance(self.data, Path) else "upload.csv"

    def check_regular(self) -> None:
        """A named pipe, a device or a folder is refused before it is opened (opening a FIFO blocks forever)."""
        if not isinstance(self.data, Path):
            return
        try:
            mode = os.stat(self.data).st_mode
        except FileNotFoundError:
            raise IngestError(Message('no such file'), file=str(self.data)) from None
        except OSError as exc:
            raise IngestError(Message('cannot read the file ({strerror})', strerror=exc.strerror), file=str(self.data)) from exc
        if not stat.S_ISREG(mode):
            what = (Message("a named pipe (FIFO)") if stat.S_ISFIFO(mode) else Message("a folder") if stat.S_ISDIR(mode)
                    else Message("a device or socket"))
            raise IngestError(Message('this is {what}, not a regular file; upload a saved CSV file', what=what), file=str(self.data))

    def open_binary(self) -> BinaryIO:
        """The file's bytes, transparently un-gzipped (.gz) or taken from a one-file .zip."""
        if isinstance(self.data, Path):
            self.check_regular()
            raw: BinaryIO = open(self.data, "rb")  # noqa: SIM115 - handed to the caller, who closes it
        else:
            raw = io.BytesIO(self.data)
        head = raw.read(4)
        raw.seek(0)
        if head[:2] == b"\x1f\x8b":
            return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
        if head == b"PK\x03\x04" and self.name.lower().endswith(".zip"):
            zf = zipfile.ZipFile(raw)
            # macOS adds "__MACOSX/._name" resource entries to zips it creates; they are not data.
            members = [m for m in zf.namelist() if not m.endswith("/") and not m.startswith("__MACOSX/")]
            if len(members) != 1:
                raise IngestError(Message('a .zip upload must hold exactly one CSV file, it holds {n_members}', n_members=len(members)),
                                  file=self.name)
            return zf.open(members[0])  # type: ignore[return-value]
        return raw


@dataclass
class FileFormat:
    encoding: str
    separator: str
    header: list[str]

    @property
    def separator_name(self) -> str:
        return SEPARATOR_NAMES.get(self.separator, repr(self.separator))


def _read_sample(source: Source) -> bytes:
    try:
        with source.open_binary() as fh:
            return fh.read(SAMPLE_BYTES)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise IngestError(Message('cannot read the file ({exc}); is it a damaged .gz/.zip?', exc=exc), file=source.name) from exc


def _line_of_offset(data: bytes, offset: int) -> int:
    head = data[:offset]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


def _check_binary(sample: bytes, name: str) -> None:
    for magic, what in _MAGIC.items():
        if sample.startswith(magic):
            raise IngestError(Message('this is {what}, not a CSV text file; export the sheet as CSV (UTF-8) and upload that', what=what),
                              file=name)
    if sample[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise IngestError(Message("the file is UTF-16 text; save it as UTF-8 CSV (in Excel: 'CSV UTF-8')"), file=name)
    nul = sample.find(b"\x00")
    if nul >= 0:
        raise IngestError(
            Message('this looks like a binary file, not CSV text (a NUL byte at byte {nul}, line {value}); upload a CSV export', nul=nul, value=_line_of_offset(sample, nul)), file=name)


def _decodes(sample: bytes, encoding: str) -> UnicodeDecodeError | None:
    """None when `sample` decodes (a character cut by the sample's end is allowed), else the error."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        return None
    except UnicodeDecodeError as exc:
        return exc


def sniff_encoding(sample: bytes, name: str, encoding: str | None = None) -> str:
    """UTF-8 (with or without BOM), else GBK/GB18030; `encoding` forces one and is checked against the sample."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise OptionError(Message('unknown encoding {encoding!r}; use one of {value}', encoding=encoding, value=', '.join(ENCODINGS)), file=name) from exc
        err = _decodes(sample, encoding)
        if err is not None:
            raise IngestError(
                Message("the text is not valid {encoding} (byte 0x{sample:02X} on line {value}); pick the file's real encoding or leave it on automatic", encoding=encoding, sample=sample[err.start], value=_line_of_offset(sample, err.start)),
                file=name, line=_line_of_offset(sample, err.start))
        return encoding
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    err = _decodes(sample, "utf-8")
    if err is None:
        return "utf-8"
    if _decodes(sample, "gb18030") is None:
        return "gb18030"
    line = _line_of_offset(sample, err.start)
    raise IngestError(
        Message('cannot read the text: it is neither UTF-8 nor GBK/GB18030 (byte 0x{sample:02X} on line {line} is invalid in both); save the file as UTF-8 CSV, or choose its encoding (e.g. latin-1, cp1252)', sample=sample[err.start], line=line),
        file=name, line=line)


def sniff_separator(text: str) -> str:
    """The separator that splits the first lines into the same, largest number of fields."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the sample's last line may be cut
    best, best_key = ",", (0.0, 0)
    for sep in SEPARATORS:
        counts = [len(r) for r in csv.reader(lines, delimiter=sep)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        key = (consistent, counts[0])
        if key > best_key:
            best, best_key = sep, key
    return best


def check_separator(separator: str | None) -> str | None:
    """A forced separator as one character ('tab', '\\t' and the names are accepted); OptionError otherwise."""
    if separator is None or separator == "":
        return None
    sep = SEPARATOR_ALIASES.get(separator.lower(), separator)
    if len(sep) != 1:
        raise OptionError(Message('the separator must be one character (such as , ; | or tab), not {separator!r}', separator=separator))
    if sep in ('"', "\n", "\r") or sep.isalnum():
        raise OptionError(Message('{separator!r} cannot be a separator; use , ; | or tab', separator=separator))
    return sep


def _too_large(name: str, max_bytes: int) -> IngestError:
    return IngestError(
        Message('the file is larger than the upload limit of {value} once decompressed (a .gz/.zip that expands this far is not a shop export); split it, or raise RECOLM_MAX_UPLOAD_BYTES', value=_size(max_bytes)), file=name)


def check_size(source: Source, max_bytes: int | None = None) -> None:
    """Refuse, before reading it, a file over `max_bytes` (decompressed) or a .gz/.zip that expands over MAX_RATIO.

    Plain files and zip members declare their size; a gzip declares it modulo 4 GB (a lower bound) and its expansion
    is measured over the first RATIO_PROBE_BYTES of output, so a bomb is refused in well under a second.
    read_chunks still counts every byte, for what cannot be told in advance.
    """
    if max_bytes is None:
        from core.config import max_upload_bytes

        max_bytes = max_upload_bytes()
    if isinstance(source.data, Path):
        source.check_regular()
        raw: BinaryIO = open(source.data, "rb")  # noqa: SIM115 - closed below
    else:
        raw = io.BytesIO(source.data)
    with raw:
        total = raw.seek(0, io.SEEK_END)
        raw.seek(0)
        head = raw.read(4)
        raw.seek(0)
        if head[:2] == b"\x1f\x8b":
            if total >= 4:
                raw.seek(total - 4)
                if int.from_bytes(raw.read(4), "little") > max_bytes:
                    raise _too_large(source.name, max_bytes)
                raw.seek(0)
            out, fed, d = 0, 0, zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                while out < RATIO_PROBE_BYTES and not d.eof:
                    piece = raw.read(16 << 10)
                    if not piece:
                        break
                    fed += len(piece)
                    out += len(d.decompress(piece))
            except zlib.error:
                return  # a damaged gzip: reading it says so in its own words
            if out >= RATIO_PROBE_BYTES and out > MAX_RATIO * fed:
                raise IngestError(
                    Message('the .gz expands more than {max_ratio}x ({value} became {value2} and it goes on): that is a decompression bomb, not a CSV export; upload the plain CSV', max_ratio=MAX_RATIO, value=_size(fed), value2=_size(out)), file=source.name)
        elif head == b"PK\x03\x04" and source.name.lower().endswith(".zip"):
            try:
                infos = [i for i in zipfile.ZipFile(raw).infolist() if not i.is_dir()]
            except zipfile.BadZipFile:
                return
            for info in infos:
                if info.file_size > max_bytes:
                    raise _too_large(source.name, max_bytes)
                if info.file_size >= RATIO_PROBE_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                    raise IngestError(
                        Message('the .zip member {filename!r} expands more than {max_ratio}x ({value} to {value2}): a decompression bomb, not a CSV export', filename=info.filename, max_ratio=MAX_RATIO, value=_size(info.compress_size), value2=_size(info.file_size)), file=source.name)
        elif total > max_bytes:
            raise _too_large(source.name, max_bytes)


def sniff(source: Source, encoding: str | None = None, separator: str | None = None,
          max_bytes: int | None = None) -> FileFormat:
    """Check the file is non-empty CSV text of a sane size and find its encoding, separator and header."""
    separator = check_separator(separator)
    check_size(source, max_bytes)
    sample = _read_sample(source)
    if not sample.strip():
        raise IngestError(Message('the file is empty') if not sample else Message('the file holds only blank lines'), file=source.name)
    _check_binary(sample, source.name)
    enc = sniff_encoding(sample, source.name, encoding)
    text = codecs.getincrementaldecoder(enc)().decode(sample, final=False)
    text = text.lstrip("\ufeff")
    sep = separator or sniff_separator(text)
    first_line = text.splitlines()[0] if text else ""
    if first_line.count(sep) + 1 > MAX_COLUMNS:
        raise IngestError(Message('the header has {value:,} columns (the limit is {max_columns:,}); this is not a shop export, or the separator is wrong', value=first_line.count(sep) + 1, max_columns=MAX_COLUMNS), file=source.name, line=1)
    # newline=None: bare \r line ends (old Mac / some Excel exports) read like \n ones.
    first = next(csv.reader(io.StringIO(text, newline=None), delimiter=sep), [])
    header = [h.strip() for h in first]
    if len(header) > MAX_COLUMNS:
        raise IngestError(Message('the header has {n_header:,} columns (the limit is {max_columns:,}); this is not a shop export, or the separator is wrong', n_header=len(header), max_columns=MAX_COLUMNS), file=source.name, line=1)
    if not any(header):
        raise IngestError(Message('the first line (the header) is empty; the first line must name the columns'),
                          file=source.name, line=1)
    blank = [i + 1 for i, h in enumerate(header) if not h]
    if blank:
        raise IngestError(Message('header column(s) {blank} have no name; every column needs a name', blank=blank), file=source.name, line=1)
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise IngestError(Message('the header names {dupes} more than once; column names must be unique', dupes=dupes),
                          file=source.name, line=1)
    _check_field_counts(text, sep, len(header), source.name)
    return FileFormat(enc, sep, header)


def _check_field_counts(text: str, sep: str, n_cols: int, name: str) -> None:
    """Rows with more fields than the header mean a wrong separator or broken quoting; say where."""
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=sep)
    next(reader, None)
    for row in itertools.islice(reader, 2000):
        if len(row) > n_cols:
            raise IngestError(
                Message('this row has {n_row} fields but the header has {n_cols} (separator: {value}); fix the quoting or choose the right separator', n_row=len(row), n_cols=n_cols, value=SEPARATOR_NAMES.get(sep, repr(sep))),
                file=name, line=reader.line_num)


class _Tail(io.RawIOBase):
    """Passes bytes through and remembers the last few KB, to check the file's last line afterwards."""

    def __init__(self, inner: BinaryIO, max_bytes: int | None = None, name: str = ""):
        self.inner = inner
        self.tail = b""
        self.bytes_read = 0
        self.max_bytes, self.name = max_bytes, name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes_read += n
        if self.max_bytes is not None and self.bytes_read > self.max_bytes:
            raise _too_large(self.name, self.max_bytes)
        self.tail = (self.tail + data)[-TAIL_BYTES:]
        return n

    def close(self) -> None:
        self.inner.close()
        super().close()


def _find_bad_line(source: Source, encoding: str) -> tuple[int, int]:
    """The first line (and byte) the encoding cannot decode: slow, only run to word an error."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with source.open_binary() as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as exc:
                return n, raw[exc.start]
    return 0, 0


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def read_chunks(source: Source, fmt: FileFormat, chunk_rows: int = 100_000,
                max_bytes: int | None = None) -> Iterator[pd.DataFrame]:
    """The file as text DataFrames of `chunk_rows` rows, indexed by file line number; checks the last line.

    `max_bytes` caps the decompressed bytes read (default: core.config.max_upload_bytes()).
    """
    if max_bytes is None:
        from core.config import max_upload_bytes

        max_bytes = max_upload_bytes()
    handle = _Tail(source.open_binary(), max_bytes, source.name)
    n_cols = len(fmt.header)
    last_line = 1
    try:
        reader = pd.read_csv(
            io.BufferedReader(handle, buffer_size=1 << 20), sep=fmt.separator, encoding=fmt.encoding, dtype=str,
            keep_default_na=False, na_values=[""], skip_blank_lines=False, chunksize=chunk_rows, header=0,
            names=fmt.header, index_col=False, engine="c", quotechar='"', doublequote=True, on_bad_lines="error",
        )
        while True:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", pd.errors.ParserWarning)
                chunk = next(reader, None)
            if chunk is None:
                break
            chunk.index = chunk.index + 2
            if len(chunk):
                last_line = int(chunk.index[-1])
            yield chunk
    except UnicodeDecodeError as exc:
        line, byte = _find_bad_line(source, fmt.encoding)
        raise IngestError(
            Message('line {line} is not valid {encoding} (byte 0x{byte:02X}): the file mixes encodings; save it as UTF-8 CSV and upload again', line=line, encoding=fmt.encoding, byte=byte), file=source.name, line=line or None) from exc
    except IngestError:
        raise
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:  # gzip.BadGzipFile is an OSError
        raise IngestError(Message('cannot read the file to its end ({exc}); the .gz/.zip is damaged, export it again', exc=exc),
                          file=source.name) from exc
    except pd.errors.ParserError as exc:
        text = str(exc)
        if "EOF inside string" in text or "EOF following" in text:
            raise IngestError(
                Message('the file ends inside a quoted field: the last line is cut off (the file looks truncated); export it again'), file=source.name) from exc
        raise IngestError(
            Message("cannot split the rows into the header's {n_cols} columns with the {separator_name} separator ({value}); check the separator and quoting", n_cols=n_cols, separator_name=fmt.separator_name, value=text.replace('Error tokenizing data. C error: ', '').strip()),
            file=source.name) from exc
    finally:
        handle.close()
    _check_last_line(handle.tail, fmt, source.name, last_line)


def _check_last_line(tail: bytes, fmt: FileFormat, name: str, last_line: int) -> None:
    """A file that stops mid-line (no line end, too few fields) was cut off in transfer or export."""
    if not tail or tail.endswith((b"\n", b"\r")):
        return
    text = tail.decode(fmt.encoding, errors="replace").splitlines()[-1]  # splitlines knows bare \r too
    fields = next(csv.reader([text], delimiter=fmt.separator), [])
    if len(fields) < len(fmt.header):
        raise IngestError(
            Message("the last line is cut off: it has {n_fields} of the header's {n_header} columns and no line end, so the file looks truncated; export or download it again", n_fields=len(fields), n_header=len(fmt.header)), file=name, line=last_line)


def preview(source: Source, rows: int = 200, encoding: str | None = None,
            separator: str | None = None) -> tuple[FileFormat, pd.DataFrame]:
    """The format and the first rows, for the mapping step of the page."""
    fmt = sniff(source, encoding, separator)
    with source.open_binary() as fh:
        data = fh.read(SAMPLE_BYTES)
    text = codecs.getincrementaldecoder(fmt.encoding)().decode(data, final=False)
    frame = pd.read_csv(io.StringIO(text), sep=fmt.separator, dtype=str, keep_default_na=False, na_values=[""],
                        nrows=rows, header=0, names=fmt.header, on_bad_lines="skip")
    return fmt, frame
