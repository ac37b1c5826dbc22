"""Deactivating a customer instead of deleting it: its history stays, its tiers end,
evaluations, messages and revisit tasks skip it, lists hide it, and reactivating brings
its tiers back; through the service, the API and the page, audited, on every path."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tiering_web.accounts.api import issue_token
from tiering_web.accounts.models import Role
from tiering_web.accountwork.models import AssignmentProposal, Task, TaskKind, Why
from tiering_web.audit.models import AuditEntry
from tiering_web.customers import domain
from tiering_web.customers.models import Customer
from tiering_web.customers.services import do_deactivate_customer, do_reactivate_customer
from tiering_web.evaluations.models import TierAssignment
from tiering_web.evaluations.services import (
    publish_evaluation,
    run_evaluation,
    withdraw_evaluation,
)
from tiering_web.notifications.models import Channel, Kind, Message
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF, EXPECTED, NEXT_QUARTER

pytestmark = pytest.mark.django_db(transaction=True)


def open_tiers(ruleset) -> dict[str, str]:
    return dict(
        TierAssignment.objects.filter(ruleset=ruleset, valid_to__isnull=True).values_list(
            "customer__code", "tier"
        )
    )


def others(code: str) -> dict[str, str]:
    return {c: t for c, t in EXPECTED.items() if c != code}


@pytest.fixture
def published(manager, customers, version):
    return publish_evaluation(manager, run_evaluation(manager, version, AS_OF), "Q3")


# --- the rules, without a database -------------------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_the_rules_of_deactivation_hold_without_a_database():
    """Given an active customer, deactivating it needs a reason; given a deactivated one,
    deactivating again is refused and reactivating needs a reason; an active one cannot be
    reactivated."""
    domain.check_deactivation(active=True, reason="倒闭")
    domain.check_reactivation(active=False, reason="恢复合作")
    with pytest.raises(ValidationError) as blank:
        domain.check_deactivation(active=True, reason="  ")
    assert "reason" in blank.value.error_dict
    with pytest.raises(ValidationError) as twice:
        domain.check_deactivation(active=False, reason="twice")
    assert twice.value.code == "deactivated"
    with pytest.raises(ValidationError) as active:
        domain.check_reactivation(active=True, reason="why")
    assert active.value.code == "active"
    with pytest.raises(ValidationError) as blank:
        domain.check_reactivation(active=False, reason="")
    assert "reason" in blank.value.error_dict


# --- the service --------------------------------------------------------------------------


def test_deactivating_ends_the_tiers_and_the_work_and_is_audited(
    manager, staff, customers, version, published
):
    """Given C1 with a published tier, an open revisit task and a message not sent yet,
    when a manager deactivates it with a reason, then its tier ends today (marked ended by
    the deactivation), the other customers keep theirs, the task is cancelled, the message
    held back, and one audit entry says who, why and what ended."""
    c1 = customers["C1"]
    task = Task.objects.create(
        customer=c1, owner=staff[Role.ACCOUNT_MANAGER], kind=TaskKind.CALL, due=AS_OF
    )
    message = Message.objects.create(
        idempotency_key="t:1",
        kind=Kind.TIER_UP,
        channel=Channel.EMAIL,
        recipient="c1@example.com",
        language="zh-hans",
        body="你好",
        next_attempt_at=timezone.now(),
        customer=c1,
    )

    proposal = AssignmentProposal.objects.create(
        evaluation=published, customer=c1, tier="A", value=0, why=Why.NO_OWNER
    )

    done = do_deactivate_customer(manager, c1, "客户已注销")

    assert not done.is_active and done.deactivated_by == manager
    assert done.deactivation_reason == "客户已注销"
    assert open_tiers(version.ruleset) == others("C1")
    ended = TierAssignment.objects.get(customer=c1)
    assert ended.valid_to == timezone.localdate() and ended.ended_by_deactivation
    task.refresh_from_db()
    message.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert message.status == Message.Status.INACTIVE
    proposal.refresh_from_db()
    assert proposal.status == AssignmentProposal.Status.CANCELLED
    assert proposal.decided_by == manager
    entry = AuditEntry.objects.get(action="customer.deactivate")
    assert entry.actor == manager and entry.reason == "客户已注销"
    assert entry.details["tiers_ended"] == 1
    assert entry.details["tasks_cancelled"] == 1
    assert entry.details["messages_cancelled"] == 1
    assert entry.details["proposals_cancelled"] == 1
    assert Customer.objects.filter(code="C1").exists()  # never deleted


def test_a_refused_deactivation_writes_nothing(manager, customers, version, published):
    c1 = customers["C1"]
    with pytest.raises(ValidationError):
        do_deactivate_customer(manager, c1, "")
    c1.refresh_from_db()
    assert c1.is_active and open_tiers(version.ruleset) == EXPECTED
    do_deactivate_customer(manager, c1, "closed")
    with pytest.raises(ValidationError):
        do_deactivate_customer(manager, c1, "again")
    assert AuditEntry.objects.filter(action="customer.deactivate").count() == 1


def test_evaluations_skip_a_deactivated_customer(manager, customers, version, published):
    """Given C1 deactivated, the next evaluation has no result for it and publishing it
    gives it no tier; the other customers are graded as before."""
    do_deactivate_customer(manager, customers["C1"], "merged into C2")
    evaluation = run_evaluation(manager, version, NEXT_QUARTER)
    codes = set(evaluation.results.values_list("customer__code", flat=True))
    assert codes == set(EXPECTED) - {"C1"}
    publish_evaluation(manager, evaluation, "Q4")
    assert "C1" not in open_tiers(version.ruleset)


def test_a_customer_deactivated_after_the_run_gets_no_tier_from_its_publication(
    manager, customers, version
):
    """Given a draft graded while C1 was active, when C1 is deactivated and the draft is
    then published, C1 holds no tier (the publication counts it) and reactivating gives
    the published tier back."""
    draft = run_evaluation(manager, version, AS_OF)
    do_deactivate_customer(manager, customers["C1"], "closed")
    publish_evaluation(manager, draft, "Q3")
    assert open_tiers(version.ruleset) == others("C1")
    entry = AuditEntry.objects.get(action="evaluation.publish")
    assert entry.details["deactivated"] == 1

    do_reactivate_customer(manager, customers["C1"], "back")
    assert open_tiers(version.ruleset) == EXPECTED


def test_reactivating_brings_the_tiers_back_as_a_new_period(manager, customers, version, published):
    c1 = customers["C1"]
    do_deactivate_customer(manager, c1, "closed")
    back = do_reactivate_customer(manager, c1, "reopened its business")
    assert back.is_active and back.deactivation_reason == ""
    assert open_tiers(version.ruleset) == EXPECTED
    periods = list(TierAssignment.objects.filter(customer=c1).order_by("id"))
    assert len(periods) == 2 and periods[0].ended_by_deactivation
    assert periods[1].valid_from == timezone.localdate() and periods[1].valid_to is None
    entry = AuditEntry.objects.get(action="customer.reactivate")
    assert entry.details["tiers_restored"] == 1 and entry.reason == "reopened its business"
    with pytest.raises(ValidationError):
        do_reactivate_customer(manager, c1, "twice")


def test_withdrawing_a_publication_never_reopens_a_deactivated_customers_tier(
    manager, customers, version, published
):
    """Given Q3 and Q4 published, then C1 deactivated: withdrawing Q4 puts everyone else
    back to Q3's tiers, C1 stays without a tier, and reactivating it gives Q3's tier."""
    q4 = publish_evaluation(manager, run_evaluation(manager, version, NEXT_QUARTER), "Q4")
    do_deactivate_customer(manager, customers["C1"], "closed")
    withdraw_evaluation(manager, q4, "wrong date")
    assert open_tiers(version.ruleset) == others("C1")
    do_reactivate_customer(manager, customers["C1"], "back")
    assert open_tiers(version.ruleset) == EXPECTED


# --- the API ------------------------------------------------------------------------------


def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, user, 'tests')}")


def test_the_api_deactivates_lists_and_reactivates(manager, staff, customers, version, published):
    do_set_primary(manager, version.ruleset, "primary")
    client = api(manager)
    answer = client.post(
        "/api/customers/C1/deactivate", {"reason": "客户已注销"}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["active"] is False and body["deactivation_reason"] == "客户已注销"
    assert body["tier"] is None

    listed = {c["code"] for c in client.get("/api/customers/?page_size=100").json()["items"]}
    assert listed == set(EXPECTED) - {"C1"}
    gone = client.get("/api/customers/?deactivated=true").json()["items"]
    assert [c["code"] for c in gone] == ["C1"]
    assert client.get("/api/customers/?deactivated=all").json()["count"] == len(EXPECTED)
    assert client.get("/api/customers/C1").json()["active"] is False

    again = client.post(
        "/api/customers/C1/deactivate", {"reason": "again"}, content_type="application/json"
    )
    assert again.status_code == 409
    blank = client.post(
        "/api/customers/C2/deactivate", {"reason": ""}, content_type="application/json"
    )
    assert blank.status_code == 422 and Customer.objects.get(code="C2").is_active

    back = client.post(
        "/api/customers/C1/reactivate", {"reason": "back"}, content_type="application/json"
    )
    assert back.status_code == 200 and back.json()["active"] is True
    assert back.json()["tier"] == EXPECTED["C1"]


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.ANALYST])
def test_only_managers_deactivate_through_the_api(staff, customers, role):
    user = staff[role]
    Customer.objects.filter(code="C1").update(owner=user)
    answer = api(user).post(
        "/api/customers/C1/deactivate", {"reason": "mine"}, content_type="application/json"
    )
    assert answer.status_code == 403
    assert Customer.objects.get(code="C1").is_active


# --- the pages ----------------------------------------------------------------------------


def test_the_pages_hide_deactivate_and_reactivate(client, manager, staff, customers):
    client.force_login(manager)
    page = client.get("/customers/C1/").content.decode()
    assert 'id="deactivate"' in page
    answer = client.post(
        "/customers/C1/activation/", {"action": "deactivate", "reason": "closed down"}
    )
    assert answer.status_code == 302
    assert not Customer.objects.get(code="C1").is_active
    listing = client.get("/customers/").content.decode()
    assert "/customers/C1/" not in listing and "/customers/C2/" in listing
    assert "/customers/C1/" in client.get("/customers/?show=deactivated").content.decode()
    detail = client.get("/customers/C1/").content.decode()
    assert 'id="deactivated"' in detail and "closed down" in detail

    client.force_login(staff[Role.ANALYST])
    refused = client.post("/customers/C1/activation/", {"action": "reactivate", "reason": "x"})
    assert refused.status_code == 403
    assert 'name="action"' not in client.get("/customers/C1/").content.decode()

    client.force_login(manager)
    client.post("/customers/C1/activation/", {"action": "reactivate", "reason": "back"})
    assert Customer.objects.get(code="C1").is_active
    assert (
        AuditEntry.objects.filter(action__in=["customer.deactivate", "customer.reactivate"]).count()
        == 2
    )


def test_the_page_says_why_a_deactivation_is_refused(client, manager, customers):
    client.force_login(manager)
    answer = client.post("/customers/C1/activation/", {"action": "deactivate", "reason": " "})
    assert answer.status_code == 302
    assert Customer.objects.get(code="C1").is_active
    follow = client.get("/customers/C1/").content.decode()
    assert "请填写停用该客户的原因" in follow


def test_an_unknown_activation_action_is_a_400_and_changes_nothing(client, manager, customers):
    """A form posting an action that is neither deactivate nor reactivate is refused (it
    used to be taken as a reactivation) and the customer stays as it was."""
    client.force_login(manager)
    answer = client.post("/customers/C1/activation/", {"action": "delete", "reason": "x"})
    assert answer.status_code == 400
    assert Customer.objects.get(code="C1").is_active
    assert (
        not AuditEntry.objects.filter(action__startswith="customer.")
        .exclude(action="customer.create")
        .exists()
    )
