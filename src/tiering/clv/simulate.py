"""Simulated customer bases drawn from the models, for tests and benchmarks.

Each function draws the customers' latent rates from the model's mixing distributions
and their observable summary exactly (no time stepping), vectorised over customers:

- BG/NBD: λ ~ Gamma(r, α), p ~ Beta(a, b); the number of repeat purchases a customer
  makes before dropping out is J ~ Geometric(p) on {1, 2, …} (on {0, 1, …} for MBG/NBD);
  the purchases up to T are K ~ Poisson(λT); x = min(J, K) and, given K, the time of
  the x-th of K uniform purchase times is T · Beta(x, K − x + 1).
- Pareto/NBD: λ ~ Gamma(r, α), μ ~ Gamma(s, β), lifetime τ ~ Exp(μ); x ~ Poisson(λ
  min(τ, T)) and t_x = min(τ, T) · Beta(x, 1).
- Gamma-Gamma: ν ~ Gamma(q, rate v); the mean of x transaction values ~ Gamma(p x, rate
  x ν).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _observation(T: Any, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()


def _time_of_last(rng: np.random.Generator, x: np.ndarray, k: np.ndarray, span: np.ndarray):
    t_x = np.zeros(x.shape)
    some = x > 0
    t_x[some] = span[some] * rng.beta(x[some], k[some] - x[some] + 1)
    return t_x


def simulate_bgnbd(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Any,
    rng: np.random.Generator,
    modified: bool = False,
) -> dict[str, np.ndarray]:
    """Draw ``n`` customers from BG/NBD (or MBG/NBD with ``modified=True``).

    Parameters
    ----------
    n : int
        Number of customers.
    r, alpha, a, b : float
        The model's parameters.
    T : float or array-like of n floats
        Observation length of each customer.
    rng : numpy.random.Generator
        Source of randomness (seed it for reproducible draws).
    modified : bool, default False
        Let customers drop out right after their first purchase (MBG/NBD).

    Returns
    -------
    dict of ndarray
        ``frequency`` (float, whole numbers), ``recency``, ``T``.
    """
    big_t = _observation(T, n)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    j = rng.geometric(p) - (1 if modified else 0)
    k = rng.poisson(lam * big_t)
    x = np.minimum(j, k)
    return {
        "frequency": x.astype(float),
        "recency": _time_of_last(rng, x, k, big_t),
        "T": big_t,
    }


def simulate_paretonbd(
    n: int, *, r: float, alpha: float, s: float, beta: float, T: Any, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Draw ``n`` customers from Pareto/NBD.

    Parameters
    ----------
    n : int
        Number of customers.
    r, alpha, s, beta : float
        The model's parameters.
    T : float or array-like of n floats
        Observation length of each customer.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    dict of ndarray
        ``frequency``, ``recency``, ``T``.
    """
    big_t = _observation(T, n)
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    span = np.minimum(rng.exponential(1.0, n) / mu, big_t)
    x = rng.poisson(lam * span)
    return {"frequency": x.astype(float), "recency": _time_of_last(rng, x, x, span), "T": big_t}


def simulate_gamma_gamma(
    frequency: Any, *, p: float, q: float, v: float, rng: np.random.Generator
) -> np.ndarray:
    """Mean spend of customers with the given repeat ``frequency`` under Gamma-Gamma.

    Parameters
    ----------
    frequency : array-like
        Repeat purchases per customer; customers with 0 get a mean spend of 0.
    p, q, v : float
        The model's parameters.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray
        ``monetary_value`` per customer.
    """
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1.0 / v, x.shape)
    out = np.zeros(x.shape)
    some = x > 0
    out[some] = rng.gamma(p * x[some], 1.0 / (x[some] * nu[some]))
    return out


__all__ = ["simulate_bgnbd", "simulate_gamma_gamma", "simulate_paretonbd"]
