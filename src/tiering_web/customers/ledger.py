"""The ledger: the one way transactions and payments are written, whoever writes them.

The API (``POST /api/transactions/bulk``), the file import (customers' transactions and
payments received, step by step in one transaction) and the demo company all come here:

* :func:`entry_kind` is the one rule for an entry's kind: a kind the row names wins,
  otherwise a negative amount is a return. Amounts and costs are stored positive (the
  engine counts a return negatively).
* A row with a reference updates the customer's entry with that reference, if there is
  one; a row without a reference is always a new entry. The database holds at most one
  entry per (customer, reference) where a reference is given (a unique constraint), so
  "which one" is never a question.
* :func:`write_transactions` / :func:`write_payments` write a batch (new entries with
  ``COPY`` on PostgreSQL and one ``executemany`` on SQLite, changed ones with one bulk
  update) and count what they created and updated; they must run inside the caller's
  transaction, whose service records who wrote and why. :func:`do_upsert_transactions` /
  :func:`do_upsert_payments` are those services for rows that come in one piece (the
  API): all or nothing, one audit entry for the batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from django.db import connections, router, transaction
from django.db.models import Model

from tiering_web.audit.services import record
from tiering_web.customers.models import Customer, Payment, Transaction

#: Rows looked up or written per query.
BATCH = 5000


class TransactionRow(NamedTuple):
    """One transaction to write: the customer's id, its reference ("" for none), its date,
    amount and cost (positive) and kind (``order``/``return``)."""

    customer_id: int
    reference: str
    date: dt.date
    amount: Decimal
    cost: Decimal
    kind: str


class PaymentRow(NamedTuple):
    """One payment received to write: the customer's id, its reference ("" for none), its
    date and amount."""

    customer_id: int
    reference: str
    date: dt.date
    amount: Decimal


def entry_kind(kind: str | None, amount: Decimal | None) -> str:
    """An entry's kind: ``kind`` when the row names one (``order``/``return``), otherwise
    ``return`` for a negative amount and ``order`` for any other."""
    if kind:
        return kind
    return Transaction.Kind.RETURN if amount is not None and amount < 0 else Transaction.Kind.ORDER


def transaction_row(
    customer_id: int,
    reference: str | None,
    date: dt.date,
    amount: Decimal,
    cost: Decimal | None = None,
    kind: str | None = None,
) -> TransactionRow:
    """A :class:`TransactionRow` by the ledger's rules: the kind by :func:`entry_kind`,
    amount and cost positive, no cost as 0."""
    cost = Decimal("0.00") if cost is None else abs(cost)
    return TransactionRow(
        customer_id, reference or "", date, abs(amount), cost, entry_kind(kind, amount)
    )


def _stored(model: type[Model], rows: Sequence[tuple]) -> dict[tuple[int, str], Model]:
    """The stored entries of ``model`` that the rows' (customer, reference) pairs name."""
    referenced = sorted({(r[0], r[1]) for r in rows if r[1]})
    found: dict[tuple[int, str], Model] = {}
    for i in range(0, len(referenced), BATCH):
        chunk = referenced[i : i + BATCH]
        query = model._default_manager.filter(
            customer_id__in={c for c, _ in chunk}, reference__in={ref for _, ref in chunk}
        )
        found.update({(e.customer_id, e.reference): e for e in query})
    return found


def _insert(model: type[Model], names: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """INSERT ``rows`` (values in the order of ``names``) with ``COPY`` on PostgreSQL and one
    prepared statement (``executemany``) elsewhere: the ORM's ``bulk_create`` builds and
    adapts every value of a million rows in Python, four to ten times slower. Values are
    adapted by the backend's own operations, as the ORM would."""
    connection = connections[router.db_for_write(model)]
    ops, meta = connection.ops, model._meta
    adapt = []
    for name in names:
        field = meta.get_field(name)
        if field.get_internal_type() == "DateField":
            adapt.append(ops.adapt_datefield_value)
        elif field.get_internal_type() == "DecimalField":
            adapt.append(lambda v, f=field: ops.adapt_decimalfield_value(v, f.max_digits, 2))
        else:
            adapt.append(lambda v: v)
    params = [tuple(a(v) for a, v in zip(adapt, row, strict=True)) for row in rows]
    if not params:
        return
    table = ops.quote_name(meta.db_table)
    columns = ", ".join(ops.quote_name(meta.get_field(n).column) for n in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY (psycopg 3): in the same transaction, ten times faster than executemany
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(names))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", params)


def _write(
    model: type[Model], rows: Sequence[tuple], fields: tuple[str, ...], lookup: bool
) -> tuple[int, int]:
    """Write ``rows`` (``customer_id, reference, *fields``): new entries inserted, the
    entries the references name updated where a value differs. (created, updated)."""
    stored = _stored(model, rows) if lookup else {}
    new, changed = [], []
    for row in rows:
        existing = stored.get((row[0], row[1])) if row[1] else None
        if existing is None:
            new.append(row)
            continue
        values = dict(zip(fields, row[2:], strict=True))
        if any(getattr(existing, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(existing, k, v)
            changed.append(existing)
    _insert(model, ("customer_id", "reference", *fields), new)
    if changed:
        model._default_manager.bulk_update(changed, list(fields), batch_size=BATCH)
    return len(new), len(changed)


def write_transactions(rows: Sequence[TransactionRow], lookup: bool = True) -> tuple[int, int]:
    """Write a batch of transactions (see the module's docstring): (created, updated).
    Inside the caller's transaction; a batch names each (customer, reference) once.
    ``lookup=False`` when the caller knows that none of the customers has an entry with a
    reference yet (an import's first file), to skip looking them up."""
    return _write(Transaction, rows, TransactionRow._fields[2:], lookup)


def write_payments(rows: Sequence[PaymentRow], lookup: bool = True) -> tuple[int, int]:
    """Write a batch of payments received (see :func:`write_transactions`)."""
    return _write(Payment, rows, PaymentRow._fields[2:], lookup)


def _codes(customer_ids: Iterable[int]) -> list[str]:
    ids = sorted(set(customer_ids))
    return sorted(Customer.objects.filter(pk__in=ids).values_list("code", flat=True))


def _upsert(actor, what: str, write, rows: Sequence[tuple], reason: str, source: str):
    with transaction.atomic():
        created, updated = write(rows)
        record(
            actor,
            f"{what}.upsert",
            None,
            reason,
            source=source,
            created=created,
            updated=updated,
            unchanged=len(rows) - created - updated,
            customers=_codes(r[0] for r in rows),
        )
    return created, updated


def do_upsert_transactions(
    actor, rows: Sequence[TransactionRow], reason: str, source: str = "api"
) -> tuple[int, int]:
    """Create or update transactions (see the module's docstring), all or nothing, with
    one audit entry for the batch naming ``source`` and the customers: (created,
    updated). The rows' customers must already be checked for the actor."""
    return _upsert(actor, "transaction", write_transactions, rows, reason, source)


def do_upsert_payments(
    actor, rows: Sequence[PaymentRow], reason: str, source: str = "api"
) -> tuple[int, int]:
    """:func:`do_upsert_transactions` for payments received."""
    return _upsert(actor, "payment", write_payments, rows, reason, source)
