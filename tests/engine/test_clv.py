"""Fidelity of tiering.clv on CDNOW: the published estimates, lifetimes' numbers, summarize.

The fixture is the CDNOW sample of Fader, Hardie & Lee (2005) as redistributed by lifetimes
(tests/fixtures/cdnow/README.md): 2,357 customers, a 39-week calibration period.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tiering import clv

CDNOW = Path(__file__).parents[1] / "fixtures" / "cdnow"
REL = 1e-3


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    tx = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["customer", "customer_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


@pytest.fixture(scope="module")
def bgnbd(summary) -> clv.BetaGeoModel:
    return clv.BetaGeoModel().fit(summary.x, summary.t_x, summary["T"])


@pytest.fixture(scope="module")
def paretonbd(summary) -> clv.ParetoNBDModel:
    return clv.ParetoNBDModel().fit(summary.x, summary.t_x, summary["T"])


@pytest.fixture(scope="module")
def gamma_gamma(summary) -> clv.GammaGammaModel:
    repeat = summary[summary.x > 0]
    return clv.GammaGammaModel().fit(repeat.x, repeat.zbar)


def close(actual: float, expected: float, rel: float = REL) -> bool:
    return abs(actual - expected) <= rel * abs(expected)


# --------------------------------------------------------------------------- BG/NBD


def test_bgnbd_reproduces_fader_hardie_lee_2005(bgnbd):
    """Given the CDNOW summary in weeks, when BG/NBD is fitted, then the estimates are those
    of Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way", Marketing
    Science 24(2) (and Hardie's Excel note): r = 0.2426, α = 4.414, a = 0.7929, b = 2.426,
    LL = −9582.4, and 1.226 expected purchases in the next 39 weeks for x = 2,
    t_x = 30.43, T = 38.86."""
    published = {"r": 0.2426, "alpha": 4.414, "a": 0.7929, "b": 2.426}
    for name, value in published.items():
        assert close(bgnbd.params_[name], value), (name, bgnbd.params_[name], value)
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert close(bgnbd.expected_purchases(39, 2, 30.43, 38.86), 1.226)
    assert bgnbd.n_customers_ == 2357


def test_bgnbd_standard_errors_match_lifetimes(bgnbd):
    """lifetimes 0.11.3 (BetaGeoFitter.summary) on the same data: se(r) = 0.012557,
    se(α) = 0.378221, se(a) = 0.185719, se(b) = 0.705345."""
    expected = {"r": 0.012557, "alpha": 0.378221, "a": 0.185719, "b": 0.705345}
    for name, value in expected.items():
        assert close(bgnbd.standard_errors_[name], value, 1e-2), name


def test_bgnbd_predictions_for_the_papers_customer(bgnbd):
    """P(alive) and E[X(39)] as computed by lifetimes 0.11.3 with the same parameters."""
    assert bgnbd.p_alive(2, 30.43, 38.86) == pytest.approx(0.72661, rel=1e-4)
    assert bgnbd.p_alive(0, 0, 38.86) == 1.0
    # E[X(t)] for a new customer: eq. (9) of the paper, at the fitted values
    r, alpha, a, b = (bgnbd.params_[k] for k in ("r", "alpha", "a", "b"))
    from scipy.special import hyp2f1

    t = 39.0
    direct = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )
    assert bgnbd.expected_purchases_new(t) == pytest.approx(direct, rel=1e-10)


def test_bgnbd_accepts_series_lists_and_arrays(summary, bgnbd):
    series = bgnbd.p_alive(summary.x, summary.t_x, summary["T"])
    assert isinstance(series, pd.Series) and series.index.equals(summary.index)
    as_list = bgnbd.p_alive(summary.x.tolist(), summary.t_x.tolist(), summary["T"].tolist())
    assert isinstance(as_list, np.ndarray)
    np.testing.assert_allclose(as_list, series.to_numpy())
    arrow = bgnbd.p_alive(pa.array(summary.x), pa.array(summary.t_x), pa.array(summary["T"]))
    np.testing.assert_allclose(np.asarray(arrow), series.to_numpy())


def test_weights_give_the_same_fit_as_repeated_rows(summary, bgnbd):
    """Given the summary collapsed to distinct rows with counts, when fitted with weights,
    then the estimates and log-likelihood equal the fit on every customer."""
    counts = summary.groupby(["x", "t_x", "T"]).size().reset_index(name="n")
    model = clv.BetaGeoModel().fit(counts.x, counts.t_x, counts["T"], weights=counts.n)
    for name, value in bgnbd.params_.items():
        assert model.params_[name] == pytest.approx(value, rel=1e-6)
    assert model.log_likelihood_ == pytest.approx(bgnbd.log_likelihood_, rel=1e-10)
    assert model.n_customers_ == 2357


@pytest.mark.parametrize("model", [clv.BetaGeoModel, clv.ParetoNBDModel])
def test_fitting_in_days_rescales_the_fit_in_weeks(model, summary):
    """Given the same customers in days instead of weeks, then the scale parameters are 7
    times larger, the shapes unchanged, and LL_days = LL_weeks − Σx·log 7 (each purchase
    time density is divided by 7): the likelihood is the full one, in the data's unit."""
    weeks = model().fit(summary.x, summary.t_x, summary["T"])
    days = model().fit(summary.x, summary.t_x * 7, summary["T"] * 7)
    for name, value in weeks.params_.items():
        factor = 7 if name in ("alpha", "beta") else 1
        assert days.params_[name] == pytest.approx(value * factor, rel=1e-4), name
    shift = summary.x.sum() * np.log(7)
    assert days.log_likelihood_ == pytest.approx(weeks.log_likelihood_ - shift, abs=1e-4)


# --------------------------------------------------------------------------- Pareto/NBD


def test_paretonbd_reproduces_the_published_estimates(paretonbd):
    """Given the CDNOW summary in weeks, when Pareto/NBD is fitted, then the estimates are
    those of Fader & Hardie (2005), "A Note on Implementing the Pareto/NBD Model in MATLAB"
    (brucehardie.com/notes/008/), also in Fader, Hardie & Lee (2005), "RFM and CLV",
    JMR 42(4): r = 0.5533, α = 10.5776, s = 0.6061, β = 11.6689, LL = −9595.0.

    (The likelihood is flat along s/β: BTYD reports β = 11.656 at LL −9594.976; our
    optimum β = 11.6679 has LL −9594.974, 1.4e-5 above that of the published values.)"""
    published = {"r": 0.5533, "alpha": 10.5776, "s": 0.6061, "beta": 11.6689}
    for name, value in published.items():
        assert close(paretonbd.params_[name], value), (name, paretonbd.params_[name], value)
    assert paretonbd.log_likelihood_ == pytest.approx(-9595.0, abs=0.1)


def test_paretonbd_predictions_match_lifetimes(paretonbd):
    """lifetimes 0.11.3 (ParetoNBDFitter) at its own fit of the same data: P(alive) =
    0.86912 and 1.45512 expected purchases in 39 weeks for x = 2, t_x = 30.43, T = 38.86."""
    assert paretonbd.p_alive(2, 30.43, 38.86) == pytest.approx(0.86912, rel=1e-4)
    assert paretonbd.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.45512, rel=1e-4)
    r, alpha, s, beta = (paretonbd.params_[k] for k in ("r", "alpha", "s", "beta"))
    t = 39.0
    direct = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    assert paretonbd.expected_purchases_new(t) == pytest.approx(direct, rel=1e-10)


def test_paretonbd_likelihood_equals_the_numerical_integral(paretonbd):
    """The log-likelihood of one customer equals the definition integrated numerically:
    alive at T, or died at τ in (t_x, T)."""
    from scipy.integrate import quad
    from scipy.special import gammaln

    r, alpha, s, beta = (paretonbd.params_[k] for k in ("r", "alpha", "s", "beta"))
    for x, t_x, big_t in [(0, 0.0, 38.86), (2, 30.43, 38.86), (29, 1.5, 38.86), (5, 38.0, 38.5)]:
        m = r + x
        died = quad(
            lambda u, m=m: (alpha + u) ** -m * (beta + u) ** -(s + 1),
            t_x,
            big_t,
            epsabs=0,
            epsrel=1e-12,
        )[0]
        alive = (alpha + big_t) ** -m * (beta + big_t) ** -s
        expected = (
            gammaln(m)
            - gammaln(r)
            + r * np.log(alpha)
            + s * np.log(beta)
            + np.log(alive + s * died)
        )
        model = clv.ParetoNBDModel.from_params(**paretonbd.params_)
        got = -model._nll(
            np.log([r, alpha, s, beta]),
            _one_row_pareto(x, t_x, big_t),
        )
        assert got == pytest.approx(expected, rel=1e-11)


def _one_row_pareto(x: float, t_x: float, big_t: float):
    from tiering.clv.paretonbd import _Prepared

    one = np.array([0])
    return _Prepared(
        x=np.array([x], float),
        T=np.array([big_t]),
        w=np.array([1.0]),
        alive_x=np.array([x], float),
        alive_T=np.array([big_t]),
        alive_code=one,
        died_x=np.array([x], float),
        died_t=np.array([t_x]),
        died_code=one,
    )


# --------------------------------------------------------------------------- MBG/NBD


def test_mbgnbd_matches_lifetimes(summary):
    """No CDNOW estimates are published for MBG/NBD (Batislam et al. 2007 use other data);
    lifetimes 0.11.3 (ModifiedBetaGeoFitter) gives r = 0.52484, α = 6.18299, a = 0.89136,
    b = 1.61400 and 1.26267 expected purchases in 39 weeks for the paper's customer."""
    model = clv.ModifiedBetaGeoModel().fit(summary.x, summary.t_x, summary["T"])
    expected = {"r": 0.52484, "alpha": 6.18299, "a": 0.89136, "b": 1.61400}
    for name, value in expected.items():
        assert close(model.params_[name], value), name
    assert close(model.expected_purchases(39, 2, 30.43, 38.86), 1.26267)
    assert 0 < model.p_alive(0, 0, 38.86) < 1  # may have dropped out after the first purchase


# --------------------------------------------------------------------------- Gamma-Gamma


def test_gamma_gamma_reproduces_the_published_estimates(gamma_gamma):
    """Given the 946 CDNOW repeat buyers' mean spend, when Gamma-Gamma is fitted, then the
    estimates are those of Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves
    for Customer Base Analysis", JMR 42(4), and Fader & Hardie (2013), "The Gamma-Gamma
    Model of Monetary Value": p = 6.25, q = 3.74, γ = 15.44 (given to 2 decimals: within
    1e-3 or half a unit of the last digit), and lifetimes' documentation: p = 6.2502,
    q = 3.7451, v = 15.4478 (1e-3)."""
    assert gamma_gamma.n_customers_ == 946
    published = {"p": 6.25, "q": 3.74, "v": 15.44}
    for name, value in published.items():
        got = gamma_gamma.params_[name]
        assert abs(got - value) <= max(REL * value, 0.005), (name, got, value)
    lifetimes_doc = {"p": 6.2502, "q": 3.7451, "v": 15.4478}
    for name, value in lifetimes_doc.items():
        assert close(gamma_gamma.params_[name], value), name


def test_gamma_gamma_standard_errors_and_prediction_match_lifetimes(gamma_gamma):
    """lifetimes 0.11.3: se(p) = 1.189687, se(q) = 0.290166, se(v) = 4.159994; the
    conditional expected average profit of x = 2, m = 22.35 is 24.6586."""
    expected = {"p": 1.189687, "q": 0.290166, "v": 4.159994}
    for name, value in expected.items():
        assert close(gamma_gamma.standard_errors_[name], value, 1e-2), name
    assert gamma_gamma.expected_spend(2, 22.35) == pytest.approx(24.6586, rel=1e-4)
    p, q, v = (gamma_gamma.params_[k] for k in ("p", "q", "v"))
    assert gamma_gamma.expected_spend(0, 0.0) == pytest.approx(p * v / (q - 1))


def test_gamma_gamma_ignores_customers_without_repeat_purchases(summary, gamma_gamma):
    everyone = clv.GammaGammaModel().fit(summary.x, summary.zbar)
    assert everyone.params_ == pytest.approx(gamma_gamma.params_, rel=1e-9)
    assert everyone.n_customers_ == 946


# --------------------------------------------------------------------------- summarize


def test_summarize_reproduces_the_cdnow_summary(transactions, summary):
    """Given the CDNOW transactions, when summarised at 1997-09-30 in weeks, then every
    customer's x, t_x, T equals the published summary to 2 decimals (T = 272 days / 7 =
    38.86 for a customer who first bought on 1997-01-01) and monetary_value its zbar."""
    result = clv.summarize(transactions, as_of="1997-09-30", customer_id="customer_id")
    assert result.index.name == "customer_id"
    assert len(result) == len(summary) == 2357
    expected = summary.set_index("ID")
    got = result.reindex(expected.index)
    assert (got.frequency.to_numpy() == expected.x.to_numpy()).all()
    np.testing.assert_array_equal(got.recency.round(2).to_numpy(), expected.t_x.to_numpy())
    np.testing.assert_array_equal(got["T"].round(2).to_numpy(), expected["T"].to_numpy())
    # zbar is rounded half up, so compare within half a cent
    assert (got.monetary_value - expected.zbar).abs().max() <= 0.005 + 1e-9
    assert result.loc[1, "T"] == pytest.approx(272 / 7)


def test_summarize_then_fit_gives_the_published_fit(transactions):
    result = clv.summarize(transactions, as_of="1997-09-30", customer_id="customer_id")
    model = clv.BetaGeoModel().fit(result.frequency, result.recency, result["T"])
    assert close(model.params_["r"], 0.2426) and close(model.params_["b"], 2.426)


def test_summarize_accepts_a_pyarrow_table(transactions):
    table = pa.Table.from_pandas(transactions.head(200), preserve_index=False)
    from_arrow = clv.summarize(table, as_of="1997-09-30", customer_id="customer_id")
    from_pandas = clv.summarize(
        transactions.head(200), as_of="1997-09-30", customer_id="customer_id"
    )
    pd.testing.assert_frame_equal(from_arrow, from_pandas)


def test_summarize_collapses_same_day_purchases_and_ignores_later_ones():
    """Given two purchases on one day, one later the same week and one after as_of, then the
    day counts once with its amounts summed, and the later purchase is ignored."""
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c"],
            "date": [
                "2026-01-01",
                "2026-01-08 09:00",
                "2026-01-08 17:30",
                "2026-02-01",
                "2026-01-15",
                "2026-01-20",
            ],
            "amount": [10.0, 5.0, 7.0, 100.0, 3.0, 4.0],
        }
    )
    weeks = clv.summarize(tx, as_of="2026-01-15")
    assert list(weeks.index) == ["a", "b"]  # c's first purchase is after as_of
    assert weeks.loc["a"].tolist() == pytest.approx([1, 1.0, 2.0, 12.0])
    assert weeks.loc["b"].tolist() == pytest.approx([0, 0.0, 0.0, 0.0])
    days = clv.summarize(tx, as_of="2026-01-15", unit="D")
    assert days.loc["a", "recency"] == 7 and days.loc["a", "T"] == 14
    months = clv.summarize(tx, as_of="2026-01-15", unit="M")
    assert months.loc["a", "T"] == pytest.approx(14 / 30.436875)
    no_amount = clv.summarize(tx, as_of="2026-01-15", amount=None)
    assert list(no_amount.columns) == ["frequency", "recency", "T"]
    assert weeks.frequency.dtype == np.int64


def test_summarize_matches_lifetimes_freq_d_multiplier_7(transactions):
    """lifetimes' summary_data_from_transaction_data(freq="D", freq_multiplier=7,
    observation_period_end="1997-09-30") on the CDNOW sample gives, for customer 1,
    frequency 2, recency 30.428571, T 38.857143, monetary_value 22.345."""
    result = clv.summarize(transactions, as_of="1997-09-30", customer_id="customer_id")
    assert result.loc[1].tolist() == pytest.approx([2, 30.428571, 38.857143, 22.345], rel=1e-6)


# --------------------------------------------------------------------------- CLV


def test_clv_is_the_discounted_sum_of_monthly_margins(bgnbd, gamma_gamma):
    """CLV = Σ_k margin · E[M] · (E[Y(k u)] − E[Y((k−1) u)]) / (1+d)^k, u = 30.436875/7."""
    x, t_x, big_t, m = 2, 30.43, 38.86, 22.35
    value = clv.customer_lifetime_value(
        bgnbd, gamma_gamma, x, t_x, big_t, m, horizon_months=6, margin=0.3, discount_rate=0.02
    )
    month = 30.436875 / 7
    cumulative = [bgnbd.expected_purchases(k * month, x, t_x, big_t) for k in range(7)]
    expected = sum(
        0.3 * gamma_gamma.expected_spend(x, m) * (cumulative[k] - cumulative[k - 1]) / 1.02**k
        for k in range(1, 7)
    )
    assert value == pytest.approx(expected, rel=1e-12)


def test_clv_without_discount_is_margin_times_spend_times_purchases(
    paretonbd, gamma_gamma, summary
):
    x, t_x, big_t, m = summary.x, summary.t_x, summary["T"], summary.zbar
    value = clv.customer_lifetime_value(
        paretonbd,
        gamma_gamma,
        x,
        t_x,
        big_t,
        m,
        horizon_months=12,
        discount_rate=0.0,
        time_unit_days=7,
    )
    purchases = paretonbd.expected_purchases(12 * 30.436875 / 7, x, t_x, big_t)
    expected = gamma_gamma.expected_spend(x, m) * purchases
    assert isinstance(value, pd.Series)
    np.testing.assert_allclose(value.to_numpy(), expected.to_numpy(), rtol=1e-10)


def test_clv_grows_with_the_horizon_and_shrinks_with_the_discount(bgnbd, gamma_gamma, summary):
    args = (bgnbd, gamma_gamma, summary.x, summary.t_x, summary["T"], summary.zbar)
    one_year = clv.customer_lifetime_value(*args, horizon_months=12)
    two_years = clv.customer_lifetime_value(*args, horizon_months=24)
    steep = clv.customer_lifetime_value(*args, horizon_months=12, discount_rate=0.05)
    assert (two_years > one_year).all() and (steep < one_year).all() and (one_year > 0).all()
    in_days = clv.customer_lifetime_value(
        bgnbd, gamma_gamma, 2, 30.43, 38.86, 22.35, horizon_months=3, time_unit_days=1
    )
    assert in_days > 0  # the same model read as days: months are 30.44 units
