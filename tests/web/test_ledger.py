"""The ledger (tiering_web.customers.ledger): one write path for transactions and payments
from the API and the import, one kind rule, one entry per (customer, reference)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from tiering_web.accounts.services import issue_token
from tiering_web.audit.models import AuditEntry
from tiering_web.customers import ledger
from tiering_web.customers.models import Payment, Transaction
from tiering_web.imports import services as imports

from .worker import run_worker

D = Decimal


def test_the_kind_rule():
    """Given rows with and without a named kind, when the ledger reads them, then a named
    kind wins, otherwise a negative amount is a return, and amounts are stored positive."""
    assert ledger.entry_kind("order", D("-5")) == "order"
    assert ledger.entry_kind(None, D("-5")) == "return"
    assert ledger.entry_kind(None, D("5")) == ledger.entry_kind(None, None) == "order"
    row = ledger.transaction_row(1, None, dt.date(2026, 7, 1), D("-80.00"), D("-50.00"))
    assert row == (1, "", dt.date(2026, 7, 1), D("80.00"), D("50.00"), "return")
    assert ledger.transaction_row(1, "R", dt.date(2026, 7, 1), D("9"), None).cost == D("0.00")


@pytest.mark.django_db
def test_one_entry_per_customer_and_reference_in_the_database(customers):
    """Given a transaction and a payment with reference SO-1, when another entry of the
    same customer with SO-1 is written past the ledger, then the database refuses it; any
    number of entries without a reference, and SO-1 for another customer, are fine."""
    c1, c2 = customers["C1"], customers["C2"]
    day = dt.date(2026, 7, 1)
    for model, extra in ((Transaction, {"cost": D("1")}), (Payment, {})):
        model.objects.create(customer=c1, reference="SO-1", date=day, amount=D("10"), **extra)
        model.objects.create(customer=c2, reference="SO-1", date=day, amount=D("10"), **extra)
        model.objects.create(customer=c1, reference="", date=day, amount=D("1"), **extra)
        model.objects.create(customer=c1, reference="", date=day, amount=D("1"), **extra)
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.create(customer=c1, reference="SO-1", date=day, amount=D("9"), **extra)


@pytest.mark.django_db(transaction=True)
def test_the_api_and_the_import_write_the_same_ledger(
    client, manager, customers, settings, tmp_path
):
    """Given a transaction imported from a file with reference S-1 (a negative amount: a
    return) and one without a reference, when the API upserts S-1 as an order of 120 and
    a new S-2, then S-1 is updated in place (not duplicated), S-2 is created, the row
    without a reference is untouched; importing the file again puts S-1 back as the file
    says, with counts of created, updated and unchanged rows; both writes are audited."""
    settings.VAR_DIR = tmp_path / "var"
    client.force_login(manager)
    text = "客户编号,日期,金额,成本,单号\nC1,2026-07-01,-80,-50,S-1\nC1,2026-07-02,30,10,\n"

    def import_file() -> None:
        upload = client.post(
            reverse("import_upload"),
            {"kind": "transactions", "file": SimpleUploadedFile("t.csv", text.encode())},
        )
        form = client.get(upload["Location"]).context["form"]
        mapping = {f: form[f].value() or "" for f in imports.FIELDS["transactions"]}
        assert client.post(upload["Location"], {**mapping, "reason": "ERP"}).status_code == 302
        run_worker()

    before = set(Transaction.objects.values_list("pk", flat=True))
    import_file()
    s1 = Transaction.objects.get(customer=customers["C1"], reference="S-1")
    assert (s1.kind, s1.amount, s1.cost) == ("return", D("80.00"), D("50.00"))

    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(manager, manager, 'erp')}")
    rows = [
        {"customer": "C1", "reference": "S-1", "date": "2026-07-01", "amount": "120.00"},
        {"customer": "C1", "reference": "S-2", "date": "2026-07-03", "amount": "5.00"},
    ]
    response = api.post("/api/transactions/bulk", {"rows": rows, "reason": "ERP sync"},
                        content_type="application/json")  # fmt: skip
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 0}
    s1.refresh_from_db()
    assert (s1.kind, s1.amount) == ("order", D("120.00"))
    mine = Transaction.objects.exclude(pk__in=before)
    assert sorted(mine.values_list("reference", flat=True)) == ["", "S-1", "S-2"]

    import_file()
    s1.refresh_from_db()
    assert (s1.kind, s1.amount) == ("return", D("80.00"))
    assert sorted(mine.values_list("reference", flat=True)) == ["", "", "S-1", "S-2"]
    upsert = AuditEntry.objects.get(action="transaction.upsert")
    assert (upsert.actor, upsert.reason) == (manager, "ERP sync")
    assert AuditEntry.objects.filter(action="import.transactions").count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_duplicated_references_findable(customers):
    """Given transactions and payments stored before the constraint with a reference twice
    for one customer, when the migration runs, then the oldest keeps the reference and
    the later one reads "<reference> (duplicate #id)"; nothing is lost."""
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate([("customers", "0004_two_character_search")])
    try:
        old = executor.loader.project_state([("customers", "0004_two_character_search")]).apps
        made = {}
        for name, extra in (("Transaction", {"cost": D("1"), "kind": "order"}), ("Payment", {})):
            model = old.get_model("customers", name)
            made[name] = [
                model.objects.create(
                    customer_id=customers["C1"].pk,
                    reference="SO-9",
                    date=dt.date(2026, 7, i + 1),
                    amount=D("10"),
                    **extra,
                ).pk
                for i in range(2)
            ]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
    for model in (Transaction, Payment):
        first, second = made[model.__name__]
        assert model.objects.get(pk=first).reference == "SO-9"
        assert model.objects.get(pk=second).reference == f"SO-9 (duplicate #{second})"


@pytest.mark.django_db
def test_payments_through_the_api(manager, customers, django_user_model):
    """Given the API, when a manager posts payments received, then they are created, a
    second post updates the changed one in place and counts the other as unchanged, with
    one audit entry per post; a repeated reference or an unknown customer is a 409
    naming the row, and an analyst may not write payments."""
    from tiering_web.accounts.models import Role

    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(manager, manager, 'erp')}")
    rows = [
        {"customer": "C1", "reference": "HK-1", "date": "2026-09-01", "amount": "100.00"},
        {"customer": "C2", "reference": "HK-1", "date": "2026-09-02", "amount": "200.00"},
    ]
    post = lambda body: api.post("/api/payments/bulk", body, content_type="application/json")  # noqa: E731
    assert post({"rows": rows, "reason": "bank"}).json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    rows[1]["amount"] = "250.00"
    assert post({"rows": rows, "reason": "bank"}).json() == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
    }
    assert Payment.objects.get(customer=customers["C2"], reference="HK-1").amount == D("250.00")
    assert AuditEntry.objects.filter(action="payment.upsert").count() == 2
    bad = post({"rows": [rows[0], rows[0], {**rows[0], "customer": "NOPE"}]})
    assert bad.status_code == 409
    assert [e["field"] for e in bad.json()["errors"]] == ["rows[1].reference", "rows[2].customer"]
    analyst = django_user_model.objects.create_user("zhao", password="x", role=Role.ANALYST)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(analyst, analyst, 'x')}")
    refused = other.post("/api/payments/bulk", {"rows": rows}, content_type="application/json")
    assert refused.status_code == 403
    assert Payment.objects.count() == 2
