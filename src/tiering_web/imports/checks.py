"""Checking every row of a mapped file before anything is written: customers (codes,
names, choices, owners, coefficients, dates), transactions and payments (a known
customer, a date and an amount), duplicates over the whole file."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import translation

from tiering.exceptions import RowIssue
from tiering_web.customers import domain as customer_domain
from tiering_web.customers import ledger
from tiering_web.customers.models import Customer, Transaction
from tiering_web.imports.fields import (
    _ALIASES,
    _CHOICES,
    _KINDS,
    _TEXT_LIMITS,
    CUSTOMERS,
    PAYMENTS,
    TRANSACTIONS,
)
from tiering_web.imports.issues import _issue
from tiering_web.imports.mapping import _Row, _Upload

#: Rows per database statement and per lookup of stored codes.
BATCH = 1000


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
        #: (customer, the fields the file changed) of every stored customer it updates,
        #: told to the integrations subscribed to customer.updated with the import
        self.updates: list[tuple[Customer, list[str]]] = []
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
    each (customer, reference) once in the file (a reference updates the stored payment
    with it: :mod:`tiering_web.customers.ledger`)."""

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
