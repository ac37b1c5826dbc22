"""tiering.clv refuses invalid input with a clear, bilingual error."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tiering import clv
from tiering.exceptions import TieringError

X = [1, 0, 3]
RECENCY = [5.0, 0.0, 20.0]
T = [10.0, 12.0, 30.0]
CJK = re.compile(r"[\u4e00-\u9fff]")


def fitted_bg() -> clv.BetaGeoModel:
    return clv.BetaGeoModel.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)


def assert_bilingual(error: clv.ModelError) -> None:
    assert isinstance(error, TieringError)
    assert CJK.search(error.message("zh")), error.message("zh")
    assert str(error) == error.message("en")


MODELS = [clv.BetaGeoModel, clv.ModifiedBetaGeoModel, clv.ParetoNBDModel]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("x", "recency", "big_t", "message"),
    [
        ([1, 0, 3], [5.0, 0.0, 40.0], T, r"recency is greater than T for 1 customer.*position 2"),
        ([1, -1, 3], RECENCY, T, r"frequency has 1 negative value"),
        (X, [5.0, 0.0, -2.0], T, r"recency has 1 negative value"),
        (X, RECENCY, [10.0, -12.0, 30.0], r"T has 1 negative value"),
        ([1, 0.5, 3], RECENCY, T, r"frequency must be whole numbers.*position 1 has 0.5"),
        (
            X,
            RECENCY,
            [10.0, 12.0],
            r"frequency, recency and T must have the same length; got 3, 3, 2",
        ),
        ([1, np.nan, 3], RECENCY, T, r"frequency has 1 missing \(NaN\) or infinite"),
        (X, [5.0, 0.0, np.nan], T, r"recency has 1 missing"),
        (X, RECENCY, [10.0, np.inf, 30.0], r"T has 1 missing \(NaN\) or infinite"),
        ([1, 0, 3], [5.0, 2.0, 20.0], T, r"recency must be 0 when frequency is 0"),
        (["1", "x", "3"], RECENCY, T, r"frequency must be numbers"),
        ([0, 0, 0], [0.0, 0.0, 0.0], T, r"no customer has a repeat purchase"),
        ([], [], [], r"no customers to fit"),
    ],
)
def test_fit_rejects_invalid_summaries(model, x, recency, big_t, message):
    with pytest.raises(clv.ModelError, match=message) as info:
        model().fit(x, recency, big_t)
    assert_bilingual(info.value)


@pytest.mark.parametrize("model", MODELS)
def test_predictions_check_their_inputs_too(model):
    fitted = model.from_params(**dict(zip(model._param_names, [0.5, 5.0, 0.8, 2.0], strict=True)))
    with pytest.raises(clv.ModelError, match="recency is greater than T"):
        fitted.p_alive(2, 31, 30)
    with pytest.raises(clv.ModelError, match="t has 1 negative value"):
        fitted.expected_purchases(-1, 2, 3, 30)
    with pytest.raises(clv.ModelError, match="must have the same length"):
        fitted.expected_purchases([1, 2], [1, 2, 3], [1, 2, 3], [5, 5, 5])
    with pytest.raises(clv.ModelError, match="frequency must be whole numbers"):
        fitted.p_alive(1.5, 1, 3)


@pytest.mark.parametrize("model", [*MODELS, clv.GammaGammaModel])
def test_predicting_before_fit_is_a_clear_error(model):
    unfitted = model()
    with pytest.raises(clv.NotFittedError, match=r"is not fitted yet: call fit\(\)") as info:
        if model is clv.GammaGammaModel:
            unfitted.expected_spend(2, 10.0)
        else:
            unfitted.p_alive(2, 3, 30)
    assert_bilingual(info.value)
    if model is not clv.GammaGammaModel:
        with pytest.raises(clv.NotFittedError):
            unfitted.expected_purchases(10, 2, 3, 30)
        with pytest.raises(clv.NotFittedError):
            unfitted.expected_purchases_new(10)


@pytest.mark.parametrize(
    ("x", "m", "message"),
    [
        ([1, 2, 0], [10.0, 0.0, 0.0], r"monetary_value must be positive .* 1 are not.*position 1"),
        ([1, 2, 0], [10.0, -3.0, 0.0], r"monetary_value must be positive"),
        ([1, 2, 0], [10.0, np.nan, 0.0], r"monetary_value has 1 missing"),
        ([1, 2.5, 0], [10.0, 3.0, 0.0], r"frequency must be whole numbers"),
        ([1, -2, 0], [10.0, 3.0, 0.0], r"frequency has 1 negative value"),
        ([1, 2], [10.0, 3.0, 0.0], r"frequency and monetary_value must have the same length"),
        ([0, 0], [0.0, 0.0], r"no customer has repeat purchases"),
    ],
)
def test_gamma_gamma_rejects_invalid_spend(x, m, message):
    with pytest.raises(clv.ModelError, match=message) as info:
        clv.GammaGammaModel().fit(x, m)
    assert_bilingual(info.value)


def test_gamma_gamma_refuses_an_infinite_population_mean():
    model = clv.GammaGammaModel.from_params(p=2.0, q=0.8, v=10.0)
    assert model.expected_spend(3, 12.0) > 0
    with pytest.raises(clv.ModelError, match=r"q = 0.8 <= 1"):
        model.expected_spend([3, 0], [12.0, 0.0])


def test_non_convergence_says_what_to_try():
    """Given too few iterations, then the error names the model and suggests a penalizer,
    more data and another time unit."""
    rng = np.random.default_rng(3)
    data = clv.simulate_bgnbd(500, r=0.5, alpha=5.0, a=1.2, b=3.0, T=52.0, rng=rng)
    with pytest.raises(clv.ConvergenceError) as info:
        clv.BetaGeoModel(max_iter=2).fit(data["frequency"], data["recency"], data["T"])
    text = str(info.value)
    assert "BetaGeoModel did not converge" in text and "max_iter" in text
    assert "penalizer" in text and "more data" in text and "time unit" in text
    assert "惩罚项" in info.value.message("zh")


def test_an_estimate_running_off_is_reported():
    """Given customers who all buy at a steady pace to the end, the dropout parameters
    cannot be pinned down: the fit fails and says which parameter runs off."""
    x = [1, 2, 3] * 10
    with pytest.raises(clv.ConvergenceError, match=r"the estimate of a runs off"):
        clv.BetaGeoModel(penalizer=0.01).fit(x, [19, 18, 20] * 10, [20, 20, 20] * 10)
    with pytest.raises(clv.ConvergenceError, match="did not converge"):
        clv.GammaGammaModel().fit([1, 2, 3], [10.0, 10.0, 10.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"penalizer": -1.0}, "penalizer must be >= 0"),
        ({"initial_params": [1.0, 2.0]}, "initial_params must give 4 values"),
        ({"initial_params": {"r": 1.0}}, "initial_params must give r, alpha, a, b"),
        ({"initial_params": [1.0, -2.0, 1.0, 1.0]}, "initial_params must be positive"),
    ],
)
def test_bad_settings_are_rejected(kwargs, message):
    with pytest.raises(clv.ModelError, match=message):
        clv.BetaGeoModel(**kwargs).fit(X, RECENCY, T)


def test_from_params_and_set_params_check_names():
    with pytest.raises(clv.ModelError, match="needs exactly the parameters r, alpha, a, b"):
        clv.BetaGeoModel.from_params(r=1.0, alpha=1.0, a=1.0)
    with pytest.raises(clv.ModelError, match="must be positive"):
        clv.GammaGammaModel.from_params(p=1.0, q=-1.0, v=1.0)
    with pytest.raises(clv.ModelError, match="has no parameter 'alpha'"):
        clv.BetaGeoModel().set_params(alpha=3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon_months": 0}, "horizon_months must be at least 1"),
        ({"horizon_months": 1.5}, "horizon_months must be a whole number"),
        ({"discount_rate": -1.0}, "discount_rate must be a number > -1"),
        ({"margin": float("nan")}, "margin must be a number"),
        ({"time_unit_days": 0}, "time_unit_days must be positive"),
    ],
)
def test_clv_rejects_bad_settings(kwargs, message):
    spend = clv.GammaGammaModel.from_params(p=6.0, q=3.7, v=15.0)
    with pytest.raises(clv.ModelError, match=message):
        clv.customer_lifetime_value(fitted_bg(), spend, X, RECENCY, T, [10.0, 0.0, 20.0], **kwargs)


def test_clv_with_an_unfitted_model_is_a_clear_error():
    with pytest.raises(clv.NotFittedError):
        clv.customer_lifetime_value(fitted_bg(), clv.GammaGammaModel(), X, RECENCY, T, [1, 0, 2])
    with pytest.raises(clv.ModelError, match="same length"):
        spend = clv.GammaGammaModel.from_params(p=6.0, q=3.7, v=15.0)
        clv.customer_lifetime_value(fitted_bg(), spend, X, RECENCY, T, [1.0, 0.0])


TX = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b"],
        "date": ["2026-01-01", "2026-01-05", "2026-01-02"],
        "amount": [1.0, 2.0, 3.0],
    }
)


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (TX, {"as_of": "2026-01-31", "unit": "Y"}, r"unit must be one of D, W, M \(got 'Y'\)"),
        (TX, {"as_of": None}, "as_of is required"),
        (TX, {"as_of": "soon"}, "as_of is not a date"),
        (TX, {"as_of": "2026-01-31", "amount": "value"}, "transactions have no column value"),
        (
            TX.assign(date=["2026-01-01", None, "2026-01-02"]),
            {"as_of": "2026-01-31"},
            "missing dates",
        ),
        (
            TX.assign(date=["2026-01-01", "someday", "2026-01-02"]),
            {"as_of": "2026-01-31"},
            "not dates",
        ),
        (TX.assign(amount=[1.0, "x", 2.0]), {"as_of": "2026-01-31"}, "missing or non-numeric"),
        (TX.assign(customer_id=["a", None, "b"]), {"as_of": "2026-01-31"}, "has missing values"),
        ([1, 2, 3], {"as_of": "2026-01-31"}, "pandas DataFrame or a pyarrow Table"),
    ],
)
def test_summarize_rejects_invalid_transactions(frame, kwargs, message):
    with pytest.raises(clv.ModelError, match=message) as info:
        clv.summarize(frame, **kwargs)
    assert_bilingual(info.value)


def test_summarize_requires_as_of():
    with pytest.raises(TypeError):
        clv.summarize(TX)  # type: ignore[call-arg]
