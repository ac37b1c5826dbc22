"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "'Counting Your Customers' the Easy
Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275–284.

While active, a customer buys as a Poisson process with rate λ; after every repeat
purchase she becomes inactive ("dies") with probability p. Across customers
λ ~ Gamma(shape r, rate α) and p ~ Beta(a, b). A customer is summarised by ``x`` (repeat
purchases), ``t_x`` (time of the last purchase since the first: recency) and ``T`` (time
since the first purchase), all times in one unit (weeks in the paper). The likelihood is

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

evaluated here as a ``logaddexp`` of the two log terms (``gammaln``, ``betaln``), so
x = 500 or T = 1000 neither overflows nor underflows. The parameters are estimated by
maximum likelihood on the distinct (x, t_x, T) rows, each weighted by how many customers
share it, with the analytic gradient.

Predictions: P(alive) (eq. 11 of the paper), the conditional expectation of purchases
in the next t periods (eq. 10, whose 2F1 is evaluated after Euler's transformation, see
:mod:`tiering.clv._special`) and the unconditional expectation for a new customer (eq. 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln

from tiering.clv import _base
from tiering.clv._special import bg_conditional


@dataclass
class _Prepared:
    ux: np.ndarray  # distinct frequencies
    ut: np.ndarray  # distinct recencies
    uT: np.ndarray  # distinct T
    cx: np.ndarray  # per distinct row: code into ux, ut, uT
    ct: np.ndarray
    cT: np.ndarray
    w: np.ndarray  # per distinct row: number of customers
    wx: np.ndarray  # per distinct frequency: number of customers


class _BetaGeoBase(_base.PurchaseModelBase):
    """BG/NBD (``_shift = 0``) and MBG/NBD (``_shift = 1``), which differ only in whether a
    customer can drop out right after the first purchase."""

    _param_names = ("r", "alpha", "a", "b")
    _has_gradient = True
    _shift = 0

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> Any:
        """Estimate r, α, a, b by maximum likelihood.

        Parameters
        ----------
        frequency : array-like of int
            Repeat purchases of each customer (``x``), >= 0.
        recency : array-like of float
            Time from the first to the last purchase (``t_x``), 0 when frequency is 0.
        T : array-like of float
            Time from the first purchase to the end of observation, >= recency.
        weights : array-like of float, optional
            Number of customers each row stands for (for pre-aggregated data).

        Returns
        -------
        self
            Fitted: ``params_``, ``log_likelihood_``, ``standard_errors_``,
            ``n_customers_``.

        Raises
        ------
        ModelError
            Invalid data (NaN, negative, non-integer frequency, recency > T, different
            lengths).
        ConvergenceError
            The optimiser did not converge.
        """
        x, t_x, big_t = _base.check_rft(frequency, recency, T, fitting=True)
        w = _base.check_weights(weights, x.size)
        (ux, ut, uT), (cx, ct, cT), wd = _base.distinct_rows((x, t_x, big_t), w)
        data = _Prepared(ux, ut, uT, cx, ct, cT, wd, np.bincount(cx, wd, minlength=ux.size))
        total = float(wd.sum())
        self._fit_prepared(data, total, round(total))
        return self

    def _initial(self, data: _Prepared) -> np.ndarray:
        purchases = float(data.wx @ data.ux)
        exposure = float(data.w @ data.uT[data.cT])
        alpha = exposure / purchases if purchases > 0 and exposure > 0 else 1.0
        return np.array([1.0, float(np.clip(alpha, 1e-3, 1e6)), 1.0, 1.0])

    def _nll(self, theta: np.ndarray, d: _Prepared) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        s = self._shift
        ux, cx, w = d.ux, d.cx, d.w
        has2 = ux > 0 if s == 0 else np.ones(ux.size, dtype=bool)
        bx2 = np.where(has2, b + ux - 1 + s, 1.0)
        b_ab = betaln(a, b)
        b1 = betaln(a, b + ux + s) - b_ab
        b2 = np.where(has2, betaln(a + 1, bx2) - b_ab, -np.inf)
        rx = r + ux
        log_at = np.log(alpha + d.uT)[d.cT]
        log_atx = np.log(alpha + d.ut)[d.ct]
        rx_row = rx[cx]
        u1 = b1[cx] - rx_row * log_at
        u2 = b2[cx] - rx_row * log_atx
        lse = np.logaddexp(u1, u2)
        total_w = float(w.sum())
        ll = float(d.wx @ (gammaln(rx) - gammaln(r))) + total_w * r * np.log(alpha) + float(w @ lse)
        # gradient
        wp1 = w * np.exp(u1 - lse)
        wp2 = w - wp1
        s1 = np.bincount(cx, wp1, minlength=ux.size)
        s2 = d.wx - s1
        g_r = (
            float(d.wx @ (digamma(rx) - digamma(r)))
            + total_w * np.log(alpha)
            - float(wp1 @ log_at + wp2 @ log_atx)
        )
        g_alpha = total_w * r / alpha - float(
            (wp1 * rx_row) @ (1 / (alpha + d.uT))[d.cT]
            + (wp2 * rx_row) @ (1 / (alpha + d.ut))[d.ct]
        )
        dg_abx = digamma(a + b + ux + s)
        g_a = (
            -total_w * (digamma(a) - digamma(a + b))
            + float(s1 @ (digamma(a) - dg_abx))
            + float(s2 @ np.where(has2, digamma(a + 1) - dg_abx, 0.0))
        )
        g_b = (
            -total_w * (digamma(b) - digamma(a + b))
            + float(s1 @ (digamma(b + ux + s) - dg_abx))
            + float(s2 @ np.where(has2, digamma(bx2) - dg_abx, 0.0))
        )
        grad = -np.array([g_r, g_alpha, g_a, g_b]) * np.exp(theta)
        return -ll, grad

    # -- predictions

    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log(P(dead)/P(alive)); -inf when the customer cannot have died."""
        r, alpha, a, b = self._check_fitted()
        s = self._shift
        can_die = (x > 0) if s == 0 else np.ones(x.shape, dtype=bool)
        bx = np.where(can_die, b + x - 1 + s, 1.0)
        odds = np.log(a) - np.log(bx) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(can_die, odds, -np.inf)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that each customer is still active at T.

        Parameters
        ----------
        frequency, recency, T : array-like or scalar
            The customers' summaries, as in :meth:`fit` (scalars broadcast).

        Returns
        -------
        ndarray, pandas.Series or float
            In [0, 1]; 1 for BG/NBD customers without repeat purchases.
        """
        x, t_x, big_t = _base.check_rft(frequency, recency, T)
        out = expit(-self._log_odds_dead(x, t_x, big_t))
        return _base.wrap_like(out, frequency, recency, T)

    def _conditional(self, t: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
        r, alpha, a, b = self._check_fitted()
        alive = expit(-self._log_odds_dead(x, t_x, T))
        return bg_conditional(t, x, T, r, alpha, a, b, self._shift) * alive

    def expected_purchases_new(self, t: Any) -> Any:
        """Expected number of repeat purchases in ``t`` periods by a new customer.

        Parameters
        ----------
        t : array-like or scalar
            Time since the first purchase, in the unit of the fitted data (>= 0).

        Returns
        -------
        ndarray, pandas.Series or float
            ``E[X(t)]``, positive for t > 0.
        """
        t_arr = _base.check_time("t", t)
        zero = np.zeros(t_arr.shape)
        return _base.wrap_like(self._conditional(t_arr, zero, zero, zero), t)


class BetaGeoModel(_BetaGeoBase):
    """BG/NBD: beta-geometric dropout, Poisson purchases (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    penalizer : float, default 0.0
        Adds ``penalizer * (r² + α² + a² + b²)`` to the mean negative log-likelihood
        per customer (as lifetimes does); a small value (1e-3) tames estimates that run off.
    initial_params : dict or sequence of 4 floats, optional
        Starting values of r, α, a, b (default: 1, mean T / mean x, 1, 1).
    max_iter : int, default 1000
        Iterations of L-BFGS-B.
    tol : float, default 1e-10
        Convergence tolerance on the projected gradient of the mean objective.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``: λ ~ Gamma(r, α), p ~ Beta(a, b).
    log_likelihood_ : float
        The maximised log-likelihood (in the time unit of the data; −9582.4 for CDNOW).
    standard_errors_ : dict
        Standard errors from the inverse Hessian of the negative log-likelihood.
    n_customers_ : int
        Customers (sum of weights) the model was fitted on.
    n_iter_ : int
        Iterations L-BFGS-B took.

    Examples
    --------
    >>> model = BetaGeoModel().fit(frequency, recency, T)  # doctest: +SKIP
    >>> model.expected_purchases(39, 2, 30.43, 38.86)        # doctest: +SKIP
    1.2259...
    """


__all__ = ["BetaGeoModel"]
