"""The audit log page: who may see it, what each entry shows, filters and pages."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tiering_web.accounts.models import Role
from tiering_web.audit.models import AuditEntry
from tiering_web.audit.services import record
from tiering_web.customers.services import do_create_customer, do_update_customer

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ROLES = (Role.ADMINISTRATOR, Role.MANAGER, Role.ACCOUNT_MANAGER, Role.ANALYST)


@pytest.fixture
def people(django_user_model, manager):
    """One user per role (the manager, wang, from conftest)."""
    made = {Role.MANAGER: manager}
    for role in (Role.ADMINISTRATOR, Role.ACCOUNT_MANAGER, Role.ANALYST):
        made[role] = django_user_model.objects.create_user(str(role), role=role)
    return made


@pytest.fixture
def history(people):
    """Three writes on three days: the manager creates customer K1 (2026-10-01) and moves
    it to the account manager (2026-10-02); the administrator creates K2 (2026-10-03)."""
    manager, admin = people[Role.MANAGER], people[Role.ADMINISTRATOR]
    k1 = do_create_customer(manager, {"code": "K1", "name": "华东机电"}, "new account")
    do_update_customer(manager, k1, {"owner": people[Role.ACCOUNT_MANAGER]}, "region split")
    do_create_customer(admin, {"code": "K2", "name": "西南物流"}, "import fix")
    entries = list(AuditEntry.objects.order_by("id"))
    for day, entry in enumerate(entries, start=1):
        entry.at = timezone.make_aware(dt.datetime(2026, 10, day, 9, 30))
        entry.save(update_fields=["at"])
    return entries


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(response):
    return [(e.action, e.object_repr) for e in response.context["page"].object_list]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(people, role):
    """Given a user of each role, when they open the audit log, then administrators and
    managers see it and account managers and analysts get 403."""
    response = client_as(people[role]).get(reverse("audit_list"))
    allowed = role in (Role.ADMINISTRATOR, Role.MANAGER)
    assert response.status_code == (200 if allowed else 403)


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in():
    response = Client().get(reverse("audit_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_entries_newest_first_with_who_what_why_and_changes(people, history):
    """Given three writes, when the manager opens the log, then they are listed newest
    first, each with its time, who, action, object, reason and, for the update, the
    field's old and new value."""
    response = client_as(people[Role.MANAGER]).get(reverse("audit_list"), **EN)
    assert listed(response) == [
        ("customer.create", "K2 西南物流"),
        ("customer.update", "K1 华东机电"),
        ("customer.create", "K1 华东机电"),
    ]
    body = response.content.decode()
    for text in ("region split", "new account", "import fix", "3 entries", "wang"):
        assert text in body
    am = people[Role.ACCOUNT_MANAGER]
    update = response.context["page"].object_list[1]
    assert ("owner", f"— → {am.pk}") in update.detail_lines
    assert "10/02/2026 9:30 a.m." in body  # the English short date and time


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "customer.update"}, ["customer.update K1 华东机电"]),
        ({"object": "K2"}, ["customer.create K2 西南物流"]),
        ({"since": "2026-10-02", "until": "2026-10-02"}, ["customer.update K1 华东机电"]),
        ({"since": "2026-10-02"}, ["customer.create K2 西南物流", "customer.update K1 华东机电"]),
        ({"until": "2026-10-01"}, ["customer.create K1 华东机电"]),
        (
            {
                "object_type": "customers.customer",
                "action": "customer.create",
                "until": "2026-10-02",
            },
            ["customer.create K1 华东机电"],
        ),
    ],
)
def test_filters(people, history, params, expected):
    """Given three writes, when the log is filtered by action, object, object type or
    dates (whole days, both ends included), then only the matching entries are listed."""
    response = client_as(people[Role.ADMINISTRATOR]).get(reverse("audit_list"), params)
    assert [" ".join(pair) for pair in listed(response)] == expected


@pytest.mark.django_db
def test_filter_by_who_and_object_id(people, history):
    """Given three writes, when filtered by the administrator as actor, then only theirs;
    by the K1 customer's id, then both of K1's entries."""
    client = client_as(people[Role.ADMINISTRATOR])
    response = client.get(reverse("audit_list"), {"actor": people[Role.ADMINISTRATOR].pk})
    assert listed(response) == [("customer.create", "K2 西南物流")]
    k1_id = history[0].object_id
    response = client.get(reverse("audit_list"), {"object": k1_id})
    assert [action for action, _ in listed(response)] == ["customer.update", "customer.create"]


@pytest.mark.django_db
def test_a_backwards_date_range_is_explained(people, history):
    """Given an end date before the start date, when filtered, then the end date field
    says so."""
    response = client_as(people[Role.ADMINISTRATOR]).get(
        reverse("audit_list"), {"since": "2026-10-03", "until": "2026-10-01"}, **EN
    )
    assert response.context["form"].errors["until"] == ["The end date is before the start date."]
    assert "The end date is before the start date." in response.content.decode()
    response = client_as(people[Role.ADMINISTRATOR]).get(
        reverse("audit_list"), {"since": "not a date"}, **EN
    )
    assert response.context["form"].errors["since"] == ["Enter a valid date."]


@pytest.mark.django_db
def test_pages_of_fifty_and_a_constant_query_count(people):
    """Given 55 entries, when the administrator opens the log, then the first page has the
    newest 50 and the second the oldest 5; the queries do not grow with the entries."""
    admin = people[Role.ADMINISTRATOR]
    client = client_as(admin)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("audit_list")).status_code == 200
        return len(queries)

    record(admin, "note.add", None, "first")
    before = count()
    for n in range(2, 56):
        record(admin, "note.add", None, f"note {n}")
    assert count() == before
    first = client.get(reverse("audit_list")).context["page"]
    assert [e.reason for e in first.object_list][:2] == ["note 55", "note 54"]
    assert len(first.object_list) == 50
    second = client.get(reverse("audit_list"), {"page": 2}).context["page"]
    assert [e.reason for e in second.object_list] == [
        "note 5",
        "note 4",
        "note 3",
        "note 2",
        "first",
    ]


@pytest.mark.django_db
def test_htmx_requests_get_only_the_table(people, history):
    """Given an htmx filter request, when it arrives, then only the table is returned."""
    response = client_as(people[Role.MANAGER]).get(
        reverse("audit_list"), {"action": "customer.update"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<table" in body and "<html" not in body and "region split" in body


@pytest.mark.django_db
def test_user_writes_appear_in_the_log(people):
    """Given the administrator creating a user through the page, when the log is filtered
    by that user's object, then the creation is listed with its reason."""
    client = client_as(people[Role.ADMINISTRATOR])
    password = "Lantern-Harbour-42"
    client.post(
        reverse("user_create"),
        {
            "username": "newbie",
            "role": Role.ANALYST,
            "password": password,
            "password2": password,
            "reason": "summer intern",
        },
    )
    response = client.get(
        reverse("audit_list"), {"object_type": "accounts.user", "object": "newbie"}
    )
    [entry] = response.context["page"].object_list
    assert entry.action == "user.create" and entry.reason == "summer intern"
    assert ("role", Role.ANALYST) in entry.detail_lines
    assert password not in response.content.decode()
