"""The admin shows the facts and changes none of them (tiering_web.readonly_admin), and a
customer with history cannot be deleted on any path (PROTECT)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from tiering_web.customers.models import Customer, Payment, Transaction
from tiering_web.evaluations.models import Evaluation, Override, TierAssignment
from tiering_web.rulesets.models import RuleSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", password="x-secret-1")


def test_the_admin_shows_and_changes_nothing(client, root, customers, version):
    """Given a superuser in the admin, when they open the customers, transactions,
    payments, rule sets, tiers and overrides, then lists and detail pages show; adding,
    saving a change and deleting answer 403 and change nothing."""
    c1 = customers["C1"]
    Payment.objects.create(customer=c1, date=dt.date(2026, 7, 1), amount=Decimal("5"))
    client.force_login(root)
    objects = [
        c1,
        Transaction.objects.filter(customer=c1).first(),
        Payment.objects.get(customer=c1),
        RuleSet.objects.get(),
    ]
    for obj in objects:
        meta = obj._meta
        name = f"admin:{meta.app_label}_{meta.model_name}"
        assert client.get(reverse(f"{name}_changelist")).status_code == 200
        page = client.get(reverse(f"{name}_change", args=[obj.pk]))
        assert page.status_code == 200 and 'name="_save"' not in page.text
        assert client.post(reverse(f"{name}_change", args=[obj.pk]), {}).status_code == 403
        assert client.get(reverse(f"{name}_add")).status_code == 403
        assert (
            client.post(reverse(f"{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code
            == 403
        )
        assert type(obj).objects.filter(pk=obj.pk).exists()
    for model in (TierAssignment, Override):
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(changelist).status_code == 200


def test_a_customer_with_history_cannot_be_deleted(customers, manager, version):
    """Given customers with transactions, a payment, a tier and an override, when one is
    deleted (by any code path), then the deletion is refused and the history stays; a
    customer without history (entered by mistake) can still go."""
    c1, c6 = customers["C1"], customers["C6"]
    published = Evaluation.objects.create(
        ruleset_version=version, as_of=dt.date(2026, 9, 30), status=Evaluation.Status.PUBLISHED
    )
    TierAssignment.objects.create(
        customer=c6,
        ruleset=version.ruleset,
        tier="B",
        valid_from=dt.date(2026, 9, 30),
        evaluation=published,
    )
    Override.objects.create(
        customer=c6,
        ruleset=version.ruleset,
        tier="A",
        reason="key account",
        expires=dt.date(2027, 3, 31),
        created_by=manager,
    )
    for customer in (c1, c6):
        with pytest.raises(ProtectedError):
            customer.delete()
    assert Transaction.objects.filter(customer=c1).exists()
    assert TierAssignment.objects.filter(customer=c6).exists()
    blank = Customer.objects.create(code="TYPO", name="录错的客户")
    blank.delete()
    assert not Customer.objects.filter(code="TYPO").exists()
