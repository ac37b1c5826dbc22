"""Importing customers, transactions and payments received from CSV/Excel files, and
exporting customers.

The file is read by the engine (:func:`tiering.data.read_table`: UTF-8, UTF-8 with BOM or
GBK CSV, Parquet, .xlsx) and its dates and amounts are converted by the engine's own SQL
(2026-06-30, 2026/6/30, 20260630, 2026年6月30日; thousands separators, ¥ and 元), so a file
the web app accepts is a file the engine accepts, and the other way round.

The flow a mapping page calls: :func:`file_columns` → :func:`suggest_mapping` (our field →
the file's header) → :func:`preview` → :func:`validate` → :func:`import_customers`,
:func:`import_transactions` or :func:`import_payments`. An import validates the whole file
first and writes nothing unless every row is good; then it writes all rows in one
transaction with bulk statements, one audit entry and its
:class:`~tiering_web.imports.models.ImportJob`.

Large files: the mapped file is loaded once into an in-memory DuckDB table and read back
``STEP`` rows at a time, for the checking and again for the writing, so memory stays
bounded whatever the file's size. The checking (most of the time) runs outside any
transaction; only the writing holds one. A ``progress`` callback hears of both phases:
that is how the background task (:mod:`tiering_web.imports.tasks`) shows real progress.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import connections, router, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext, gettext_lazy

from tiering import cells, data
from tiering.exceptions import InputError, RowIssue
from tiering.output import write_atomically
from tiering_web.accounts.models import Role
from tiering_web.accounts.permissions import role
from tiering_web.accountwork.services import record_ownership_changes
from tiering_web.audit.services import record
from tiering_web.customers import domain as customer_domain
from tiering_web.customers import ledger
from tiering_web.customers import models as cm
from tiering_web.customers.models import Customer, Payment, Transaction
from tiering_web.evaluations.models import TierAssignment
from tiering_web.imports.models import ImportJob
from tiering_web.jobs import Heartbeat, fail_if_lost
from tiering_web.rulesets.models import RuleSet

CUSTOMERS = ImportJob.Kind.CUSTOMERS.value
TRANSACTIONS = ImportJob.Kind.TRANSACTIONS.value
PAYMENTS = ImportJob.Kind.PAYMENTS.value

#: Our fields per kind of file, each with the headers recognised for it (after our own
#: name; compared without case, ``_`` read as a space). The first one is the export header.
FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    CUSTOMERS: {
        "code": ("客户编号", "客户代码", *data.SYNONYMS["customer_id"], "customer code"),
        "name": ("客户名称", "名称", "客户名", "customer name", "company"),
        "industry": ("行业", "所属行业"),
        "size": ("规模", "企业规模", "enterprise size"),
        "nature": ("性质", "客户性质"),
        "business_mode": ("业务模式", "business mode"),
        "needs_type": ("需求类型", "needs type"),
        "complexity": ("复杂度", "业务复杂度", "business complexity"),
        "influence": ("影响力", "市场影响力", "market influence"),
        "closeness": ("关系紧密度", "关系", "紧密度", "relationship closeness"),
        "owner": ("客户经理", "负责人", "account manager"),
        "credit_rating": ("资信等级", "信用等级", "credit rating"),
        "price_coefficient": ("单价系数", "价格系数", "price coefficient"),
        "status": ("状态", "客户状态"),
        "expected_close": ("预计成交日期", "预计成交", "expected close date", "expected close"),
        "notes": ("备注", "说明", "note"),
    },
    TRANSACTIONS: {
        "customer_code": (*data.SYNONYMS["customer_id"], "code", "customer code"),
        "date": (*data.SYNONYMS["date"], "date"),
        "amount": data.SYNONYMS["amount"],
        "cost": data.SYNONYMS["cost"],
        "kind": ("类型", "交易类型", "单据类型", "type"),
        "reference": ("单号", "订单号", "单据编号", "单据号", "ref"),
    },
    PAYMENTS: {
        "customer_code": (*data.SYNONYMS["customer_id"], "code", "customer code"),
        "date": (*data.PAYMENT_SYNONYMS["date"], "date"),
        "amount": data.PAYMENT_SYNONYMS["amount"],
        "reference": ("回款单号", "收款单号", "单号", "单据编号", "单据号", "ref"),
    },
}
REQUIRED = {
    CUSTOMERS: ("code",),
    TRANSACTIONS: ("customer_code", "date", "amount"),
    PAYMENTS: ("customer_code", "date", "amount"),
}
DATE_FIELDS = {"expected_close", "date"}
MONEY_FIELDS = {"amount", "cost"}
#: Header of the exported current tier (under the primary rule set).
TIER_HEADER = "当前等级"

#: Values of the choice fields as people write them, besides our own value.
_ALIASES: dict[str, dict[str, str]] = {
    # the engine's demo company (and many ERPs) write 大型/中型/小型/微型
    "size": {"大型": "large", "大型企业": "large", "大企业": "large", "中小": "sme",
             "中小企业": "sme", "中小型": "sme", "中小型企业": "sme", "中型": "sme",
             "小型": "sme", "微型": "sme", "中型企业": "sme", "小型企业": "sme",
             "微型企业": "sme"},
    "nature": {"个人": "individual", "企业": "enterprise", "公司": "enterprise",
               "合作伙伴": "partner", "伙伴": "partner", "渠道": "partner"},
    "needs_type": {"产品": "product", "产品型": "product", "服务": "service",
                   "服务型": "service", "综合": "comprehensive", "综合型": "comprehensive"},
    "complexity": {"简单": "simple", "中等": "medium", "一般": "medium", "复杂": "complex"},
    "influence": {"高": "high", "中": "medium", "中等": "medium", "一般": "medium", "低": "low"},
    "closeness": {"紧密": "close", "密切": "close", "一般": "normal", "普通": "normal",
                  "松散": "loose", "疏远": "loose"},
    "status": {"潜在": "prospect", "潜在客户": "prospect", "活跃": "active",
               "沉默": "dormant", "休眠": "dormant", "黑名单": "blacklisted"},
}  # fmt: skip
_CHOICES = {
    "size": cm.Size,
    "nature": cm.Nature,
    "needs_type": cm.NeedsType,
    "complexity": cm.Complexity,
    "influence": cm.Influence,
    "closeness": cm.Closeness,
    "status": cm.Status,
}
_KINDS = {
    "order": Transaction.Kind.ORDER,
    "sale": Transaction.Kind.ORDER,
    "销售": Transaction.Kind.ORDER,
    "销售单": Transaction.Kind.ORDER,
    "订单": Transaction.Kind.ORDER,
    "return": Transaction.Kind.RETURN,
    "退货": Transaction.Kind.RETURN,
    "退货单": Transaction.Kind.RETURN,
    "退款": Transaction.Kind.RETURN,
}
_TEXT_LIMITS = {
    "code": customer_domain.CODE_MAX_LENGTH,
    "name": 200,
    "industry": 100,
    "business_mode": 100,
    "credit_rating": 20,
    "customer_code": 64,
    "reference": 100,
}
#: Rows per database statement and per lookup of stored codes.
BATCH = 1000
#: Rows checked or written per step (and per progress report).
STEP = 5000


class ImportRejected(Exception):
    """The file has bad rows; nothing was imported. ``issues`` lists every one of them and
    ``job`` is the failed :class:`ImportJob` that stores them."""

    def __init__(self, job: ImportJob | None, issues: list[RowIssue]):
        self.job = job
        self.issues = issues
        shown = InputError(job.file_name if job else "<file>", issues, len(issues))
        super().__init__(str(shown))


@dataclasses.dataclass
class _Row:
    row: int
    text: dict[str, str | None]  # our field -> the cell as text (trimmed, None when empty)
    parsed: dict[str, Any]  # dates and amounts as the engine converts them (None if bad)


def _issue(row, column, value, en: str, zh: str) -> RowIssue:
    return RowIssue(row, column, None if value is None else str(value), en, zh)


def issues_as_json(issues: Iterable[RowIssue]) -> list[dict[str, Any]]:
    """Issues as ``{row, column, value, en, zh}`` dicts (for ImportJob.errors and the UI)."""
    return [dataclasses.asdict(i) for i in issues]


# --------------------------------------------------------------------------- reading


def _norm(header: str) -> str:
    return " ".join(str(header).replace("_", " ").split()).lower()


def _check_kind(kind: str) -> None:
    if kind not in FIELDS:
        raise ValueError(f"unknown import kind {kind!r}: use one of {', '.join(FIELDS)}")


#: The first rows of an upload kept beside it (``<name>.sample.parquet``) for the mapping
#: page: its headers and preview come from them, so the file is read in full only twice,
#: once when it is uploaded and once when it is imported.
SAMPLE_ROWS = 20


def _sample_path(path: Path) -> Path:
    return path.with_name(path.stem + ".sample.parquet")


def _store_sample(path: Path) -> list[str]:
    """Read the file once: keep its first :data:`SAMPLE_ROWS` rows (as text, with their
    row numbers) beside it and return its headers, in order. Raises
    :class:`~tiering.exceptions.InputError` when the file cannot be read."""
    import pyarrow.parquet as pq

    con = data.connect()
    try:
        src, _ = data.read_table(path, "upload", con)
        try:
            sample = src.db.sql(
                f"SELECT * FROM ({src.with_rows()}) ORDER BY _row LIMIT {SAMPLE_ROWS}"
            ).to_arrow_table()
        finally:
            src.close()
    finally:
        con.disconnect()
    write_atomically(_sample_path(path), lambda tmp: pq.write_table(sample, tmp))
    return [name for name in sample.column_names if name != "_row"]


def _sample(job: ImportJob):
    """The job's stored first rows (made now from the file for a job uploaded before
    samples were kept). Raises FileNotFoundError when the upload is gone."""
    import pyarrow.parquet as pq

    path = upload_path(job)
    if not _sample_path(path).exists():
        if not path.exists():
            raise FileNotFoundError(path)
        _store_sample(path)
    return pq.read_table(_sample_path(path))


def job_columns(job: ImportJob) -> list[str]:
    """The headers of the job's file, in order, from its stored first rows. Raises
    FileNotFoundError when the upload is gone and InputError when it cannot be read."""
    return [name for name in _sample(job).column_names if name != "_row"]


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


def preview_job(
    job: ImportJob, mapping: dict[str, str] | None = None, rows: int = 20
) -> list[dict[str, Any]]:
    """:func:`preview` of the job's file from its stored first rows (at most
    :data:`SAMPLE_ROWS`), without reading the file. Raises FileNotFoundError when the
    upload is gone."""
    return preview((_sample(job), upload_path(job)), job.kind, mapping, rows)


# --------------------------------------------------------------------------- validation


def _choice(field: str, text: str) -> str | None:
    choices = _CHOICES[field]
    lowered = text.lower()
    if lowered in choices.values:
        return lowered
    for value, label in zip(choices.values, choices.labels, strict=True):
        if str(label).lower() == lowered:
            return value
    return _ALIASES[field].get(text)


def _choice_issue(row: _Row, field: str, header: str, value: str) -> RowIssue:
    known = "、".join([*_ALIASES[field], *_CHOICES[field].values])
    return _issue(
        row.row,
        header,
        value,
        f"unknown {field} value; use one of: {known}",
        f"无法识别的取值；可用：{known}",
    )


def _too_long(rows: list[_Row], mapping, issues: list[RowIssue]) -> None:
    for field, limit in _TEXT_LIMITS.items():
        if field not in mapping:
            continue
        for r in rows:
            value = r.text[field]
            if value is not None and len(value) > limit:
                issues.append(
                    _issue(
                        r.row,
                        mapping[field],
                        value,
                        f"longer than {limit} characters",
                        f"超过 {limit} 个字符",
                    )
                )


def _code_issue(row: _Row, column: str, code: str) -> RowIssue | None:
    """A new customer code that breaks :func:`customer_domain.code_problem`, worded in
    both languages (its length is :func:`_too_long`'s, reported once)."""
    problem = customer_domain.code_problem(code)
    if problem is None or problem.code == "max_length":
        return None
    texts = []
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            texts.append(next(iter(problem)))
    return _issue(row.row, column, code, *texts)


def _existing_codes(codes: Iterable[str]) -> dict[str, int]:
    """Customer code → id for the codes that exist in the database."""
    codes = sorted(set(codes))
    found: dict[str, int] = {}
    for i in range(0, len(codes), BATCH):
        found.update(
            Customer.objects.filter(code__in=codes[i : i + BATCH]).values_list("code", "id")
        )
    return found


def _duplicate_issues(upload: _Upload, column: str, fields: tuple[str, ...], en: str, zh: str):
    issues = []
    for value, numbers in upload.duplicates(*fields):
        for n in numbers:
            others = ", ".join(str(m) for m in numbers if m != n)
            issues.append(
                _issue(
                    n, column, value, f"{en} (also in row {others})", f"{zh}（另见第 {others} 行）"
                )
            )
    return issues


class _CustomerCheck:
    """Checks a customers file step by step; duplicates are found over the whole file."""

    def __init__(self, upload: _Upload):
        self.mapping = upload.mapping
        self.users: dict[str, int] = {}  # owner username -> user id, for the writing
        #: (customer id, previous owner id, new owner id) of every owner the file sets,
        #: written to the ownership history with the import
        self.owner_changes: list[tuple[int, int | None, int | None]] = []
        self.issues = _duplicate_issues(
            upload, self.mapping["code"], ("code",), "duplicate customer code", "客户编号重复"
        )
        self.tail: list[RowIssue] = []

    def check(self, rows: list[_Row]) -> None:
        mapping, issues = self.mapping, self.issues
        existing = _existing_codes(r.text["code"] for r in rows if r.text["code"] is not None)
        _too_long(rows, mapping, issues)
        if "owner" in mapping:
            names = {r.text["owner"] for r in rows if r.text["owner"] is not None}
            names -= set(self.users)
            self.users.update(
                get_user_model().objects.filter(username__in=names).values_list("username", "id")
            )
        for r in rows:
            code = r.text["code"]
            if code is None:
                issues.append(
                    _issue(r.row, mapping["code"], None, "empty customer code", "客户编号为空")
                )
            elif code not in existing:
                # a new code follows the rule; a stored one (even with a / from before the
                # rule) is updated as it is
                if (issue := _code_issue(r, mapping["code"], code)) is not None:
                    issues.append(issue)
                if r.text.get("name") is None:
                    issues.append(
                        _issue(
                            r.row,
                            mapping.get("name", "name"),
                            None,
                            "a new customer needs a name",
                            "新客户需要填写客户名称",
                        )
                    )
            for field in _CHOICES:
                value = r.text.get(field)
                if value is not None and _choice(field, value) is None:
                    issues.append(_choice_issue(r, field, mapping[field], value))
            owner = r.text.get("owner")
            if owner is not None and owner not in self.users:
                issues.append(
                    _issue(
                        r.row,
                        mapping["owner"],
                        owner,
                        "no user with this username",
                        "没有该用户名的用户",
                    )
                )
            coefficient = r.text.get("price_coefficient")
            if coefficient is not None and _coefficient(coefficient) is None:
                issues.append(
                    _issue(
                        r.row,
                        mapping["price_coefficient"],
                        coefficient,
                        "not a price coefficient (a number from 0 to 999.999, e.g. 1.05)",
                        "不是有效的单价系数（0 到 999.999 之间的数，如 1.05）",
                    )
                )
            closes = r.text.get("expected_close")
            if closes is not None and r.parsed["expected_close"] is None:
                issues.append(_bad_date(r, mapping["expected_close"], closes))


def _coefficient(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value >= 1000:
        return None
    return value.quantize(Decimal("0.001"))


def _bad_date(r: _Row, column: str, value) -> RowIssue:
    return _issue(
        r.row, column, value, "not a date (write e.g. 2026-06-30)", "不是日期（应写如 2026-06-30）"
    )


def _bad_amount(r: _Row, column: str, value) -> RowIssue:
    return _issue(
        r.row, column, value, "not an amount (write e.g. 1234.50)", "不是金额（应写如 1234.50）"
    )


def _transaction_kind(r: _Row) -> str | None:
    """The row's kind from its 类型 cell (None for a name we do not know), else from the
    sign of the amount (:func:`tiering_web.customers.ledger.entry_kind`)."""
    text = r.text.get("kind")
    if text is not None and text.lower() not in _KINDS:
        return None
    named = _KINDS[text.lower()].value if text is not None else None
    return ledger.entry_kind(named, r.parsed.get("amount"))


class _LedgerCheck:
    """Checks a file of money movements (transactions, payments) step by step: a known
    customer, a date and an amount on every row; keeps the ids of the customers it names
    (for the writing) and finds duplicate (customer, reference) pairs over the whole file.
    Subclasses add their own checks of a row in :meth:`check_row`."""

    #: The duplicate-reference message in Chinese (the English one is shared).
    duplicate_zh = "同一客户的单号重复"

    def __init__(self, upload: _Upload):
        self.mapping = upload.mapping
        self.ids: dict[str, int] = {}  # customer code -> id
        self.has_references: bool | None = None  # see _stored_references
        self._missing: set[str] = set()
        self.issues: list[RowIssue] = []
        self.tail: list[RowIssue] = []
        if "reference" in self.mapping:
            self.tail = _duplicate_issues(
                upload,
                self.mapping["reference"],
                ("customer_code", "reference"),
                "duplicate reference for this customer",
                self.duplicate_zh,
            )

    def check(self, rows: list[_Row]) -> None:
        mapping, issues = self.mapping, self.issues
        codes = {r.text["customer_code"] for r in rows if r.text["customer_code"]}
        unknown = codes - set(self.ids) - self._missing
        if unknown:
            found = _existing_codes(unknown)
            self.ids.update(found)
            self._missing |= unknown - set(found)
        _too_long(rows, mapping, issues)
        for r in rows:
            code = r.text["customer_code"]
            if code is None:
                issues.append(
                    _issue(
                        r.row, mapping["customer_code"], None, "empty customer code", "客户编号为空"
                    )
                )
            elif code not in self.ids:
                issues.append(
                    _issue(
                        r.row,
                        mapping["customer_code"],
                        code,
                        "no customer with this code: import the customer first",
                        "没有该客户编号的客户：请先导入客户",
                    )
                )
            if r.parsed["date"] is None:
                issues.append(_bad_date(r, mapping["date"], r.text["date"]))
            if r.parsed["amount"] is None:
                issues.append(_bad_amount(r, mapping["amount"], r.text["amount"]))
            self.check_row(r)

    def check_row(self, r: _Row) -> None:
        """Checks of one row beyond customer, date and amount (none by default)."""


class _TransactionCheck(_LedgerCheck):
    """A transactions file: also the cost, the kind (销售/退货) and no negative sale."""

    def check_row(self, r: _Row) -> None:
        mapping, issues = self.mapping, self.issues
        if r.text.get("cost") is not None and r.parsed.get("cost") is None:
            issues.append(_bad_amount(r, mapping["cost"], r.text["cost"]))
        kind = _transaction_kind(r)
        if kind is None:
            issues.append(
                _issue(
                    r.row,
                    mapping["kind"],
                    r.text["kind"],
                    "unknown kind; use 销售 (order) or 退货 (return)",
                    "无法识别的类型；可用：销售、退货",
                )
            )
        elif kind == Transaction.Kind.ORDER:
            for field in ("amount", "cost"):
                value = r.parsed.get(field)
                if value is not None and value < 0:
                    issues.append(
                        _issue(
                            r.row,
                            mapping[field],
                            r.text[field],
                            "negative on a sale: mark the row 退货 (return) or make it positive",
                            "销售行不能为负数：请将类型标为退货，或改为正数",
                        )
                    )


class _PaymentCheck(_LedgerCheck):
    """A payments file: customer, date and amount (negative for a refund) on every row,
    each (customer, reference) once in the file (see _stored_payment_references)."""

    duplicate_zh = "同一客户的回款单号重复"


_CHECKS: dict[str, type] = {
    CUSTOMERS: _CustomerCheck,
    TRANSACTIONS: _TransactionCheck,
    PAYMENTS: _PaymentCheck,
}

#: The two phases a progress callback is told about.
CHECKING = "checking"
WRITING = "writing"

#: ``progress(phase, rows_done, rows_total)``: called when a phase starts (with 0 rows
#: done) and after each step of ``STEP`` rows.
Progress = Callable[[str, int, int], None]


def _check_upload(upload: _Upload, kind: str, progress: Progress | None):
    """Every issue of the loaded file, sorted by row, and the checker (whose state the
    writing reuses)."""
    if upload.issues:
        return upload.issues, None
    if upload.total == 0:
        return [_issue(None, None, None, "the file has no rows", "文件没有数据行")], None
    checker = _CHECKS[kind](upload)
    done = 0
    if progress:
        progress(CHECKING, 0, upload.total)
    for rows in upload.batches():
        checker.check(rows)
        done += len(rows)
        if progress:
            progress(CHECKING, done, upload.total)
    issues = checker.issues + checker.tail
    issues.sort(key=lambda i: (i.row or 0, i.column or ""))
    return issues, checker


def validate(path: str | Path, kind: str, mapping: dict[str, str] | None = None) -> list[RowIssue]:
    """Every problem of the file under ``mapping`` (the suggested one when None), sorted by
    row: unreadable file, missing columns, then each bad cell with its row number as a
    spreadsheet shows it, its column header, its value and why (in English and Chinese).
    An empty list means :func:`import_customers`, :func:`import_transactions` or
    :func:`import_payments` will succeed."""
    with _Upload(path, kind, mapping) as upload:
        return _check_upload(upload, kind, None)[0]


# --------------------------------------------------------------------------- importing


def _finish(actor, job: ImportJob, reason: str, created: int, updated: int, unchanged: int):
    job.created_count, job.updated_count, job.unchanged_count = created, updated, unchanged
    job.rows_done = job.rows_total
    job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.save()
    record(
        actor,
        f"import.{job.kind}",
        job,
        reason,
        file=job.file_name,
        rows=job.rows_total,
        created=created,
        updated=updated,
        unchanged=unchanged,
    )
    return job


def _customer_values(r: _Row, users: dict[str, int]) -> dict[str, Any]:
    """The row's non-empty cells as model values (an empty cell keeps what is stored)."""
    values: dict[str, Any] = {}
    for field, text in r.text.items():
        if text is None:
            continue
        if field in _CHOICES:
            values[field] = _choice(field, text)
        elif field == "owner":
            values["owner_id"] = users[text]
        elif field == "price_coefficient":
            values[field] = _coefficient(text)
        elif field == "expected_close":
            values[field] = r.parsed[field]
        else:
            values[field] = text
    return values


def _write_customers(rows: list[_Row], checker: _CustomerCheck) -> tuple[int, int]:
    """Create the step's new codes, update the stored ones whose cells differ."""
    stored: dict[str, Customer] = {}
    codes = [r.text["code"] for r in rows]
    for i in range(0, len(codes), BATCH):
        stored.update((c.code, c) for c in Customer.objects.filter(code__in=codes[i : i + BATCH]))
    new, changed, changed_fields = [], [], set()
    now = timezone.now()
    for r in rows:
        values = _customer_values(r, checker.users)
        customer = stored.get(r.text["code"])
        if customer is None:
            new.append(Customer(**values))
            continue
        diff = {k: v for k, v in values.items() if getattr(customer, k) != v}
        if diff:
            if "owner_id" in diff:
                checker.owner_changes.append((customer.pk, customer.owner_id, diff["owner_id"]))
            for k, v in diff.items():
                setattr(customer, k, v)
            customer.updated_at = now
            changed.append(customer)
            changed_fields.update(diff)
    Customer.objects.bulk_create(new, batch_size=BATCH)
    checker.owner_changes += [(c.pk, None, c.owner_id) for c in new if c.owner_id is not None]
    if changed:
        Customer.objects.bulk_update(
            changed, sorted(changed_fields | {"updated_at"}), batch_size=BATCH
        )
    return len(new), len(changed)


def _stored_references(checker: _LedgerCheck, model) -> bool:
    """Whether any stored entry of the file's customers has a reference (if none does, as
    on a first import, no row can update one and the ledger's lookups are skipped). Asked
    once, before the first write: the file's own (customer, reference) pairs are unique."""
    if checker.has_references is None:
        ids = sorted(set(checker.ids.values()))
        checker.has_references = any(
            model.objects.filter(customer_id__in=ids[i : i + BATCH]).exclude(reference="").exists()
            for i in range(0, len(ids), BATCH)
        )
    return checker.has_references


def _write_transactions(rows: list[_Row], checker: _TransactionCheck) -> tuple[int, int]:
    """Write the step's transactions through the ledger (a reference updates that
    customer's transaction with the same reference)."""
    ids = checker.ids
    entries = [
        ledger.transaction_row(
            ids[r.text["customer_code"]],
            r.text.get("reference"),
            r.parsed["date"],
            r.parsed["amount"],
            r.parsed.get("cost"),
            _transaction_kind(r),
        )
        for r in rows
    ]
    return ledger.write_transactions(entries, lookup=_stored_references(checker, Transaction))


def _write_payments(rows: list[_Row], checker: _PaymentCheck) -> tuple[int, int]:
    """Write the step's payments received through the ledger (a reference updates that
    customer's payment with the same reference)."""
    ids = checker.ids
    entries = [
        ledger.PaymentRow(
            ids[r.text["customer_code"]],
            r.text.get("reference") or "",
            r.parsed["date"],
            r.parsed["amount"],
        )
        for r in rows
    ]
    return ledger.write_payments(entries, lookup=_stored_references(checker, Payment))


_WRITERS: dict[str, Callable] = {
    CUSTOMERS: _write_customers,
    TRANSACTIONS: _write_transactions,
    PAYMENTS: _write_payments,
}


def _import(
    actor, path, kind, mapping, reason, file_name, job: ImportJob | None, progress
) -> ImportJob:
    """Check the whole file (outside any transaction, reporting progress), then write it
    in one transaction, step by step."""
    if job is None:
        job = ImportJob(
            kind=kind,
            file_name=(file_name or Path(path).name)[:255],
            uploaded_by=actor if actor is not None and actor.pk is not None else None,
            reason=reason or "",
        )
    else:
        reason = reason or job.reason
    with _Upload(path, kind, mapping) as upload:
        job.mapping = upload.mapping
        job.rows_total = upload.total
        issues, checker = _check_upload(upload, kind, progress)
        if issues:
            # the failed attempt is kept (with every issue) for the import history; the
            # data and the audit log are not touched
            job.status = ImportJob.Status.FAILED
            job.errors = issues_as_json(issues)
            job.finished_at = timezone.now()
            job.save()
            raise ImportRejected(job, issues)
        job.status = ImportJob.Status.VALIDATED
        if progress:
            progress(WRITING, 0, upload.total)
        created = updated = done = 0
        with transaction.atomic():
            for rows in upload.batches():
                new, changed = _WRITERS[kind](rows, checker)
                created, updated, done = created + new, updated + changed, done + len(rows)
                if progress:
                    progress(WRITING, done, upload.total)
            if kind == CUSTOMERS and checker.owner_changes:
                record_ownership_changes(actor, checker.owner_changes, reason or job.file_name)
            return _finish(actor, job, reason, created, updated, done - created - updated)


def import_customers(
    actor,
    path: str | Path,
    mapping: dict[str, str] | None = None,
    reason: str = "",
    *,
    file_name: str = "",
    job: ImportJob | None = None,
    progress: Progress | None = None,
) -> ImportJob:
    """Create or update customers by code from the file, all or nothing.

    The whole file is validated first: with any bad row, nothing is imported and
    :class:`ImportRejected` carries every issue. Otherwise one transaction creates the new
    codes and updates the existing ones whose mapped, non-empty cells differ (an empty
    cell keeps the stored value; rows that change nothing are not written), in bulk
    batches, and records one audit entry with the counts.

    ``job`` is an existing (pending) job to fill in, e.g. the one an upload made;
    ``progress`` is told how far the checking and the writing are (see :data:`Progress`)."""
    return _import(actor, path, CUSTOMERS, mapping, reason, file_name, job, progress)


def import_transactions(
    actor,
    path: str | Path,
    mapping: dict[str, str] | None = None,
    reason: str = "",
    *,
    file_name: str = "",
    job: ImportJob | None = None,
    progress: Progress | None = None,
) -> ImportJob:
    """Add transactions of existing customers from the file, all or nothing.

    Validated first like :func:`import_customers`. Amounts and costs are stored positive
    with the kind saying order or return (the engine negates returns when it reads them):
    a row is a return when its 类型 says 退货, or, without a 类型 column, when its amount
    is negative. A row with a reference (单号) updates that customer's transaction with
    the same reference if there is one; rows without a reference are always added.
    ``job`` and ``progress`` as for :func:`import_customers`."""
    return _import(actor, path, TRANSACTIONS, mapping, reason, file_name, job, progress)


def import_payments(
    actor,
    path: str | Path,
    mapping: dict[str, str] | None = None,
    reason: str = "",
    *,
    file_name: str = "",
    job: ImportJob | None = None,
    progress: Progress | None = None,
) -> ImportJob:
    """Add the payments received (回款) of existing customers from the file, all or
    nothing.

    Validated first like :func:`import_transactions` (a known customer code, a date and an
    amount on every row; a negative amount is a refund). A row with a reference (回款单号)
    updates that customer's payment with the same reference if there is one, so importing
    the same file again changes nothing; rows without a reference are always added.
    ``job`` and ``progress`` as for :func:`import_customers`."""
    return _import(actor, path, PAYMENTS, mapping, reason, file_name, job, progress)


IMPORTERS: dict[str, Callable] = {
    CUSTOMERS: import_customers,
    TRANSACTIONS: import_transactions,
    PAYMENTS: import_payments,
}


# --------------------------------------------------------------------------- exporting


#: Export headers in English: our own field names (which the import recognises too).
TIER_HEADER_EN = "current tier"
CONTACTS_HEADER = {"zh": "联系人", "en": "contacts"}


def _contacts_text(contacts) -> str:
    """``name title phone email`` per contact, ``; `` between contacts."""
    if not isinstance(contacts, list):
        return ""
    people = []
    for c in contacts:
        if isinstance(c, dict):
            parts = (c.get(k) for k in ("name", "title", "phone", "email"))
            people.append(" ".join(str(p) for p in parts if p))
    return "; ".join(p for p in people if p)


def _export_rows(
    queryset: QuerySet[Customer] | None,
    *,
    all_tiers: bool = False,
    contacts: bool = False,
    english: bool = False,
):
    """(headers, rows) of customers with their current tier under the primary rule set
    (and, with ``all_tiers``, one more column per other rule set, by name), and with
    ``contacts`` their contacts as text. Headers are Chinese, or our field names with
    ``english``. The rows come lazily, 2,000 customers per query."""
    fields = list(FIELDS[CUSTOMERS])
    headers = [*fields] if english else [FIELDS[CUSTOMERS][f][0] for f in fields]
    queryset = Customer.objects.all() if queryset is None else queryset
    rulesets = list(RuleSet.objects.order_by("-is_primary", "name"))
    if not all_tiers:
        rulesets = [r for r in rulesets if r.is_primary]
    tier_columns = []
    for ruleset in rulesets:
        if ruleset.is_primary:
            headers.append(TIER_HEADER_EN if english else TIER_HEADER)
        else:
            headers.append(f"tier: {ruleset.name}" if english else f"等级：{ruleset.name}")
        current = TierAssignment.objects.filter(
            customer=OuterRef("pk"), ruleset=ruleset, valid_to__isnull=True
        ).values("tier")[:1]
        column = f"_tier_{ruleset.pk}"
        queryset = queryset.annotate(**{column: Subquery(current)})
        tier_columns.append(column)
    if not all_tiers and not rulesets:
        headers.append(TIER_HEADER_EN if english else TIER_HEADER)  # empty: no primary yet
        tier_columns.append("_no_tier")
    if contacts:
        headers.append(CONTACTS_HEADER["en" if english else "zh"])
    queryset = queryset.select_related("owner")
    if not queryset.query.order_by:
        queryset = queryset.order_by("code")

    def value(c: Customer, field: str):
        if field == "owner":
            return c.owner.get_username() if c.owner else ""
        return getattr(c, field)

    def rows():
        for c in queryset.iterator(chunk_size=2000):
            row = [*(value(c, f) for f in fields)]
            row += [getattr(c, column, None) or "" for column in tier_columns]
            if contacts:
                row.append(_contacts_text(c.contacts))
            yield row

    return headers, rows()


def _write_csv(headers, rows) -> Callable[[str], None]:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            out = csv.writer(f)
            out.writerow(headers)
            for row in rows:
                out.writerow(["" if v is None else cells.safe_text(v) for v in row])

    return write


def _write_xlsx(headers, rows) -> Callable[[str], None]:
    import xlsxwriter

    def write(tmp: str) -> None:
        book = xlsxwriter.Workbook(tmp, {"constant_memory": True})
        try:
            sheet = book.add_worksheet("客户")
            dates = book.add_format({"num_format": "yyyy-mm-dd"})
            bold = book.add_format({"bold": True})
            for j, h in enumerate(headers):
                sheet.write_string(0, j, h, bold)
            for i, row in enumerate(rows, start=1):
                for j, v in enumerate(row):
                    if v is None or v == "":
                        continue
                    if isinstance(v, Decimal):
                        sheet.write_number(i, j, float(v))
                    elif isinstance(v, dt.date):
                        sheet.write_datetime(i, j, dt.datetime.combine(v, dt.time()), dates)
                    else:
                        sheet.write_string(i, j, str(v))  # never a formula
        finally:
            book.close()

    return write


def export_customers(path: str | Path, queryset: QuerySet[Customer] | None = None) -> Path:
    """Write ``queryset`` (all customers by default) to ``path``: CSV in UTF-8 with a BOM
    (so Excel opens Chinese correctly) or .xlsx, by its suffix. Headers are the ones the
    import recognises, so an export can be edited and imported again; the last column is
    each customer's current tier under the primary rule set (empty without one). The file
    appears whole or not at all (written to a temporary file, then renamed)."""
    path = Path(path)
    suffix = path.suffix.lower()
    writers = {".csv": _write_csv, ".xlsx": _write_xlsx}
    if suffix not in writers:
        raise ValueError(f"{path}: export to .csv or .xlsx")
    headers, rows = _export_rows(queryset)
    return write_atomically(path, writers[suffix](headers, rows))


def export_table(queryset: QuerySet[Customer], *, contacts: bool, english: bool):
    """(headers, rows) for the web export: every rule set's current tier (the primary one
    first), contacts only when the viewer may see them, headers in the viewer's language."""
    return _export_rows(queryset, all_tiers=True, contacts=contacts, english=english)


def csv_chunks(headers: list[str], rows: Iterable[list]) -> Iterator[str]:
    """The CSV (UTF-8 with a BOM, so that Excel reads Chinese) as text chunks of a few
    hundred rows, for a streaming response."""
    buffer = io.StringIO()
    out = csv.writer(buffer)
    buffer.write("\ufeff")
    out.writerow(headers)
    for i, row in enumerate(rows, start=1):
        out.writerow(["" if v is None else cells.safe_text(v) for v in row])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_file(headers: list[str], rows: Iterable[list]) -> BinaryIO:
    """The .xlsx written row by row (xlsxwriter's constant memory mode) to a temporary
    file under ``VAR_DIR``; returned open for reading, its name already removed."""
    folder = Path(settings.VAR_DIR) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.xlsx"
    try:
        _write_xlsx(headers, rows)(str(path))
        return open(path, "rb")  # the response closes it
    finally:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- web jobs

#: Upload limits: size, file types, header shape.
MAX_UPLOAD_BYTES = 256 * 2**20
UPLOAD_SUFFIXES = (".csv", ".xlsx")
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 200


def can_import(user) -> bool:
    """Administrators and managers import customers, transactions and payments. Account managers
    may not (an import writes many customers at once, beyond their own), nor analysts."""
    return role(user) in (Role.ADMINISTRATOR, Role.MANAGER)


def can_see_job(user, job: ImportJob) -> bool:
    return can_import(user)


class UploadRefused(Exception):
    """The uploaded file cannot be used; the message (in the active language) says why."""


def upload_folder() -> Path:
    folder = Path(settings.VAR_DIR) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_path(job: ImportJob) -> Path:
    """Where the job's file is stored (its generated name, never the uploader's)."""
    if not job.upload or Path(job.upload).name != job.upload:
        raise FileNotFoundError(job.upload)
    return upload_folder() / job.upload


def display_name(name: str) -> str:
    """The uploader's file name for showing only: its last part, without control
    characters, at most 255 characters."""
    last = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in last if ch.isprintable()).strip().lstrip(".")
    return (cleaned or "upload")[:255]


def issue_text(issue: dict[str, Any] | RowIssue) -> str:
    """An issue's explanation in the active language."""
    if isinstance(issue, RowIssue):
        issue = dataclasses.asdict(issue)
    zh = (get_language() or "").startswith("zh")
    return (issue.get("zh") if zh else issue.get("en")) or issue.get("en") or ""


def _refuse(path: Path, message: str):
    path.unlink(missing_ok=True)
    _sample_path(path).unlink(missing_ok=True)
    raise UploadRefused(message)


def store_upload(actor, kind: str, uploaded: UploadedFile) -> ImportJob:
    """Keep an uploaded CSV or .xlsx under a generated name in ``VAR_DIR/uploads`` and
    make its pending :class:`ImportJob`, once the file is of an allowed type and size and
    its header row can be read. Raises :class:`UploadRefused` saying what is wrong."""
    _check_kind(kind)
    name = display_name(uploaded.name)
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRefused(gettext("Only .csv and .xlsx files can be imported."))
    if not uploaded.size:
        raise UploadRefused(gettext("The file is empty."))
    if uploaded.size > MAX_UPLOAD_BYTES:
        raise UploadRefused(
            gettext("The file is larger than %(limit)d MB.") % {"limit": MAX_UPLOAD_BYTES >> 20}
        )
    path = upload_folder() / f"{uuid.uuid4().hex}{suffix}"
    with open(path, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if suffix == ".xlsx" and not head.startswith(b"PK\x03\x04"):
        _refuse(path, gettext("The file is not an Excel .xlsx workbook."))
    if suffix == ".csv" and (b"\x00" in head or head.startswith((b"PK\x03\x04", b"MZ"))):
        _refuse(path, gettext("The file is not a text CSV file."))
    try:
        columns = _store_sample(path)
    except InputError as e:
        reasons = "; ".join(issue_text(i) for i in e.issues)
        _refuse(path, gettext("The file cannot be read: %(reasons)s") % {"reasons": reasons})
    if not columns:
        _refuse(path, gettext("The file has no header row."))
    if len(columns) > MAX_COLUMNS:
        _refuse(
            path,
            gettext("The file has %(count)d columns; at most %(limit)d are allowed.")
            % {"count": len(columns), "limit": MAX_COLUMNS},
        )
    if any(len(c) > MAX_HEADER_CHARS for c in columns):
        _refuse(
            path,
            gettext("A column header is longer than %(limit)d characters.")
            % {"limit": MAX_HEADER_CHARS},
        )
    return ImportJob.objects.create(
        kind=kind,
        file_name=name,
        uploaded_by=actor if actor is not None and actor.pk is not None else None,
        upload=path.name,
        status=ImportJob.Status.PENDING,
    )


def mapping_issues(job: ImportJob, mapping: dict[str, str]) -> list[RowIssue]:
    """What is wrong with ``mapping`` for the job's file (missing required fields, headers
    the file does not have), before anything is queued."""
    return _resolve(job_columns(job), job.kind, mapping)[1]


def queue_import(actor, job: ImportJob, mapping: dict[str, str], reason: str) -> ImportJob:
    """Queue the pending job's import with the chosen mapping for the background worker
    (:func:`tiering_web.imports.tasks.run_import`). The import itself records the audit
    entry, with this reason, when it writes."""
    from tiering_web.imports.tasks import run_import

    if job.status != ImportJob.Status.PENDING:
        raise ValueError(f"import job {job.pk} is {job.status}, not pending")
    job.mapping = {field: header for field, header in mapping.items() if header}
    job.reason = reason
    job.uploaded_by = job.uploaded_by or actor
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["mapping", "reason", "uploaded_by", "status"])
    result = run_import.enqueue(job.pk)
    job.task_id = str(result.id)
    job.save(update_fields=["task_id"])
    return job


class _JobProgress:
    """Writes a running job's phase and ``rows_done`` where the job's page can see them.

    The checking runs outside any transaction, so a plain UPDATE is visible at once. The
    writing runs inside the import's one transaction, whose own updates nobody sees until
    it commits: on PostgreSQL each step is written through a second connection in
    autocommit; SQLite allows one writer at a time, so there only the start of the writing
    is shown (written just before the transaction) and the counts when it commits."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.alias = router.db_for_write(ImportJob)
        self._side = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        status = ImportJob.Status.CHECKING if phase == CHECKING else ImportJob.Status.WRITING
        self.job.status, self.job.rows_done, self.job.rows_total = status, done, total
        main = connections[self.alias]
        if not main.in_atomic_block:
            ImportJob.objects.using(self.alias).filter(pk=self.job.pk).update(
                status=status, rows_done=done, rows_total=total
            )
        elif main.vendor == "postgresql":
            if self._side is None:
                self._side = connections.create_connection(self.alias)
            table = self._side.ops.quote_name(ImportJob._meta.db_table)
            with self._side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET status = %s, rows_done = %s, rows_total = %s "
                    "WHERE id = %s",
                    [status, done, total, self.job.pk],
                )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


_RUNNING = (ImportJob.Status.CHECKING, ImportJob.Status.WRITING)


def check_import(job: ImportJob) -> ImportJob:
    """``job``, failed first if it is queued or running but its worker is gone (see
    :func:`tiering_web.jobs.fail_if_lost`; nothing of it was written: the import writes
    in one transaction): what the job's pages call before showing it."""
    if not job.running:
        return job

    def failed(error: tuple[str, str]) -> dict[str, Any]:
        issue = {"row": None, "column": None, "value": None, "en": error[0], "zh": error[1]}
        return {"status": ImportJob.Status.FAILED, "finished_at": timezone.now(), "errors": [issue]}

    return fail_if_lost(
        job, (ImportJob.Status.QUEUED, *_RUNNING), gettext_lazy("the import"), failed
    )


def run_job(job_id: int) -> dict[str, Any]:
    """Run a queued job's import (called by the background task): check the whole file,
    then write it all or nothing, with the progress on the job. The stored file is removed
    once imported; a refused file stays, its job listing every bad row."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.CHECKING, heartbeat_at=timezone.now()
    )
    if not claimed:
        return {"job": job.pk, "status": job.status}  # already run (a repeated task)
    job.status = ImportJob.Status.CHECKING
    importer = IMPORTERS[job.kind]
    progress = _JobProgress(job)
    try:
        with Heartbeat(ImportJob, job.pk, _RUNNING):
            importer(
                job.uploaded_by,
                upload_path(job),
                job.mapping,
                job.reason,
                file_name=job.file_name,
                job=job,
                progress=progress,
            )
    except ImportRejected:
        pass
    except Exception as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            errors=[
                {
                    "row": None,
                    "column": None,
                    "value": None,
                    "en": f"the import stopped, nothing was imported: {message}",
                    "zh": f"导入中止，未导入任何数据：{message}",
                }
            ],
        )
        raise
    finally:
        progress.close()
    if job.status == ImportJob.Status.DONE:
        upload_path(job).unlink(missing_ok=True)
        _sample_path(upload_path(job)).unlink(missing_ok=True)
    return {
        "job": job.pk,
        "status": job.status,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "errors": len(job.errors),
    }
