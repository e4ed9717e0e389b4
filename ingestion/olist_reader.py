"""Read Olist CSV files into typed Arrow batches, sending every unparseable row to quarantine.

Python's csv module does the splitting because it follows RFC 4180 quoting whatever a row's quoting
style (the real files mix quoted and bare values), keeps quoted line breaks inside fields, and reports the
physical line of every record, which is what a person fixing the file needs. Typing is vectorised with
Arrow compute: a value that does not parse quarantines its row with the column and the reason; an empty
string is a missing value, not an error.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

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
                yield _typed_chunk(path, table, rows, lines, quarantined, reader.line_num)
                rows, lines, quarantined = [], [], []
        if rows or quarantined:
            yield _typed_chunk(path, table, rows, lines, quarantined, reader.line_num)


def _quarantine(path: Path, line: int, reason: str, record: list[str]) -> QuarantinedRow:
    raw = ",".join(record).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return QuarantinedRow(path.name, line, reason, raw)


def _typed_chunk(
    path: Path,
    table: OlistTable,
    rows: list[list[str]],
    lines: list[int],
    quarantined: list[QuarantinedRow],
    lines_read: int,
) -> Chunk:
    """Cast one chunk column by column; the first bad value of a row decides its quarantine reason."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in table.columns]
    reasons: list[str | None] = [None] * len(rows)
    arrays: list[pa.Array] = []
    for column, values in zip(table.columns, columns, strict=True):
        text = pa.array(values, pa.string())
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
            if reasons[index] is None:
                reasons[index] = (
                    f"column {column.name}: {values[index]!r} is not {EXPECTED_FORMS[column.type]}"
                )
        arrays.append(typed)
    batch = pa.Table.from_arrays(arrays, schema=arrow_schema(table))
    bad_rows = [i for i, reason in enumerate(reasons) if reason is not None]
    if bad_rows:
        for i in bad_rows:
            quarantined.append(_quarantine(path, lines[i], reasons[i] or "", rows[i]))
        keep = pa.array([reason is None for reason in reasons])
        batch = batch.filter(keep)
    return Chunk(
        batch=batch, quarantined=sorted(quarantined, key=lambda q: q.line_number), lines_read=lines_read
    )


def _cast(valid: pa.Array, column_type: ColumnType) -> pa.Array:
    if column_type is ColumnType.TIMESTAMP:
        parsed = pc.strptime(valid, format=TIMESTAMP_FORMAT, unit="us", error_is_null=True)
        # strptime rolls impossible dates over (2017-02-30 -> 2017-03-02): keep only exact round trips.
        # (formatted at second precision: %S of a microsecond timestamp prints a fraction)
        exact = pc.equal(pc.strftime(pc.cast(parsed, pa.timestamp("s")), format=TIMESTAMP_FORMAT), valid)
        return pc.if_else(exact, parsed, pa.scalar(None, parsed.type))
    return pc.cast(valid, ARROW_TYPES[column_type])
