"""The all-or-nothing imports of customers, transactions and payments received.

An import validates the whole file first and writes nothing unless every row is good;
then it writes all rows in one transaction with bulk statements, one audit entry and its
:class:`~tiering_web.imports.models.ImportJob`. The checking (most of the time) runs
outside any transaction; only the writing holds one. A ``progress`` callback hears of both
phases: that is how the background task (:mod:`tiering_web.imports.tasks`) shows real
progress.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from tiering_web.accountwork.services import record_ownership_changes
from tiering_web.audit.services import record
from tiering_web.customers import ledger
from tiering_web.customers.models import Customer, Payment, Transaction
from tiering_web.imports.checks import (
    BATCH,
    WRITING,
    Progress,
    _check_upload,
    _choice,
    _coefficient,
    _CustomerCheck,
    _LedgerCheck,
    _PaymentCheck,
    _transaction_kind,
    _TransactionCheck,
)
from tiering_web.imports.fields import _CHOICES, CUSTOMERS, PAYMENTS, TRANSACTIONS
from tiering_web.imports.issues import ImportRejected, issues_as_json
from tiering_web.imports.mapping import _Row, _Upload
from tiering_web.imports.models import ImportJob
from tiering_web.notifications import events


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
            checker.updates.append((customer, [k.removesuffix("_id") for k in diff]))
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
            if kind == CUSTOMERS and checker.updates:
                # the integrations hear of the import's changes as of any other (inside
                # its all-or-nothing transaction)
                events.queue(
                    [
                        m
                        for c, f in checker.updates
                        for m in events.customer_updated_events(c, f, actor)
                    ]
                )
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
