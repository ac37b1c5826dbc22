"""Invariants of the tiering.clv models (hypothesis) and recovery of simulated parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiering import clv

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def positive(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Log-uniform-ish positive floats in [lo, hi]."""
    return st.floats(np.log(lo), np.log(hi)).map(lambda v: float(np.exp(v)))


BETA_GEO = st.builds(
    dict,
    r=positive(0.01, 50),
    alpha=positive(0.01, 1000),
    a=positive(0.01, 50),
    b=positive(0.01, 50),
)
PARETO = st.builds(
    dict,
    r=positive(0.01, 50),
    alpha=positive(0.01, 1000),
    s=positive(0.01, 50),
    beta=positive(0.01, 1000),
)


@st.composite
def models(draw) -> clv.BetaGeoModel | clv.ModifiedBetaGeoModel | clv.ParetoNBDModel:
    kind = draw(st.sampled_from([clv.BetaGeoModel, clv.ModifiedBetaGeoModel, clv.ParetoNBDModel]))
    params = draw(PARETO if kind is clv.ParetoNBDModel else BETA_GEO)
    return kind.from_params(**params)


@st.composite
def customers(draw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A few customers: frequency 0..500, T up to 1000, recency in [0, T] (0 if x = 0)."""
    n = draw(st.integers(1, 6))
    x = np.array(draw(st.lists(st.integers(0, 500), min_size=n, max_size=n)), dtype=float)
    big_t = np.array(draw(st.lists(st.floats(0, 1000), min_size=n, max_size=n)))
    share = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    recency = np.where(x > 0, share * big_t, 0.0)
    return x, recency, big_t


@SETTINGS
@given(models(), customers())
def test_p_alive_is_a_probability(model, data):
    p = model.p_alive(*data)
    assert np.all((p >= 0) & (p <= 1)), p


@SETTINGS
@given(models(), customers(), st.floats(0, 1e4), st.floats(0, 1e4))
def test_expected_purchases_increase_with_the_horizon(model, data, t1, t2):
    short, long = sorted((t1, t2))
    a = model.expected_purchases(short, *data)
    b = model.expected_purchases(long, *data)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b))
    assert np.all(a >= 0)
    assert np.all(b >= a * (1 - 1e-9) - 1e-12), (a, b)


@SETTINGS
@given(models(), st.floats(1e-6, 1e4))
def test_a_new_customer_expects_some_purchases(model, t):
    assert model.expected_purchases_new(t) > 0
    assert model.expected_purchases_new(0.0) == 0.0


@SETTINGS
@given(BETA_GEO, st.floats(0, 1000))
def test_bgnbd_customers_without_repeat_purchases_are_alive(params, big_t):
    """In BG/NBD a customer can only drop out after a repeat purchase."""
    assert clv.BetaGeoModel.from_params(**params).p_alive(0, 0, big_t) == 1.0


@SETTINGS
@given(PARETO, st.integers(1, 50), st.floats(1, 100))
def test_paretonbd_p_alive_falls_with_time_since_the_last_purchase(params, x, big_t):
    model = clv.ParetoNBDModel.from_params(**params)
    recent, old = model.p_alive(x, big_t, big_t), model.p_alive(x, big_t / 2, big_t)
    assert recent == pytest.approx(1.0) and old <= recent + 1e-12


@SETTINGS
@given(
    st.floats(0.5, 20),
    st.floats(1.05, 20),
    st.floats(0.1, 100),
    st.integers(0, 100),
    st.floats(0.01, 1000),
)
def test_expected_spend_is_between_own_mean_and_population_mean(p, q, v, x, m):
    model = clv.GammaGammaModel.from_params(p=p, q=q, v=v)
    spend = model.expected_spend(x, m if x > 0 else 0.0)
    population = p * v / (q - 1)
    own = m if x > 0 else population
    assert min(own, population) * (1 - 1e-12) <= spend <= max(own, population) * (1 + 1e-12)


def test_extreme_customers_neither_overflow_nor_warn():
    """x = 500 over T = 1000 (and more): finite results, no RuntimeWarning (pytest turns
    warnings into errors)."""
    x = np.array([500, 500, 500, 10_000, 0])
    recency = np.array([999.0, 1.0, 1000.0, 1.0, 0.0])
    big_t = np.array([1000.0, 1000.0, 1000.0, 1e5, 1000.0])
    for model in (
        clv.BetaGeoModel.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4),
        clv.ModifiedBetaGeoModel.from_params(r=0.52, alpha=6.2, a=0.89, b=1.6),
        clv.ParetoNBDModel.from_params(r=0.55, alpha=10.6, s=0.61, beta=11.7),
        clv.ParetoNBDModel.from_params(r=0.55, alpha=1000.0, s=0.61, beta=0.01),
    ):
        p = model.p_alive(x, recency, big_t)
        e = model.expected_purchases(52.0, x, recency, big_t)
        assert np.all(np.isfinite(p)) and np.all(np.isfinite(e))
        assert p[1] < 1e-100 and p[2] > 0.99  # 999 weeks of silence after 500 purchases
    rng = np.random.default_rng(8)
    data = clv.simulate_bgnbd(2_000, r=0.5, alpha=5.0, a=1.2, b=3.0, T=52.0, rng=rng)
    columns = [np.r_[data[k], extra] for k, extra in zip(data, (x, recency, big_t), strict=True)]
    for model in (clv.BetaGeoModel(), clv.ParetoNBDModel()):
        assert np.isfinite(model.fit(*columns).log_likelihood_)


# --------------------------------------------------------------------------- simulation


@pytest.mark.parametrize("seed", [0, 1])
def test_bgnbd_recovers_simulated_parameters(seed):
    """Given 50,000 customers drawn from BG/NBD with known parameters, when fitted, then
    each estimate is within 15% and 4 standard errors of the truth."""
    true = {"r": 0.5, "alpha": 5.0, "a": 1.2, "b": 3.0}
    rng = np.random.default_rng(seed)
    data = clv.simulate_bgnbd(50_000, **true, T=rng.uniform(39, 104, 50_000), rng=rng)
    model = clv.BetaGeoModel().fit(data["frequency"], data["recency"], data["T"])
    for name, value in true.items():
        estimate, se = model.params_[name], model.standard_errors_[name]
        assert abs(estimate / value - 1) < 0.15, (name, estimate)
        assert abs(estimate - value) < 4 * se, (name, estimate, se)


def test_mbgnbd_recovers_simulated_parameters():
    true = {"r": 0.5, "alpha": 5.0, "a": 1.2, "b": 3.0}
    rng = np.random.default_rng(7)
    data = clv.simulate_bgnbd(
        50_000, **true, T=rng.uniform(39, 104, 50_000), rng=rng, modified=True
    )
    model = clv.ModifiedBetaGeoModel().fit(data["frequency"], data["recency"], data["T"])
    for name, value in true.items():
        assert abs(model.params_[name] / value - 1) < 0.15, name


def test_paretonbd_recovers_simulated_parameters():
    true = {"r": 0.5, "alpha": 8.0, "s": 0.8, "beta": 12.0}
    rng = np.random.default_rng(11)
    data = clv.simulate_paretonbd(10_000, **true, T=rng.uniform(39, 104, 10_000), rng=rng)
    model = clv.ParetoNBDModel().fit(data["frequency"], data["recency"], data["T"])
    for name, value in true.items():
        estimate, se = model.params_[name], model.standard_errors_[name]
        assert abs(estimate - value) < 4 * se, (name, estimate, se)


def test_gamma_gamma_recovers_simulated_parameters():
    """Given 30,000 repeat buyers' mean spend drawn from Gamma-Gamma, the estimates are
    within 15% and 4 standard errors of the truth."""
    true = {"p": 6.0, "q": 4.0, "v": 15.0}
    rng = np.random.default_rng(5)
    x = rng.integers(1, 15, 30_000).astype(float)
    spend = clv.simulate_gamma_gamma(x, **true, rng=rng)
    model = clv.GammaGammaModel().fit(x, spend)
    for name, value in true.items():
        estimate, se = model.params_[name], model.standard_errors_[name]
        assert abs(estimate / value - 1) < 0.15, (name, estimate)
        assert abs(estimate - value) < 4 * se, (name, estimate, se)


def test_simulated_summaries_are_valid():
    rng = np.random.default_rng(2)
    bg = clv.simulate_bgnbd(2_000, r=0.5, alpha=5.0, a=1.2, b=3.0, T=52.0, rng=rng)
    pn = clv.simulate_paretonbd(2_000, r=0.5, alpha=5.0, s=0.8, beta=12.0, T=52.0, rng=rng)
    for data in (bg, pn):
        x, recency, big_t = data["frequency"], data["recency"], data["T"]
        assert (x >= 0).all() and (recency <= big_t).all() and (recency[x == 0] == 0).all()
        assert (recency[x > 0] > 0).all()


def test_models_follow_scikit_learn_conventions():
    model = clv.BetaGeoModel(penalizer=0.001)
    assert model.get_params()["penalizer"] == 0.001
    assert repr(model) == "BetaGeoModel(penalizer=0.001)"
    assert model.set_params(max_iter=50) is model and model.max_iter == 50
    assert not hasattr(model, "params_")
    rng = np.random.default_rng(4)
    data = clv.simulate_bgnbd(3_000, r=0.5, alpha=5.0, a=1.2, b=3.0, T=52.0, rng=rng)
    assert model.fit(data["frequency"], data["recency"], data["T"]) is model
    assert set(model.params_) == {"r", "alpha", "a", "b"} == set(model.standard_errors_)
    assert model.n_customers_ == 3_000
