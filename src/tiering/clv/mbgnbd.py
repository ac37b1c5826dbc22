"""The MBG/NBD model (Batislam, Denizel & Filiztekin 2007).

Batislam, E. P., Denizel, M. & Filiztekin, A. (2007), "Empirical validation and
comparison of models for customer base analysis", *International Journal of Research in
Marketing* 24(3), 201–209.

As BG/NBD (:mod:`tiering.clv.bgnbd`), except that a customer may also drop out right
after the *first* purchase: she dies with probability p at time 0 and after every repeat
purchase. So customers without repeat purchases are not certainly alive, and

    L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + B(a+1, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

for every x. ``P(alive) = 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x))``; the conditional
expectation is ``(a+b+x)/(a-1) [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; z)]``
times P(alive), and a new customer expects
``b/(a-1) [1 - (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]`` purchases in t (the
conditional formula at x = t_x = T = 0; lifetimes' ``ModifiedBetaGeoFitter`` uses the
BG/NBD formula here instead).
"""

from __future__ import annotations

from tiering.clv.bgnbd import _BetaGeoBase


class ModifiedBetaGeoModel(_BetaGeoBase):
    """MBG/NBD: BG/NBD where customers can also drop out after their first purchase.

    Parameters
    ----------
    penalizer : float, default 0.0
        Adds ``penalizer * (r² + α² + a² + b²)`` to the mean negative log-likelihood.
    initial_params : dict or sequence of 4 floats, optional
        Starting values of r, α, a, b.
    max_iter : int, default 1000
        Iterations of L-BFGS-B.
    tol : float, default 1e-10
        Convergence tolerance on the projected gradient of the mean objective.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``.
    log_likelihood_ : float
        The maximised log-likelihood.
    standard_errors_ : dict
        Standard errors from the inverse Hessian of the negative log-likelihood.
    n_customers_ : int
        Customers the model was fitted on.
    n_iter_ : int
        Iterations L-BFGS-B took.
    """

    _shift = 1


__all__ = ["ModifiedBetaGeoModel"]
