from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Customer, Transaction
from tiering_web.customers.services import do_create_customer, do_update_customer

pytestmark = pytest.mark.django_db


def test_creating_a_customer_writes_an_audit_entry(manager):
    """Given a manager, when they create a customer with a reason, then one audit entry
    names them, the action, the customer, the reason and the initial values."""
    customer = do_create_customer(
        manager,
        {"code": "K001", "name": "华东建设", "price_coefficient": "0.950", "owner": manager},
        "new key account",
    )
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_name, entry.action) == (manager, "wang", "customer.create")
    assert (entry.object_type, entry.object_id) == ("customers.customer", str(customer.pk))
    assert entry.reason == "new key account"
    assert entry.details["fields"]["code"] == "K001"
    assert entry.details["fields"]["owner"] == manager.pk
    assert Decimal(entry.details["fields"]["price_coefficient"]) == Decimal("0.950")


def test_updating_records_old_and_new_values_and_skips_no_op(manager):
    """Given a customer, when two fields change, then the audit entry holds [old, new] for
    each; when nothing changes, then no entry is written."""
    customer = do_create_customer(manager, {"code": "K002", "name": "旧名"}, "")
    do_update_customer(manager, customer, {"name": "新名", "status": "dormant"}, "renamed")
    entry = AuditEntry.objects.filter(action="customer.update").get()
    assert entry.details["changes"] == {"name": ["旧名", "新名"], "status": ["active", "dormant"]}
    assert entry.reason == "renamed"

    do_update_customer(manager, customer, {"name": "新名"}, "again")
    assert AuditEntry.objects.filter(action="customer.update").count() == 1


def test_invalid_customer_is_rejected_and_nothing_is_written(manager):
    """Given an unknown status, when creating a customer, then a ValidationError names the
    field and neither the customer nor an audit entry exists."""
    with pytest.raises(ValidationError) as e:
        do_create_customer(manager, {"code": "K003", "name": "x", "status": "gone"}, "")
    assert "status" in e.value.message_dict
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.exists()


def test_money_stays_decimal(customers):
    """Given transactions with cents, when they are read back and summed, then the values
    are exact Decimals, returns included."""
    tx = Transaction.objects.get(customer=customers["C4"])
    assert tx.amount == Decimal("19999.99") and isinstance(tx.amount, Decimal)
    total = Transaction.objects.filter(kind="order").aggregate(s=Sum("amount"))["s"]
    assert isinstance(total, Decimal)
    assert total == Decimal("344999.99")
    assert isinstance(customers["C1"].price_coefficient, Decimal)
