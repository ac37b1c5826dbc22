"""The engine's view of the app's own database.

:func:`engine_inputs` opens an Ibis connection to the database Django uses (SQLite file or
PostgreSQL, from ``connections[alias].settings_dict``) and maps the app's tables to the
tables :func:`tiering.evaluate` reads, so the grading runs inside the database:

- customers: ``customers_customer`` -> ``customer_id`` and the classification attributes
  in :data:`~tiering_web.customers.models.ATTRIBUTES`, deactivated customers left out
  (with their transactions, payments and previous tiers: the engine never sees them);
- transactions: ``customers_transaction`` -> ``customer_id``, ``date``, ``amount`` and
  ``cost`` as ``decimal(18, 2)``, both negated for returns;
- payments: ``customers_payment`` -> ``customer_id``, ``date`` and ``amount`` as
  ``decimal(18, 2)`` (read by the engine only when a rule uses a payment metric);
- previous tiers (:func:`previous_table`): the open tier assignments of a rule set with
  their grace counts.

``customer_id`` is the customer's *code* by default (``key="code"``), as in the files the
command line grades: the engine breaks ties by ``customer_id`` (a Pareto rank among equal
values), so only the code gives the app the command line's tiers. Read out, the tables
leave the database by primary key (no join of ten million transactions to their
customers there) and are keyed by code in DuckDB; ``ids`` then maps codes back to primary
keys (:func:`by_primary_key`) for storing the results. ``key="id"`` gives the primary key
as text throughout.

On PostgreSQL the engine's whole query runs in the database, unless the caller asks for
``read_out=True``: the tables are then copied out (``COPY ... TO STDOUT``, parsed by
pyarrow) and graded in the engine's in-process DuckDB, which at a million customers and
ten million transactions is several times faster than PostgreSQL's single-process plan of
the same query (bench/app_evaluate.py); evaluations do this. On SQLite (development, the
demo, tests) the tables are always read out as Arrow and graded in DuckDB: the engine's
query nests subqueries deeper than SQLite's fixed parser stack allows once previous tiers
are joined ("parser stack overflow"), and SQLite keeps decimals as binary floats, whereas
DuckDB grades money as exact decimals.

The connection is separate from Django's, so it sees committed rows only: run
evaluations outside an open transaction.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connections

from tiering_web.customers.models import ATTRIBUTES, Customer, Payment, Transaction
from tiering_web.evaluations.models import TierAssignment

MONEY = "decimal(18, 2)"


@dataclass
class EngineInputs:
    """The app's tables, ready for :func:`tiering.evaluate`: Ibis tables over the app's
    database (PostgreSQL), or Arrow tables read from it (SQLite)."""

    con: ibis.BaseBackend
    customers: ir.Table | pa.Table
    transactions: ir.Table | pa.Table
    payments: ir.Table | pa.Table | None = None
    previous: ir.Table | pa.Table | None = None
    #: Read out keyed by code: each customer's code (``customer_id``) and primary key as
    #: text (``pk``), to key the results by primary key (:func:`by_primary_key`).
    ids: pa.Table | None = None


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


def _key(table: ir.Table, key: str) -> ir.StringValue:
    if key == "code":
        return table.code
    if key == "id":
        return table.id.cast("string")
    raise ValueError("key is 'code' or 'id'")


def _active(con: ibis.BaseBackend) -> ir.Table:
    """The customers table without the deactivated customers."""
    c = con.table(Customer._meta.db_table)
    return c.filter(c[Customer._meta.get_field("deactivated_at").column].isnull())


def customers_table(con: ibis.BaseBackend, key: str = "code") -> ir.Table:
    """Customers as the engine reads them: ``customer_id`` (the code, or the primary key
    as text with ``key="id"``) + attributes; deactivated customers left out."""
    c = _active(con)
    columns = {"customer_id": _key(c, key)}
    for name in ATTRIBUTES:
        column = c[Customer._meta.get_field(name).column]
        if name == "price_coefficient":
            column = column.cast("float64")
        columns[name] = column
    return c.select(**columns)


def _by_customer(con: ibis.BaseBackend, table: ir.Table, key: str, everyone: bool) -> ir.Table:
    """``table`` with ``_key``: its customer's code or its ``customer_id`` as text, only
    the rows of customers not deactivated (a join; with ``key="id"`` a semi-join, or none
    with ``everyone``: the caller drops them itself, see :func:`ids_table`)."""
    c = _active(con)
    if key == "id":
        if not everyone:
            table = table.semi_join(c, table.customer_id == c.id)
        return table.mutate(_key=table.customer_id.cast("string"))
    c = c.select(_cid=c.id, _key=_key(c, key))
    return table.join(c, table.customer_id == c._cid)


def transactions_table(
    con: ibis.BaseBackend, key: str = "code", everyone: bool = False
) -> ir.Table:
    """Transactions as the engine reads them: returns count negatively. Those of
    deactivated customers are left out, unless ``everyone`` (with ``key="id"``)."""
    joined = _by_customer(con, con.table(Transaction._meta.db_table), key, everyone)
    sign = ibis.ifelse(joined.kind == Transaction.Kind.RETURN.value, -1, 1)
    return joined.select(
        customer_id=joined._key,
        date=joined.date.cast("date"),
        amount=(joined.amount * sign).cast(MONEY),
        cost=(joined.cost * sign).cast(MONEY),
    )


def payments_table(con: ibis.BaseBackend, key: str = "code", everyone: bool = False) -> ir.Table:
    """Payments received as the engine reads them: ``customer_id``, ``date``, ``amount``
    (as :func:`transactions_table`, for deactivated customers and ``everyone``)."""
    joined = _by_customer(con, con.table(Payment._meta.db_table), key, everyone)
    return joined.select(
        customer_id=joined._key,
        date=joined.date.cast("date"),
        amount=joined.amount.cast(MONEY),
    )


def previous_table(con: ibis.BaseBackend, ruleset_id: int, key: str = "id") -> ir.Table:
    """The rule set's open tiers in the engine's ``previous`` form: ``customer_id`` (the
    primary key as text, or the code), ``tier`` and ``grace_count`` (copied into the tier
    assignment from the result that assigned it when it was published). One query over
    the tier assignments alone."""
    customer = "CAST(a.customer_id AS TEXT)" if key == "id" else "c.code"
    joins = "" if key == "id" else f"JOIN {Customer._meta.db_table} c ON c.id = a.customer_id"
    # (a deactivated customer has no open tier: its deactivation ended them)
    return con.sql(
        f"""SELECT {customer} AS customer_id, a.tier AS tier,
                   CAST(a.grace_count AS BIGINT) AS grace_count
            FROM {TierAssignment._meta.db_table} a
            {joins}
            WHERE a.ruleset_id = {int(ruleset_id)} AND a.valid_to IS NULL""",
        schema={"customer_id": "string", "tier": "string", "grace_count": "int64"},
    )


def _copy_out(con: ibis.BaseBackend, table: ir.Table) -> pa.Table:
    """``table`` computed by PostgreSQL and read out as Arrow with ``COPY ... TO STDOUT``
    (CSV parsed by pyarrow, many times faster than fetching rows through the driver)."""
    schema = table.schema().to_pyarrow()
    buffer = io.BytesIO()
    statement = f"COPY ({con.compile(table)}) TO STDOUT (FORMAT csv)"
    with con.con.cursor() as cursor, cursor.copy(statement) as copy:
        for data in copy:
            buffer.write(data)
    if not buffer.tell():
        return schema.empty_table()
    buffer.seek(0)
    return pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=schema.names),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=schema,
            true_values=["t"],
            false_values=["f"],
            # PostgreSQL writes NULL unquoted and an empty text as ""
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def _fetch(con: ibis.BaseBackend, table: ir.Table) -> pa.Table:
    return table.to_pyarrow()


def ids_table(con: ibis.BaseBackend) -> ir.Table:
    """Each active customer's code (``customer_id``) and primary key as text (``pk``):
    keying the transactions read out by primary key through it drops those of the
    deactivated customers."""
    c = _active(con)
    return c.select(customer_id=c.code, pk=c.id.cast("string"))


def _rekeyed(table: pa.Table, ids: pa.Table, old: str, new: str) -> pa.Table:
    """``table`` with its ``customer_id`` (the ``old`` column of ``ids``) replaced by the
    ``new`` one, joined in DuckDB: the ten million transactions of a large company leave
    the database by primary key, without a join to their customers there (the slow part),
    and are keyed by code here; the results go back the other way."""
    db = duckdb.connect()
    try:
        db.register("keyed", table)
        db.register("ids", ids)
        return db.sql(
            f"SELECT ids.{new} AS customer_id, keyed.* EXCLUDE (customer_id) "
            f"FROM keyed JOIN ids ON keyed.customer_id = ids.{old}"
        ).to_arrow_table()
    finally:
        db.close()


def by_primary_key(results: pa.Table, ids: pa.Table) -> pa.Table:
    """The engine's results (``customer_id`` the code) keyed by primary key as text."""
    return _rekeyed(results, ids, "customer_id", "pk")


@contextlib.contextmanager
def engine_inputs(
    alias: str = "default",
    *,
    want_payments: bool = True,
    key: str = "code",
    previous_of: int | None = None,
    read_out: bool = False,
) -> Iterator[EngineInputs]:
    """The engine's customers, transactions and payments over the app's database; the
    connection closes on exit, so compute the results inside the ``with`` block. On SQLite
    the payments are read out (as Arrow) only with ``want_payments``: pass whether the
    rules use a payment metric. ``key`` is what ``customer_id`` holds (``"code"`` or
    ``"id"``); ``previous_of`` (a rule set's id) adds its open tiers as ``previous`` (None
    when it has none, with their grace counts). With ``read_out``
    PostgreSQL's tables are read out too, for the engine to grade in DuckDB.

    On PostgreSQL every table is read in one ``REPEATABLE READ`` transaction: the
    customers, their transactions and the open tiers come from the same snapshot, so an
    import or a publication committed halfway through the reading (transactions of a
    customer the customers table does not have yet, tiers newer than the results) is
    either wholly seen or not at all. (On SQLite, Ibis commits after each query; the file
    is written by one writer at a time.)"""
    con = connect(alias)
    snapshot = con.name == "postgres"
    if snapshot:
        # the snapshot is taken at the first query; Ibis's own transactions nest in it
        con.con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    try:
        customers, transactions = customers_table(con, key), transactions_table(con, key)
        payments = payments_table(con, key)
        previous = None
        if previous_of is not None:
            previous = previous_table(con, previous_of, key)
        ids = None
        if con.name == "sqlite" or read_out:
            read = _copy_out if con.name == "postgres" else _fetch
            customers = read(con, customers)
            if key == "code":
                # out by primary key (no join in the database), then keyed by code here,
                # which drops the rows of deactivated customers (not in ``ids``)
                ids = read(con, ids_table(con))
                transactions = transactions_table(con, "id", everyone=True)
                payments = payments_table(con, "id", everyone=True)
                if previous_of is not None:
                    previous = previous_table(con, previous_of, "id")

            def arrow(table: ir.Table) -> pa.Table:
                out = read(con, table)
                return out if ids is None else _rekeyed(out, ids, "pk", "customer_id")

            transactions = arrow(transactions)
            payments = arrow(payments) if want_payments else None
            previous = arrow(previous) if previous is not None else None
            if previous is not None and not previous.num_rows:
                previous = None
        elif previous is not None and not previous.limit(1).count().execute():
            previous = None
        yield EngineInputs(con, customers, transactions, payments, previous, ids)
    finally:
        # drop the engine's cached (temporary) tables now: their finalizers would
        # otherwise run after the connection is closed
        for name in list(getattr(con, "_cache_name_to_entry", {})):
            con._finalize_cached_table(name)
        if snapshot:
            con.con.execute("COMMIT")  # only temporary tables were written
        con.disconnect()
