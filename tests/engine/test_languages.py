"""One grading, its explanations in both languages: ``evaluate(..., languages=("zh", "en"))``."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from conftest import customers_table, d, tx_table

import tiering
from tiering import Override

AS_OF = "2026-06-30"

CUSTOMERS = customers_table(
    list("abcdefgh"),
    level=["hi", "lo", "mid", "hi", None, "lo", "mid", "hi"],
    close=[
        d(x) if x else None
        for x in (
            "2026-08-01",
            "2026-11-15",
            "2027-03-01",
            None,
            "2026-05-01",
            "2026-07-31",
            "2026-12-31",
            "2028-01-01",
        )
    ],
)
TRANSACTIONS = tx_table(
    [
        ("a", d("2026-05-01"), 900.0, 300.0),
        ("a", d("2026-06-01"), 100.0, 20.0),
        ("b", d("2026-03-15"), 400.0, 500.0),  # a loss-maker
        ("c", d("2025-12-01"), 250.0, 100.0),
        ("d", d("2025-08-01"), 50.0, 10.0),
        ("d", d("2026-01-01"), 60.0, 10.0),
        ("d", d("2026-02-01"), 70.0, 10.0),
        ("f", d("2024-01-01"), 999.0, 0.0),  # outside the window only
        ("g", d("2026-06-30"), 10.0, 1.0),
        ("h", d("2026-04-01"), 250.0, 100.0),
    ]
)

ABC = [{"name": "A"}, {"name": "B"}, {"name": "C"}]
METHODS = {
    "scorecard": {
        "scorecard": [
            {"factor": "revenue", "weight": 50, "scale": "percentile"},
            {"factor": "recency_days", "weight": 20, "scale": "percentile", "invert": True},
            {
                "factor": "attribute.level",
                "weight": 30,
                "scale": {"map": {"hi": 100, "mid": 60, "lo": 20}},
            },
        ],
        "tiers": [{"name": "A", "min_score": 70}, {"name": "B", "min_score": 40}, {"name": "C"}],
        "downgrade": {"band": 5, "grace": 1},
    },
    "pareto_customers": {
        "pareto": {"metric": "profit", "by": "customers"},
        "tiers": [{"name": "A", "top": "25%"}, {"name": "B", "top": "50%"}, {"name": "C"}],
        "downgrade": {"grace": 1},
    },
    "pareto_value": {
        "pareto": {"metric": "revenue", "by": "value"},
        "tiers": [{"name": "A", "share": "60%"}, {"name": "B", "share": "90%"}, {"name": "C"}],
    },
    "thresholds": {
        "thresholds": {"metric": "revenue"},
        "tiers": [{"name": "A", "min": 500}, {"name": "B", "min": 100}, {"name": "C"}],
        "downgrade": {"grace": 2},
    },
    "rfm_mean": {
        "rfm": {
            "recency": "recency_days",
            "frequency": "orders",
            "monetary": "revenue",
            "split": "mean",
        }
    },
    "rfm_median": {
        "rfm": {
            "recency": "recency_days",
            "frequency": "orders",
            "monetary": "revenue",
            "split": "median",
        }
    },
    "window": {
        "window": {"date": "attribute.close"},
        "tiers": [
            {"name": "A", "within": "3 months"},
            {"name": "B", "within": "6 months"},
            {"name": "C"},
        ],
    },
}


def rules(method: str) -> dict:
    return {"name": method, "as_of": AS_OF, "lookback": "12 months", **METHODS[method]}


def history(method: str) -> tuple[pa.Table, list[Override]]:
    """Previous tiers one step better than today's for half the customers (so bands and
    grace keep some), and overrides: one active, one expired."""
    names = tiering.parse_rules(rules(method)).tier_names
    now = evaluate(method, "en").to_pyarrow().to_pylist()
    previous = {
        "customer_id": [r["customer_id"] for r in now],
        "tier": [
            names[max(names.index(r["tier"]) - 1, 0)] if i % 2 == 0 else r["tier"]
            for i, r in enumerate(now)
        ],
        "grace_count": [i % 3 for i in range(len(now))],
    }
    overrides = [
        Override("c", names[0], "战略客户 / strategic", dt.date(2026, 12, 31)),
        Override("g", names[-1], "old deal", dt.date(2026, 1, 31)),
    ]
    return pa.table(previous), overrides


def evaluate(method: str, lang: str, **kwargs) -> tiering.Evaluation:
    return tiering.evaluate(
        rules(method), ibis.memtable(CUSTOMERS), ibis.memtable(TRANSACTIONS), lang=lang, **kwargs
    )


def by_customer(evaluation: tiering.Evaluation) -> dict[str, dict]:
    return {r["customer_id"]: r for r in evaluation.to_pyarrow().to_pylist()}


@pytest.mark.parametrize("with_history", [False, True], ids=["alone", "previous+overrides"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("method", list(METHODS))
def test_both_languages_equal_two_single_language_runs(method, lang, with_history):
    """Given any method (with or without previous tiers and overrides), when one run asks
    for both languages, then reason_zh/missing_zh equal a Chinese run's reason/missing,
    reason_en/missing_en an English run's, and every other column equals the run in
    ``lang`` (``reason`` and ``missing`` stay in ``lang``)."""
    extra = {}
    if with_history:
        previous, overrides = history(method)
        extra = {"previous": previous, "overrides": overrides}
    both = by_customer(evaluate(method, lang, languages=("zh", "en"), **extra))
    zh_run = by_customer(evaluate(method, "zh", **extra))
    en_run = by_customer(evaluate(method, "en", **extra))
    same_lang = zh_run if lang == "zh" else en_run

    assert set(both) == set(zh_run) == set(en_run)
    for cid, row in both.items():
        assert row["reason_zh"] == zh_run[cid]["reason"]
        assert row["reason_en"] == en_run[cid]["reason"]
        assert row["missing_zh"] == zh_run[cid]["missing"]
        assert row["missing_en"] == en_run[cid]["missing"]
        worded = {"reason_zh", "reason_en", "missing_zh", "missing_en"}
        assert {k: v for k, v in row.items() if k not in worded} == same_lang[cid]
    if with_history:
        assert any("override" in (r["flags"] or "") for r in both.values())
        assert "人工调整为" in both["c"]["reason_zh"] and "override to" in both["c"]["reason_en"]
        if "downgrade" in METHODS[method]:  # some kept by the band or grace, noted in both
            kept = [r for r in both.values() if "kept at" in r["reason_en"]]
            assert kept and all("保持" in r["reason_zh"] for r in kept)


def test_the_default_output_has_no_language_columns():
    """Given no ``languages``, then the columns are exactly those of before: no
    reason_<lang> or missing_<lang>."""
    columns = evaluate("scorecard", "en").to_pyarrow().column_names
    assert not [c for c in columns if c.startswith(("reason_", "missing_"))]


def test_columns_follow_missing_in_the_order_asked():
    """Given languages=("en", "zh-hans", "en"), then each language comes once, as its key,
    in the order asked, right after ``missing``."""
    columns = evaluate("thresholds", "zh", languages=("en", "zh-hans", "en")).table.columns
    at = columns.index("missing")
    assert columns[at + 1 : at + 5] == ("reason_en", "reason_zh", "missing_en", "missing_zh")


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="fr"):
        evaluate("scorecard", "en", languages=("fr",))
