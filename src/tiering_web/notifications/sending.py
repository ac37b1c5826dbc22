"""Sending the outbox: claim due messages, send each, record the outcome.

**Nothing lost.** A message is a row before anything is sent. A worker *claims* due rows
(``pending``/``failed`` whose ``next_attempt_at`` has come, or ``sending`` whose lease has
expired because their worker died) by setting ``status=sending``, a fresh ``claim_token``
and ``lease_until = now + LEASE``: on PostgreSQL the candidates are read with ``SELECT ...
FOR UPDATE SKIP LOCKED``, so concurrent workers take different rows; on SQLite the claim
is one conditional ``UPDATE`` (re-checking that the row is still due) inside an immediate
transaction, which holds the database's write lock. A worker killed at any point leaves
its rows ``sending`` until the lease expires; then another run claims them again.

**Nothing sent twice.** A row marked ``sent`` is never claimed again, and the outcome is
written only by the worker holding the claim (``WHERE claim_token = <its token>``). The
one unavoidable window, a worker dying after the receiver accepted the message but before
the row says ``sent``, is closed on the receiver's side: every attempt of a message
carries the same key, so the receiver drops the copy:

- e-mail: ``Message-ID: <{idempotency_key, colons as dots}@{domain}>`` (the domain of
  ``DEFAULT_FROM_EMAIL``), the header mail systems deduplicate on;
- webhook: ``POST`` of a JSON body with the headers ``Idempotency-Key: <key>``,
  ``X-Tiering-Timestamp: <unix seconds>`` and ``X-Tiering-Signature: sha256=<hex>``, the
  HMAC-SHA256 with the endpoint's secret of ``"<timestamp>.<body bytes>"``. The gateway
  recomputes the HMAC over the raw body, rejects a timestamp older than a few minutes,
  and ignores a key it has already accepted (answering 2xx). Any 2xx counts as delivered;
  anything else (or no answer within :data:`TIMEOUT`) is a failed attempt.

Each message's lease is renewed just before it is sent (a batch may take longer than one
lease), and a message whose claim was lost meanwhile is skipped. ``LEASE`` must stay well
above the longest send (:data:`TIMEOUT`), or a slow send could be claimed by a second
worker while the first is still sending (the receiver would still drop the copy).

**Retries.** A failed attempt sets ``failed`` and ``next_attempt_at = now + BACKOFF × 2^(n-1)``
(n = attempts so far, capped at :data:`MAX_BACKOFF`); after :data:`MAX_ATTEMPTS` attempts
the message is ``dead`` and shows on the outbox page with its last error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from tiering_web.notifications import events
from tiering_web.notifications.models import Channel, Kind, Message, Preference

logger = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
BACKOFF = dt.timedelta(minutes=1)
MAX_BACKOFF = dt.timedelta(hours=6)
MAX_ATTEMPTS = 8
TIMEOUT = 20  # seconds, for SMTP and webhooks alike
BATCH = 100


@dataclass
class Outcome:
    """What one :func:`send_due` run did."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    lost: int = 0


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4... minutes, at most 6 h."""
    return min(BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def _due(now: dt.datetime) -> Q:
    return Q(
        status__in=[Message.Status.PENDING, Message.Status.FAILED], next_attempt_at__lte=now
    ) | Q(status=Message.Status.SENDING, lease_until__lt=now)


def claim(now: dt.datetime, limit: int = BATCH) -> tuple[str, list[Message]]:
    """Claim up to ``limit`` due messages for this worker: (claim token, messages)."""
    token = uuid.uuid4().hex
    due = Message.objects.filter(_due(now)).order_by("next_attempt_at", "id")
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        else:
            ids = list(due.values_list("pk", flat=True)[:limit])
        if ids:
            Message.objects.filter(_due(now), pk__in=ids).update(
                status=Message.Status.SENDING,
                claim_token=token,
                lease_until=now + LEASE,
                attempts=F("attempts") + 1,
            )
    claimed = list(
        Message.objects.filter(claim_token=token, status=Message.Status.SENDING)
        .select_related("endpoint")
        .order_by("id")
    )
    return token, claimed


def message_id(message: Message) -> str:
    """``<key@domain>``, the key's colons written as dots: a colon is not allowed in a
    Message-ID (mail readers cut it there). Keys are made of letters, digits, ``-`` and
    ``:`` only (see :mod:`.services`), so the dotted form is as unique as the key."""
    domain = (settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost").strip("> ")
    return f"<{message.idempotency_key.replace(':', '.')}@{domain}>"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Tiering-Signature`` value of a webhook request."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def webhook_body(message: Message) -> bytes:
    """The JSON a webhook receives; the same bytes on every attempt of the message (an
    integration event: :func:`.events.payload`)."""
    if message.kind == Kind.EVENT:
        return json.dumps(events.payload(message), ensure_ascii=False, sort_keys=True).encode()
    payload = {
        "idempotency_key": message.idempotency_key,
        "kind": message.kind,
        "channel": message.channel,
        "to": message.recipient,
        "language": message.language,
        "subject": message.subject,
        "body": message.body,
        "customer": message.customer.code if message.customer_id else None,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


def _send_email(message: Message) -> None:
    # a connection per message: a broken session never spoils the next message
    EmailMessage(
        subject=message.subject,
        body=message.body,
        to=[message.recipient],
        headers={"Message-ID": message_id(message)},
        connection=get_connection(timeout=TIMEOUT),
    ).send()


def _send_webhook(message: Message, now: dt.datetime) -> None:
    endpoint = message.endpoint
    if endpoint is None or not endpoint.active:
        raise RuntimeError("the webhook endpoint is missing or inactive")
    body = webhook_body(message)
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.idempotency_key,
            "X-Tiering-Timestamp": timestamp,
            "X-Tiering-Signature": signature(endpoint.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as error:
        detail = error.read(300).decode("utf-8", "replace")
        raise RuntimeError(f"HTTP {error.code} from {endpoint.url}: {detail}") from None


def _opted_out(message: Message) -> bool:
    if message.customer_id is None or message.channel not in (Channel.EMAIL, Channel.SMS):
        return False
    preference = Preference.objects.filter(customer_id=message.customer_id).first()
    return preference is not None and preference.opted_out(message.channel)


def _finish(message: Message, token: str, **fields) -> bool:
    """Record the outcome if this worker still holds the claim."""
    fields.setdefault("lease_until", None)
    return bool(Message.objects.filter(pk=message.pk, claim_token=token).update(**fields))


def _renew(message: Message, token: str, now: dt.datetime) -> bool:
    """A full lease for this send (a batch takes longer than one lease); False when the
    claim was lost meanwhile (the lease ran out and another worker took the message)."""
    return bool(
        Message.objects.filter(
            pk=message.pk, claim_token=token, status=Message.Status.SENDING
        ).update(lease_until=now + LEASE)
    )


def send_one(message: Message, token: str, now: dt.datetime) -> str:
    """Send one claimed message and record the outcome; returns the new status
    (``lost`` when another worker holds it now: it is left to that worker)."""
    if not _renew(message, token, now):
        return "lost"
    if _opted_out(message):
        _finish(message, token, status=Message.Status.CANCELLED, last_error="")
        return Message.Status.CANCELLED
    try:
        if message.channel == Channel.EMAIL:
            _send_email(message)
        else:
            _send_webhook(message, now)
    except Exception as error:  # every failure is recorded on the message and retried
        text = f"{type(error).__name__}: {error}"[:2000]
        logger.warning("message %s: attempt %s failed: %s", message.pk, message.attempts, text)
        if message.attempts >= MAX_ATTEMPTS:
            _finish(message, token, status=Message.Status.DEAD, last_error=text)
            return Message.Status.DEAD
        _finish(
            message,
            token,
            status=Message.Status.FAILED,
            last_error=text,
            next_attempt_at=now + backoff(message.attempts),
        )
        return Message.Status.FAILED
    _finish(message, token, status=Message.Status.SENT, sent_at=timezone.now(), last_error="")
    return Message.Status.SENT


def send_due(now: dt.datetime | None = None, *, limit: int | None = None) -> Outcome:
    """Send every message due at ``now`` (default: now), batch after batch; ``limit``
    stops after that many claimed messages."""
    outcome = Outcome()
    while limit is None or outcome.claimed < limit:
        at = now or timezone.now()
        batch = BATCH if limit is None else min(BATCH, limit - outcome.claimed)
        token, messages = claim(at, batch)
        if not messages:
            break
        outcome.claimed += len(messages)
        for message in messages:
            status = send_one(message, token, now or timezone.now())
            setattr(outcome, status, getattr(outcome, status) + 1)
    return outcome
