"""Customer lifetime value over a horizon: expected purchases × expected spend, discounted.

For a customer with summary (x, t_x, T, m), a purchase model (BG/NBD, MBG/NBD or
Pareto/NBD) giving the cumulative conditional expectation ``E[Y(t) | x, t_x, T]`` and a
spend model (Gamma-Gamma) giving ``E[M | x, m]``:

    CLV = Σ_{k=1}^{H} margin · E[M | x, m] · (E[Y(k·u) | …] − E[Y((k−1)·u) | …]) / (1+d)^k

with H = ``horizon_months``, d the monthly ``discount_rate`` and u the length of a month
in the models' time unit, ``u = 30.436875 / time_unit_days`` (a mean Gregorian month,
365.2425 / 12 days). Purchases in month k are discounted as if paid at the end of the
month. This is the discrete form of Fader, Hardie & Lee (2005, "RFM and CLV") with a
finite horizon, as in lifetimes' ``customer_lifetime_value``, except that lifetimes'
month is 4.345 weeks or 30 days.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tiering.clv import _base
from tiering.clv.errors import ModelError

#: Days in a month (mean Gregorian month).
MONTH_DAYS = 365.2425 / 12


def customer_lifetime_value(
    model: Any,
    spend_model: Any,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any,
    *,
    horizon_months: int = 12,
    margin: float = 1.0,
    discount_rate: float = 0.01,
    time_unit_days: float = 7.0,
) -> Any:
    """Expected discounted margin of each customer over the next ``horizon_months``.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A fitted purchase model (anything with ``expected_purchases(t, x, t_x, T)``).
    spend_model : GammaGammaModel
        A fitted spend model (anything with ``expected_spend(x, m)``).
    frequency, recency, T, monetary_value : array-like
        The customers' summaries (recency and T in the purchase model's unit).
    horizon_months : int, default 12
        Months ahead, >= 1.
    margin : float, default 1.0
        Share of revenue that is profit (1.0: the value is revenue).
    discount_rate : float, default 0.01
        Monthly discount rate d (> -1); month k is discounted by (1 + d)^k.
    time_unit_days : float, default 7.0
        Days in one unit of recency and T (7 for weeks, 1 for days).

    Returns
    -------
    ndarray, pandas.Series or float
        One value per customer, in the currency of ``monetary_value``.

    Raises
    ------
    ModelError
        Invalid data or settings; NotFittedError if a model is not fitted.

    Notes
    -----
    ``CLV = Σ_k margin · E[M] · (E[Y(k u)] − E[Y((k−1) u)]) / (1+d)^k``, with u a month
    of 30.436875 days expressed in the model's unit; see the module docstring.
    """
    if isinstance(horizon_months, bool) or int(horizon_months) != horizon_months:
        raise ModelError(
            f"horizon_months must be a whole number (got {horizon_months!r})",
            f"horizon_months 必须是整数（实际为 {horizon_months!r}）",
        )
    horizon = int(horizon_months)
    if horizon < 1:
        raise ModelError(
            f"horizon_months must be at least 1 (got {horizon})",
            f"horizon_months 至少为 1（实际为 {horizon}）",
        )
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ModelError(
            f"discount_rate must be a number > -1 (got {discount_rate!r})",
            f"discount_rate 必须是大于 -1 的数（实际为 {discount_rate!r}）",
        )
    if not np.isfinite(margin):
        raise ModelError(
            f"margin must be a number (got {margin!r})", f"margin 必须是数（实际为 {margin!r}）"
        )
    if not (np.isfinite(time_unit_days) and time_unit_days > 0):
        raise ModelError(
            f"time_unit_days must be positive (got {time_unit_days!r})",
            f"time_unit_days 必须为正数（实际为 {time_unit_days!r}）",
        )
    x, t_x, big_t = _base.check_rft(frequency, recency, T)
    m = _base.as_float_array("monetary_value", monetary_value)
    x, t_x, big_t, m = _base.same_length(
        ("frequency", "recency", "T", "monetary_value"), (x, t_x, big_t, m)
    )
    spend = np.asarray(spend_model.expected_spend(x, m), dtype=float)
    month = MONTH_DAYS / float(time_unit_days)
    # the purchase part depends on (x, t_x, T) only: compute it once per distinct row
    shape = x.shape
    (ux, ut, uT), (cx, ct, cT), inverse = _base.distinct_index(
        (x.ravel(), t_x.ravel(), big_t.ravel())
    )
    dx, dt, dT = ux[cx], ut[ct], uT[cT]
    discounted = np.zeros(dx.shape)
    previous = np.zeros(dx.shape)
    for k in range(1, horizon + 1):
        cumulative = np.asarray(model.expected_purchases(k * month, dx, dt, dT), dtype=float)
        discounted += (cumulative - previous) / (1.0 + discount_rate) ** k
        previous = cumulative
    value = discounted[inverse].reshape(shape) * margin * spend
    return _base.wrap_like(value, frequency, recency, T, monetary_value)


__all__ = ["MONTH_DAYS", "customer_lifetime_value"]
