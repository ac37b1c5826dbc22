"""Per-customer metrics from transactions, as Ibis expressions (any backend).

Definitions (``as_of`` inclusive; transactions dated after it are ignored everywhere):

==================  =========================================================================
revenue             sum of amount in the window (returns are negative amounts); 0 if none
cost                sum of cost in the window; 0 if none
profit              revenue − cost
margin              profit / revenue; empty when revenue is 0
orders              number of transactions in the window
avg_order_value     revenue / orders; empty when orders is 0
active_months       distinct calendar months with a transaction in the window
recency_days        as_of − date of the last transaction (all history); empty if none
tenure_days         as_of − date of the first transaction; empty if none
lifetime_revenue    sum of amount over all history up to as_of
lifetime_orders     number of transactions over all history up to as_of
growth              revenue / revenue of the preceding window of the same length − 1;
                    empty when that revenue is 0 (needs a lookback)
payments            sum of the payments received (回款) in the window; 0 if none
collection_rate     payments / revenue; empty when revenue ≤ 0
receivables         what the customer owes at as_of: net revenue (orders less returns) of
                    all history up to as_of − all payments up to as_of; negative when
                    the customer paid ahead (prepaid); 0 if neither
receivables_turnover
                    revenue / receivables; empty when receivables ≤ 0. Days to collect
                    (DSO) ≈ the window's days / turnover: 4 over 12 months ≈ 91 days
attribute.NAME      the customers file's column NAME
==================  =========================================================================

The window is ``(as_of − lookback, as_of]``; without a lookback it is all history. Money
sums stay exact decimals; ratios are floats. The four payment metrics read a payments table
(``customer_id``, ``date``, ``amount``); payments dated after ``as_of`` count nowhere.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from tiering.periods import Period
from tiering.rules import PAYMENT_METRICS
from tiering.tables import join_on_customer

MONEY_TYPE = "decimal(38, 2)"
INPUT_MONEY = "decimal(18, 2)"
#: Metrics that are never empty (0 when a customer has no transactions).
NEVER_EMPTY = frozenset(
    {
        "revenue",
        "cost",
        "profit",
        "orders",
        "lifetime_revenue",
        "lifetime_orders",
        "active_months",
        "payments",
        "receivables",
    }
)
#: The payment metrics that need all history up to as_of (what is still owed).
_OUTSTANDING = frozenset({"receivables", "receivables_turnover"})


def window_bounds(as_of: dt.date, lookback: Period | None):
    """``(start, previous_start)`` of the window and of the one before it (exclusive starts),
    or ``(None, None)`` for all history."""
    if lookback is None:
        return None, None
    return lookback.before(as_of), lookback.before(as_of, 2)


def aggregate_transactions(
    transactions: ir.Table,
    *,
    as_of: dt.date,
    lookback: Period | None = None,
    needed: set[str] | frozenset[str] = frozenset(),
    null_counts: tuple[str, ...] | list[str] = (),
) -> ir.Table:
    """One row per ``customer_id`` found in ``transactions`` (whether or not it is a known
    customer) with the sums behind the metrics; transactions after ``as_of`` count nowhere.

    Every transaction is grouped, none filtered out first, so that the same pass also tells
    which ids are unknown (see :func:`tiering.evaluation.evaluate`), and, for each column
    of ``null_counts``, how many of the customer's rows leave it empty (``_null_<column>``;
    rows with no customer id form the group whose id is empty): the input checks of a file
    read in place, without a pass of their own.
    """
    start, prev_start = window_bounds(as_of, lookback)
    t = transactions
    # decimals stay as they are (DECIMAL(18, 2) sums in 64-bit integers, much faster than
    # DECIMAL(38, 2)); floats become exact cents first
    money = {
        c: t[c] if t[c].type().is_decimal() else t[c].cast(INPUT_MONEY) for c in ("amount", "cost")
    }
    t = t.mutate(**money)
    upto = t.date <= ibis.literal(as_of)
    in_window = (upto & (t.date > ibis.literal(start))) if start is not None else upto

    aggs = {
        "revenue": t.amount.sum(where=in_window),
        "cost": t.cost.sum(where=in_window),
        "orders": t.count(where=in_window),
    }
    if "recency_days" in needed:
        aggs["_last"] = t.date.max(where=upto)
    if "tenure_days" in needed:
        aggs["_first"] = t.date.min(where=upto)
    if "lifetime_revenue" in needed or needed & _OUTSTANDING:
        aggs["lifetime_revenue"] = t.amount.sum(where=upto)
    if "lifetime_orders" in needed:
        aggs["lifetime_orders"] = t.count(where=upto)
    if "growth" in needed and start is not None:
        in_prev = (t.date > ibis.literal(prev_start)) & (t.date <= ibis.literal(start))
        aggs["_prev_revenue"] = t.amount.sum(where=in_prev)
    if "active_months" in needed:
        month = t.date.year() * 12 + t.date.month()
        aggs["active_months"] = month.nunique(where=in_window)
    aggs.update(_null_counts(t, null_counts))
    return t.group_by("customer_id").aggregate(**aggs)


def _null_counts(table: ir.Table, columns) -> dict[str, ir.IntegerScalar]:
    return {f"_null_{c}": table.count(where=table[c].isnull()) for c in columns}


def _window_filters(date: ir.DateValue, as_of: dt.date, lookback: Period | None):
    """``(up to as_of, in the window)`` conditions on a date column."""
    start, _ = window_bounds(as_of, lookback)
    upto = date <= ibis.literal(as_of)
    return upto, (upto & (date > ibis.literal(start))) if start is not None else upto


def aggregate_payments(
    payments: ir.Table,
    *,
    as_of: dt.date,
    lookback: Period | None = None,
    null_counts: tuple[str, ...] | list[str] = (),
) -> ir.Table:
    """One row per ``customer_id`` found in ``payments`` with ``_paid_window`` (received in
    the window) and ``_paid_total`` (received up to ``as_of``); payments dated after
    ``as_of`` count nowhere. Every row is grouped, so the same pass tells the unknown ids
    (and counts the empty cells of ``null_counts``, as :func:`aggregate_transactions`).
    """
    p = payments
    if not p.amount.type().is_decimal():
        p = p.mutate(amount=p.amount.cast(INPUT_MONEY))
    upto, in_window = _window_filters(p.date, as_of, lookback)
    return p.group_by("customer_id").aggregate(
        _paid_window=p.amount.sum(where=in_window),
        _paid_total=p.amount.sum(where=upto),
        **_null_counts(p, null_counts),
    )


def compute_metrics(
    customers: ir.Table,
    transactions: ir.Table,
    *,
    as_of: dt.date,
    lookback: Period | None = None,
    needed: set[str] | frozenset[str] = frozenset(),
    per_customer: ir.Table | None = None,
    payments: ir.Table | None = None,
    per_customer_payments: ir.Table | None = None,
) -> ir.Table:
    """One row per customer of ``customers`` with the metrics in ``needed`` (always revenue,
    cost, profit and orders) and every customer attribute.

    Parameters
    ----------
    customers
        ``customer_id`` plus attribute columns.
    transactions
        ``customer_id``, ``date`` (date), ``amount`` and ``cost`` (decimals or numbers).
    as_of
        The evaluation date; later transactions are ignored.
    lookback
        The window length; None for all history.
    needed
        Metric names (see the module docstring) to compute besides the base four.
    per_customer
        The result of :func:`aggregate_transactions` when already computed.
    payments
        ``customer_id``, ``date``, ``amount`` of the payments received; required when
        ``needed`` names a payment metric (:data:`tiering.rules.PAYMENT_METRICS`).
    per_customer_payments
        The result of :func:`aggregate_payments` when already computed.

    Examples
    --------
    >>> import ibis, datetime as dt
    >>> c = ibis.memtable({"customer_id": ["a", "b"]})
    >>> t = ibis.memtable({"customer_id": ["a", "a"], "date": [dt.date(2026, 1, 5),
    ...     dt.date(2026, 3, 1)], "amount": [100.0, -20.0], "cost": [60.0, -12.0]})
    >>> m = compute_metrics(c, t, as_of=dt.date(2026, 6, 30), needed={"recency_days"})
    >>> m.order_by("customer_id").select("customer_id", "revenue", "profit", "orders",
    ...     "recency_days").to_pyarrow().to_pylist()[0]["profit"]
    Decimal('32.00')
    """
    needed = set(needed)
    start, _ = window_bounds(as_of, lookback)
    if per_customer is None:
        per_customer = aggregate_transactions(
            transactions, as_of=as_of, lookback=lookback, needed=needed
        )
    joined = join_on_customer(customers, per_customer)
    paying = needed & PAYMENT_METRICS
    if paying:
        if per_customer_payments is None:
            if payments is None:
                raise ValueError(f"{', '.join(sorted(paying))} need the payments table")
            per_customer_payments = aggregate_payments(payments, as_of=as_of, lookback=lookback)
        joined = join_on_customer(joined, per_customer_payments)
    zero = ibis.literal(0).cast(MONEY_TYPE)
    revenue = joined.revenue.fill_null(zero)
    cost_total = joined.cost.fill_null(zero)
    orders = joined.orders.fill_null(0)
    out = {
        "revenue": revenue,
        "cost": cost_total,
        "profit": (revenue - cost_total).cast(MONEY_TYPE),
        "orders": orders,
    }
    as_of_lit = ibis.literal(as_of)
    if "margin" in needed:
        out["margin"] = ibis.ifelse(
            revenue != 0, (revenue - cost_total).cast("float64") / revenue.cast("float64"), None
        )
    if "avg_order_value" in needed:
        out["avg_order_value"] = ibis.ifelse(
            orders > 0, revenue.cast("float64") / orders.cast("float64"), None
        )
    if "active_months" in needed:
        out["active_months"] = joined.active_months.fill_null(0)
    if "recency_days" in needed:
        out["recency_days"] = as_of_lit.delta(joined._last, unit="day")
    if "tenure_days" in needed:
        out["tenure_days"] = as_of_lit.delta(joined._first, unit="day")
    if "lifetime_revenue" in needed:
        out["lifetime_revenue"] = joined.lifetime_revenue.fill_null(zero)
    if "lifetime_orders" in needed:
        out["lifetime_orders"] = joined.lifetime_orders.fill_null(0)
    if "growth" in needed:
        if start is not None:
            prev = joined._prev_revenue.fill_null(zero)
            out["growth"] = ibis.ifelse(
                prev != 0, revenue.cast("float64") / prev.cast("float64") - 1, None
            )
        else:
            out["growth"] = ibis.null("float64")
    if paying:
        out.update(_payment_metrics(joined, revenue, paying))
    attributes = [c for c in customers.columns if c != "customer_id"]
    return joined.select("customer_id", *[joined[c] for c in attributes], **out)


def _payment_metrics(
    joined: ir.Table, revenue: ir.NumericValue, needed: set[str]
) -> dict[str, ir.Value]:
    """The payment metrics in ``needed`` over the customers joined to their transaction
    and payment sums (see the module docstring for the definitions)."""
    zero = ibis.literal(0).cast(MONEY_TYPE)
    paid = joined._paid_window.fill_null(zero).cast(MONEY_TYPE)
    out: dict[str, ir.Value] = {}
    if "payments" in needed:
        out["payments"] = paid
    if "collection_rate" in needed:
        out["collection_rate"] = ibis.ifelse(
            revenue > 0, paid.cast("float64") / revenue.cast("float64"), ibis.null("float64")
        )
    if needed & _OUTSTANDING:
        billed = joined.lifetime_revenue.fill_null(zero)
        owed = (billed - joined._paid_total.fill_null(zero)).cast(MONEY_TYPE)
        if "receivables" in needed:
            out["receivables"] = owed
        if "receivables_turnover" in needed:
            out["receivables_turnover"] = ibis.ifelse(
                owed > 0, revenue.cast("float64") / owed.cast("float64"), ibis.null("float64")
            )
    return out
