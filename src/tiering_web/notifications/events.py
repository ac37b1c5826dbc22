"""Events for other systems (a CRM such as 纷享销客 or Zoho, a loyalty or marketing tool),
delivered as webhooks through the outbox, so that no one has to poll for a tier change.

An administrator adds a webhook endpoint of purpose *integration* with the events it is
told of (:data:`~.models.EVENTS`):

- ``tier.changed``: a customer's tier under a rule set changed with a publication (up,
  down, or a first tier: ``change`` is ``up``, ``down`` or ``new``), one per customer;
- ``evaluation.published``: a publication, with its tier and change counts;
- ``customer.updated``: a customer's fields were changed (which ones, and its code, name,
  owner and status now).

Each event is a :class:`~.models.Message` (kind ``event``, channel ``webhook``) queued in
the transaction that made it happen (a publication's in the background task that queues
its messages), so an event is never told of a change that was rolled back, and then sent
by the outbox like every other webhook: the body is ``{"event", "id", "occurred_at",
"data"}``, signed (``X-Tiering-Signature: sha256=HMAC(secret, "<timestamp>.<body>")``),
with the event's ``id`` as ``Idempotency-Key`` on every attempt; failures are retried
with back-off until the message is dead, and a manager retries it from the outbox. A
withdrawn publication's events not sent yet are withdrawn with its messages.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from tiering_web.evaluations.models import Evaluation, EvaluationResult
from tiering_web.notifications.models import Channel, Kind, Language, Message, WebhookEndpoint

#: Results read per query when a publication's changes are turned into events.
_CHUNK = 2000


def subscribers(event: str) -> list[WebhookEndpoint]:
    """The active integration endpoints told of ``event``."""
    return [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(
            purpose=WebhookEndpoint.Purpose.INTEGRATION, active=True
        )
        if event in (endpoint.events or [])
    ]


def event_message(endpoint: WebhookEndpoint, event: str, key: str, data: dict, **related):
    """The outbox message of ``event`` for ``endpoint``; ``key`` makes it unique per
    endpoint (the same event is never queued twice for one receiver)."""
    return Message(
        idempotency_key=f"event:{endpoint.pk}:{event}:{key}",
        kind=Kind.EVENT,
        channel=Channel.WEBHOOK,
        endpoint=endpoint,
        recipient=endpoint.url[:254],
        language=Language.EN,
        subject=event,
        body=json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True),
        next_attempt_at=timezone.now(),
        **related,
    )


def payload(message: Message) -> dict[str, Any]:
    """What the receiver gets for an event message (the same on every attempt)."""
    return {
        "event": message.subject,
        "id": message.idempotency_key,
        "occurred_at": message.created_at.isoformat(),
        "data": json.loads(message.body),
    }


def _ruleset(evaluation: Evaluation) -> dict[str, Any]:
    ruleset = evaluation.ruleset
    return {"id": ruleset.pk, "name": ruleset.name, "primary": ruleset.is_primary}


def publication_events(evaluation: Evaluation) -> list[Message]:
    """The ``evaluation.published`` and ``tier.changed`` events of a publication for every
    endpoint subscribed to them (none when nobody is)."""
    published, changed = subscribers("evaluation.published"), subscribers("tier.changed")
    if not published and not changed:
        return []
    evaluation = Evaluation.objects.select_related("ruleset_version__ruleset", "published_by").get(
        pk=evaluation.pk
    )
    ruleset = _ruleset(evaluation)
    made: list[Message] = []
    results = EvaluationResult.objects.filter(
        evaluation=evaluation, customer__deactivated_at__isnull=True
    )
    if published:
        rows = list(results.values_list("tier", "change"))
        data = {
            "evaluation": evaluation.pk,
            "ruleset": ruleset,
            "version": evaluation.ruleset_version.number,
            "as_of": evaluation.as_of,
            "published_at": evaluation.published_at,
            "published_by": evaluation.published_by.username if evaluation.published_by else None,
            "customers": len(rows),
            "tiers": dict(Counter(tier for tier, _ in rows)),
            "changes": dict(Counter(change or "new" for _, change in rows)),
        }
        made += [
            event_message(
                e, "evaluation.published", str(evaluation.pk), data, evaluation=evaluation
            )
            for e in published
        ]
    if changed:
        moved = (
            results.exclude(change="same")
            .order_by("customer_id")
            .values_list(
                "customer_id", "customer__code", "customer__name", "previous_tier", "tier", "change"
            )
        )
        for customer_id, code, name, before, tier, change in moved.iterator(chunk_size=_CHUNK):
            data = {
                "customer": {"code": code, "name": name},
                "ruleset": ruleset,
                "from": before or None,
                "to": tier,
                "change": change or "new",
                "valid_from": evaluation.as_of,
                "evaluation": evaluation.pk,
            }
            made += [
                event_message(
                    e,
                    "tier.changed",
                    f"{evaluation.pk}:{customer_id}",
                    data,
                    evaluation=evaluation,
                    customer_id=customer_id,
                )
                for e in changed
            ]
    return made


def customer_updated_events(customer, fields: list[str], actor=None) -> list[Message]:
    """The ``customer.updated`` events of a change of ``fields`` of ``customer``."""
    endpoints = subscribers("customer.updated")
    if not endpoints or not fields:
        return []
    data = {
        "customer": {"code": customer.code, "name": customer.name},
        "changed": sorted(fields),
        "owner": customer.owner.username if customer.owner_id else None,
        "status": customer.status,
        "updated_at": customer.updated_at,
        "updated_by": actor.username if actor is not None else None,
    }
    key = f"{customer.pk}:{customer.updated_at.isoformat()}"
    return [event_message(e, "customer.updated", key, data, customer=customer) for e in endpoints]


def queue(messages: list[Message]) -> int:
    """Insert the event messages (inside the caller's transaction, a thousand at a time)
    and ask the worker to send them once it commits; returns how many were new."""
    from tiering_web.notifications.services import _insert, enqueue_sending

    if not messages:
        return 0
    queued = 0
    with transaction.atomic():
        for start in range(0, len(messages), 1000):
            queued += _insert(messages[start : start + 1000]).queued
        enqueue_sending()
    return queued


def queue_publication_events(evaluation: Evaluation) -> int:
    """Queue the events of a publication, unless it was withdrawn meanwhile (the
    withdrawal locks the evaluation too: the events are queued before it, and then
    withdrawn with it, or not at all)."""
    messages = publication_events(evaluation)
    if not messages:
        return 0
    with transaction.atomic():
        still = Evaluation.objects.select_for_update().filter(
            pk=evaluation.pk, status=Evaluation.Status.PUBLISHED
        )
        if not still.exists():
            return 0
        return queue(messages)
