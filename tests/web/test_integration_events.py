"""Tier-change webhooks for other systems (:mod:`tiering_web.notifications.events`): a
receiver on loopback that checks the signature, fails and recovers; a worker that dies
mid-delivery; nothing lost, nothing accepted twice."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tiering_web.accounts.models import Role
from tiering_web.customers.models import Customer
from tiering_web.customers.services import do_update_customer
from tiering_web.evaluations.models import Evaluation
from tiering_web.evaluations.services import withdraw_evaluation
from tiering_web.notifications import events, sending
from tiering_web.notifications.models import Kind, Message, WebhookEndpoint
from tiering_web.notifications.services import do_save_endpoint
from tiering_web.notifications.tasks import send_due_messages

from .test_notifications import (  # noqa: F401  (fixtures)
    SECRET,
    company,
    gateway,
    publish_q4,
    staff,
)
from .worker import delivered_after_the_lease, kill_mid_send, run_worker

pytestmark = pytest.mark.django_db(transaction=True)

ALL = ["tier.changed", "evaluation.published", "customer.updated"]


@pytest.fixture
def crm(company, gateway):
    """An integration endpoint (the CRM) told of every event, on the loopback receiver."""
    return do_save_endpoint(
        company["staff"][Role.ADMINISTRATOR],
        None,
        {
            "name": "CRM",
            "purpose": "integration",
            "url": gateway.url,
            "secret": SECRET,
            "events": ALL,
        },
        "tell the CRM",
    )


def received(gateway, event: str) -> list[dict]:
    """The events of one name the receiver accepted (each Idempotency-Key once)."""
    return [b for b in gateway.accepted.values() if b.get("event") == event]


def test_a_publication_tells_the_integration_of_each_tier_change_once(company, gateway, crm):
    """Given the CRM subscribed, when Q4 is published and the worker runs, then the CRM
    gets one evaluation.published with the counts and one tier.changed per customer whose
    tier moved (C4 C → A, C1 A → C, C3 B → C), signed with its secret, none for those who
    stayed; running the worker again sends nothing more."""
    manager = company["staff"][Role.MANAGER]
    evaluation = publish_q4(manager, company["version"])
    run_worker()

    [published] = received(gateway, "evaluation.published")
    assert published["data"]["evaluation"] == evaluation.pk
    assert published["data"]["ruleset"]["name"] == company["ruleset"].name
    assert published["data"]["customers"] == 6
    assert published["data"]["changes"]["up"] == 1 and published["data"]["changes"]["down"] == 2
    changes = {
        b["data"]["customer"]["code"]: (b["data"]["from"], b["data"]["to"], b["data"]["change"])
        for b in received(gateway, "tier.changed")
    }
    assert changes == {"C4": ("C", "A", "up"), "C1": ("A", "C", "down"), "C3": ("B", "C", "down")}
    assert gateway.bad_signatures == 0
    event = received(gateway, "tier.changed")[0]
    assert set(event) == {"event", "id", "occurred_at", "data"}
    assert event["id"].startswith(f"event:{crm.pk}:tier.changed:{evaluation.pk}:")
    sent = Message.objects.filter(kind=Kind.EVENT, status=Message.Status.SENT).count()
    assert sent == 4
    run_worker()
    assert Message.objects.filter(kind=Kind.EVENT).count() == 4


def test_a_receiver_that_fails_then_recovers_gets_every_event_once(company, gateway, crm):
    """Given a CRM answering 500 twice, when Q4's events are sent, then the two failures
    wait out their back-off, are delivered on the next attempt with the same keys, and
    the CRM holds each event once."""
    manager = company["staff"][Role.MANAGER]
    evaluation = publish_q4(manager, company["version"])
    Message.objects.filter(kind__in=[Kind.TIER_UP, Kind.TIER_DOWN, Kind.DIGEST]).delete()
    assert events.queue_publication_events(evaluation) == 4
    gateway.fail = 2
    t0 = timezone.now()
    first = sending.send_due(now=t0)
    assert (first.sent, first.failed) == (2, 2)
    assert sending.send_due(now=t0 + dt.timedelta(seconds=30)).claimed == 0
    assert sending.send_due(now=t0 + sending.BACKOFF).sent == 2
    keys = [r["key"] for r in gateway.requests if r["body"].get("event")]
    assert len(keys) == 6 and len(set(keys)) == 4
    assert len(received(gateway, "tier.changed")) == 3
    assert not Message.objects.filter(kind=Kind.EVENT).exclude(status=Message.Status.SENT)


def test_a_worker_that_dies_mid_delivery_loses_no_event_and_none_is_accepted_twice(
    company, gateway, crm
):
    """Given a worker that claimed the events and delivered them, then died before
    recording it, when the lease expires, then another worker sends them again with the
    same keys, the CRM drops the copies, and nothing is sent a third time."""
    manager = company["staff"][Role.MANAGER]
    evaluation = publish_q4(manager, company["version"])
    Message.objects.exclude(kind=Kind.EVENT).delete()
    events.queue_publication_events(evaluation)
    t0 = timezone.now()
    token, claimed = sending.claim(t0)
    assert len(claimed) == 4
    for message in claimed[:3]:  # three delivered, then the worker dies
        sending._send_webhook(message, t0)

    assert sending.send_due(now=t0 + dt.timedelta(minutes=1)).claimed == 0
    after = sending.send_due(now=t0 + sending.LEASE + dt.timedelta(seconds=1))
    assert (after.claimed, after.sent) == (4, 4)
    assert sending.send_due(now=t0 + dt.timedelta(days=1)).claimed == 0
    assert len(gateway.requests) == 7 and len(gateway.accepted) == 4
    assert sending._finish(claimed[0], token, status=Message.Status.FAILED) is False


def test_a_worker_process_killed_mid_delivery_is_replaced_without_loss_or_duplicate(
    company, gateway, crm
):
    """Given a real worker process (db_worker) delivering an event to a CRM that holds the
    request, when the process is killed with SIGKILL mid-delivery, then the event stays
    claimed until its lease expires and the next run delivers it with the same key; the
    CRM keeps it once."""
    manager = company["staff"][Role.MANAGER]
    do_update_customer(manager, Customer.objects.get(code="C2"), {"status": "dormant"}, "x")
    [message] = Message.objects.filter(kind=Kind.EVENT)
    send_due_messages.enqueue()
    gateway.hold = True
    status = kill_mid_send(gateway.started)
    gateway.hold = False
    gateway.release.set()
    assert status == -signal.SIGKILL
    delivered_after_the_lease(message)
    keys = [r["key"] for r in gateway.requests]
    assert keys == [message.idempotency_key] * len(keys) and 1 <= len(keys) <= 2
    assert list(gateway.accepted) == [message.idempotency_key]


def test_a_withdrawn_publication_withdraws_its_events_not_sent(company, gateway, crm):
    """Given Q4's events queued but not sent, when Q4 is withdrawn, then they are
    withdrawn with it and the CRM hears nothing of Q4."""
    manager = company["staff"][Role.MANAGER]
    evaluation = publish_q4(manager, company["version"])
    events.queue_publication_events(evaluation)
    withdraw_evaluation(manager, Evaluation.objects.get(pk=evaluation.pk), "wrong data")
    assert set(Message.objects.filter(kind=Kind.EVENT).values_list("status", flat=True)) == {
        Message.Status.WITHDRAWN
    }
    sending.send_due(now=timezone.now() + dt.timedelta(days=1))
    assert not received(gateway, "tier.changed")


def test_changing_a_customer_tells_the_integration_with_the_fields_changed(company, gateway, crm):
    """Given the CRM subscribed to customer.updated, when a manager changes C2's status
    and owner, then one event names both fields and the new values; saving the same
    values again tells nothing; an endpoint not subscribed hears nothing."""
    manager = company["staff"][Role.MANAGER]
    do_save_endpoint(
        company["staff"][Role.ADMINISTRATOR],
        None,
        {
            "name": "Loyalty",
            "purpose": "integration",
            "url": gateway.url + "/loyalty",
            "secret": SECRET,
            "events": ["tier.changed"],
        },
        "points",
    )
    c2 = Customer.objects.get(code="C2")
    changes = {"status": "dormant", "owner": company["staff"][Role.ACCOUNT_MANAGER]}
    do_update_customer(manager, c2, changes, "moved")
    do_update_customer(manager, Customer.objects.get(code="C2"), changes, "again")
    sending.send_due()
    [updated] = received(gateway, "customer.updated")
    assert updated["data"]["customer"]["code"] == "C2"
    assert updated["data"]["changed"] == ["owner", "status"]
    assert (updated["data"]["status"], updated["data"]["owner"]) == ("dormant", "li")
    assert updated["data"]["updated_by"] == manager.username
    assert Message.objects.filter(kind=Kind.EVENT).count() == 1


def test_an_integration_endpoint_needs_its_events(company):
    """An integration endpoint without events, or with an unknown one, is refused naming
    ``events``; an SMS endpoint keeps none."""
    admin = company["staff"][Role.ADMINISTRATOR]
    data = {"name": "x", "purpose": "integration", "url": "https://crm.example/h", "secret": "s"}
    for wrong in ([], ["tier.deleted"]):
        with pytest.raises(ValidationError) as refused:
            do_save_endpoint(admin, None, {**data, "events": wrong}, "r")
        assert "events" in refused.value.message_dict
    sms = do_save_endpoint(admin, None, {**data, "purpose": "sms", "events": ALL}, "r")
    assert WebhookEndpoint.objects.get(pk=sms.pk).events == []


def test_an_administrator_subscribes_an_integration_on_the_page(company):
    """On the webhooks page an administrator adds an integration with two events: it is
    saved with them and listed with its events."""
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(company["staff"][Role.ADMINISTRATOR])
    url = reverse("notification_endpoints")
    form = {
        "name": "CRM 纷享销客",
        "purpose": "integration",
        "url": "https://crm.example.com/hooks/tiering",
        "secret": "s3cret",
        "active": "on",
        "events": ["tier.changed", "evaluation.published"],
        "reason": "通知 CRM 等级变化",
    }
    assert client.post(url, form).status_code == 302
    endpoint = WebhookEndpoint.objects.get(name="CRM 纷享销客")
    assert endpoint.events == ["tier.changed", "evaluation.published"]
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "tier.changed, evaluation.published" in page.text and "系统集成（事件）" in page.text
    refused = client.post(url, {**form, "name": "空", "events": []}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "Choose the events" in refused.text


def test_a_customers_import_tells_the_integration_of_each_customer_it_changed(
    company, gateway, crm, tmp_path
):
    """Given the CRM subscribed, when a customers file changes C2's industry and leaves
    C1 as it was, then one customer.updated event names C2 and the field, queued with the
    import (all or nothing) and sent by the outbox."""
    from tiering_web.imports.services import import_customers

    c1 = Customer.objects.get(code="C1")
    path = tmp_path / "customers.csv"
    path.write_text(
        f"客户编号,客户名称,行业\nC1,{c1.name},{c1.industry}\nC2,客户C2,物流\n", encoding="utf-8"
    )
    import_customers(company["staff"][Role.MANAGER], path, reason="行业更新")
    sending.send_due()
    [updated] = received(gateway, "customer.updated")
    assert updated["data"]["customer"]["code"] == "C2"
    assert updated["data"]["changed"] == ["industry"]
