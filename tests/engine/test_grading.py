"""Grading methods, history and reasons: hand-computed expectations on tiny data sets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import ibis
import pyarrow as pa
import pytest
from conftest import customers_table, d, flags, grade, run, tx_table

import tiering

AS_OF = "2026-06-30"
DAY = d(AS_OF)


def profits(values: dict[str, float | None]) -> tuple[pa.Table, pa.Table]:
    """Customers with one purchase each whose amount is its profit (cost 0); None: no
    transactions at all."""
    cust = customers_table(list(values))
    tx = tx_table([(c, d("2026-01-15"), v) for c, v in values.items() if v is not None])
    return cust, tx


def tiers_of(rows: dict[str, dict]) -> dict[str, str]:
    return {c: r["tier"] for c, r in rows.items()}


# =========================================================================== scorecard


def card(factors: list[dict], tiers=(("A", 75), ("B", 50), ("C", None)), **extra) -> dict:
    return {
        "name": "card",
        "as_of": AS_OF,
        "scorecard": factors,
        "tiers": [{"name": n, "min_score": m} if m is not None else {"name": n} for n, m in tiers],
        **extra,
    }


def test_percentile_ties_share_the_lowest_rank_and_empty_values_score_zero():
    """Given sales 100, 50, 50, 10, empty, 0, when scored by percentile, then PERCENT_RANK
    runs over the 5 non-empty values with ties sharing the lowest rank, and empty scores 0."""
    # ascending: f=0 (rank 1), d=10 (2), b=c=50 (3), a=100 (5); n=5 -> (rank-1)/4
    cust = customers_table(list("abcdef"), sales=[100, 50, 50, 10, None, 0])
    rules = card([{"factor": "attribute.sales", "weight": 1, "scale": "percentile"}])
    rows = grade(rules, cust, tx_table([]))
    points = {c: r["sales_points"] for c, r in rows.items()}
    assert points == {"a": 100, "b": 50, "c": 50, "d": 25, "e": 0, "f": 0}
    assert rows["e"]["sales_value"] is None
    assert tiers_of(rows) == {"a": "A", "b": "B", "c": "B", "d": "C", "e": "C", "f": "C"}


def test_what_is_missing_writes_a_whole_gap_without_decimals():
    """Given percentile points 100, 50, 50, 25, 0 (tiers A ≥ 75, B ≥ 50), when graded, then
    the customer at 25 misses B by 25 points, written "+25 points" (not "+25.0") and in
    Chinese "还差 25 分"; the B customers miss A by 25 as well."""
    cust = customers_table(list("abcdf"), sales=[100, 50, 50, 10, 0])
    rules = card([{"factor": "attribute.sales", "weight": 1, "scale": "percentile"}])
    rows = grade(rules, cust, tx_table([]))
    assert rows["d"]["missing"] == "to reach B: +25 points"
    assert rows["b"]["missing"] == "to reach A: +25 points"
    zh_rows = grade(rules, cust, tx_table([]), lang="zh")
    assert zh_rows["d"]["missing"] == "升至 B：还差 25 分"


def test_select_skips_the_customers_join_only_when_no_customer_column_is_asked_for():
    """Given customers with a region the rules do not use and tied percentile points, when
    the results' tier columns are selected, then they equal the full table's column by column
    and row by row (same order), with no join to the customers in the query; asking for the
    region too reads it through the join."""
    cust = customers_table(
        list("abcdf"), sales=[100, 50, 50, 10, 0], region=["北", "南", "东", "西", "中"]
    )
    rules = card([{"factor": "attribute.sales", "weight": 1, "scale": "percentile"}])
    ev, _ = run(rules, cust, tx_table([]))
    names = ("customer_id", "tier", "score", "missing")
    lean = ev.select(*names)
    assert lean.to_pyarrow().equals(ev.table.select(*names).to_pyarrow())
    assert "region" not in ibis.to_sql(lean) and "JOIN" in ibis.to_sql(ev.table.select(*names))
    assert ev.select("customer_id", "region").to_pyarrow().column("region").to_pylist() == [
        "北",
        "南",
        "东",
        "西",
        "中",
    ]


def test_percentile_of_revenue_counts_customers_without_transactions_as_zero():
    """Given revenue 300, 200 and two customers without transactions (revenue 0), when
    scored by percentile, then the zeros tie at rank 1 and b is (3-1)/3."""
    cust, tx = profits({"a": 300.0, "b": 200.0, "c": None, "d": None})
    rules = card([{"factor": "revenue", "weight": 1, "scale": "percentile"}])
    rows = grade(rules, cust, tx)
    assert rows["a"]["revenue_points"] == 100
    assert rows["b"]["revenue_points"] == pytest.approx(66.67)
    assert rows["c"]["revenue_points"] == 0
    assert rows["d"]["revenue_points"] == 0


def test_inverted_percentile_ranks_lower_values_better():
    """Given recency 0, 10, 10, 30 days and one customer without purchases (empty), when
    scored by an inverted percentile, then 0 -> 100, 10 -> 33.33 (tie), 30 -> 0, empty -> 0."""
    # best-first order: a (0) rank 4 of 4 -> 100; b, c (10) rank 2 -> 1/3; d (30) rank 1 -> 0
    cust = customers_table(list("abcde"))
    tx = tx_table(
        [
            ("a", d("2026-06-30"), 1.0),
            ("b", d("2026-06-20"), 1.0),
            ("c", d("2026-06-20"), 1.0),
            ("d", d("2026-05-31"), 1.0),
        ]
    )
    rules = card([{"factor": "recency_days", "weight": 1, "scale": "percentile", "invert": True}])
    rows = grade(rules, cust, tx)
    assert [rows[c]["recency_days_value"] for c in "abcde"] == [0, 10, 10, 30, None]
    assert rows["a"]["recency_days_points"] == 100
    assert rows["b"]["recency_days_points"] == pytest.approx(33.33)
    assert rows["c"]["recency_days_points"] == pytest.approx(33.33)
    assert rows["d"]["recency_days_points"] == 0
    assert rows["e"]["recency_days_points"] == 0


def test_percentile_group_by_grades_within_each_group():
    """Given revenue 10, 20, 30 in industry x and 5, 1000 in industry y, when scored by a
    percentile grouped by industry, then each industry runs 0..100 on its own."""
    # ungrouped it would be d 0, a 25, b 50, c 75, e 100
    cust = customers_table(list("abcde"), industry=["x", "x", "x", "y", "y"])
    tx = tx_table(
        [(c, d("2026-02-01"), v) for c, v in zip("abcde", [10, 20, 30, 5, 1000], strict=True)]
    )
    rules = card(
        [
            {
                "factor": "revenue",
                "weight": 1,
                "scale": "percentile",
                "group_by": "attribute.industry",
            }
        ]
    )
    rows = grade(rules, cust, tx)
    points = {c: r["revenue_points"] for c, r in rows.items()}
    assert points == {"a": 0, "b": 50, "c": 100, "d": 0, "e": 100}


def test_minmax_scales_between_min_and_max():
    """Given values 10, 20, 40 and an empty one, when scored minmax, then 0, 33.33, 100, 0."""
    cust = customers_table(list("abcd"), size=[10, 20, 40, None])
    rows = grade(
        card([{"factor": "attribute.size", "weight": 1, "scale": "minmax"}]), cust, tx_table([])
    )
    assert rows["a"]["size_points"] == 0
    assert rows["b"]["size_points"] == pytest.approx(33.33)
    assert rows["c"]["size_points"] == 100
    assert rows["d"]["size_points"] == 0


def test_minmax_gives_zero_when_all_values_are_equal():
    """Given every value equal (max == min), when scored minmax, then everyone gets 0."""
    cust = customers_table(list("abc"), size=[7, 7, 7])
    rows = grade(
        card([{"factor": "attribute.size", "weight": 1, "scale": "minmax"}]), cust, tx_table([])
    )
    assert {r["size_points"] for r in rows.values()} == {0}


def test_bands_give_the_points_of_the_highest_bound_reached():
    """Given bands [[0, 50], [0.1, 80], [0.3, 100]], when values are scored, then
    -0.2 -> 0, 0 -> 50, 0.05 -> 50, 0.1 -> 80, 0.3 -> 100, 0.5 -> 100, empty -> 0."""
    values = [-0.2, 0.0, 0.05, 0.1, 0.3, 0.5, None]
    ids = [f"c{i}" for i in range(len(values))]
    cust = customers_table(ids, g=values)
    scale = {"bands": [[0, 50], [0.1, 80], [0.3, 100]]}
    rows = grade(card([{"factor": "attribute.g", "weight": 1, "scale": scale}]), cust, tx_table([]))
    assert [rows[c]["g_points"] for c in ids] == [0, 50, 50, 80, 100, 100, 0]


def test_map_gives_points_by_value():
    """Given map {高: 100, 中: 60, 低: 20}, when values are scored, then 高 100, 中 60, 低 20,
    an unknown value 0 and an empty value 0."""
    cust = customers_table(list("abcde"), 影响力=["高", "中", "低", "其他", None])
    scale = {"map": {"高": 100, "中": 60, "低": 20}}
    rows = grade(
        card([{"factor": "attribute.影响力", "weight": 1, "scale": scale}]), cust, tx_table([])
    )
    assert [rows[c]["影响力_points"] for c in "abcde"] == [100, 60, 20, 0, 0]


LEVELS = {"map": {"hi": 100, "mid": 50, "lo": 0}}


def test_score_is_the_weighted_mean_and_picks_the_first_tier_reached():
    """Given factors q (weight 3) and r (weight 1) and tiers A ≥ 75, B ≥ 50, C, when scored,
    then score = (3q + r) / 4, the first tier whose min_score ≤ score, and gap in points."""
    q = {"a": "hi", "b": "mid", "c": "lo", "d": "hi", "e": "mid"}
    r = {"a": "lo", "b": "hi", "c": "hi", "d": "hi", "e": "lo"}
    cust = customers_table(list(q), q=list(q.values()), r=list(r.values()))
    rules = card(
        [
            {"factor": "attribute.q", "weight": 3, "scale": LEVELS},
            {"factor": "attribute.r", "weight": 1, "scale": LEVELS},
        ]
    )
    rows = grade(rules, cust, tx_table([]))
    # a: (300 + 0)/4 = 75 -> A (≥ is inclusive); b: (150 + 100)/4 = 62.5 -> B, 12.5 to A;
    # c: (0 + 100)/4 = 25 -> C, 25 to B; d: 100 -> A; e: 150/4 = 37.5 -> C, 12.5 to B
    expected = {
        "a": (75, "A", None, None),
        "b": (62.5, "B", "A", 12.5),
        "c": (25, "C", "B", 25),
        "d": (100, "A", None, None),
        "e": (37.5, "C", "B", 12.5),
    }
    got = {c: (r["score"], r["tier"], r["next_tier"], r["gap"]) for c, r in rows.items()}
    assert got == expected
    assert rows["b"]["gap_unit"] == "points"
    assert (rows["b"]["q_value"], rows["b"]["q_points"]) == ("mid", 50)
    assert (rows["b"]["r_value"], rows["b"]["r_points"]) == ("hi", 100)


def test_score_is_rounded_to_two_decimals_before_comparing():
    """Given revenue percentiles over four customers (0, 33.33…, 66.66…, 100), when the top
    tier needs 66.67, then c's score shows 66.67 and reaches it (unrounded it would not)."""
    cust, tx = profits({"a": 10.0, "b": 20.0, "c": 30.0, "d": 40.0})
    rules = card(
        [{"factor": "revenue", "weight": 1, "scale": "percentile"}],
        tiers=(("A", 66.67), ("B", None)),
    )
    rows = grade(rules, cust, tx)
    assert rows["c"]["score"] == pytest.approx(66.67, abs=1e-9)
    assert tiers_of(rows) == {"a": "B", "b": "B", "c": "A", "d": "A"}


def test_equal_weights_of_a_third_on_map_factors():
    """Given three equal-weight map factors scoring 100, 100 and 0, when scored, then the
    score is 200/3 rounded to 66.67, which reaches a tier at 66.67."""
    cust = customers_table(["a"], x=["hi"], y=["hi"], z=["lo"])
    rules = card(
        [{"factor": f"attribute.{f}", "weight": 1, "scale": LEVELS} for f in "xyz"],
        tiers=(("A", 66.67), ("B", None)),
    )
    row = grade(rules, cust, tx_table([]))["a"]
    assert row["score"] == pytest.approx(66.67, abs=1e-9)
    assert row["tier"] == "A"


# --------------------------------------------------------------------------- reasons

REASON_RULES = card(
    [
        {"factor": "revenue", "weight": 3, "scale": "percentile"},
        {
            "factor": "attribute.level",
            "weight": 1,
            "scale": LEVELS,
            "label": "relationship",
        },
    ],
    tiers=(("Gold", 75), ("Silver", 50), ("Bronze", None)),
)


def _reason_data():
    # revenue percentile over 3: a 0, b 50, c 100; level b 'hi' -> b = (3*50 + 100)/4 = 62.5
    cust = customers_table(list("abc"), level=["lo", "hi", "hi"])
    tx = tx_table([(c, d("2026-03-01"), v) for c, v in zip("abc", [10.0, 20.0, 30.0], strict=True)])
    return cust, tx


def test_reason_names_score_tier_and_each_factor():
    """Given a customer scoring 62.5 (Silver), when evaluated in English, then its reason
    holds the score, the tier, each factor's label and its weight share."""
    rows = grade(REASON_RULES, *_reason_data())
    b = rows["b"]
    assert (b["score"], b["tier"]) == (62.5, "Silver")
    reason = b["reason"]
    assert "score" in reason
    assert "62.5" in reason
    assert "Silver" in reason
    assert "revenue" in reason
    assert "relationship" in reason
    assert "75%" in reason  # revenue's share of the weights
    assert "25%" in reason


def test_reason_in_chinese():
    """Given lang="zh", when evaluated, then the reason is Chinese: 得分, the score, the tier
    and the factor labels in Chinese (营收 for revenue)."""
    rows = grade(REASON_RULES, *_reason_data(), lang="zh")
    reason = rows["b"]["reason"]
    assert reason.startswith("得分")
    assert "62.5" in reason
    assert "Silver" in reason
    assert "营收" in reason
    assert "relationship" in reason
    assert "score" not in reason
    assert "revenue" not in reason


# =========================================================================== pareto


def pareto_rules(tiers: list[dict], **method) -> dict:
    return {
        "name": "abc",
        "as_of": AS_OF,
        "pareto": {"metric": "profit", "by": "customers", **method},
        "tiers": tiers,
    }


ABC = [{"name": "A", "top": "20%"}, {"name": "B", "top": "50%"}, {"name": "C"}]


def test_pareto_by_customers_with_ties_and_loss_makers():
    """Given ten customers' profits with a tie at the A/B line, a zero and a loss, when graded
    20% / 50%, then positions 1-2 are A, 3-5 B, the rest C; ties go by customer_id; the
    loss-maker is flagged; gaps are the last customer of the next tier up minus own."""
    cust, tx = profits(
        {
            "p01": 100.0,
            "p02": 90.0,
            "p03": 90.0,  # ties p02; p02 comes first by id -> p03 is position 3 (B)
            "p04": 70.0,
            "p05": 60.0,
            "p06": 50.0,
            "p07": 40.0,
            "p08": 30.0,
            "p09": 0.0,
            "p10": -20.0,
        }
    )
    rows = grade(pareto_rules(ABC), cust, tx)
    # ceil(20% × 10) = 2, ceil(50% × 10) = 5
    assert tiers_of(rows) == {
        "p01": "A",
        "p02": "A",
        "p03": "B",
        "p04": "B",
        "p05": "B",
        "p06": "C",
        "p07": "C",
        "p08": "C",
        "p09": "C",
        "p10": "C",
    }
    assert [rows[f"p{i:02d}"]["rank"] for i in range(1, 11)] == list(range(1, 11))
    assert "loss_maker" in flags(rows["p10"])
    assert "loss_maker" not in flags(rows["p09"])  # zero profit is not a loss
    assert "loss_maker" not in flags(rows["p08"])
    # gaps: last A is p02 (90), last B is p05 (60)
    assert (rows["p03"]["next_tier"], rows["p03"]["gap"]) == ("A", 0)
    assert (rows["p04"]["next_tier"], rows["p04"]["gap"]) == ("A", 20)
    assert (rows["p06"]["next_tier"], rows["p06"]["gap"]) == ("B", 10)
    assert rows["p10"]["gap"] == 80  # 60 - (-20)
    assert rows["p10"]["gap_unit"] == "profit"
    assert (rows["p01"]["next_tier"], rows["p01"]["gap"]) == (None, None)


def test_pareto_metric_at_or_below_zero_always_goes_to_the_last_tier():
    """Given profits 10, 0, -5 and a customer without transactions, when graded A 25%,
    B 75%, C, then only the positive one escapes C, although 0 sits at position 2 (≤ 3)."""
    cust, tx = profits({"a": 10.0, "b": 0.0, "c": -5.0, "d": None})
    tiers = [{"name": "A", "top": "25%"}, {"name": "B", "top": "75%"}, {"name": "C"}]
    rows = grade(pareto_rules(tiers), cust, tx)
    assert tiers_of(rows) == {"a": "A", "b": "C", "c": "C", "d": "C"}
    assert flags(rows["c"]) >= {"loss_maker"}
    assert "loss_maker" not in flags(rows["d"])


@pytest.mark.parametrize(
    ("n", "top", "expected"),
    [
        (100, "7%", 7),  # float 0.07 * 100 = 7.000000000000001 would give 8
        (10, "30%", 3),  # float 0.3 * 10 = 3.0000000000000004 would give 4
        (10, "25%", 3),  # ceil(2.5)
        (3, "1%", 1),  # ceil(0.03)
        (10, 0.2, 2),  # a plain fraction
    ],
)
def test_pareto_top_uses_an_exact_ceiling(n, top, expected):
    """Given n customers with distinct positive profits, when the top tier is `top`, then
    exactly ceil(top × n) customers are in it, computed exactly."""
    cust, tx = profits({f"c{i:03d}": float(1000 - i) for i in range(n)})
    rows = grade(pareto_rules([{"name": "A", "top": top}, {"name": "C"}]), cust, tx)
    in_a = sorted(c for c, r in rows.items() if r["tier"] == "A")
    assert in_a == [f"c{i:03d}" for i in range(expected)]


@pytest.mark.parametrize(
    ("values", "expected", "before"),
    [
        # total 100: a before 0 -> A; b before 50 < 80 -> A although it crosses to 90;
        # c before 90 -> not A, < 95 -> B
        ({"a": 50.0, "b": 40.0, "c": 10.0}, "AAB", [0, 0.5, 0.9]),
        # total 100: b ends exactly at 80 (included); c before 80 is not < 80 -> B;
        # d before 90 < 95 -> B; e zero -> C; f loss -> C
        (
            {"a": 50.0, "b": 30.0, "c": 10.0, "d": 10.0, "e": 0.0, "f": -5.0},
            "AABBCC",
            [0, 0.5, 0.8, 0.9],
        ),
    ],
)
def test_pareto_by_value_includes_the_customer_that_crosses_the_line(values, expected, before):
    """Given profits and tiers A share 80%, B share 95%, C, when graded by value, then a
    customer is in the first tier whose share is above the cumulative profit before it."""
    cust, tx = profits(values)
    tiers = [{"name": "A", "share": "80%"}, {"name": "B", "share": "95%"}, {"name": "C"}]
    rows = grade(pareto_rules(tiers, by="value"), cust, tx)
    assert "".join(rows[c]["tier"] for c in values) == expected
    got = [rows[c]["cum_share_before"] for c in list(values)[: len(before)]]
    assert got == pytest.approx(before)
    if "f" in values:
        assert "loss_maker" in flags(rows["f"])
        # gaps: last B is d (10): c is B, its gap to A is b (30) - 10; f: 10 - (-5)
        assert rows["c"]["gap"] == 20
        assert rows["e"]["gap"] == 10
        assert rows["f"]["gap"] == 15


def test_pareto_group_by_grades_within_each_industry():
    """Given five customers in each of two industries, when graded 20% / 50% grouped by
    industry, then each industry has its own A (1 customer) and B (ceil(2.5) = 3 - 1)."""
    values = {"x1": 100, "x2": 50, "x3": 10, "x4": 5, "x5": 1}
    values |= {"y1": 1000, "y2": 900, "y3": 800, "y4": 700, "y5": 600}
    cust = customers_table(list(values), industry=[c[0] for c in values])
    tx = tx_table([(c, d("2026-01-15"), float(v)) for c, v in values.items()])
    rows = grade(pareto_rules(ABC, group_by="attribute.industry"), cust, tx)
    # ungrouped, x1 (100) would be position 6 of 10 -> C
    assert tiers_of(rows) == {
        "x1": "A",
        "x2": "B",
        "x3": "B",
        "x4": "C",
        "x5": "C",
        "y1": "A",
        "y2": "B",
        "y3": "B",
        "y4": "C",
        "y5": "C",
    }
    assert rows["x1"]["rank"] == 1
    assert rows["x2"]["gap"] == 50  # last A of industry x is x1 (100)


def test_pareto_reason_in_chinese_names_the_metric():
    """Given lang="zh", when graded by pareto, then the reason uses the Chinese metric name."""
    cust, tx = profits({"a": 10.0, "b": 5.0})
    rows = grade(pareto_rules([{"name": "A", "top": "50%"}, {"name": "C"}]), cust, tx, lang="zh")
    assert "利润" in rows["a"]["reason"]
    assert "A" in rows["a"]["reason"]


# =========================================================================== thresholds

MEMBERSHIP = {
    "name": "会员等级",
    "as_of": AS_OF,
    "thresholds": {"metric": "lifetime_revenue"},
    "tiers": [
        {"name": "钻石", "min": 200000},
        {"name": "金卡", "min": 50000},
        {"name": "银卡", "min": 10000},
        {"name": "普通", "min": 1},
        {"name": "新客户"},
    ],
}


def test_thresholds_first_tier_whose_min_is_reached():
    """Given lifetime revenues at and just below each bound, when graded by thresholds, then
    each customer gets the first tier whose min ≤ value; gap = next min − value."""
    spend = {
        "a": [200000.0],
        "b": [199999.99],
        "c": [30000.0, 20000.0],  # two purchases add up to exactly 50000
        "d": [10000.0],
        "e": [9999.99],
        "f": [1.0],
        "g": [0.99],
        "h": [],
    }
    cust = customers_table(list(spend))
    tx = tx_table(
        [
            (c, d("2019-01-01") + dt.timedelta(days=i), v)
            for c, vs in spend.items()
            for i, v in enumerate(vs)
        ]
    )
    rows = grade(MEMBERSHIP, cust, tx)
    assert tiers_of(rows) == {
        "a": "钻石",
        "b": "金卡",
        "c": "金卡",
        "d": "银卡",
        "e": "普通",
        "f": "普通",
        "g": "新客户",
        "h": "新客户",
    }
    assert (rows["b"]["next_tier"], rows["b"]["gap"]) == ("钻石", pytest.approx(0.01))
    assert rows["b"]["gap_unit"] == "lifetime_revenue"
    assert rows["e"]["gap"] == pytest.approx(0.01)
    assert rows["a"]["next_tier"] is None


def test_thresholds_compare_money_exactly():
    """Given 0.7 + 0.1 (0.7999… in floats) against min 0.8 and 0.1 + 0.2 (0.3000…04) against
    min 0.30, when graded, then the sums hit the thresholds exactly; 0.29 misses."""
    cust = customers_table(["a", "b", "c"])
    tx = tx_table(
        [
            ("a", d("2026-01-01"), 0.7),
            ("a", d("2026-01-02"), 0.1),
            ("b", d("2026-01-01"), 0.1),
            ("b", d("2026-01-02"), 0.2),
            ("c", d("2026-01-01"), 0.29),
        ]
    )
    rules = {
        "name": "exact",
        "as_of": AS_OF,
        "thresholds": {"metric": "revenue"},
        "tiers": [{"name": "A", "min": 0.8}, {"name": "B", "min": "0.30"}, {"name": "C"}],
    }
    rows = grade(rules, cust, tx)
    assert tiers_of(rows) == {"a": "A", "b": "B", "c": "C"}
    assert rows["b"]["revenue"] == Decimal("0.30")


# =========================================================================== rfm

RFM_TX = [
    ("a", "2026-06-29", 10.0),  # R 1, F 1, M 10
    ("b", "2026-06-20", 10.0),  # R 5, F 2, M 20
    ("b", "2026-06-25", 10.0),
    ("c", "2026-03-01", 10.0),  # R 91, F 3, M 30
    ("c", "2026-03-02", 10.0),
    ("c", "2026-03-31", 10.0),
    ("d", "2025-12-01", 10.0),  # R 181, F 4, M 40
    ("d", "2025-12-02", 10.0),
    ("d", "2025-12-03", 10.0),
    ("d", "2025-12-31", 10.0),
    ("e", "2025-07-01", 1000.0),  # R 364, F 1, M 1000 (first day inside the window)
    ("g", "2024-01-01", 5.0),  # outside the window: R 911, F 0, M 0, not in the splits
]  # f: no transactions at all (R empty -> low)


def rfm_rules(split: str) -> dict:
    return {
        "name": "rfm",
        "as_of": AS_OF,
        "lookback": "12 months",
        "rfm": {
            "recency": "recency_days",
            "frequency": "orders",
            "monetary": "revenue",
            "split": split,
        },
    }


def _rfm(split: str):
    cust = customers_table(list("abcdefg"))
    tx = tx_table([(c, d(day), v) for c, day, v in RFM_TX])
    return grade(rfm_rules(split), cust, tx)


def test_rfm_mean_split_over_customers_active_in_the_window():
    """Given five customers active in the window, one never active and one active only
    before it, when segmented with split: mean, then the means are R 128.4, F 2.2, M 220
    (over the five active ones) and the codes follow (R high = recency below its split)."""
    rows = _rfm("mean")
    # a: 1<128.4, 1<2.2, 10<220 -> 100; b: 100; c: 91<128.4, 3>2.2, 30 -> 110;
    # d: 181, 4>2.2, 40 -> 010; e: 364, 1, 1000>220 -> 001; f, g -> 000
    # (were g included, R split 258.8 would make d 110 and F split 1.83 would make b 110)
    codes = {c: r["rfm_code"] for c, r in rows.items()}
    assert codes == {
        "a": "100",
        "b": "100",
        "c": "110",
        "d": "010",
        "e": "001",
        "f": "000",
        "g": "000",
    }
    assert tiers_of(rows) == {
        "a": "一般发展客户",
        "b": "一般发展客户",
        "c": "一般价值客户",
        "d": "一般保持客户",
        "e": "重要挽留客户",
        "f": "一般挽留客户",
        "g": "一般挽留客户",
    }
    assert rows["a"]["r_split"] == pytest.approx(128.4)
    assert rows["a"]["f_split"] == pytest.approx(2.2)
    assert rows["a"]["m_split"] == pytest.approx(220)


def test_rfm_median_split_differs_from_mean():
    """Given the same customers, when segmented with split: median, then the medians are
    R 91, F 2, M 30 over the five active ones, and c and d change segment."""
    rows = _rfm("median")
    # a: 1<91, 1, 10 -> 100; b: 5<91, 2 not > 2, 20 -> 100; c: 91 not < 91, 3>2, 30 not > 30
    # -> 010; d: 181, 4>2, 40>30 -> 011; e: 364, 1, 1000 -> 001; f, g -> 000
    codes = {c: r["rfm_code"] for c, r in rows.items()}
    assert codes == {
        "a": "100",
        "b": "100",
        "c": "010",
        "d": "011",
        "e": "001",
        "f": "000",
        "g": "000",
    }
    assert rows["c"]["tier"] == "一般保持客户"
    assert rows["d"]["tier"] == "重要保持客户"
    assert rows["a"]["r_split"] == pytest.approx(91)
    assert rows["a"]["f_split"] == pytest.approx(2)
    assert rows["a"]["m_split"] == pytest.approx(30)


RFM_SEGMENT_NAMES = {
    "111": "重要价值客户",
    "101": "重要发展客户",
    "011": "重要保持客户",
    "001": "重要挽留客户",
    "110": "一般价值客户",
    "100": "一般发展客户",
    "010": "一般保持客户",
    "000": "一般挽留客户",
}


def test_rfm_gives_all_eight_segments():
    """Given eight customers, one per code (recency 1 or 101 days, 3 or 1 orders, 110 or 10
    spent; splits 51, 2, 60), when segmented, then each gets its segment's Chinese name."""
    tx = []
    for code in RFM_SEGMENT_NAMES:
        day = DAY - dt.timedelta(days=1 if code[0] == "1" else 101)
        amounts = {
            (True, True): [100.0, 5.0, 5.0],
            (True, False): [4.0, 3.0, 3.0],
            (False, True): [110.0],
            (False, False): [10.0],
        }[(code[1] == "1", code[2] == "1")]
        tx += [(f"c{code}", day, a) for a in amounts]
    cust = customers_table([f"c{code}" for code in RFM_SEGMENT_NAMES])
    rows = grade(rfm_rules("mean"), cust, tx_table(tx))
    for code, name in RFM_SEGMENT_NAMES.items():
        assert (rows[f"c{code}"]["rfm_code"], rows[f"c{code}"]["tier"]) == (code, name)


# =========================================================================== window


def window_rules(as_of: str = AS_OF) -> dict:
    return {
        "name": "prospects",
        "as_of": as_of,
        "window": {"date": "attribute.expected_close"},
        "tiers": [
            {"name": "A", "within": "3 months"},
            {"name": "B", "within": "6 months"},
            {"name": "C", "within": "12 months"},
            {"name": "D"},
        ],
    }


def test_window_tiers_by_calendar_months_to_the_expected_close():
    """Given as_of 2026-06-30 (cut-offs 2026-09-30, 2026-12-30, 2027-06-30), when prospects
    are graded by expected close date, then a date on a cut-off is inside it, a day later
    is in the next tier, empty goes to D and past dates are flagged overdue."""
    closes = {
        "p1": ("2026-09-30", "A"),
        "p2": ("2026-10-01", "B"),
        "p3": ("2026-12-30", "B"),
        "p4": ("2026-12-31", "C"),
        "p5": ("2027-06-30", "C"),
        "p6": ("2027-07-01", "D"),
        "p7": (None, "D"),
        "p8": ("2026-05-01", "A"),  # already past: overdue
        "p9": ("2026-06-30", "A"),  # today: not overdue
    }
    cust = customers_table(
        list(closes), expected_close=[d(v) if v else None for v, _ in closes.values()]
    )
    rows = grade(window_rules(), cust, tx_table([]))
    assert tiers_of(rows) == {c: t for c, (_, t) in closes.items()}
    assert "overdue" in flags(rows["p8"])
    assert not {c for c in closes if c != "p8" and "overdue" in flags(rows[c])}
    assert (rows["p2"]["next_tier"], rows["p2"]["gap"], rows["p2"]["gap_unit"]) == (
        "A",
        1,
        "days",
    )


@pytest.mark.parametrize(
    ("as_of", "inside", "outside", "tier_in", "tier_out"),
    [
        ("2026-11-30", "2027-02-28", "2027-03-01", "A", "B"),  # +3 months clamps to Feb 28
        ("2026-08-31", "2027-02-28", "2027-03-01", "B", "C"),  # +6 months clamps to Feb 28
        ("2027-11-30", "2028-02-29", "2028-03-01", "A", "B"),  # leap year: Feb 29
    ],
)
def test_window_cut_offs_clamp_to_the_month_end(as_of, inside, outside, tier_in, tier_out):
    """Given an as_of at a month's end, when the cut-off falls in a shorter month, then it is
    that month's last day."""
    cust = customers_table(["in", "out"], expected_close=[d(inside), d(outside)])
    rows = grade(window_rules(as_of), cust, tx_table([]))
    assert (rows["in"]["tier"], rows["out"]["tier"]) == (tier_in, tier_out)


# =========================================================================== history

SIMPLE = {
    "name": "simple",
    "as_of": AS_OF,
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": "A", "min": 100}, {"name": "B", "min": 10}, {"name": "C"}],
}


def revenues(values: dict[str, float]) -> tuple[pa.Table, pa.Table]:
    return customers_table(list(values)), tx_table(
        [(c, d("2026-03-01"), v) for c, v in values.items() if v]
    )


def previous_table(tiers: dict[str, str], grace: dict[str, int] | None = None) -> pa.Table:
    data = {"customer_id": list(tiers), "tier": list(tiers.values())}
    if grace is not None:
        data["grace_count"] = [grace.get(c, 0) for c in tiers]
    return pa.table(data)


def test_previous_gives_previous_tier_and_change():
    """Given a previous output, when evaluated, then each customer has previous_tier and
    change up / down / same / new (not in the previous output) / changed (its previous tier
    is not a tier of these rules)."""
    cust, tx = revenues({"up": 150, "down": 50, "same": 50, "new": 5, "odd": 50})
    prev = previous_table({"up": "B", "down": "A", "same": "B", "gone": "A", "odd": "Z"})
    rows = grade(SIMPLE, cust, tx, previous=prev)
    got = {c: (r["tier"], r["previous_tier"], r["change"]) for c, r in rows.items()}
    assert got == {
        "up": ("A", "B", "up"),
        "down": ("B", "A", "down"),
        "same": ("B", "B", "same"),
        "new": ("C", None, "new"),
        "odd": ("B", "Z", "changed"),
    }


def test_grace_keeps_the_tier_for_one_evaluation_then_drops_it():
    """Given downgrade grace 1, when a customer falls below its tier in two consecutive
    evaluations, then the first keeps the tier (grace_count 1, flag grace) and the second
    drops it (grace_count 0, change down); upgrades apply at once and recovery resets."""
    rules = {**SIMPLE, "downgrade": {"grace": 1}}
    # first evaluation: k and r fall from A to B, u rises from B to A
    cust, tx = revenues({"k": 50, "r": 50, "u": 150})
    first_ev, first = run(rules, cust, tx, previous=previous_table({"k": "A", "r": "A", "u": "B"}))
    assert (first["k"]["tier"], first["k"]["grace_count"]) == ("A", 1)
    assert "grace" in flags(first["k"])
    assert (first["r"]["tier"], first["r"]["grace_count"]) == ("A", 1)
    assert (first["u"]["tier"], first["u"]["change"], first["u"]["grace_count"]) == ("A", "up", 0)
    assert "grace" not in flags(first["u"])

    # second evaluation, from the first one's output: k still below, r recovered
    cust, tx = revenues({"k": 50, "r": 150, "u": 150})
    second = grade(rules, cust, tx, previous=first_ev.to_pyarrow())
    k = second["k"]
    assert (k["tier"], k["previous_tier"], k["change"], k["grace_count"]) == ("B", "A", "down", 0)
    assert "grace" not in flags(k)
    assert (second["r"]["tier"], second["r"]["grace_count"]) == ("A", 0)


def test_band_keeps_a_scorecard_tier_down_to_min_score_minus_band():
    """Given tiers A ≥ 75, B ≥ 50, C and downgrade band 5, when previous A customers score
    71 and 70 they stay A (flag band) but 69 drops to B; a previous B scoring 46 stays B;
    a previous B scoring 80 rises to A at once; a new customer scoring 71 is B."""
    scale = {"map": {"s80": 80, "s71": 71, "s70": 70, "s69": 69, "s46": 46}}
    levels = {"a": "s71", "b": "s70", "c": "s69", "d": "s80", "e": "s46", "f": "s71"}
    cust = customers_table(list(levels), level=list(levels.values()))
    rules = card([{"factor": "attribute.level", "weight": 1, "scale": scale}])
    rules["downgrade"] = {"band": 5}
    prev = previous_table({"a": "A", "b": "A", "c": "A", "d": "B", "e": "B"})
    rows = grade(rules, cust, tx_table([]), previous=prev)
    got = {c: (r["score"], r["tier"], r["change"]) for c, r in rows.items()}
    assert got == {
        "a": (71, "A", "same"),
        "b": (70, "A", "same"),
        "c": (69, "B", "down"),
        "d": (80, "A", "up"),
        "e": (46, "B", "same"),
        "f": (71, "B", "new"),
    }
    assert {c for c, r in rows.items() if "band" in flags(r)} == {"a", "b", "e"}


def test_overrides_force_the_tier_until_they_expire():
    """Given overrides expiring on as_of (active: inclusive), the day before (expired) and
    later, when evaluated, then active ones force the tier with their reason, keep the
    computed tier, and the expired one is ignored and listed."""
    cust, tx = revenues({"a": 5, "b": 5, "c": 150, "d": 50})  # computed: C, C, A, B
    overrides = pa.table(
        {
            "customer_id": ["a", "b", "c"],
            "tier": ["A", "A", "B"],
            "reason": ["strategic partner", "trial", "payment problems"],
            "expires": [DAY, DAY - dt.timedelta(days=1), d("2026-12-31")],
        }
    )
    ev, rows = run(SIMPLE, cust, tx, overrides=overrides)
    a, b, c, dd = rows["a"], rows["b"], rows["c"], rows["d"]
    assert (a["tier"], a["computed_tier"]) == ("A", "C")
    assert (a["override_reason"], a["override_expires"]) == ("strategic partner", DAY)
    assert "override" in flags(a)
    assert "strategic partner" in a["reason"]
    assert (c["tier"], c["computed_tier"], c["override_reason"]) == ("B", "A", "payment problems")
    assert (b["tier"], b["override_reason"], b["override_expires"]) == ("C", None, None)
    assert "override" not in flags(b)
    assert (dd["tier"], dd["computed_tier"]) == ("B", "B")
    assert [(o.customer_id, o.tier) for o in ev.expired_overrides] == [("b", "A")]


def test_change_is_against_the_tier_the_customer_ends_with():
    """Given customers previously A (the rules still give A) and C (the rules still give
    C), when one is forced down to C and the other up to A by overrides, then their change
    reads 'down' and 'up' (not 'same'), and a customer without an override reads 'same'."""
    cust, tx = revenues({"a": 150, "c": 5, "k": 150})
    previous = previous_table({"a": "A", "c": "C", "k": "A"})
    overrides = [
        tiering.Override("a", "C", "payment problems", d("2026-12-31")),
        tiering.Override("c", "A", "strategic partner", d("2026-12-31")),
    ]
    _, rows = run(SIMPLE, cust, tx, previous=previous, overrides=overrides)
    moves = {k: (r["computed_tier"], r["tier"], r["change"]) for k, r in rows.items()}
    assert moves == {"a": ("A", "C", "down"), "c": ("C", "A", "up"), "k": ("A", "A", "same")}


def test_overrides_as_a_list_of_override_objects():
    """Given overrides as tiering.Override objects, when evaluated, then the active one
    applies and the expired one is listed."""
    cust, tx = revenues({"a": 5, "b": 5})
    overrides = [
        tiering.Override("a", "B", "key account in waiting", d("2026-07-31")),
        tiering.Override("b", "A", "old promise", d("2026-01-31")),
    ]
    ev, rows = run(SIMPLE, cust, tx, overrides=overrides)
    assert (rows["a"]["tier"], rows["a"]["computed_tier"]) == ("B", "C")
    assert rows["b"]["tier"] == "C"
    assert [o.customer_id for o in ev.expired_overrides] == ["b"]


def test_an_override_applies_from_its_effective_date():
    """Given overrides effective from as_of (inclusive), from the day after, and with a
    start after their expiry, when evaluated, then only the first forces the tier, the
    second is neither applied nor expired, and the third is refused naming its column and value."""
    cust, tx = revenues({"a": 5, "b": 5})  # computed: C, C
    overrides = pa.table(
        {
            "customer_id": ["a", "b"],
            "tier": ["A", "A"],
            "reason": ["from today", "from tomorrow"],
            "expires": [d("2026-12-31"), d("2026-12-31")],
            "effective_from": [DAY, DAY + dt.timedelta(days=1)],
        }
    )
    ev, rows = run(SIMPLE, cust, tx, overrides=overrides)
    assert (rows["a"]["tier"], rows["a"]["override_reason"]) == ("A", "from today")
    assert (rows["b"]["tier"], rows["b"]["override_reason"]) == ("C", None)
    assert ev.expired_overrides == []
    late = overrides.set_column(4, "effective_from", pa.array([DAY, d("2027-01-05")], pa.date32()))
    with pytest.raises(tiering.InputError) as err:
        run(SIMPLE, cust, tx, overrides=late)
    assert "column effective_from, value '2027-01-05'" in str(err.value)
    assert "after the expiry (2026-12-31)" in str(err.value)
    objects = [tiering.Override("a", "B", "later", d("2026-12-31"), effective_from=d("2026-07-01"))]
    _, rows = run(SIMPLE, cust, tx, overrides=objects)
    assert rows["a"]["tier"] == "C"


def test_to_pandas_gives_one_row_per_customer():
    """Given an evaluation, when converted to pandas, then there is one row per customer
    with the same tiers as the Arrow result."""
    cust, tx = revenues({"a": 150, "b": 50, "c": 0})
    ev, rows = run(SIMPLE, cust, tx)
    frame = ev.to_pandas()
    assert sorted(frame["customer_id"]) == ["a", "b", "c"]
    assert dict(zip(frame["customer_id"], frame["tier"], strict=True)) == tiers_of(rows)
