"""Mapping a file's headers to our fields, and reading the mapped file.

The file is read by the engine (:func:`tiering.data.read_table`: UTF-8, UTF-8 with BOM or
GBK CSV, Parquet, .xlsx) and its dates and amounts are converted by the engine's own SQL
(2026-06-30, 2026/6/30, 20260630, 2026年6月30日; thousands separators, ¥ and 元), so a file
the web app accepts is a file the engine accepts, and the other way round.

Large files: the mapped file is loaded once into an in-memory DuckDB table and read back
``STEP`` rows at a time, for the checking and again for the writing, so memory stays
bounded whatever the file's size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from tiering import cells, data
from tiering.exceptions import InputError, RowIssue
from tiering_web.imports.fields import DATE_FIELDS, FIELDS, MONEY_FIELDS, REQUIRED, _check_kind
from tiering_web.imports.issues import ImportRejected, _issue
from tiering_web.imports.models import ImportJob
from tiering_web.imports.uploads import _sample, upload_path

#: Rows checked or written per step (and per progress report).
STEP = 5000


@dataclasses.dataclass
class _Row:
    row: int
    text: dict[str, str | None]  # our field -> the cell as text (trimmed, None when empty)
    parsed: dict[str, Any]  # dates and amounts as the engine converts them (None if bad)


def _norm(header: str) -> str:
    return " ".join(str(header).replace("_", " ").split()).lower()


def suggest_mapping(columns: Iterable[str], kind: str) -> dict[str, str]:
    """Our field → the file's header, for each field whose header we recognise (our own
    name or a common Chinese or English header). Each header is used at most once."""
    _check_kind(kind)
    by_norm: dict[str, str] = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for field, synonyms in FIELDS[kind].items():
        for candidate in (field, *synonyms):
            header = by_norm.get(_norm(candidate))
            if header is not None and header not in used:
                mapping[field] = header
                used.add(header)
                break
    return mapping


def _resolve(columns: list[str], kind: str, mapping: dict[str, str] | None):
    """The effective mapping and the issues of the mapping itself (missing columns)."""
    _check_kind(kind)
    if mapping is None:
        mapping = suggest_mapping(columns, kind)
    mapping = {f: h for f, h in mapping.items() if h}
    unknown = sorted(set(mapping) - set(FIELDS[kind]))
    if unknown:
        raise ValueError(f"unknown {kind} fields in the mapping: {', '.join(unknown)}")
    issues = []
    have = ", ".join(columns)
    for field, header in mapping.items():
        if header not in columns:
            issues.append(
                _issue(
                    None,
                    header,
                    None,
                    f"the file has no column {header!r} (mapped to {field}); it has: {have}",
                    f"文件中没有列 {header!r}（对应 {field}）；文件中的列：{have}",
                )
            )
    for field in REQUIRED[kind]:
        if field not in mapping:
            issues.append(
                _issue(
                    None,
                    field,
                    None,
                    f"missing required column for {field}; the file has: {have}",
                    f"缺少必需的列（对应 {field}）；文件中的列：{have}",
                )
            )
    return mapping, issues


class _Upload:
    """The mapped file, loaded once into an in-memory DuckDB table (our fields as text,
    dates and amounts converted by the engine's SQL), read back in steps of ``STEP`` rows
    so that a million-row file never sits in Python objects all at once.

    ``path`` is the file, or ``(rows, file)``: rows already read from it (see
    :func:`preview_job`). ``issues`` holds what stops the file from being read at all
    (unreadable file, missing or unknown columns); ``total`` is its number of data rows."""

    def __init__(self, path: str | Path | tuple, kind, mapping: dict[str, str] | None, limit=None):
        self.con = data.connect()
        self.src = None
        self.mapping: dict[str, str] = {}
        self.issues: list[RowIssue] = []
        self.fields: list[str] = []
        self.converted: list[str] = []
        self.total = 0
        try:
            self._load(path, kind, mapping, limit)
        except BaseException:
            self.close()
            raise

    def _load(self, path, kind, mapping, limit) -> None:
        try:
            if isinstance(path, tuple):  # (rows already read, the file they come from)
                self.src, _ = data.read_rows(path[0], str(path[1]), "upload", self.con)
            else:
                self.src, _ = data.read_table(path, "upload", self.con)
        except InputError as e:
            self.issues = list(e.issues)
            return
        self.db = self.src.db
        columns = list(self.src.types)
        self.mapping, self.issues = _resolve(columns, kind, mapping)
        if self.issues:
            return
        self.fields = list(self.mapping)
        select = ["_row"]
        for field in self.fields:
            header = data.quote_ident(self.mapping[field])
            # our own exports put an apostrophe before text a spreadsheet would run
            text = cells.unquote_sql(f"trim(CAST({header} AS VARCHAR))")
            select.append(f"NULLIF({text}, '') AS t_{field}")
        self.converted = [f for f in self.fields if f in DATE_FIELDS | MONEY_FIELDS]
        for field in self.converted:
            header, duck_type = self.mapping[field], self.src.types[self.mapping[field]]
            convert = data.date_sql if field in DATE_FIELDS else data.money_sql
            select.append(f"{convert(header, duck_type)} AS v_{field}")
        query = (
            f"CREATE TEMP TABLE upload_rows AS SELECT {', '.join(select)} "
            f"FROM ({self.src.with_rows()}) ORDER BY _row"
        )
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        try:
            self.db.execute(query)
            self.total = self.db.execute("SELECT count(*) FROM upload_rows").fetchone()[0]
        except duckdb.Error as e:
            first = str(e).strip().splitlines()[0]
            self.issues = [
                _issue(None, None, None, f"cannot be read: {first}", f"无法读取：{first}")
            ]

    def batches(self, size: int | None = None) -> Iterator[list[_Row]]:
        """The rows in file order, ``size`` at a time (keyset paging: DuckDB allows no other
        statement while a result is being fetched)."""
        size = size or STEP
        n = len(self.fields)
        last = 0
        while True:
            records = self.db.execute(
                f"SELECT * FROM upload_rows WHERE _row > {last} ORDER BY _row LIMIT {int(size)}"
            ).fetchall()
            if not records:
                return
            last = records[-1][0]
            yield [
                _Row(
                    int(r[0]),
                    dict(zip(self.fields, r[1 : n + 1], strict=True)),
                    dict(zip(self.converted, r[n + 1 :], strict=True)),
                )
                for r in records
            ]

    def duplicates(self, *fields: str) -> list[tuple[Any, list[int]]]:
        """``(value of the last field, row numbers)`` for each combination of the fields'
        non-empty values that occurs on more than one row."""
        columns = ", ".join(f"t_{f}" for f in fields)
        present = " AND ".join(f"t_{f} IS NOT NULL" for f in fields)
        found = self.db.execute(
            f"SELECT t_{fields[-1]}, list(_row ORDER BY _row) FROM upload_rows WHERE {present} "
            f"GROUP BY {columns} HAVING count(*) > 1 ORDER BY min(_row)"
        ).fetchall()
        return [(value, [int(n) for n in numbers]) for value, numbers in found]

    def close(self) -> None:
        if self.src is not None:
            self.src.close()
            self.src = None
        if self.con is not None:
            self.con.disconnect()
            self.con = None

    def __enter__(self) -> _Upload:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def preview(
    path: str | Path | tuple, kind: str, mapping: dict[str, str] | None = None, rows: int = 20
) -> list[dict[str, Any]]:
    """The first ``rows`` rows of the file as ``{"row": n, field: cell text, ...}`` under
    ``mapping`` (the suggested one when None). Raises :class:`ImportRejected` when the
    file cannot be read or a required column is missing."""
    with _Upload(path, kind, mapping, limit=rows) as upload:
        if upload.issues:
            raise ImportRejected(None, upload.issues)
        return [{"row": r.row, **r.text} for batch in upload.batches(rows) for r in batch]


def job_columns(job: ImportJob) -> list[str]:
    """The headers of the job's file, in order, from its stored first rows. Raises
    FileNotFoundError when the upload is gone and InputError when it cannot be read."""
    return [name for name in _sample(job).column_names if name != "_row"]


def preview_job(
    job: ImportJob, mapping: dict[str, str] | None = None, rows: int = 20
) -> list[dict[str, Any]]:
    """:func:`preview` of the job's file from its stored first rows (at most
    :data:`SAMPLE_ROWS`), without reading the file. Raises FileNotFoundError when the
    upload is gone."""
    return preview((_sample(job), upload_path(job)), job.kind, mapping, rows)


def mapping_issues(job: ImportJob, mapping: dict[str, str]) -> list[RowIssue]:
    """What is wrong with ``mapping`` for the job's file (missing required fields, headers
    the file does not have), before anything is queued."""
    return _resolve(job_columns(job), job.kind, mapping)[1]
