"""Owners set by a customers import enter the ownership history, and open tasks follow
the customer to the new owner."""

import datetime as dt

import pytest

from tiering_web.accounts.models import Role
from tiering_web.accountwork.models import OwnershipChange, Task
from tiering_web.customers.models import Customer
from tiering_web.imports.services import import_customers


def write(path, rows):
    path.write_text(
        "客户编号,客户名称,客户经理\n" + "".join(",".join(r) + "\n" for r in rows),
        encoding="utf-8-sig",
    )
    return path


@pytest.mark.django_db
def test_import_records_owner_changes(tmp_path, manager, django_user_model):
    """Given li owns K1 (with an open task) after a first import, when a second import
    gives K1 to zhang and leaves K2 with li, then the history holds li's first assignments
    and the move to zhang (source import, with the reason), and K1's open task is
    zhang's."""
    li = django_user_model.objects.create_user("li", password="x", role=Role.ACCOUNT_MANAGER)
    zhang = django_user_model.objects.create_user("zhang", password="x", role=Role.ACCOUNT_MANAGER)
    first = write(tmp_path / "a.csv", [("K1", "甲公司", "li"), ("K2", "乙公司", "li")])
    import_customers(manager, first, reason="first load")
    k1 = Customer.objects.get(code="K1")
    task = Task.objects.create(customer=k1, owner=li, kind="call", due=dt.date(2026, 12, 1))

    second = write(tmp_path / "b.csv", [("K1", "甲公司", "zhang"), ("K2", "乙公司", "li")])
    import_customers(manager, second, reason="territory change")

    history = list(
        OwnershipChange.objects.order_by("id").values_list(
            "customer__code", "from_owner__username", "to_owner__username", "source", "reason"
        )
    )
    assert history == [
        ("K1", None, "li", "import", "first load"),
        ("K2", None, "li", "import", "first load"),
        ("K1", "li", "zhang", "import", "territory change"),
    ]
    task.refresh_from_db()
    assert task.owner == zhang


@pytest.mark.django_db
def test_a_customer_edit_that_changes_the_owner_is_recorded(manager, django_user_model):
    """Given K1 owned by li, when a manager edits K1's owner to zhang through the customer
    service (as the API does), then the history holds the transfer with its reason."""
    from tiering_web.customers.services import do_create_customer, do_update_customer

    li = django_user_model.objects.create_user("li", password="x", role=Role.ACCOUNT_MANAGER)
    zhang = django_user_model.objects.create_user("zhang", password="x", role=Role.ACCOUNT_MANAGER)
    k1 = do_create_customer(manager, {"code": "K1", "name": "甲", "owner": li}, "new")
    do_update_customer(manager, k1, {"owner": zhang}, "li moved to another region")
    change = OwnershipChange.objects.get(to_owner=zhang)
    assert (change.from_owner, change.source, change.reason, change.by) == (
        li,
        "transfer",
        "li moved to another region",
        manager,
    )
