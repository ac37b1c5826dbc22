"""Exporting customers with their current tiers: a file (CSV or .xlsx) whose headers the
import recognises, or the rows of the web export, streamed as CSV or written as .xlsx."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery

from tiering import cells
from tiering.output import write_atomically
from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import TierAssignment
from tiering_web.imports.fields import CUSTOMERS, FIELDS
from tiering_web.rulesets.models import RuleSet

#: Header of the exported current tier (under the primary rule set).
TIER_HEADER = "当前等级"


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
