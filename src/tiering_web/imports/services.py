"""Importing customers and transactions from CSV/Excel files, and exporting customers.

The file is read by the engine (:func:`tiering.data.read_table`: UTF-8, UTF-8 with BOM or
GBK CSV, Parquet, .xlsx) and its dates and amounts are converted by the engine's own SQL
(2026-06-30, 2026/6/30, 20260630, 2026年6月30日; thousands separators, ¥ and 元), so a file
the web app accepts is a file the engine accepts, and the other way round.

The flow a mapping page calls: :func:`file_columns` → :func:`suggest_mapping` (our field →
the file's header) → :func:`preview` → :func:`validate` → :func:`import_customers` or
:func:`import_transactions`. An import validates the whole file first and writes nothing
unless every row is good; then it writes all rows in one transaction with bulk statements,
one audit entry and its :class:`~tiering_web.imports.models.ImportJob`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from tiering import data
from tiering.exceptions import InputError, RowIssue
from tiering.output import write_atomically
from tiering_web.audit.services import record
from tiering_web.customers import models as cm
from tiering_web.customers.models import Customer, Transaction
from tiering_web.evaluations.models import TierAssignment
from tiering_web.imports.models import ImportJob
from tiering_web.rulesets.models import RuleSet

CUSTOMERS = ImportJob.Kind.CUSTOMERS.value
TRANSACTIONS = ImportJob.Kind.TRANSACTIONS.value

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
}
REQUIRED = {CUSTOMERS: ("code",), TRANSACTIONS: ("customer_code", "date", "amount")}
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
    "code": 64,
    "name": 200,
    "industry": 100,
    "business_mode": 100,
    "credit_rating": 20,
    "customer_code": 64,
    "reference": 100,
}
BATCH = 1000


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
        raise ValueError(f"unknown import kind {kind!r}: use {CUSTOMERS!r} or {TRANSACTIONS!r}")


def file_columns(path: str | Path) -> list[str]:
    """The file's headers, in order. Raises :class:`~tiering.exceptions.InputError` when
    the file cannot be read."""
    con = data.connect()
    try:
        src, _ = data.read_table(path, "upload", con)
        src.close()
        return list(src.types)
    finally:
        con.disconnect()


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


def _read(
    path: str | Path, kind: str, mapping: dict[str, str] | None, limit: int | None = None
) -> tuple[dict[str, str], list[_Row], list[RowIssue]]:
    """The mapped file's rows (with the engine's conversions), or the issues that stop
    reading it (unreadable file, missing columns)."""
    con = data.connect()
    try:
        try:
            src, _ = data.read_table(path, "upload", con)
        except InputError as e:
            return {}, [], list(e.issues)
        try:
            columns = list(src.types)
            mapping, issues = _resolve(columns, kind, mapping)
            if issues:
                return mapping, [], issues
            fields = list(mapping)
            select = ["_row"]
            for field in fields:
                header = mapping[field]
                select.append(f"NULLIF(trim(CAST({data.quote_ident(header)} AS VARCHAR)), '')")
            converted = [f for f in fields if f in DATE_FIELDS | MONEY_FIELDS]
            for field in converted:
                header, duck_type = mapping[field], src.types[mapping[field]]
                convert = data.date_sql if field in DATE_FIELDS else data.money_sql
                select.append(convert(header, duck_type))
            query = f"SELECT {', '.join(select)} FROM ({src.with_rows()}) ORDER BY _row"
            if limit is not None:
                query += f" LIMIT {int(limit)}"
            try:
                records = src.db.execute(query).fetchall()
            except duckdb.Error as e:
                first = str(e).strip().splitlines()[0]
                return (
                    mapping,
                    [],
                    [_issue(None, None, None, f"cannot be read: {first}", f"无法读取：{first}")],
                )
        finally:
            src.close()
    finally:
        con.disconnect()
    n = len(fields)
    rows = [
        _Row(
            int(r[0]),
            dict(zip(fields, r[1 : n + 1], strict=True)),
            dict(zip(converted, r[n + 1 :], strict=True)),
        )
        for r in records
    ]
    return mapping, rows, []


def preview(
    path: str | Path, kind: str, mapping: dict[str, str] | None = None, rows: int = 20
) -> list[dict[str, Any]]:
    """The first ``rows`` rows as ``{"row": n, field: cell text, ...}`` under ``mapping``
    (the suggested one when None). Raises :class:`ImportRejected` when the file cannot be
    read or a required column is missing."""
    _, found, issues = _read(path, kind, mapping, limit=rows)
    if issues:
        raise ImportRejected(None, issues)
    return [{"row": r.row, **r.text} for r in found]


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


def _existing_codes(codes: Iterable[str]) -> dict[str, int]:
    """Customer code → id for the codes that exist in the database."""
    codes = sorted(set(codes))
    found: dict[str, int] = {}
    for i in range(0, len(codes), BATCH):
        found.update(
            Customer.objects.filter(code__in=codes[i : i + BATCH]).values_list("code", "id")
        )
    return found


def _check_customers(rows: list[_Row], mapping: dict[str, str]):
    issues: list[RowIssue] = []
    code_col = mapping["code"]
    by_code: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        code = r.text["code"]
        if code is None:
            issues.append(_issue(r.row, code_col, None, "empty customer code", "客户编号为空"))
        else:
            by_code[code].append(r.row)
    for code, numbers in by_code.items():
        if len(numbers) > 1:
            for n in numbers:
                others = ", ".join(str(m) for m in numbers if m != n)
                issues.append(
                    _issue(
                        n,
                        code_col,
                        code,
                        f"duplicate customer code (also in row {others})",
                        f"客户编号重复（另见第 {others} 行）",
                    )
                )
    existing = _existing_codes(by_code)
    _too_long(rows, mapping, issues)
    users: dict[str, int] = {}
    if "owner" in mapping:
        names = {r.text["owner"] for r in rows if r.text["owner"] is not None}
        users = dict(
            get_user_model().objects.filter(username__in=names).values_list("username", "id")
        )
    for r in rows:
        code = r.text["code"]
        if code is not None and code not in existing and r.text.get("name") is None:
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
        if owner is not None and owner not in users:
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
    return issues, {"existing": existing, "users": users}


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


def _transaction_kind(r: _Row) -> Transaction.Kind | None:
    """The row's kind from its 类型 cell, else from the sign of the amount."""
    text = r.text.get("kind")
    if text is not None:
        return _KINDS.get(text.lower())
    amount = r.parsed.get("amount")
    if amount is not None and amount < 0:
        return Transaction.Kind.RETURN
    return Transaction.Kind.ORDER


def _check_transactions(rows: list[_Row], mapping: dict[str, str]):
    issues: list[RowIssue] = []
    existing = _existing_codes(r.text["customer_code"] for r in rows if r.text["customer_code"])
    _too_long(rows, mapping, issues)
    references: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in rows:
        code = r.text["customer_code"]
        if code is None:
            issues.append(
                _issue(r.row, mapping["customer_code"], None, "empty customer code", "客户编号为空")
            )
        elif code not in existing:
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
        amount = r.parsed["amount"]
        if amount is None:
            issues.append(_bad_amount(r, mapping["amount"], r.text["amount"]))
        cost = r.parsed.get("cost")
        if r.text.get("cost") is not None and cost is None:
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
        reference = r.text.get("reference")
        if code is not None and reference is not None:
            references[(code, reference)].append(r.row)
    for (_, reference), numbers in references.items():
        if len(numbers) > 1:
            for n in numbers:
                others = ", ".join(str(m) for m in numbers if m != n)
                issues.append(
                    _issue(
                        n,
                        mapping["reference"],
                        reference,
                        f"duplicate reference for this customer (also in row {others})",
                        f"同一客户的单号重复（另见第 {others} 行）",
                    )
                )
    return issues, {"existing": existing}


_CHECKS: dict[str, Callable] = {CUSTOMERS: _check_customers, TRANSACTIONS: _check_transactions}


def _check(path, kind, mapping):
    mapping, rows, issues = _read(path, kind, mapping)
    if issues:
        return mapping, rows, issues, {}
    if not rows:
        return (
            mapping,
            rows,
            [_issue(None, None, None, "the file has no rows", "文件没有数据行")],
            {},
        )
    issues, context = _CHECKS[kind](rows, mapping)
    issues.sort(key=lambda i: (i.row or 0, i.column or ""))
    return mapping, rows, issues, context


def validate(path: str | Path, kind: str, mapping: dict[str, str] | None = None) -> list[RowIssue]:
    """Every problem of the file under ``mapping`` (the suggested one when None), sorted by
    row: unreadable file, missing columns, then each bad cell with its row number as a
    spreadsheet shows it, its column header, its value and why (in English and Chinese).
    An empty list means :func:`import_customers`/:func:`import_transactions` will succeed."""
    return _check(path, kind, mapping)[2]


# --------------------------------------------------------------------------- importing


def _start(actor, path, kind, mapping, reason, file_name) -> tuple[ImportJob, Any]:
    mapping, rows, issues, context = _check(path, kind, mapping)
    job = ImportJob(
        kind=kind,
        file_name=(file_name or Path(path).name)[:255],
        uploaded_by=actor if actor is not None and actor.pk is not None else None,
        reason=reason or "",
        mapping=mapping,
        rows_total=len(rows),
    )
    if issues:
        # the failed attempt is kept (with every issue) for the import history; the data
        # and the audit log are not touched
        job.status = ImportJob.Status.FAILED
        job.errors = issues_as_json(issues)
        job.finished_at = timezone.now()
        job.save()
        raise ImportRejected(job, issues)
    job.status = ImportJob.Status.VALIDATED
    return job, (rows, context)


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


def import_customers(
    actor,
    path: str | Path,
    mapping: dict[str, str] | None = None,
    reason: str = "",
    *,
    file_name: str = "",
) -> ImportJob:
    """Create or update customers by code from the file, all or nothing.

    The whole file is validated first: with any bad row, nothing is imported and
    :class:`ImportRejected` carries every issue. Otherwise one transaction creates the new
    codes and updates the existing ones whose mapped, non-empty cells differ (an empty
    cell keeps the stored value; rows that change nothing are not written), in bulk
    batches, and records one audit entry with the counts."""
    job, (rows, context) = _start(actor, path, CUSTOMERS, mapping, reason, file_name)
    existing_ids = context["existing"]
    stored = {}
    ids = sorted(existing_ids.values())
    for i in range(0, len(ids), BATCH):
        stored.update({c.code: c for c in Customer.objects.filter(id__in=ids[i : i + BATCH])})
    new, changed, changed_fields = [], [], set()
    now = timezone.now()
    for r in rows:
        values = _customer_values(r, context["users"])
        customer = stored.get(r.text["code"])
        if customer is None:
            new.append(Customer(**values))
            continue
        diff = {k: v for k, v in values.items() if getattr(customer, k) != v}
        if diff:
            for k, v in diff.items():
                setattr(customer, k, v)
            customer.updated_at = now
            changed.append(customer)
            changed_fields.update(diff)
    with transaction.atomic():
        Customer.objects.bulk_create(new, batch_size=BATCH)
        if changed:
            Customer.objects.bulk_update(
                changed, sorted(changed_fields | {"updated_at"}), batch_size=BATCH
            )
        return _finish(
            actor, job, reason, len(new), len(changed), len(rows) - len(new) - len(changed)
        )


def import_transactions(
    actor,
    path: str | Path,
    mapping: dict[str, str] | None = None,
    reason: str = "",
    *,
    file_name: str = "",
) -> ImportJob:
    """Add transactions of existing customers from the file, all or nothing.

    Validated first like :func:`import_customers`. Amounts and costs are stored positive
    with the kind saying order or return (the engine negates returns when it reads them):
    a row is a return when its 类型 says 退货, or, without a 类型 column, when its amount
    is negative. A row with a reference (单号) updates that customer's transaction with
    the same reference if there is one; rows without a reference are always added."""
    job, (rows, context) = _start(actor, path, TRANSACTIONS, mapping, reason, file_name)
    ids = context["existing"]
    wanted = []
    for r in rows:
        cost = r.parsed.get("cost")
        wanted.append(
            (
                ids[r.text["customer_code"]],
                r.text.get("reference") or "",
                {
                    "date": r.parsed["date"],
                    "amount": abs(r.parsed["amount"]),
                    "cost": Decimal("0.00") if cost is None else abs(cost),
                    "kind": _transaction_kind(r).value,
                },
            )
        )
    with_reference = sorted({c for c, ref, _ in wanted if ref})
    stored: dict[tuple[int, str], Transaction] = {}
    for i in range(0, len(with_reference), BATCH):
        query = Transaction.objects.filter(customer_id__in=with_reference[i : i + BATCH])
        for t in query.exclude(reference="").order_by("-id"):
            stored[(t.customer_id, t.reference)] = t  # the oldest wins
    new, changed = [], []
    for customer_id, reference, values in wanted:
        existing = stored.get((customer_id, reference)) if reference else None
        if existing is None:
            new.append(Transaction(customer_id=customer_id, reference=reference, **values))
            continue
        diff = {k: v for k, v in values.items() if getattr(existing, k) != v}
        if diff:
            for k, v in diff.items():
                setattr(existing, k, v)
            changed.append(existing)
    with transaction.atomic():
        Transaction.objects.bulk_create(new, batch_size=BATCH)
        if changed:
            Transaction.objects.bulk_update(
                changed, ["date", "amount", "cost", "kind"], batch_size=BATCH
            )
        return _finish(
            actor, job, reason, len(new), len(changed), len(rows) - len(new) - len(changed)
        )


# --------------------------------------------------------------------------- exporting


def _export_rows(queryset: QuerySet[Customer] | None):
    """(headers, rows) of customers with their current tier under the primary rule set."""
    fields = list(FIELDS[CUSTOMERS])
    headers = [FIELDS[CUSTOMERS][f][0] for f in fields] + [TIER_HEADER]
    queryset = Customer.objects.all() if queryset is None else queryset
    primary = RuleSet.objects.filter(is_primary=True).first()
    if primary is not None:
        current = TierAssignment.objects.filter(
            customer=OuterRef("pk"), ruleset=primary, valid_to__isnull=True
        ).values("tier")[:1]
        queryset = queryset.annotate(_tier=Subquery(current))
    queryset = queryset.select_related("owner").order_by("code")

    def value(c: Customer, field: str):
        if field == "owner":
            return c.owner.get_username() if c.owner else ""
        return getattr(c, field)

    def rows():
        for c in queryset.iterator(chunk_size=2000):
            yield [*(value(c, f) for f in fields), getattr(c, "_tier", None) or ""]

    return headers, rows()


def _write_csv(headers, rows) -> Callable[[str], None]:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            out = csv.writer(f)
            out.writerow(headers)
            for row in rows:
                out.writerow(["" if v is None else v for v in row])

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
