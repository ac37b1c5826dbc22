"""Portfolio analytics (tiering.reports.portfolio) on a small hand-checked portfolio.

The portfolio: ten customers, revenue 1,000 in total, tiers A/B/C.

    id   tier revenue profit orders recency tenure p_alive
    C01  A      400    100     12      10    330    0.4
    C02  A      200    -10      6     100    300    0.9
    C03  B      100     10      4     110    200    0.3
    C04  B       80     30      1      20     20    0.8
    C05  B       60     25      3      15    100    0.9
    C06  B       50     -5      2      40     60    0.9
    C07  B       40      8      1     200    200    0.2
    C08  B       30     12      1       5      5    0.9
    C09  C       25     -3      1     300    300    0.1
    C10  C       15     -7      1      30     30    0.6

Revenue shares: .40 .20 .10 .08 .06 .05 .04 .03 .025 .015.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import inspect
from decimal import Decimal

import pyarrow as pa
import pytest

import tiering
from tiering.exceptions import TieringError
from tiering.reports import (
    assess,
    build_report,
    churn_warning,
    compare,
    concentration,
    follow_ups,
    lorenz,
    migration,
)

TIERS = ["A", "B", "C"]
ROWS = [
    # id, tier, revenue, profit, orders, recency, tenure, p_alive
    ("C01", "A", 400, 100, 12, 10, 330, 0.4),
    ("C02", "A", 200, -10, 6, 100, 300, 0.9),
    ("C03", "B", 100, 10, 4, 110, 200, 0.3),
    ("C04", "B", 80, 30, 1, 20, 20, 0.8),
    ("C05", "B", 60, 25, 3, 15, 100, 0.9),
    ("C06", "B", 50, -5, 2, 40, 60, 0.9),
    ("C07", "B", 40, 8, 1, 200, 200, 0.2),
    ("C08", "B", 30, 12, 1, 5, 5, 0.9),
    ("C09", "C", 25, -3, 1, 300, 300, 0.1),
    ("C10", "C", 15, -7, 1, 30, 30, 0.6),
]


def sample(drop: tuple[str, ...] = (), **extra: list) -> pa.Table:
    """The portfolio as the engine writes it (money as decimals), less ``drop``, plus
    ``extra`` columns."""
    ids, tiers, revenue, profit, orders, recency, tenure, p_alive = zip(*ROWS, strict=True)
    money = pa.decimal128(38, 2)
    columns = {
        "customer_id": pa.array(ids),
        "tier": pa.array(tiers),
        "revenue": pa.array([Decimal(v) for v in revenue], money),
        "cost": pa.array([Decimal(r - p) for r, p in zip(revenue, profit, strict=True)], money),
        "profit": pa.array([Decimal(v) for v in profit], money),
        "orders": pa.array(orders, pa.int64()),
        "recency_days": pa.array(recency, pa.int64()),
        "tenure_days": pa.array(tenure, pa.int64()),
        "p_alive": pa.array(p_alive, pa.float64()),
        **{k: pa.array(v) for k, v in extra.items()},
    }
    return pa.table({k: v for k, v in columns.items() if k not in drop})


def previous_sample() -> pa.Table:
    """The previous quarter: C11 has left since, C10 is new; C02 and C05 moved up, C03 down.

    C01 A, C02 B, C03 A, C04 B, C05 C, C06 B, C07 B, C08 B, C09 C, C11 B (revenue 70)."""
    rows = [
        ("C01", "A", 380),
        ("C02", "B", 150),
        ("C03", "A", 120),
        ("C04", "B", 70),
        ("C05", "C", 40),
        ("C06", "B", 55),
        ("C07", "B", 45),
        ("C08", "B", 20),
        ("C09", "C", 30),
        ("C11", "B", 70),
    ]
    ids, tiers, revenue = zip(*rows, strict=True)
    return pa.table({"customer_id": ids, "tier": tiers, "revenue": [float(r) for r in revenue]})


def one_row(**values) -> pa.Table:
    base = {
        "customer_id": ["C01"],
        "tier": ["A"],
        "revenue": [500.0],
        "profit": [50.0],
        "orders": [3],
    }
    base.update({k: [v] for k, v in values.items()})
    return pa.table(base)


# ---------------------------------------------------------------------------------------
# assess


def test_assess_measures_of_the_sample():
    """Given the ten-customer portfolio
    When it is assessed on revenue
    Then repeat rate, Gini and top shares are the hand-computed ones."""
    a = assess(sample())
    assert a.customers == 10
    assert a.buyers == 10
    # C01, C02, C03, C05, C06 have 2+ orders
    assert a.repeat_customers == 5
    assert a.repeat_rate == pytest.approx(0.5)
    assert a.positive_customers == 10
    assert a.total_value == pytest.approx(1000)
    # ascending x: 15 25 30 40 50 60 80 100 200 400; sum(i*x_i) = 8085
    # G = 2 * 8085 / (10 * 1000) - 11/10 = 1.617 - 1.1 = 0.517
    assert a.gini == pytest.approx(0.517)
    # top 20% = ceil(10/5) = 2 customers: (400 + 200) / 1000
    assert a.top20_share == pytest.approx(0.6)
    assert a.top1_share == pytest.approx(0.4)
    assert a.top1_customer == "C01"


def test_assess_ten_customers_is_not_worth_it():
    """Given ten customers (fewer than 20), repeat buying (50%) and marked differences
    When assessed
    Then scale is not met, the others are met, and the verdict is "not worth it"."""
    a = assess(sample())
    status = {c.key: c.status for c in a.conditions}
    assert status == {"scale": "not_met", "repeat": "met", "dispersion": "met"}
    assert a.verdict == "not worth it"
    assert "Only 10 customers" in a.reason("en")
    assert "仅 10 位客户" in a.reason("zh")
    assert a.reason_en.startswith("Tiering gains little here")


def portfolio(revenues: list[float], orders: list[int]) -> pa.Table:
    n = len(revenues)
    return pa.table(
        {
            "customer_id": [f"K{i:04d}" for i in range(n)],
            "tier": ["A"] * n,
            "revenue": revenues,
            "profit": [r / 10 for r in revenues],
            "orders": orders,
        }
    )


def test_assess_worth_it_with_one_big_customer():
    """Given 200 repeat customers, one holding 1,000 of 2,990 revenue and 199 holding 10
    When assessed
    Then value differences are met by the single big customer (33% ≥ 5% and ≥ 2/200) even
    though the top 20% hold only 46.5% (1,390 / 2,990), and the verdict is "worth it"."""
    a = assess(portfolio([1000.0] + [10.0] * 199, [2] * 200))
    assert a.top20_share == pytest.approx(1390 / 2990)
    assert a.top1_share == pytest.approx(1000 / 2990)
    assert {c.key: c.status for c in a.conditions} == {
        "scale": "met",
        "repeat": "met",
        "dispersion": "met",
    }
    assert a.verdict == "worth it"


def test_assess_marginal_with_dozens_of_occasional_buyers():
    """Given 50 customers (partly: dozens), 15 of them with two orders (30%: partly) and
    one customer holding half the revenue
    When assessed
    Then the verdict is "marginal" (two conditions partly met)."""
    a = assess(portfolio([490.0] + [10.0] * 49, [2] * 15 + [1] * 35))
    assert a.repeat_rate == pytest.approx(0.3)
    status = {c.key: c.status for c in a.conditions}
    assert status == {"scale": "partly", "repeat": "partly", "dispersion": "met"}
    assert a.verdict == "marginal"


def test_assess_corner_shop_is_not_worth_it():
    """Given 500 customers all buying the same small amount, repeatedly
    When assessed
    Then value is spread evenly (top 20% hold 20%, Gini 0) and tiering is not worth it."""
    a = assess(portfolio([10.0] * 500, [5] * 500))
    assert a.gini == pytest.approx(0.0)
    assert a.top20_share == pytest.approx(0.2)
    assert {c.key: c.status for c in a.conditions}["dispersion"] == "not_met"
    assert a.verdict == "not worth it"
    assert "spread evenly" in a.reason("en")


def test_assess_prefers_lifetime_orders():
    """Given lifetime_orders beside orders
    When assessed
    Then the repeat rate counts lifetime orders."""
    a = assess(sample(lifetime_orders=[1] * 10))
    assert a.repeat_customers == 0
    assert a.verdict == "not worth it"


def test_assess_one_customer():
    """Given a single customer
    When assessed
    Then it holds everything: Gini 0, top shares 1."""
    a = assess(one_row())
    assert a.gini == 0.0
    assert a.top1_share == 1.0
    assert a.top20_share == 1.0
    assert a.verdict == "not worth it"


def test_assess_all_zero_values():
    """Given customers without any revenue or orders
    When assessed
    Then the Gini is undefined (None), shares are 0 and no condition but scale can hold."""
    table = portfolio([0.0] * 30, [0] * 30)
    a = assess(table)
    assert a.gini is None
    assert a.top1_share == 0.0
    assert a.top20_share == 0.0
    assert a.repeat_rate is None
    assert a.top1_customer is None
    assert "No customer has a positive revenue" in a.reason("en")
    assert a.verdict == "not worth it"


def test_assess_missing_column_is_a_clear_error():
    """Given results without an orders column
    When assessed
    Then a TieringError names the column in both languages."""
    with pytest.raises(TieringError) as e:
        assess(sample(drop=("orders",)))
    assert "orders" in e.value.message("en")
    assert "orders" in e.value.message("zh")


def test_assess_accepts_pandas():
    """Given the portfolio as a pandas DataFrame
    When assessed
    Then the figures are those of the Arrow table."""
    assert assess(sample().to_pandas()) == assess(sample())


# ---------------------------------------------------------------------------------------
# concentration


def test_concentration_of_the_sample():
    """Given the portfolio
    When its concentration is measured
    Then top shares, HHI and alerts are the hand-computed ones."""
    c = concentration(sample())
    assert c.top1_revenue == pytest.approx(0.40)
    assert c.top5_revenue == pytest.approx(0.84)  # .40 + .20 + .10 + .08 + .06
    assert c.top10_revenue == pytest.approx(1.0)
    # profit shares of the positive profits: 100 + 30 + 25 + 12 + 10 + 8 = 185
    assert c.total_profit == pytest.approx(185)
    assert c.top1_profit == pytest.approx(100 / 185)
    assert c.top5_profit == pytest.approx(177 / 185)  # 100 + 30 + 25 + 12 + 10
    assert c.top10_profit == pytest.approx(1.0)
    # HHI = 10,000 × (.16 + .04 + .01 + .0064 + .0036 + .0025 + .0016 + .0009 + .000625
    #                 + .000225) = 10,000 × .22585
    assert c.hhi == pytest.approx(2258.5)
    # alerts at 10%: C01 40%, C02 20%, and C03 at exactly 10% (at or above)
    assert [(s.customer_id, s.share) for s in c.alerts] == [
        ("C01", pytest.approx(0.4)),
        ("C02", pytest.approx(0.2)),
        ("C03", pytest.approx(0.1)),
    ]
    assert [s.tier for s in c.alerts] == ["A", "A", "B"]
    assert [s.customer_id for s in c.top10] == [f"C{i:02d}" for i in range(1, 11)]
    assert c.to_rows()[1] == {
        "top": 5,
        "revenue_share": pytest.approx(0.84),
        "profit_share": pytest.approx(177 / 185),
    }


def test_concentration_alert_share_is_adjustable():
    """Given an alert share of 20%
    When measured
    Then only C01 and C02 (exactly 20%) are alerts."""
    c = concentration(sample(), alert_share=0.20)
    assert [s.customer_id for s in c.alerts] == ["C01", "C02"]


def test_concentration_one_customer_and_no_revenue():
    """Given one customer, then customers without revenue
    When measured
    Then the single customer is 100% (HHI 10,000, an alert), and without revenue every
    figure is 0 with no alert."""
    c = concentration(one_row())
    assert c.hhi == pytest.approx(10_000)
    assert [s.customer_id for s in c.alerts] == ["C01"]
    empty = concentration(portfolio([0.0] * 5, [0] * 5))
    assert (empty.hhi, empty.top1_revenue, empty.alerts, empty.top10) == (0.0, 0.0, (), ())


def test_concentration_ties_are_ordered_by_id():
    """Given two customers with equal revenue
    When measured
    Then the smaller id comes first, every time."""
    table = pa.table({"customer_id": ["B", "A"], "revenue": [50.0, 50.0], "profit": [1.0, 1.0]})
    assert [s.customer_id for s in concentration(table).top10] == ["A", "B"]


# ---------------------------------------------------------------------------------------
# Pareto curve


def test_lorenz_points_of_the_sample():
    """Given the portfolio
    When the Pareto curve is sampled at 11 points
    Then each point is the cumulative share of the best customers, largest first."""
    lz = lorenz(sample(), points=11)
    assert lz.customer_share == pytest.approx([i / 10 for i in range(11)])
    assert lz.value_share == pytest.approx(
        [0, 0.40, 0.60, 0.70, 0.78, 0.84, 0.89, 0.93, 0.96, 0.985, 1.0]
    )
    # the first five customers are the first to reach 80% (84%)
    assert lz.share_for_80 == pytest.approx(0.5)


def test_lorenz_interpolates_between_customers():
    """Given the portfolio sampled at 101 points
    When read at 5% of customers (half of the first customer)
    Then the value share is half of C01's 40%."""
    lz = lorenz(sample())
    assert len(lz.customer_share) == 101
    assert lz.value_share[5] == pytest.approx(0.20)
    assert lz.at(0.2) == pytest.approx(0.60)


def test_lorenz_edge_cases():
    """Given one customer, then no revenue at all
    When the curve is sampled
    Then one customer holds everything from the first step; without revenue the curve is
    flat and no share holds 80%."""
    one = lorenz(one_row(), points=5)
    assert one.value_share == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert one.share_for_80 == 1.0
    flat = lorenz(portfolio([0.0] * 4, [0] * 4), points=3)
    assert flat.value_share == (0.0, 0.0, 0.0)
    assert flat.share_for_80 is None


# ---------------------------------------------------------------------------------------
# follow-ups


def test_follow_ups_of_the_sample():
    """Given the portfolio with six customers in the middle tier B
    When the Pareto rule is applied again by profit
    Then the upgrade candidates are the top ceil(6/5) = 2 of B by profit (C04 30, C05 25),
    the loss-makers of C are C10 (-7) and C09 (-3), largest loss first, and C02 (A) and
    C06 (B) are the loss-makers of higher tiers."""
    f = follow_ups(sample(), TIERS)
    assert f.middle_tiers == ("B",)
    assert [(c.customer_id, c.value) for c in f.upgrade_candidates] == [("C04", 30), ("C05", 25)]
    assert [(c.customer_id, c.value) for c in f.loss_makers] == [("C10", -7), ("C09", -3)]
    assert [(c.customer_id, c.tier) for c in f.other_loss_makers] == [("C02", "A"), ("C06", "B")]
    assert f.upgrade_candidates[0].revenue == 80
    kinds = [r["kind"] for r in f.to_rows()]
    assert kinds == ["upgrade"] * 2 + ["loss_maker"] * 2 + ["other_loss_maker"] * 2


def test_follow_ups_by_revenue():
    """Given the metric revenue
    When the candidates are picked
    Then they are B's two largest by revenue: C03 (100) and C04 (80)."""
    f = follow_ups(sample(), TIERS, metric="revenue")
    assert [c.customer_id for c in f.upgrade_candidates] == ["C03", "C04"]


def test_follow_ups_skip_non_positive_candidates_and_two_tiers():
    """Given a middle tier whose best customer loses money, then only two tiers
    When the candidates are picked
    Then a loss-maker is no upgrade candidate, and two tiers have no middle tier."""
    table = pa.table(
        {
            "customer_id": ["X", "Y", "Z"],
            "tier": ["A", "B", "C"],
            "revenue": [10.0, 5.0, 1.0],
            "profit": [1.0, -1.0, 0.5],
        }
    )
    assert follow_ups(table, TIERS).upgrade_candidates == ()
    two = follow_ups(sample(), ["A", "B"])
    assert two.middle_tiers == ()
    assert two.upgrade_candidates == ()


# ---------------------------------------------------------------------------------------
# churn warning


def test_churn_warning_of_the_sample():
    """Given the portfolio, A customers as the valuable ones, a p_alive column
    When churn is checked
    Then C01 is flagged by p_alive 0.4 < 0.5 (not overdue: 10 days against a usual gap of
    (330 - 10) / 11 = 29.1) and C02 as overdue (100 days > 2 × (300 - 100) / 5 = 80); C07
    and C09 have low p_alive but are not valuable; ranked by revenue."""
    ch = churn_warning(sample(), tier_names=TIERS)
    assert ch.checked == ("p_alive", "overdue")
    assert ch.skipped == ()
    assert ch.valuable == 2
    assert [(a.customer_id, a.reasons) for a in ch.at_risk] == [
        ("C01", ("p_alive",)),
        ("C02", ("overdue",)),
    ]
    assert ch.at_risk[1].usual_gap_days == pytest.approx(40)
    assert ch.at_risk[0].usual_gap_days == pytest.approx(320 / 11)
    assert ch.value_at_risk == pytest.approx(600)


def test_churn_warning_min_revenue_adds_customers():
    """Given min_revenue 100
    When churn is checked
    Then C03 (revenue 100) is valuable too, flagged on both counts: p_alive 0.3 and 110
    days > 2 × (200 - 110) / 3 = 60."""
    ch = churn_warning(sample(), tier_names=TIERS, min_revenue=100)
    assert ch.valuable == 3
    assert [a.customer_id for a in ch.at_risk] == ["C01", "C02", "C03"]
    assert ch.at_risk[2].reasons == ("p_alive", "overdue")


def test_churn_warning_skips_what_it_cannot_check():
    """Given results without p_alive, then without tenure_days
    When churn is checked
    Then the criterion missing its column is skipped and reported with that column."""
    no_p = churn_warning(sample(drop=("p_alive",)), tier_names=TIERS)
    assert no_p.skipped == (("p_alive", ("p_alive",)),)
    assert [a.customer_id for a in no_p.at_risk] == ["C02"]
    assert no_p.at_risk[0].p_alive is None
    no_tenure = churn_warning(sample(drop=("tenure_days",)), tier_names=TIERS)
    assert no_tenure.checked == ("p_alive",)
    assert no_tenure.skipped == (("overdue", ("tenure_days",)),)
    assert [a.customer_id for a in no_tenure.at_risk] == ["C01"]


def test_churn_warning_with_a_mapping_and_clv():
    """Given p_alive as a mapping (C02 only) and a clv column ranking C02 above C01
    When churn is checked over the top two tiers
    Then C02 is flagged by both criteria, C01 (no probability, not overdue) is not, and the
    value at risk is the clv."""
    clv = [10.0, 50.0] + [1.0] * 8
    ch = churn_warning(
        sample(drop=("p_alive",), clv=clv), p_alive={"C02": 0.1}, tier_names=TIERS, top_tiers=2
    )
    assert ch.value_column == "clv"
    # B customers: C03 overdue (110 > 60); C07 and C08 have a single order
    assert [(a.customer_id, a.reasons) for a in ch.at_risk] == [
        ("C02", ("p_alive", "overdue")),
        ("C03", ("overdue",)),
    ]
    assert ch.at_risk[0].value == 50.0


def test_churn_warning_overdue_is_strict_and_uses_lifetime_orders():
    """Given a customer silent for exactly twice its usual gap, then lifetime_orders that
    widen C02's gap
    When churn is checked
    Then exactly twice is not overdue; with C02's 2 lifetime orders its gap is 200 days
    and 100 silent days are not overdue."""
    table = one_row(recency_days=60, tenure_days=120)  # 3 orders: gap (120 - 60) / 2 = 30
    assert churn_warning(table).at_risk == ()
    assert churn_warning(one_row(recency_days=61, tenure_days=121)).at_risk[0].reasons == (
        "overdue",
    )
    lifetime = [12, 2] + [1] * 8
    ch = churn_warning(sample(drop=("p_alive",), lifetime_orders=lifetime), tier_names=TIERS)
    assert ch.at_risk == ()


def test_churn_warning_tier_order_defaults_to_appearance():
    """Given no tier_names
    When churn is checked
    Then the first tier to appear (A, as the engine sorts best first) is the valuable one."""
    assert churn_warning(sample()).top_tiers == ("A",)


# ---------------------------------------------------------------------------------------
# migration and what-if


def test_migration_matrix_of_the_sample():
    """Given the previous quarter and the current one
    When the migration is computed
    Then the matrix counts and revenue (current; previous for the gone C11) are:

        prev\\now  A          B          C         gone
        A          1 (400)    1 (100)    .         .
        B          1 (200)    4 (200)    .         1 (70)
        C          .          1 (60)     1 (25)    .
        new        .          .          1 (15)    .
    """
    m = migration(previous_sample(), sample(), TIERS)
    assert m.rows == ("A", "B", "C", "new")
    assert m.columns == ("A", "B", "C", "gone")
    assert m.counts == ((1, 1, 0, 0), (1, 4, 0, 1), (0, 1, 1, 0), (0, 0, 1, 0))
    assert m.revenue_of("B", "B") == pytest.approx(200)  # C04 80 + C06 50 + C07 40 + C08 30
    assert m.revenue_of("B", "gone") == pytest.approx(70)
    assert m.revenue_of("A", "A") == pytest.approx(400)
    assert m.revenue_of("new", "C") == pytest.approx(15)
    assert [(u.customer_id, u.before, u.after, u.steps) for u in m.upgrades] == [
        ("C02", "B", "A", 1),
        ("C05", "C", "B", 1),
    ]
    assert [(d.customer_id, d.revenue, d.steps) for d in m.downgrades] == [("C03", 100, -1)]
    assert sum(r["customers"] for r in m.to_rows()) == 11


def test_migration_from_a_file_written_by_evaluate(tmp_path):
    """Given the previous output written to CSV (numbers read back as text)
    When the report is built with it
    Then the migration is the same as from the table."""
    path = tmp_path / "previous.csv"
    tiering.write_table(previous_sample(), path)
    report = build_report(sample(), TIERS, previous=path)
    assert report.migration == migration(previous_sample(), sample(), TIERS)


def test_migration_with_a_tier_no_longer_in_the_rules():
    """Given a previous output with a tier D the rules no longer have
    When the migration is computed
    Then D is a row of its own, and its moves have no direction."""
    prev = pa.table({"customer_id": ["C10"], "tier": ["D"], "revenue": [1.0]})
    m = migration(prev, sample(), TIERS)
    assert m.rows == ("A", "B", "C", "D", "new")
    assert m.count("D", "C") == 1
    assert [u.customer_id for u in m.unordered] == ["C10"]


def proposed_sample(tiers: list[str], revenue_factor: float = 1.0) -> pa.Table:
    table = sample()
    revenue = [float(r) * revenue_factor for r in table.column("revenue").to_pylist()]
    return pa.table({"customer_id": table.column("customer_id"), "tier": tiers, "revenue": revenue})


def test_compare_same_tier_names():
    """Given proposed rules regrading C02 A→B, C03 B→A, C06 B→C and C08 B→C (their revenue
    doubled, as with another lookback)
    When compared with the current rules
    Then 4 customers (380 of current revenue) change tier: 1 up (100), 3 down (280), and
    the matrix uses the current revenue."""
    proposed = proposed_sample(["A", "B", "A", "B", "B", "C", "B", "C", "C", "C"], 2.0)
    c = compare(sample(), proposed, TIERS, TIERS)
    assert (c.customers, c.total_revenue) == (10, pytest.approx(1000))
    assert (c.changed, c.changed_revenue) == (4, pytest.approx(380))
    assert (c.up, c.up_revenue) == (1, pytest.approx(100))
    assert (c.down, c.down_revenue) == (3, pytest.approx(280))
    assert c.unordered == 0
    m = c.matrix
    assert m.counts[:3] == ((1, 1, 0, 0), (1, 3, 2, 0), (0, 0, 2, 0))
    assert m.revenue_of("B", "B") == pytest.approx(180)  # C04 80 + C05 60 + C07 40
    assert m.revenue_of("B", "C") == pytest.approx(80)  # C06 50 + C08 30
    assert c.to_rows()[0] == {"direction": "changed", "customers": 4, "revenue": 380}


def test_compare_other_tier_names_has_no_direction():
    """Given proposed rules with tiers 金/银/铜
    When compared
    Then every customer changes tier name, without a direction."""
    names = {"A": "金", "B": "银", "C": "铜"}
    proposed = proposed_sample([names[r[1]] for r in ROWS])
    c = compare(sample(), proposed, TIERS, ["金", "银", "铜"])
    assert (c.changed, c.up, c.down, c.unordered) == (10, 0, 0, 10)
    assert c.unordered_revenue == pytest.approx(1000)
    assert c.matrix.count("B", "银") == 6


def test_compare_with_an_added_tier():
    """Given proposed rules A/B/C/D that put C10 into the new tier D
    When compared
    Then C → D is a downgrade, by the proposed order."""
    proposed = proposed_sample([r[1] for r in ROWS[:9]] + ["D"])
    c = compare(sample(), proposed, TIERS, [*TIERS, "D"])
    assert (c.changed, c.down, c.unordered) == (1, 1, 0)
    assert c.matrix.downgrades[0].steps == -1


# ---------------------------------------------------------------------------------------
# the report


def test_build_report_bundles_every_section():
    """Given the portfolio and its previous quarter
    When the report is built
    Then it holds each section, and the tier distribution comes from tiering.summarise."""
    report = build_report(sample(), TIERS, previous=previous_sample(), alert_share=0.2)
    assert report.customers == 10
    assert [r["customers"] for r in report.distribution] == [2, 6, 2, 10]
    assert report.distribution[0]["revenue_share"] == pytest.approx(0.6)
    assert len(report.concentration.alerts) == 2
    assert report.assessment.verdict == "not worth it"
    assert report.migration is not None
    assert report.follow_ups.loss_makers[0].customer_id == "C10"
    assert report.title is None


def test_build_report_without_previous_and_from_an_evaluation():
    """Given an Evaluation of a three-customer company (ABC by profit) and no previous output
    When the report is built from it
    Then there is no migration section and the evaluation date is taken over."""
    customers = pa.table({"customer_id": ["a", "b", "c"]})
    tx = pa.table(
        {
            "customer_id": ["a", "a", "b", "c"],
            "date": [
                dt.date(2026, 1, 5),
                dt.date(2026, 3, 1),
                dt.date(2026, 2, 1),
                dt.date(2026, 2, 2),
            ],
            "amount": [100.0, 50.0, 30.0, 5.0],
            "cost": [60.0, 30.0, 40.0, 1.0],
        }
    )
    rules = {
        "name": "abc",
        "as_of": "2026-06-30",
        "pareto": {"metric": "profit", "by": "customers"},
        "tiers": [{"name": "A", "top": "33%"}, {"name": "B", "top": "67%"}, {"name": "C"}],
    }
    ev = tiering.evaluate(rules, customers, tx)
    report = build_report(ev, ev.rules.tier_names)
    assert report.migration is None
    assert report.as_of == ev.as_of
    assert report.concentration.top1_revenue == pytest.approx(150 / 185)
    # profit: a 60 (A), c 4 (B), b -10 (always the last tier)
    assert [c.customer_id for c in report.follow_ups.upgrade_candidates] == ["c"]
    assert [c.customer_id for c in report.follow_ups.loss_makers] == ["b"]


def test_build_report_on_no_customers():
    """Given results without any row
    When the report is built
    Then every section is empty, and nothing fails."""
    report = build_report(sample().slice(0, 0), TIERS)
    assert report.customers == 0
    assert report.assessment.verdict == "not worth it"
    assert report.concentration.top10 == ()
    assert report.churn.at_risk == ()


# ---------------------------------------------------------------------------------------
# the modules


def _defined_names(module) -> set[str]:
    """The public names a module defines at its top level (not those it imports)."""
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names |= {e.id for e in elements if isinstance(e, ast.Name)}
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize(
    "module_name",
    [
        "results",
        "assessment",
        "concentration_risk",
        "pareto_curve",
        "pareto_follow_ups",
        "churn_risk",
        "migration_matrix",
        "what_if",
    ],
)
def test_portfolio_re_exports_every_analysis(module_name):
    """Given the analyses in one module each
    When they are read through tiering.reports.portfolio, as the callers do
    Then every public name the module defines is there, the very same object."""
    from tiering.reports import portfolio

    module = importlib.import_module(f"tiering.reports.{module_name}")
    names = _defined_names(module)
    assert names
    for name in names:
        assert name in portfolio.__all__
        assert getattr(portfolio, name) is getattr(module, name)
