"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005).

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "RFM and CLV: Using Iso-Value Curves
for Customer Base Analysis", *Journal of Marketing Research* 42(4), 415–430, and Fader &
Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (brucehardie.com/notes/025/).

A customer's transaction values are Gamma(shape p, rate ν) around her mean p/ν, and ν
varies across customers as Gamma(shape q, rate γ) (``v`` here). Spend is assumed
independent of the purchase process. Only repeat buyers (x > 0) carry information: with
``m`` the mean of their x repeat transactions, x·m ~ Gamma(px, ν), so

    f(m | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m^(px-1) x^(px) / (γ + x m)^(px+q),

a density of the observed mean m, maximised here with its analytic gradient
(``log_likelihood_`` is the sum of its logarithms). The conditional expectation of a
customer's mean spend is

    E[M | x, m] = p (γ + x m) / (px + q - 1)
                = (q-1)/(px+q-1) · pγ/(q-1) + px/(px+q-1) · m,

a weighted average of the population mean pγ/(q-1) and her own mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from tiering.clv import _base
from tiering.clv.errors import ModelError


@dataclass
class _Prepared:
    ux: np.ndarray  # distinct frequencies
    cx: np.ndarray  # per distinct (x, m) row: code into ux
    m: np.ndarray  # per distinct row: mean spend
    xm: np.ndarray  # x * m
    w: np.ndarray  # customers per row
    wx: np.ndarray  # customers per distinct frequency
    sum_log_m_x: np.ndarray  # per distinct frequency: Σ w log m


def _check_spend(frequency: Any, monetary_value: Any) -> tuple[np.ndarray, np.ndarray]:
    names = ("frequency", "monetary_value")
    x = _base.as_float_array("frequency", frequency)
    m = _base.as_float_array("monetary_value", monetary_value)
    x, m = _base.same_length(names, (x, m))
    for name, arr in zip(names, (x, m), strict=True):
        _base.check_finite(name, arr)
    _base.check_non_negative("frequency", x)
    _base.check_integer("frequency", x)
    bad = (x > 0) & (m <= 0)
    if bad.any():
        n, i = int(bad.sum()), int(np.flatnonzero(bad.ravel())[0])
        raise ModelError(
            f"monetary_value must be positive for customers with repeat purchases "
            f"(frequency > 0); {n} are not (first at position {i}: {m.ravel()[i]:g})",
            f"有重复购买（frequency > 0）的客户的 monetary_value 必须为正数；"
            f"有 {n} 个不是（第一个在位置 {i}：{m.ravel()[i]:g}）",
        )
    return x, m


class GammaGammaModel(_base.ModelBase):
    """Gamma-Gamma: the spend per transaction of repeat buyers (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    penalizer : float, default 0.0
        Adds ``penalizer * (p² + q² + v²)`` to the mean negative log-likelihood.
    initial_params : dict or sequence of 3 floats, optional
        Starting values of p, q, v (default: 1, 2, mean spend).
    max_iter : int, default 1000
        Iterations of L-BFGS-B.
    tol : float, default 1e-10
        Convergence tolerance on the projected gradient of the mean objective.

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "v"}``: transaction values ~ Gamma(p, ν), ν ~ Gamma(q, v).
    log_likelihood_ : float
        The maximised log-likelihood of the observed mean spends.
    standard_errors_ : dict
        Standard errors from the inverse Hessian of the negative log-likelihood.
    n_customers_ : int
        Repeat buyers (frequency > 0) the model was fitted on.
    n_iter_ : int
        Iterations L-BFGS-B took.
    """

    _param_names = ("p", "q", "v")
    _has_gradient = True

    def fit(self, frequency: Any, monetary_value: Any, weights: Any = None) -> GammaGammaModel:
        """Estimate p, q, v by maximum likelihood from the repeat buyers.

        Parameters
        ----------
        frequency : array-like of int
            Repeat purchases of each customer; customers with 0 are ignored.
        monetary_value : array-like of float
            Mean value of each customer's repeat purchases (> 0 when frequency > 0).
        weights : array-like of float, optional
            Number of customers each row stands for.

        Returns
        -------
        self

        Raises
        ------
        ModelError
            Invalid data (NaN, negative or non-integer frequency, non-positive spend of a
            repeat buyer, different lengths) or no repeat buyers at all.
        ConvergenceError
            The optimiser did not converge.
        """
        x, m = _check_spend(frequency, monetary_value)
        if x.ndim == 0:
            raise ModelError(
                "fit() needs one value per customer (arrays), not scalars",
                "fit() 需要每位客户一个值（数组），而不是标量",
            )
        w = _base.check_weights(weights, x.size)
        repeat = (x > 0) & (w > 0)
        if not repeat.any():
            raise ModelError(
                "no customer has repeat purchases (frequency > 0): nothing to fit spend on",
                "没有客户有重复购买（frequency > 0）：无法拟合消费金额模型",
            )
        (ux, um), (cx, cm), wd = _base.distinct_rows((x[repeat], m[repeat]), w[repeat])
        mean = um[cm]
        xv = ux[cx]
        wx = np.bincount(cx, wd, minlength=ux.size)
        data = _Prepared(
            ux=ux,
            cx=cx,
            m=mean,
            xm=xv * mean,
            w=wd,
            wx=wx,
            sum_log_m_x=np.bincount(cx, wd * np.log(mean), minlength=ux.size),
        )
        total = float(wd.sum())
        self._fit_prepared(data, total, round(total))
        return self

    def _initial(self, data: _Prepared) -> np.ndarray:
        mean = float(data.w @ data.m) / float(data.w.sum())
        return np.array([1.0, 2.0, max(mean, 1e-6)])

    def _nll(self, theta: np.ndarray, d: _Prepared) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(theta)
        ux, wx = d.ux, d.wx
        px = p * ux
        log_sum = np.log(v + d.xm)  # per row
        total = float(d.w.sum())
        # Σ over rows, grouped by x where the term depends on x only
        ll = (
            float(wx @ (gammaln(px + q) - gammaln(px) + px * np.log(ux)))
            - total * gammaln(q)
            + total * q * np.log(v)
            + float((p * ux - 1) @ d.sum_log_m_x)
            - float((d.w * (px[d.cx] + q)) @ log_sum)
        )
        s_log_by_x = np.bincount(d.cx, d.w * log_sum, minlength=ux.size)
        g_p = float(
            wx @ (ux * (digamma(px + q) - digamma(px) + np.log(ux)))
            + ux @ d.sum_log_m_x
            - ux @ s_log_by_x
        )
        g_q = float(wx @ digamma(px + q)) - total * digamma(q) + total * np.log(v)
        g_q -= float(s_log_by_x.sum())
        g_v = total * q / v - float((d.w * (px[d.cx] + q)) @ (1 / (v + d.xm)))
        grad = -np.array([g_p, g_q, g_v]) * np.exp(theta)
        return -ll, grad

    def expected_spend(self, frequency: Any, monetary_value: Any) -> Any:
        """Conditional expected mean transaction value of each customer.

        Parameters
        ----------
        frequency : array-like or scalar
            Repeat purchases; for 0 the population mean ``p v / (q - 1)`` is returned.
        monetary_value : array-like or scalar
            Mean value of the repeat purchases (ignored when frequency is 0).

        Returns
        -------
        ndarray, pandas.Series or float
            ``p (v + x m) / (p x + q - 1)``.

        Raises
        ------
        ModelError
            Invalid data, or a customer without repeat purchases when q <= 1 (the
            population mean spend is then infinite).
        """
        p, q, v = self._check_fitted()
        x, m = _check_spend(frequency, monetary_value)
        m = np.where(x > 0, m, 0.0)
        if q <= 1 and (x == 0).any():
            raise ModelError(
                f"the fitted q = {q:.4g} <= 1, so the mean spend of a customer without "
                "repeat purchases is infinite; predict for repeat buyers only",
                f"拟合得到 q = {q:.4g} <= 1，没有重复购买的客户的平均消费额为无穷大；"
                "只能为重复购买的客户预测",
            )
        out = p * (v + x * m) / (p * x + q - 1)
        return _base.wrap_like(out, frequency, monetary_value)


__all__ = ["GammaGammaModel"]
