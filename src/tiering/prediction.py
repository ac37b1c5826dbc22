"""Predicted metrics for rule files: ``clv``, ``p_alive`` and ``expected_orders``.

The engine summarises each customer's purchases the way the buy-till-you-die literature
does (Fader, Hardie & Lee 2005), as an Ibis expression so it runs where the data lives:

- purchases are the days with a positive net amount (returns are left out: they are not
  purchase occasions, and the spend model needs positive values);
- ``frequency`` = purchase days − 1 (repeat purchases), ``recency`` = last − first purchase
  day, ``T`` = as_of − first purchase day, both in weeks (days / 7);
- ``monetary_value`` = mean net amount of the repeat purchase days (0 without repeats).

The small per-customer summary is then fitted in NumPy (:mod:`tiering.clv`): BG/NBD (or
Pareto/NBD) for purchases and Gamma-Gamma for spend, and the predictions are joined back:

- ``p_alive``: probability the customer is still active;
- ``expected_orders``: expected purchase days within the ``clv.horizon``;
- ``clv``: expected discounted margin within the horizon
  (see :func:`tiering.clv.customer_lifetime_value`).

Customers who never bought have no prediction (empty values).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tiering.rules import CLVSettings
from tiering.tables import join_on_customer

WEEK_DAYS = 7.0


def purchase_summary(transactions: ir.Table, *, as_of: dt.date) -> ir.Table:
    """Per customer with a purchase up to ``as_of``: frequency, recency, T (weeks) and
    monetary_value, as defined in the module docstring."""
    t = transactions.filter(transactions.date <= ibis.literal(as_of))
    days = t.group_by(["customer_id", "date"]).aggregate(total=t.amount.sum())
    days = days.filter(days.total > 0)
    first = days.date.min().over(group_by=days.customer_id)
    days = days.mutate(_first_day=days.date == first)
    per = days.group_by("customer_id").aggregate(
        _n=days.count(),
        _first=days.date.min(),
        _last=days.date.max(),
        _sum=days.total.sum(),
        _first_total=days.total.sum(where=days._first_day),
    )
    as_of_lit = ibis.literal(as_of)
    frequency = per._n - 1
    repeat = (per._sum - per._first_total).cast("float64")
    return per.select(
        "customer_id",
        frequency=frequency,
        recency=per._last.delta(per._first, unit="day").cast("float64") / WEEK_DAYS,
        T=as_of_lit.delta(per._first, unit="day").cast("float64") / WEEK_DAYS,
        monetary_value=ibis.ifelse(frequency > 0, repeat / frequency.cast("float64"), 0.0),
    )


def fit_models(summary: pa.Table, settings: CLVSettings):
    """The purchase model (BG/NBD or Pareto/NBD) and the Gamma-Gamma spend model, fitted on
    ``summary`` (Arrow, from :func:`purchase_summary`)."""
    from tiering import clv

    x, t_x, big_t, m = _arrays(summary)
    model_class = clv.ParetoNBDModel if settings.model == "paretonbd" else clv.BetaGeoModel
    model = model_class().fit(x, t_x, big_t)
    repeat = x > 0
    spend = clv.GammaGammaModel().fit(x[repeat], m[repeat])
    return model, spend


def _arrays(summary: pa.Table):
    import numpy as np

    return [
        np.asarray(summary.column(c).to_numpy(zero_copy_only=False), dtype=float)
        for c in ("frequency", "recency", "T", "monetary_value")
    ]


def predict(summary: pa.Table, settings: CLVSettings, models=None) -> pa.Table:
    """``summary`` with ``p_alive, expected_orders, expected_spend, clv`` added; the models
    are fitted unless given as ``(purchase_model, spend_model)``."""
    import numpy as np

    from tiering import clv

    model, spend = models or fit_models(summary, settings)
    x, t_x, big_t, m = _arrays(summary)
    horizon_weeks = settings.horizon.approx_days / WEEK_DAYS
    months = max(1, round(settings.horizon.approx_days / 30.436875))
    value = clv.customer_lifetime_value(
        model,
        spend,
        x,
        t_x,
        big_t,
        m,
        horizon_months=months,
        margin=settings.margin,
        discount_rate=settings.discount,
        time_unit_days=WEEK_DAYS,
    )
    # Gamma-Gamma gives the population mean spend to customers without repeat purchases
    columns = {
        "p_alive": model.p_alive(x, t_x, big_t),
        "expected_orders": model.expected_purchases(horizon_weeks, x, t_x, big_t),
        "expected_spend": spend.expected_spend(x, m),
        "clv": value,
    }
    for name, values in columns.items():
        summary = summary.append_column(name, pa.array(np.asarray(values, dtype=float)))
    return summary


def add_predictions(
    metrics: ir.Table,
    transactions: ir.Table,
    *,
    as_of: dt.date,
    settings: CLVSettings,
    needed: set[str],
) -> ir.Table:
    """``metrics`` with the predicted metrics in ``needed`` joined on."""
    summary = purchase_summary(transactions, as_of=as_of).to_pyarrow()
    predictions = predict(summary, settings).select(["customer_id", *sorted(needed)])
    return join_on_customer(metrics, ibis.memtable(predictions))


def predict_customers(
    customers,
    transactions,
    *,
    as_of: dt.date,
    settings: CLVSettings | None = None,
    columns=(),
):
    """Predictions for every customer of the files (``tiering clv``).

    Returns ``(table, purchase_model, spend_model)``: the table has one row per customer,
    highest CLV first, with ``frequency, recency, T, monetary_value, p_alive,
    expected_orders, expected_spend, clv`` (empty for customers who never bought).
    """
    from tiering.data import read_inputs

    settings = settings or CLVSettings()
    inputs = read_inputs(customers, transactions, columns=columns)
    summary = purchase_summary(inputs.transactions, as_of=as_of).to_pyarrow()
    models = fit_models(summary, settings)
    predictions = ibis.memtable(predict(summary, settings, models))
    table = join_on_customer(inputs.customers.select("customer_id"), predictions)
    table = table.order_by([ibis.desc(table.clv), table.customer_id])
    return table.to_pyarrow(), models[0], models[1]
