"""Read Olist CSV files into typed Arrow batches, sending every unparseable row to quarantine.

Two paths, one result. A clean file (valid UTF-8, every record with the header's field count, every
value parsing) is split by Arrow's C++ CSV reader and typed in one vectorised pass: the common case, and
fast. A file with any problem is read again, carefully, by Python's csv module, which follows RFC 4180
whatever a row's quoting style, keeps quoted line breaks inside fields, and knows the physical line of
every record: what a person fixing the file needs in the quarantine. Typing is the same Arrow compute in
both paths: a value that does not parse quarantines its row with the column and the reason; an empty
string is a missing value, not an error.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingestion.errors import OlistFileError
from ingestion.olist_schema import OLIST_TABLES, ColumnType, OlistTable

CHUNK_ROWS = 100_000
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
MONEY_TYPE = pa.decimal128(12, 2)
ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.TEXT: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: MONEY_TYPE,
    ColumnType.DOUBLE: pa.float64(),
    ColumnType.TIMESTAMP: pa.timestamp("us"),
}
# What a well-formed value of each type looks like; anything else quarantines its row.
PATTERNS: dict[ColumnType, str] = {
    ColumnType.INTEGER: r"^-?\d{1,18}$",
    ColumnType.DECIMAL: r"^-?\d{1,10}(\.\d{1,2})?$",
    ColumnType.DOUBLE: r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$",
    ColumnType.TIMESTAMP: r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$",
}
EXPECTED_FORMS: dict[ColumnType, str] = {
    ColumnType.INTEGER: "an integer",
    ColumnType.DECIMAL: "a decimal with a dot and at most 2 decimals (58.90)",
    ColumnType.DOUBLE: "a number with a dot (-23.5456)",
    ColumnType.TIMESTAMP: "a timestamp YYYY-MM-DD HH:MM:SS",
}
_SURROGATE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape


@dataclass(frozen=True)
class QuarantinedRow:
    """A row that could not be loaded, with what a person needs to find and fix it."""

    file_name: str
    line_number: int
    reason: str
    raw: str


@dataclass(frozen=True)
class Chunk:
    """Typed good rows and the rows quarantined from one slice of a file."""

    batch: pa.Table
    quarantined: list[QuarantinedRow]
    lines_read: int


def arrow_schema(table: OlistTable) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in table.columns])


def read_header(path: Path) -> list[str]:
    """First record of the file, without the byte-order mark some Olist files start with."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        return next(csv.reader(handle), [])


def check_folder(folder: Path, tables: tuple[OlistTable, ...] = OLIST_TABLES) -> dict[str, Path]:
    """Check every expected file exists with its exact header before anything is loaded.

    Checking all files first means a bad folder stops the run before a single row is written, so nothing
    previously loaded is touched.
    """
    if not folder.is_dir():
        raise OlistFileError(
            f"Olist folder {folder} does not exist: pass --olist-dir with the folder "
            "holding the nine Olist CSV files, or omit it to generate data."
        )
    paths: dict[str, Path] = {}
    for table in tables:
        path = folder / table.file_name
        if not path.is_file():
            raise OlistFileError(
                f"{path}: file missing. The Olist folder must hold {table.file_name} "
                f"with the header: {','.join(table.header)}"
            )
        header = read_header(path)
        if header != table.header:
            raise OlistFileError(
                f"{path}: wrong header {','.join(header)!r}. Expected exactly: "
                f"{','.join(table.header)} (in this order)"
            )
        paths[table.table] = path
    return paths


def read_olist_file(path: Path, table: OlistTable, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Yield typed chunks of `path`; rows with a wrong field count, bad bytes or values are quarantined."""
    clean = _read_clean(path, table)
    if clean is None:
        yield from _read_careful(path, table, chunk_rows)
        return
    typed, lines_read = clean
    for offset in range(0, typed.num_rows, chunk_rows):
        yield Chunk(batch=typed.slice(offset, chunk_rows), quarantined=[], lines_read=lines_read)


def _read_clean(path: Path, table: OlistTable) -> tuple[pa.Table, int] | None:
    """The whole file typed, and its line count, if nothing in it needs quarantine; else None."""
    lines = _utf8_line_count(path)
    if lines is None:
        return None
    invalid: list[object] = []

    def on_invalid(row: object) -> str:
        invalid.append(row)
        return "skip"

    strings = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=table.header, skip_rows=1),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(table.header, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if invalid:
        return None
    typed, reasons = _typed(table, [strings.column(i).combine_chunks() for i in range(strings.num_columns)])
    return (typed, lines) if not reasons else None


def _read_careful(path: Path, table: OlistTable, chunk_rows: int) -> Iterator[Chunk]:
    """Record by record, with the physical line of each, so every bad row can be located."""
    width = len(table.columns)
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, strict=False)
        next(reader)  # header, checked by check_folder
        rows: list[list[str]] = []
        lines: list[int] = []
        quarantined: list[QuarantinedRow] = []
        start_line = reader.line_num + 1
        for record in reader:
            line = start_line
            start_line = reader.line_num + 1
            if len(record) != width:
                if record:  # a blank line is not a row
                    quarantined.append(
                        _quarantine(path, line, f"expected {width} fields, found {len(record)}", record)
                    )
                continue
            if any(_SURROGATE.search(value) for value in record):
                quarantined.append(
                    _quarantine(path, line, "not valid UTF-8: re-save the file as UTF-8", record)
                )
                continue
            rows.append(record)
            lines.append(line)
            if len(rows) >= chunk_rows:
                yield _careful_chunk(path, table, rows, lines, quarantined, reader.line_num)
                rows, lines, quarantined = [], [], []
        if rows or quarantined:
            yield _careful_chunk(path, table, rows, lines, quarantined, reader.line_num)


def _utf8_line_count(path: Path) -> int | None:
    """Physical lines of the file if it is entirely valid UTF-8 (checked in C at disk speed), else None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        try:
            for block in iter(lambda: handle.read(1 << 22), b""):
                decoder.decode(block)
                lines += block.count(b"\n")
                last = block[-1:]
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    return lines + (last != b"\n")


def _quarantine(path: Path, line: int, reason: str, record: list[str]) -> QuarantinedRow:
    raw = ",".join(record).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return QuarantinedRow(path.name, line, reason, raw)


def _careful_chunk(
    path: Path,
    table: OlistTable,
    rows: list[list[str]],
    lines: list[int],
    quarantined: list[QuarantinedRow],
    lines_read: int,
) -> Chunk:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in table.columns]
    batch, reasons = _typed(table, [pa.array(values, pa.string()) for values in columns])
    if reasons:
        quarantined += [_quarantine(path, lines[i], reason, rows[i]) for i, reason in reasons.items()]
        batch = batch.filter(pa.array([i not in reasons for i in range(len(rows))]))
    return Chunk(batch, sorted(quarantined, key=lambda q: q.line_number), lines_read)


def _typed(table: OlistTable, texts: list[pa.Array]) -> tuple[pa.Table, dict[int, str]]:
    """Cast every column; return the typed table and, per bad row index, the reason of its first bad value."""
    reasons: dict[int, str] = {}
    arrays: list[pa.Array] = []
    for column, text in zip(table.columns, texts, strict=True):
        if column.type is ColumnType.TEXT:
            arrays.append(text)
            continue
        present = pc.not_equal(text, "")
        well_formed = pc.match_substring_regex(text, PATTERNS[column.type])
        typed = _cast(
            pc.if_else(pc.and_(present, well_formed), text, pa.scalar(None, pa.string())), column.type
        )
        # A value is bad when it is present but did not survive the cast (2017-02-30 matches the pattern).
        bad = pc.and_(present, pc.is_null(typed))
        for index in pc.indices_nonzero(bad).to_pylist():
            reasons.setdefault(
                index, f"column {column.name}: {text[index].as_py()!r} is not {EXPECTED_FORMS[column.type]}"
            )
        arrays.append(typed)
    return pa.Table.from_arrays(arrays, schema=arrow_schema(table)), reasons


def _cast(valid: pa.Array, column_type: ColumnType) -> pa.Array:
    """Cast well-formed strings (nulls elsewhere) to the column type; values that cannot be cast become null.

    Arrow's cast is strict and fast but fails the whole array on one impossible date (2017-02-30), so only
    then is the slower element-wise route taken: strptime, which rolls impossible dates over, kept only
    where formatting the result gives back the input.
    """
    try:
        return pc.cast(valid, ARROW_TYPES[column_type])
    except pa.ArrowInvalid:
        if column_type is not ColumnType.TIMESTAMP:
            raise
    parsed = pc.strptime(valid, format=TIMESTAMP_FORMAT, unit="us", error_is_null=True)
    # (formatted at second precision: %S of a microsecond timestamp prints a fraction)
    exact = pc.equal(pc.strftime(pc.cast(parsed, pa.timestamp("s")), format=TIMESTAMP_FORMAT), valid)
    return pc.if_else(exact, parsed, pa.scalar(None, parsed.type))
