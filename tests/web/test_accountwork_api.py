"""Revisit tasks and assignment proposals over the API: the pages' role rules, their
services (audited), and the statuses the schema names."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from tiering_web.accounts.models import Role
from tiering_web.accounts.services import issue_token
from tiering_web.accountwork.models import AssignmentProposal, Task
from tiering_web.accountwork.services import (
    do_save_manager_profile,
    do_transfer_owner,
    propose_assignments,
)
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Customer
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.policies.services import do_save_policy_version
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF, approve_policies

JSON = "application/json"


def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, user, 'tests')}")


@pytest.fixture
def tasks(staff, customers):
    """li (account manager) owns C1 and C2: an overdue task, one due today and one next
    month; the manager wang owns C3's task."""
    li, wang = staff[Role.ACCOUNT_MANAGER], staff[Role.MANAGER]
    today = timezone.localdate()
    for code in ("C1", "C2"):
        do_transfer_owner(wang, customers[code], li, "owner")
    return {
        "overdue": Task.objects.create(
            customer=customers["C1"], owner=li, kind="visit", due=today - dt.timedelta(days=3)
        ),
        "today": Task.objects.create(customer=customers["C2"], owner=li, kind="call", due=today),
        "later": Task.objects.create(
            customer=customers["C1"], owner=li, kind="call", due=today + dt.timedelta(days=40)
        ),
        "wang": Task.objects.create(customer=customers["C3"], owner=wang, kind="call", due=today),
    }


@pytest.mark.django_db
def test_an_account_manager_lists_and_completes_their_own_tasks(staff, tasks):
    """Given li's tasks, when li lists them, then only li's open ones come, earliest
    first, and ``when`` picks the overdue ones; li completes one with feedback (audited),
    after which it is listed as done; completing it again is a 409, a follow-up without
    feedback a 409 naming the field, and someone else's task or a manager's list a 403."""
    li = api(staff[Role.ACCOUNT_MANAGER])
    listed = li.get("/api/tasks/").json()
    assert [t["id"] for t in listed["items"]] == [
        tasks["overdue"].pk,
        tasks["today"].pk,
        tasks["later"].pk,
    ]
    overdue = li.get("/api/tasks/", {"when": "overdue"}).json()["items"]
    assert [(t["customer"], t["kind"]) for t in overdue] == [("C1", "visit")]

    url = f"/api/tasks/{tasks['overdue'].pk}/complete"
    no_feedback = li.post(url, {"outcome": "follow_up"}, content_type=JSON)
    assert no_feedback.status_code == 409
    assert no_feedback.json()["errors"][0]["field"] == "feedback"
    done = li.post(url, {"outcome": "follow_up", "feedback": "要报价单"}, content_type=JSON)
    assert done.status_code == 200, done.content
    body = done.json()
    assert (body["status"], body["outcome"], body["feedback"], body["done_by"]) == (
        "done",
        "follow_up",
        "要报价单",
        staff[Role.ACCOUNT_MANAGER].username,
    )
    assert AuditEntry.objects.filter(action="task.complete").count() == 1
    assert [t["id"] for t in li.get("/api/tasks/", {"when": "done"}).json()["items"]] == [
        tasks["overdue"].pk
    ]
    assert li.post(url, {"outcome": "reached"}, content_type=JSON).status_code == 409

    others = li.post(
        f"/api/tasks/{tasks['wang'].pk}/complete", {"outcome": "reached"}, content_type=JSON
    )
    assert others.status_code == 404  # C3 is not li's: as if it did not exist
    assert li.get("/api/tasks/", {"owner": "*"}).status_code == 403
    bad = li.post(url, {"outcome": "maybe"}, content_type=JSON)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "outcome"


@pytest.mark.django_db
def test_a_manager_reads_anyones_tasks_and_an_analyst_has_none(staff, tasks):
    """A manager lists their own by default, li's with owner=li and everyone's with *,
    and completes li's task; an analyst gets a 403."""
    wang = api(staff[Role.MANAGER])
    assert [t["id"] for t in wang.get("/api/tasks/").json()["items"]] == [tasks["wang"].pk]
    lis = wang.get("/api/tasks/", {"owner": staff[Role.ACCOUNT_MANAGER].username}).json()
    assert lis["count"] == 3
    assert wang.get("/api/tasks/", {"owner": "*", "when": "all"}).json()["count"] == 4
    url = f"/api/tasks/{tasks['today'].pk}/complete"
    assert wang.post(url, {"outcome": "reached"}, content_type=JSON).status_code == 200
    assert api(staff[Role.ANALYST]).get("/api/tasks/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_managers_decide_proposals_within_capacity(staff, customers, version):
    """Given C1 and C2 (tier A) both with an account manager who has room for one A
    customer, when the publication proposes and a manager accepts the proposal through
    the API, then the customer moves (audited, with the reason) and the proposal is
    listed as accepted; deciding it again is a 409, a blank reason a 422, and an account
    manager may neither list nor decide."""
    manager, li = staff[Role.MANAGER], staff[Role.ACCOUNT_MANAGER]
    # tier A is served by a dedicated account manager (what makes proposals)
    do_set_primary(manager, version.ruleset, "test")
    rows = [
        {"tier": "A", "dedicated_manager": True, "revisit_days": 30},
        {"tier": "B"},
        {"tier": "C"},
    ]
    approve_policies(
        do_save_policy_version(manager, version.ruleset, dt.date(2026, 1, 1), rows, "x")
    )
    other = type(li).objects.create_user("zhang", password="x-secret-1", role=li.role)
    do_save_manager_profile(manager, li, 3, {"A": 1}, "senior")
    do_save_manager_profile(manager, other, 1, {"A": 1}, "junior")
    for code in ("C1", "C2"):
        do_transfer_owner(manager, customers[code], other, "first owner")
    evaluation = publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"))
    propose_assignments(evaluation, manager)

    client = api(manager)
    waiting = client.get("/api/proposals/").json()["items"]
    assert [(p["customer"], p["tier"], p["from_owner"], p["to_owner"]) for p in waiting] == [
        ("C2", "A", "zhang", li.username)
    ]
    url = f"/api/proposals/{waiting[0]['id']}/decide"
    assert client.post(url, {"accept": True, "reason": ""}, content_type=JSON).status_code == 422
    assert api(li).get("/api/proposals/").status_code == 403
    assert api(li).post(url, {"accept": True, "reason": "x"}, content_type=JSON).status_code == 403

    decided = client.post(url, {"accept": True, "reason": "按容量分配"}, content_type=JSON)
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "accepted" and decided.json()["reason"] == "按容量分配"
    assert Customer.objects.get(code="C2").owner == li
    assert AssignmentProposal.objects.get(pk=waiting[0]["id"]).decided_by == manager
    accepted = client.get("/api/proposals/", {"status": "accepted"}).json()["items"]
    assert [p["customer"] for p in accepted] == ["C2"]
    again = client.post(url, {"accept": False, "reason": "改主意"}, content_type=JSON)
    assert again.status_code == 409


@pytest.mark.django_db(transaction=True)
def test_plans_and_capacities_for_managers_only(staff, customers, version):
    """Given the primary rule set, when a manager saves a revisit plan and li's capacity
    through the API, then both are listed (audited), li's load counts the customers li
    owns per current tier; a tier the rule set lacks is a 409 naming the field, an
    unknown rule set a 404, and an account manager gets a 403 everywhere."""
    manager, li = staff[Role.MANAGER], staff[Role.ACCOUNT_MANAGER]
    do_set_primary(manager, version.ruleset, "test")
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"))
    do_transfer_owner(manager, customers["C1"], li, "owner")
    client = api(manager)
    plan = {"ruleset": version.ruleset.pk, "tier": "A", "kind": "visit", "every_days": 30}
    saved = client.post("/api/plans/", {**plan, "reason": "A 每月拜访"}, content_type=JSON)
    assert saved.status_code == 200, saved.content
    assert (saved.json()["tier"], saved.json()["every_days"]) == ("A", 30)
    assert [p["kind"] for p in client.get("/api/plans/").json()] == ["visit"]
    wrong = client.post("/api/plans/", {**plan, "tier": "Z", "reason": "x"}, content_type=JSON)
    assert wrong.status_code == 409 and wrong.json()["errors"][0]["field"] == "tier"
    missing = client.post("/api/plans/", {**plan, "ruleset": 999, "reason": "x"}, content_type=JSON)
    assert missing.status_code == 404

    body = {"seniority": 3, "capacity": {"A": 2, "B": 5}, "reason": "资深"}
    put = client.put(f"/api/capacities/{li.username}", body, content_type=JSON)
    assert put.status_code == 200, put.content
    assert put.json() == {
        "username": li.username,
        "name": li.username,
        "seniority": 3,
        "capacity": {"A": 2, "B": 5},
        "load": {"A": 1},
    }
    listed = {row["username"]: row for row in client.get("/api/capacities/").json()}
    assert listed[li.username]["capacity"] == {"A": 2, "B": 5}
    bad = client.put(
        f"/api/capacities/{li.username}", {**body, "capacity": {"Z": 1}}, content_type=JSON
    )
    assert bad.status_code == 409 and bad.json()["errors"][0]["field"] == "capacity"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"accountwork.plan.save", "accountwork.profile.save"} <= actions

    am = api(li)
    assert am.get("/api/plans/").status_code == 403
    assert am.get("/api/capacities/").status_code == 403
    assert am.put(f"/api/capacities/{li.username}", body, content_type=JSON).status_code == 403
