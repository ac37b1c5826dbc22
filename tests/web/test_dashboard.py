"""The dashboard: tier distribution with revenue and profit shares, the Pareto curve,
concentration alerts, migration since the last evaluation and the churn-risk list, over
the customers the viewer may see."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tiering_web.accounts.models import Role
from tiering_web.customers.models import Transaction
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF, NEXT_QUARTER, approve

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def two_quarters(manager, customers, version):
    """The LEDGER graded as of AS_OF and, after C4 bought 1.00 more in October (enough
    for B), as of NEXT_QUARTER; both published."""
    do_set_primary(manager, version.ruleset, "test")
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"), "Q3")
    Transaction.objects.create(
        customer=customers["C4"],
        date=dt.date(2026, 10, 15),
        amount=Decimal("1.00"),
        cost=Decimal("0.50"),
    )
    publish_evaluation(manager, run_evaluation(manager, version, NEXT_QUARTER, lang="en"), "Q4")
    return customers


@pytest.mark.django_db(transaction=True)
def test_dashboard_figures(client, manager, two_quarters):
    """Given two published quarters, when a manager opens the dashboard, then it shows the
    latest tiers with revenue and profit shares, C1 and C2 as concentration alerts, C4's
    move from C to B, and C2 (top tier, silent for eight times its usual gap) at risk."""
    client.force_login(manager)
    response = client.get(reverse("dashboard"), **EN)
    assert response.status_code == 200
    data = response.context["data"]
    assert data.evaluation.as_of == NEXT_QUARTER and data.previous.as_of == AS_OF

    rows = {r["tier"]: r for r in data.tiers}
    assert {t: r["customers"] for t, r in rows.items()} == {"A": 2, "B": 3, "C": 1}
    assert rows["A"]["revenue"] == 250000.0
    total = 150000 + 100000 + 20000 + 20000.99 + 25000
    assert data.totals["revenue"] == pytest.approx(total)
    assert rows["A"]["revenue_share"] == pytest.approx(250000 / total)
    profit_a = 60000 + 50000
    assert rows["A"]["profit"] == profit_a
    assert rows["A"]["profit_share"] == pytest.approx(profit_a / data.totals["profit"])

    assert [a.customer_id for a in data.concentration.alerts] == ["C1", "C2"]
    assert data.pareto.customers == 6 and data.pareto.value_share[-1] == pytest.approx(1.0)

    columns, matrix = data.migration_matrix()
    assert columns == ["A", "B", "C"]
    assert dict(matrix) == {"A": [2, 0, 0], "B": [0, 2, 0], "C": [0, 1, 1]}
    assert [(m.customer_id, m.before, m.after) for m in data.migration.upgrades] == [
        ("C4", "C", "B")
    ]
    assert [a.customer_id for a in data.churn.at_risk] == ["C2"]

    text = response.text
    assert "Pareto curve" in text and 'id="concentration"' in text and 'id="churn"' in text
    assert "1 moved up" in text.replace("customers moved up", "moved up")


@pytest.mark.django_db(transaction=True)
def test_account_manager_sees_only_own_customers(client, django_user_model, two_quarters):
    """Given C1 owned by an account manager, when they open the dashboard, then every
    figure covers C1 alone."""
    sales = django_user_model.objects.create_user("li", password="x", role=Role.ACCOUNT_MANAGER)
    c1 = two_quarters["C1"]
    c1.owner = sales
    c1.save()
    client.force_login(sales)
    data = client.get(reverse("dashboard"), **EN).context["data"]
    assert data.totals["customers"] == 1 and data.totals["revenue"] == 150000.0
    assert [r["tier"] for r in data.tiers] == ["A"]
    assert data.migration.upgrades == () and data.churn.at_risk == ()


@pytest.mark.django_db(transaction=True)
def test_other_rule_set_and_nothing_published(client, manager, customers, version):
    """Given a primary rule set without a published evaluation, when opening the
    dashboard, then it says so; another rule set is chosen with ?ruleset=."""
    from tiering_web.rulesets.services import (
        do_create_ruleset,
        do_save_ruleset_version,
    )

    do_set_primary(manager, version.ruleset, "test")
    other = do_create_ruleset(manager, "ABC", "test")
    rules = {
        "name": "ABC",
        "lookback": "12 months",
        "pareto": {"metric": "revenue"},
        "tiers": [{"name": "A", "top": "20%"}, {"name": "B", "top": "50%"}, {"name": "C"}],
    }
    v = approve(do_save_ruleset_version(manager, other, rules, "v1"))
    publish_evaluation(manager, run_evaluation(manager, v, AS_OF, lang="en"), "Q3")
    client.force_login(manager)

    primary = client.get(reverse("dashboard"), **EN)
    assert primary.context["data"] is None and "No published tiers yet." in primary.text
    chosen = client.get(reverse("dashboard"), {"ruleset": other.pk}, **EN)
    assert chosen.context["ruleset"] == other
    assert sum(r["customers"] for r in chosen.context["data"].tiers) == 6
    assert chosen.context["data"].migration is None


@pytest.mark.django_db(transaction=True)
def test_explanation_in_the_viewers_language(client, manager, customers, version):
    """Given an evaluation run in Chinese and published, when C4's page is read in English
    and in Chinese, then the explanation is in each reader's language."""
    from django.urls import reverse

    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="zh-hans"), "Q3")
    client.force_login(manager)
    english = client.get(reverse("customer_detail", args=["C4"]), **EN)
    chinese = client.get(reverse("customer_detail", args=["C4"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    (current,) = english.context["tiers"]
    assert "营收" in current.result.reason  # stored as run
    reasons = current.result.details["reasons"]
    assert "revenue" in reasons["en"] and "营收" in reasons["zh"]
    assert reasons["en"] in english.text.replace("&gt;", ">").replace("&lt;", "<")
    assert reasons["zh"] in chinese.text.replace("&gt;", ">").replace("&lt;", "<")


@pytest.mark.django_db(transaction=True)
def test_the_purchase_rhythm_is_the_engines(manager, two_quarters):
    """Given the ledger and a return of C2 after its last order, when the dashboard takes
    the purchase rhythm, then days since the last and the first transaction and the
    number of transactions are what the engine computes from the same rows on its own
    (DuckDB, the rows read out of the app): the return counts, as in every rule."""
    import ibis
    import pyarrow as pa

    from tiering.metrics import compute_metrics
    from tiering_web.dashboard.portfolio import _rhythm
    from tiering_web.evaluations.models import Evaluation

    Transaction.objects.create(
        customer=two_quarters["C2"],
        date=dt.date(2026, 12, 1),
        amount=Decimal("10.00"),
        cost=Decimal("5.00"),
        kind=Transaction.Kind.RETURN,
    )
    evaluation = Evaluation.objects.filter(status="published").latest("as_of")
    codes = sorted(two_quarters)
    got = _rhythm(pa.table({"customer_id": codes}), evaluation, None).to_pylist()
    rows = Transaction.objects.values_list("customer__code", "date", "amount", "cost", "kind")
    sign = {"order": 1, "return": -1}
    ledger = ibis.memtable(
        pa.table(
            {
                "customer_id": [r[0] for r in rows],
                "date": [r[1] for r in rows],
                "amount": [float(r[2]) * sign[r[4]] for r in rows],
                "cost": [float(r[3]) * sign[r[4]] for r in rows],
            }
        )
    )
    engine = compute_metrics(
        ibis.memtable({"customer_id": codes}),
        ledger,
        as_of=evaluation.as_of,
        needed={"recency_days", "tenure_days", "lifetime_orders"},
    )
    expected = {
        r["customer_id"]: r
        for r in engine.select("customer_id", "recency_days", "tenure_days", "lifetime_orders")
        .to_pyarrow()
        .to_pylist()
    }
    for row in got:
        want = expected[row["customer_id"]]
        assert row["recency_days"] == want["recency_days"]
        assert row["tenure_days"] == want["tenure_days"]
        assert row["lifetime_orders"] == (want["lifetime_orders"] or 0)
    c2 = next(r for r in got if r["customer_id"] == "C2")
    assert c2["recency_days"] == (evaluation.as_of - dt.date(2026, 12, 1)).days
