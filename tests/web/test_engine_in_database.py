"""The engine's methods computed inside the app's own database (PostgreSQL in CI, the
DuckDB fallback on SQLite), beyond the thresholds the other web tests use."""

import pytest
from django.db import connection

from tiering_web.customers.models import Customer, Transaction
from tiering_web.evaluations.adapters import engine_inputs
from tiering_web.evaluations.services import run_evaluation
from tiering_web.rulesets.services import (
    do_create_ruleset,
    do_save_ruleset_version,
)

from .conftest import AS_OF, approve


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("split", ["median", "mean"])
def test_rfm_segments_in_the_database(manager, customers, split):
    """Given the LEDGER, when segmented by RFM with a median or mean split, then C1 and C2
    (the two big spenders) are high on M and the rest low; the median of the five buyers'
    revenue is 25,000 (C6), the mean 63,000."""
    ruleset = do_create_ruleset(manager, f"RFM {split}", "test")
    rules = {"name": f"RFM {split}", "lookback": "12 months", "rfm": {"split": split}}
    version = approve(do_save_ruleset_version(manager, ruleset, rules, "v1"))
    evaluation = run_evaluation(manager, version, AS_OF, lang="en")
    codes = {r.customer.code: r.details["rfm_code"] for r in evaluation.results.all()}
    high_m = sorted(c for c, code in codes.items() if code[2] == "1")
    splits = {r.details["m_split"] for r in evaluation.results.all()}
    if split == "median":
        # buyers C1 150000, C2 100000, C6 25000, C3 20000, C4 19999.99: median C6
        assert splits == {25000.0} and high_m == ["C1", "C2"]
    else:
        assert splits == {63000.0} and high_m == ["C1", "C2"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has one writer; the snapshot is PostgreSQL's"
)
def test_the_engine_reads_every_table_from_one_snapshot(manager, customers):
    """Given the engine's tables over PostgreSQL, once the customers have been counted,
    when another connection commits a new customer with an order, then the engine still
    sees the six customers and their orders only (one snapshot for the whole reading), and
    a new reading sees the seventh."""
    with engine_inputs(want_payments=False) as inputs:
        assert inputs.customers.count().execute() == 6
        orders = inputs.transactions.count().execute()
        late = Customer.objects.create(code="C7", name="迟到客户")
        Transaction.objects.create(
            customer=late, date=AS_OF, amount="10.00", cost="5.00", kind="order"
        )
        assert inputs.customers.count().execute() == 6
        assert inputs.transactions.count().execute() == orders
    with engine_inputs(want_payments=False) as inputs:
        assert inputs.customers.count().execute() == 7
        assert inputs.transactions.count().execute() == orders + 1
