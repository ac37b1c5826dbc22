"""Special functions the models need, in forms that neither overflow nor cancel.

Two families of Gauss hypergeometric functions appear:

* the BG/NBD (and MBG/NBD) conditional expectation
  ``(C / (a-1)) [1 - (1-z)^(r+x) 2F1(r+x, b+x+δ; C; z)]`` with ``C = a+b+x-1+δ`` and
  ``z = t / (α+T+t)``. Euler's transformation turns the product into
  ``(1-z)^(a-1) 2F1(C-r-x, a-1; C; z)`` whose parameters do not grow with x; for
  z <= 1/2 writing ``2F1 = 1 + (a-1) G`` and summing G as a series removes the removable
  singularity at a = 1 and the cancellation for small t; beyond, SciPy's ``hyp2f1``
  (Euler or Pfaff form), and quadrature over the posterior of p where SciPy fails
  (it returns NaN for some degenerate parameters): see :func:`bg_conditional`.
* the Pareto/NBD likelihood, an integral over the unobserved death time
  ``∫_τ^∞ (α+u)^(-p) (β+u)^(-q) du``, equal to
  ``(A+τ)^(-p_A) (B+τ)^(1-p_B) 2F1(1, p_A; p+q; (A-B)/(A+τ)) / (p+q-1)`` with A the
  larger of α, β (Fader & Hardie's α ≥ β / α < β cases). The series of ``2F1(1, ·; ·; z)``
  has positive terms and so no cancellation; SciPy evaluates it except for z > 0.99 with
  b > 20 (large x) or c - b near a whole number, where it loses accuracy and a quadrature
  of Euler's integral (log-concave after a change of variable) takes over: see
  :func:`log_tail_integral`.

Checked against mpmath at 40 digits (not a dependency) on random parameters with
x up to 10,000 and α/β from e^-14 to e^14: relative errors below 1e-8 for the BG/NBD
expectation and below 1e-12 for the Pareto/NBD log-likelihood.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable

import numpy as np
from scipy import integrate
from scipy.special import betaln, exprel, hyp2f1

_SERIES_Z = 0.5
_SERIES_TERMS = 2000


def _tail_series(A: np.ndarray, a: np.ndarray, C: np.ndarray, z: np.ndarray) -> np.ndarray:
    """G = Σ_{n≥1} (A)_n (a)_{n-1} / ((C)_n n!) zⁿ, so that 2F1(A, a-1; C; z) = 1 + (a-1) G.

    Summed term by term until the terms stop mattering (z ≤ 1/2 needs a few dozen).
    """
    term = A / C * z
    total = term.copy()
    active = np.ones(term.shape, dtype=bool)
    for n in range(1, _SERIES_TERMS):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        t = term[idx] * (A[idx] + n) * (a[idx] + n - 1) / ((C[idx] + n) * (n + 1)) * z[idx]
        term[idx] = t
        total[idx] += t
        done = np.abs(t) <= 1e-17 * np.abs(total[idx])
        active[idx[done]] = False
    return total


def _integrate_log_concave(
    psi: Callable[[float], float], peak: float, width: float, h: Callable[[float], float]
) -> tuple[float, float]:
    """∫_0^∞ exp(ψ(u)) h(u) du as (log of the scale, scaled integral), for ψ concave with
    its maximum at ``peak`` (>= 0) and ``h`` smooth and bounded: the integral is split
    around the peak and scaled by exp(ψ(peak)) so that nothing overflows."""
    top = psi(peak)
    width = max(width, 1e-12)
    edges = sorted({0.0, peak, *(max(peak + k * width, 0.0) for k in (-10, -1, 1, 10, 100))})
    total = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for lo, hi in [*itertools.pairwise(edges), (edges[-1], np.inf)]:
            total += integrate.quad(
                lambda u: np.exp(psi(u) - top) * h(u),
                lo,
                hi,
                epsabs=0.0,
                epsrel=1e-13,
                limit=200,
            )[0]
    return top, total


def _bg_conditional_quad(k: float, m: float, a: float, B: float) -> float:
    """E_{p ~ Beta(a, B)} [(1 - (1 + p k)^(-m)) / p], the BG/NBD conditional expectation
    (k = t/(α+T), m = r+x, B = b+x+shift), by quadrature over u = -log p."""

    def psi(u: float) -> float:  # log of the Beta density of p = e^-u, times dp/du
        return -a * u + (B - 1) * np.log1p(-np.exp(-u)) if u > 0 else -np.inf

    def h(u: float) -> float:
        p = np.exp(-u)
        return -np.expm1(-m * np.log1p(p * k)) / p if p > 0 else m * k

    peak = float(np.log((a + B - 1) / a)) if B > 1 else 0.0
    width = float(np.sqrt((a + B - 1) / (a * max(B - 1, 1e-12)))) if B > 1 else 1.0
    top, total = _integrate_log_concave(psi, peak, width, h)
    if not np.isfinite(top):  # B <= 1: the density is unbounded at p = 1, u = 0
        top = 0.0
        total = _integrate_log_concave(lambda u: psi(u) if u > 0 else 0.0, 0.0, 1.0, h)[1]
    return float(np.exp(top - betaln(a, B)) * total)


def bg_conditional(
    t: np.ndarray,
    x: np.ndarray,
    T: np.ndarray,
    r: float,
    alpha: float,
    a: float,
    b: float,
    shift: float,
) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T, x, T] for BG/NBD (shift 0) or MBG/NBD (shift 1).

    Equals ``(C/(a-1)) [1 - P]`` with ``P = (1-z)^(a-1) 2F1(C-r-x, a-1; C; z)``,
    ``C = a+b+x-1+shift`` and ``z = t/(α+T+t)``. For z <= 1/2 (or a within 1e-6 of 1)
    it is computed as ``C [L·exprel(-(a-1)L) - e^{-(a-1)L} G]`` with ``L = -log(1-z)`` and
    ``2F1 = 1 + (a-1) G``, G summed as a series: no cancellation for small t, no
    singularity at a = 1. Otherwise SciPy's ``hyp2f1`` gives P, or, where the Euler form
    overflows, the equivalent Pfaff form ``P = 2F1(r+x, a-1; C; -t/(α+T))``, or, where
    SciPy fails on both, quadrature (:func:`_bg_conditional_quad`).
    """
    t, x, T = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(t, x, T))
    C = a + b + x - 1 + shift
    A = C - r - x
    span = alpha + T
    z = t / (span + t)
    out = np.empty(z.shape)
    series = (z <= _SERIES_Z) | (abs(a - 1) < 1e-6)
    if series.any():
        L = np.log1p(t[series] / span[series])
        Cs = C[series]
        G = _tail_series(A[series], np.full(L.shape, a), Cs, z[series])
        out[series] = Cs * (L * exprel(-(a - 1) * L) - np.exp(-(a - 1) * L) * G)
    direct = ~series
    if direct.any():
        zd, Cd = z[direct], C[direct]
        with np.errstate(over="ignore", invalid="ignore"):
            P = np.exp((a - 1) * np.log1p(-zd)) * hyp2f1(A[direct], a - 1, Cd, zd)
        bad = ~np.isfinite(P)
        if bad.any():
            w = -t[direct][bad] / span[direct][bad]
            P[bad] = hyp2f1(r + x[direct][bad], a - 1, Cd[bad], w)
        out[direct] = Cd * (1 - P) / (a - 1)
        bad = ~np.isfinite(out)
        if bad.any():
            # SciPy's hyp2f1 fails in some corners (huge b, degenerate parameters):
            # integrate over the posterior of p instead
            out[bad] = [
                _bg_conditional_quad(tt / (alpha + TT), r + xx, a, b + xx + shift)
                for tt, xx, TT in zip(t[bad], x[bad], T[bad], strict=True)
            ]
    return out


def _log_hyp2f1_unit_quad(b: float, c: float, z: float) -> float:
    """log 2F1(1, b; c; z) by quadrature, for any b > 0, c > 1, 0 ≤ z < 1.

    Euler's integral ``(c-1) ∫_0^1 (1-t)^(c-2) (1-zt)^(-b) dt`` with ``t = 1 - e^(-u)``
    becomes ``(c-1) ∫_0^∞ exp(ψ(u)) du`` with ``ψ(u) = -(c-1)u - b log(1-z + z e^(-u))``,
    a concave function: values like (1-z)^(-b) = 10^1500 are no problem.
    """
    eps = 1.0 - z
    d = c - b

    def psi(u: float) -> float:
        return -(c - 1) * u - b * np.log(eps + z * np.exp(-u))

    peak = 0.0
    if d < 1 and b * z > c - 1:
        peak = float(np.log(z * (1 - d) / ((c - 1) * eps)))
    curvature = b * z * eps * np.exp(-peak) / (eps + z * np.exp(-peak)) ** 2
    width = 1.0 / np.sqrt(curvature) if curvature > 0 else 1.0 / (c - 1)
    width = min(width, 1.0 / (c - 1) + 1.0)
    top, total = _integrate_log_concave(psi, peak, width, lambda u: 1.0)
    return float(np.log(c - 1) + top + np.log(total))


#: Beyond this argument, SciPy's hyp2f1(1, b; c; z) can be inaccurate or NaN for b above
#: this or c - b within 1e-3 of a whole number (checked against mpmath: elsewhere it is
#: accurate to 1e-12).
_UNIT_Z_MAX = 0.99
_UNIT_B_MAX = 20.0


def _log_hyp2f1_unit(b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(1, b; c; z) for b > 0, c > 1 and 0 ≤ z < 1 (a series of positive terms).

    SciPy's ``hyp2f1`` where it is accurate (z <= 0.99, or b <= 20 with c - b not close
    to a whole number), quadrature elsewhere and wherever SciPy fails.
    """
    b, c, z = np.broadcast_arrays(b, c, z)
    shape = z.shape
    b, c, z = (np.asarray(v, dtype=float).ravel() for v in (b, c, z))
    d = c - b
    near = (z > _UNIT_Z_MAX) & ((b > _UNIT_B_MAX) | (np.abs(d - np.round(d)) < 1e-3))
    value = np.ones(z.shape)
    value[~near] = hyp2f1(1.0, b[~near], c[~near], z[~near])
    bad = near | ~(np.isfinite(value) & (value > 0))
    out = np.log(np.where(bad, 1.0, value))
    if bad.any():
        out[bad] = [
            _log_hyp2f1_unit_quad(*args) for args in zip(b[bad], c[bad], z[bad], strict=True)
        ]
    return out.reshape(shape)


def log_tail_integral(
    p: np.ndarray, q: np.ndarray, alpha: float, beta: float, tau: np.ndarray
) -> np.ndarray:
    """log ∫_τ^∞ (α+u)^(-p) (β+u)^(-q) du for p, q > 0 with p + q > 1."""
    if alpha >= beta:
        z = (alpha - beta) / (alpha + tau)
        head = -p * np.log(alpha + tau) + (1 - q) * np.log(beta + tau)
        f = _log_hyp2f1_unit(p, p + q, z)
    else:
        z = (beta - alpha) / (beta + tau)
        head = -q * np.log(beta + tau) + (1 - p) * np.log(alpha + tau)
        f = _log_hyp2f1_unit(q, p + q, z)
    return head + f - np.log(p + q - 1)
