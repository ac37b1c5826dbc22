"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987), "Counting Your Customers: Who
Are They and What Will They Do Next?", *Management Science* 33(1), 1–24; the likelihood
and expressions as derived in Fader, P. S. & Hardie, B. G. S. (2005), "A Note on Deriving
the Pareto/NBD Model and Related Expressions" (brucehardie.com/notes/009/), and fitted to
CDNOW in Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer
Base Analysis", *Journal of Marketing Research* 42(4).

While alive, a customer buys as a Poisson process with rate λ; her lifetime is
exponential with rate μ. Across customers λ ~ Gamma(r, α) and μ ~ Gamma(s, β). For a
customer with x repeat purchases, the last at t_x, observed for T:

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s
                                   + s ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ ]

(the customer is alive at T, or died at some τ between t_x and T). Fader & Hardie write
the integral with 2F1(r+s+x, ·; r+s+x+1; ·) in two cases, α ≥ β and α < β; here it is
rearranged (integrating by parts) as

    L = Γ(r+x) α^r β^s / Γ(r) · [ (r+x) I(r+x+1, s; T) + s I(r+x, s+1; t_x) ]

with ``I(p, q; τ) = ∫_τ^∞ (α+u)^-p (β+u)^-q du``, a sum of two positive terms that is
evaluated in log space (:func:`tiering.clv._special.log_tail_integral`, which keeps Fader
& Hardie's α ≥ β / α < β cases so that the 2F1 argument stays in [0, 1) and its series
has positive terms). No term grows with x, so x = 500 and T = 1000 are safe.

P(alive) is the first term of the bracket over the whole; the expected purchases in the
next t periods are ``(r+x)(β+T) / ((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)] · P(alive)``,
evaluated with ``exprel`` so that s = 1 needs no special case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import exprel, gammaln

from tiering.clv import _base
from tiering.clv._special import log_tail_integral


@dataclass
class _Prepared:
    x: np.ndarray  # per distinct (x, t_x, T) row
    T: np.ndarray
    w: np.ndarray
    alive_x: np.ndarray  # distinct (x, T) pairs: the 'alive at T' term depends on these
    alive_T: np.ndarray
    alive_code: np.ndarray  # per row: its (x, T) pair
    died_x: np.ndarray  # distinct (x, t_x) pairs: the 'died after t_x' term
    died_t: np.ndarray
    died_code: np.ndarray  # per row: its (x, t_x) pair


def _pairs(c1: np.ndarray, c2: np.ndarray, n2: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys, inverse = np.unique(c1 * n2 + c2, return_inverse=True)
    return keys // n2, keys % n2, inverse.ravel()


def _log_alive(x: np.ndarray, T: np.ndarray, r: float, alpha: float, s: float, beta: float):
    """log (r+x) I(r+x+1, s; T): the customer is alive at T (written as an integral)."""
    m = r + x
    return np.log(m) + log_tail_integral(m + 1, np.full(m.shape, s), alpha, beta, T)


def _log_died(x: np.ndarray, t_x: np.ndarray, r: float, alpha: float, s: float, beta: float):
    """log s I(r+x, s+1; t_x): the customer died after t_x (alive at T or not)."""
    m = r + x
    return np.log(s) + log_tail_integral(m, np.full(m.shape, s + 1), alpha, beta, t_x)


def _log_bracket(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, r: float, alpha: float, s: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """log of the bracket of the likelihood and log of its 'alive at T' term."""
    both = np.logaddexp(_log_alive(x, T, r, alpha, s, beta), _log_died(x, t_x, r, alpha, s, beta))
    log_alive_at_t = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    return both, log_alive_at_t


class ParetoNBDModel(_base.PurchaseModelBase):
    """Pareto/NBD: exponential lifetimes, Poisson purchases (Schmittlein et al. 1987).

    Parameters
    ----------
    penalizer : float, default 0.0
        Adds ``penalizer * (r² + α² + s² + β²)`` to the mean negative log-likelihood
        per customer (as lifetimes does).
    initial_params : dict or sequence of 4 floats, optional
        Starting values of r, α, s, β (default: 1, mean T / mean x, 1, mean T / mean x).
    max_iter : int, default 1000
        Iterations of L-BFGS-B.
    tol : float, default 1e-10
        Convergence tolerance on the projected gradient of the mean objective.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "s", "beta"}``: λ ~ Gamma(r, α), μ ~ Gamma(s, β).
    log_likelihood_ : float
        The maximised log-likelihood (in the time unit of the data; −9595.0 for CDNOW).
    standard_errors_ : dict
        Standard errors from the inverse Hessian of the negative log-likelihood.
    n_customers_ : int
        Customers (sum of weights) the model was fitted on.
    n_iter_ : int
        Iterations L-BFGS-B took.
    """

    _param_names = ("r", "alpha", "s", "beta")

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> ParetoNBDModel:
        """Estimate r, α, s, β by maximum likelihood.

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

        Raises
        ------
        ModelError
            Invalid data.
        ConvergenceError
            The optimiser did not converge.
        """
        x, t_x, big_t = _base.check_rft(frequency, recency, T, fitting=True)
        w = _base.check_weights(weights, x.size)
        (ux, ut, uT), (cx, ct, cT), wd = _base.distinct_rows((x, t_x, big_t), w)
        ax, aT, acode = _pairs(cx, cT, uT.size)
        dx, dt, dcode = _pairs(cx, ct, ut.size)
        data = _Prepared(ux[cx], uT[cT], wd, ux[ax], uT[aT], acode, ux[dx], ut[dt], dcode)
        total = float(wd.sum())
        self._fit_prepared(data, total, round(total))
        return self

    def _initial(self, data: _Prepared) -> np.ndarray:
        purchases = float(data.w @ data.x)
        exposure = float(data.w @ data.T)
        scale = exposure / purchases if purchases > 0 and exposure > 0 else 1.0
        scale = float(np.clip(scale, 1e-3, 1e6))
        return np.array([1.0, scale, 1.0, scale])

    def _nll(self, theta: np.ndarray, d: _Prepared) -> float:
        r, alpha, s, beta = np.exp(theta)
        alive = _log_alive(d.alive_x, d.alive_T, r, alpha, s, beta)[d.alive_code]
        died = _log_died(d.died_x, d.died_t, r, alpha, s, beta)[d.died_code]
        per = gammaln(r + d.x) - gammaln(r) + np.logaddexp(alive, died)
        total = float(d.w.sum())
        return -(float(d.w @ per) + total * (r * np.log(alpha) + s * np.log(beta)))

    # -- predictions

    def _p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = self._check_fitted()
        bracket, alive = _log_bracket(x, t_x, T, r, alpha, s, beta)
        return np.exp(np.minimum(alive - bracket, 0.0))

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that each customer is still alive at T.

        Parameters
        ----------
        frequency, recency, T : array-like or scalar
            The customers' summaries, as in :meth:`fit` (scalars broadcast).

        Returns
        -------
        ndarray, pandas.Series or float
            In [0, 1].
        """
        x, t_x, big_t = _base.check_rft(frequency, recency, T)
        return _base.wrap_like(self._p_alive(x, t_x, big_t), frequency, recency, T)

    def _conditional(self, t: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
        r, alpha, s, beta = self._check_fitted()
        span = np.log1p(t / (beta + T))
        per_alive = (r + x) / (alpha + T) * (beta + T) * span * exprel(-(s - 1) * span)
        return per_alive * self._p_alive(x, t_x, T)

    def expected_purchases_new(self, t: Any) -> Any:
        """Expected number of repeat purchases in ``t`` periods by a new customer.

        ``E[X(t)] = rβ / (α(s-1)) [1 - (β/(β+t))^(s-1)]``.

        Parameters
        ----------
        t : array-like or scalar
            Time since the first purchase, in the unit of the fitted data (>= 0).

        Returns
        -------
        ndarray, pandas.Series or float
            Positive for t > 0.
        """
        t_arr = _base.check_time("t", t)
        zero = np.zeros(t_arr.shape)
        return _base.wrap_like(self._conditional(t_arr, zero, zero, zero), t)


__all__ = ["ParetoNBDModel"]
