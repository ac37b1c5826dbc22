"""The engine's view of the app's own database.

:func:`engine_inputs` opens an Ibis connection to the database Django uses (SQLite file or
PostgreSQL, from ``connections[alias].settings_dict``) and maps the app's tables to the
tables :func:`tiering.evaluate` reads, so the grading runs inside the database:

- customers: ``customers_customer`` -> ``customer_id`` (the customer *code*) and the
  classification attributes in :data:`~tiering_web.customers.models.ATTRIBUTES`;
- transactions: ``customers_transaction`` joined to its customer -> ``customer_id`` (the
  code), ``date``, ``amount`` and ``cost`` as ``decimal(18, 2)``, both negated for returns;
- payments: ``customers_payment`` joined to its customer -> ``customer_id`` (the code),
  ``date`` and ``amount`` as ``decimal(18, 2)`` (read by the engine only when a rule uses
  a payment metric).

On PostgreSQL the engine's whole query runs in the database. On SQLite (development, the
demo, tests) the tables are read out as Arrow and graded in the engine's in-process
DuckDB instead: the engine's query nests subqueries deeper than SQLite's fixed parser
stack allows once previous tiers are joined ("parser stack overflow"), and SQLite keeps
decimals as binary floats, whereas DuckDB grades money as exact decimals.

The connection is separate from Django's, so it sees committed rows only: run
evaluations outside an open transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from django.db import connections

from tiering_web.customers.models import ATTRIBUTES, Customer, Payment, Transaction

MONEY = "decimal(18, 2)"


@dataclass
class EngineInputs:
    """The app's tables, ready for :func:`tiering.evaluate`: Ibis tables over the app's
    database (PostgreSQL), or Arrow tables read from it (SQLite)."""

    con: ibis.BaseBackend
    customers: ir.Table | pa.Table
    transactions: ir.Table | pa.Table
    payments: ir.Table | pa.Table | None = None


def connect(alias: str = "default") -> ibis.BaseBackend:
    """A new Ibis connection to the database behind the Django connection ``alias``."""
    connection = connections[alias]
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return ibis.sqlite.connect(settings["NAME"])
    if connection.vendor == "postgresql":
        options = settings.get("OPTIONS") or {}
        kwargs = {
            "host": settings.get("HOST") or None,
            "port": int(settings["PORT"]) if settings.get("PORT") else None,
            "user": settings.get("USER") or None,
            "password": settings.get("PASSWORD") or None,
            "database": settings["NAME"],
        }
        if options.get("sslmode"):
            kwargs["sslmode"] = options["sslmode"]
        return ibis.postgres.connect(**{k: v for k, v in kwargs.items() if v is not None})
    raise NotImplementedError(f"evaluations do not support the {connection.vendor} database")


def customers_table(con: ibis.BaseBackend) -> ir.Table:
    """Customers as the engine reads them: ``customer_id`` (the code) + attributes."""
    c = con.table(Customer._meta.db_table)
    columns = {"customer_id": c.code}
    for name in ATTRIBUTES:
        column = c[Customer._meta.get_field(name).column]
        if name == "price_coefficient":
            column = column.cast("float64")
        columns[name] = column
    return c.select(**columns)


def transactions_table(con: ibis.BaseBackend) -> ir.Table:
    """Transactions as the engine reads them: returns count negatively."""
    t = con.table(Transaction._meta.db_table)
    c = con.table(Customer._meta.db_table).select(_cid="id", _code="code")
    joined = t.join(c, t.customer_id == c._cid)
    sign = ibis.ifelse(joined.kind == Transaction.Kind.RETURN.value, -1, 1)
    return joined.select(
        customer_id=joined._code,
        date=joined.date.cast("date"),
        amount=(joined.amount * sign).cast(MONEY),
        cost=(joined.cost * sign).cast(MONEY),
    )


def payments_table(con: ibis.BaseBackend) -> ir.Table:
    """Payments received as the engine reads them: ``customer_id`` (the code), ``date``,
    ``amount``."""
    p = con.table(Payment._meta.db_table)
    c = con.table(Customer._meta.db_table).select(_cid="id", _code="code")
    joined = p.join(c, p.customer_id == c._cid)
    return joined.select(
        customer_id=joined._code,
        date=joined.date.cast("date"),
        amount=joined.amount.cast(MONEY),
    )


@contextlib.contextmanager
def engine_inputs(alias: str = "default", *, want_payments: bool = True) -> Iterator[EngineInputs]:
    """The engine's customers, transactions and payments over the app's database; the
    connection closes on exit, so compute the results inside the ``with`` block. On SQLite
    the payments are read out (as Arrow) only with ``want_payments``: pass whether the
    rules use a payment metric."""
    con = connect(alias)
    try:
        customers, transactions = customers_table(con), transactions_table(con)
        payments = payments_table(con)
        if con.name == "sqlite":
            customers, transactions = customers.to_pyarrow(), transactions.to_pyarrow()
            payments = payments.to_pyarrow() if want_payments else None
        yield EngineInputs(con, customers, transactions, payments)
    finally:
        # drop the engine's cached (temporary) tables now: their finalizers would
        # otherwise run after the connection is closed
        for name in list(getattr(con, "_cache_name_to_entry", {})):
            con._finalize_cached_table(name)
        con.disconnect()
