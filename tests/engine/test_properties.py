"""Properties of the grading methods over generated customers (hypothesis, on DuckDB)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from conftest import customers_table, d, grade, tx_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiering.rules import RFM_SEGMENTS

AS_OF = "2026-06-30"
DAY = d("2026-03-01")
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def ids(n: int) -> list[str]:
    return [f"c{i:02d}" for i in range(n)]


def inputs(values: list[int | Decimal | None]):
    """One purchase per customer with that amount; None: no transactions at all."""
    names = ids(len(values))
    rows = [(c, DAY, float(v)) for c, v in zip(names, values, strict=True) if v is not None]
    return customers_table(names), tx_table(rows)


def ceil_fraction(x: Fraction) -> int:
    return -(-x.numerator // x.denominator)


# --------------------------------------------------------------------------- one tier each

THREE = [{"name": "A"}, {"name": "B"}, {"name": "C"}]
RULES = {
    "scorecard": {
        "scorecard": [
            {"factor": "revenue", "weight": 2, "scale": "percentile"},
            {"factor": "recency_days", "weight": 1, "scale": "percentile", "invert": True},
        ],
        "tiers": [{"name": "A", "min_score": 75}, {"name": "B", "min_score": 40}, {"name": "C"}],
    },
    "pareto_customers": {
        "pareto": {"metric": "profit", "by": "customers"},
        "tiers": [{"name": "A", "top": "20%"}, {"name": "B", "top": "50%"}, {"name": "C"}],
    },
    "pareto_value": {
        "pareto": {"metric": "revenue", "by": "value"},
        "tiers": [{"name": "A", "share": "80%"}, {"name": "B", "share": "95%"}, {"name": "C"}],
    },
    "thresholds": {
        "thresholds": {"metric": "revenue"},
        "tiers": [{"name": "A", "min": 300}, {"name": "B", "min": 1}, {"name": "C"}],
    },
    "rfm": {"lookback": "12 months", "rfm": {"split": "median"}},
}
NAMES = {m: [t["name"] for t in r.get("tiers", THREE)] for m, r in RULES.items()}
NAMES["rfm"] = [name for _, name, _ in RFM_SEGMENTS]

amounts = st.one_of(st.none(), st.integers(min_value=-200, max_value=1000))


@SETTINGS
@given(
    method=st.sampled_from(sorted(RULES)),
    values=st.lists(amounts, min_size=1, max_size=10),
)
def test_every_customer_gets_exactly_one_tier_of_the_rule_set(method, values):
    """Given any customers (some without transactions, some with returns), when graded by
    any method, then each customer appears once with a tier of the rule set."""
    rules = {"name": method, "as_of": AS_OF, **RULES[method]}
    cust, tx = inputs(values)
    rows = grade(rules, cust, tx)
    assert sorted(rows) == ids(len(values))
    assert {r["tier"] for r in rows.values()} <= set(NAMES[method])


# --------------------------------------------------------------------------- percentile

PERCENTILE = {
    "name": "p",
    "as_of": AS_OF,
    "scorecard": [{"factor": "revenue", "weight": 1, "scale": "percentile"}],
    "tiers": [{"name": "A", "min_score": 50}, {"name": "B"}],
}


@settings(SETTINGS, max_examples=20)
@given(
    values=st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=8),
    data=st.data(),
)
def test_raising_revenue_never_lowers_percentile_points(values, data):
    """Given customers' revenues (0: no transactions), when one customer's revenue rises,
    then its percentile points do not fall."""
    who = data.draw(st.integers(min_value=0, max_value=len(values) - 1), label="who")
    rise = data.draw(st.integers(min_value=1, max_value=500), label="rise")
    before = grade(PERCENTILE, *inputs([v or None for v in values]))
    raised = list(values)
    raised[who] += rise
    after = grade(PERCENTILE, *inputs([v or None for v in raised]))
    name = ids(len(values))[who]
    assert after[name]["revenue_points"] >= before[name]["revenue_points"]


# --------------------------------------------------------------------------- pareto


@SETTINGS
@given(
    values=st.lists(
        st.integers(min_value=1, max_value=10_000), min_size=1, max_size=30, unique=True
    ),
    tops=st.lists(st.integers(min_value=1, max_value=99), min_size=1, max_size=3, unique=True),
)
def test_pareto_by_customers_puts_ceil_top_n_in_the_top_tiers(values, tops):
    """Given n customers with distinct positive profits and tiers top t1% < t2% < …, when
    graded by customers, then the tiers down to k hold exactly ceil(tk × n) customers, and
    they are the most profitable ones."""
    tops = sorted(tops)
    tiers = [{"name": f"T{t}", "top": f"{t}%"} for t in tops] + [{"name": "rest"}]
    rules = {"name": "p", "as_of": AS_OF, "pareto": {"metric": "profit"}, "tiers": tiers}
    rows = grade(rules, *inputs(values))
    rank = {t["name"]: i for i, t in enumerate(tiers)}
    by_profit = sorted(rows, key=lambda c: -rows[c]["profit"])
    n = len(values)
    for k, top in enumerate(tops):
        expected = ceil_fraction(Fraction(top, 100) * n)
        inside = [c for c in by_profit if rank[rows[c]["tier"]] <= k]
        assert len(inside) == expected
        assert inside == by_profit[:expected]


@SETTINGS
@given(
    values=st.lists(st.integers(min_value=-100, max_value=1000), min_size=1, max_size=12),
    share=st.integers(min_value=1, max_value=99),
)
def test_pareto_by_value_last_a_customer_starts_below_the_share(values, share):
    """Given customers' revenues (returns may make some negative) and tiers A share s%, C,
    when graded by value, then the positive-revenue customers before the last A customer
    hold less than s% of the positive total, and those before the first positive non-A
    customer hold at least s%."""
    rules = {
        "name": "v",
        "as_of": AS_OF,
        "pareto": {"metric": "revenue", "by": "value"},
        "tiers": [{"name": "A", "share": f"{share}%"}, {"name": "C"}],
    }
    rows = grade(rules, *inputs(values))
    order = sorted(rows, key=lambda c: (-rows[c]["revenue"], c))
    total = sum(max(rows[c]["revenue"], 0) for c in order)
    before, running = {}, Decimal(0)
    for c in order:
        before[c] = running
        running += max(rows[c]["revenue"], 0)
    line = Fraction(share, 100)
    a_customers = [c for c in order if rows[c]["tier"] == "A"]
    assert all(rows[c]["revenue"] > 0 for c in a_customers)
    if total == 0:
        assert not a_customers
        return
    assert a_customers, "the biggest positive customer starts at 0% and is always in A"
    last_a = a_customers[-1]
    assert Fraction(before[last_a]) / Fraction(total) < line
    assert rows[last_a]["cum_share_before"] < share / 100
    rest = [c for c in order if rows[c]["tier"] != "A" and rows[c]["revenue"] > 0]
    if rest:
        assert Fraction(before[rest[0]]) / Fraction(total) >= line
    assert a_customers == order[: len(a_customers)]


# --------------------------------------------------------------------------- thresholds

BOUNDS = [("A", Decimal("1000")), ("B", Decimal("100")), ("C", Decimal("0.5"))]
THRESHOLDS = {
    "name": "t",
    "as_of": AS_OF,
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": n, "min": str(m)} for n, m in BOUNDS] + [{"name": "D"}],
}
cents = st.integers(min_value=-20_000, max_value=200_000).map(lambda c: Decimal(c) / 100)


@SETTINGS
@given(values=st.lists(st.one_of(st.none(), cents), min_size=1, max_size=12))
def test_thresholds_tier_is_monotone_in_the_value(values):
    """Given revenues in cents, when graded by thresholds, then a higher revenue never gets a
    worse tier, and each tier is the first whose min ≤ revenue (compared exactly)."""
    rows = grade(THRESHOLDS, *inputs(values))
    rank = {n: i for i, n in enumerate(["A", "B", "C", "D"])}
    ordered = sorted(rows.values(), key=lambda r: r["revenue"])
    ranks = [rank[r["tier"]] for r in ordered]
    assert ranks == sorted(ranks, reverse=True)
    for r in ordered:
        expected = next((n for n, m in BOUNDS if r["revenue"] >= m), "D")
        assert r["tier"] == expected
