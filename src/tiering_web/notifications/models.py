"""Notifications (DOMAIN.md, "The process", step 4: tell customers their grade and
benefits): an outbox of messages to customers and staff, the templates they are written
from, the webhook endpoints of the company's gateways, and each customer's consent.

A :class:`Message` is rendered completely when it is queued (subject, body, recipient) and
then only sent: the background worker (:mod:`.tasks`) claims due messages, sends them and
marks them sent, retrying failures with exponential back-off until it gives up (``dead``).
Its ``idempotency_key`` is unique, so the same event never queues a message twice, and it
travels with the message (the e-mail's ``Message-ID``, the webhook's ``Idempotency-Key``
header) so that the receiver can drop a copy sent again after a worker died between
sending and recording it (see :mod:`.sending`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import Evaluation


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS (webhook)")
    WEBHOOK = "webhook", _("Webhook")


class Kind(models.TextChoices):
    TIER_UP = "tier_up", _("Tier up")
    TIER_DOWN = "tier_down", _("Tier down")
    WARNING = "warning", _("Warning before an evaluation")
    DIGEST = "digest", _("Account manager's digest")
    ALERT = "alert", _("Internal alert")
    EVENT = "event", _("Integration event")


class Language(models.TextChoices):
    ZH = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


#: The events an integration endpoint may subscribe to (see :mod:`.events`).
EVENTS = ("tier.changed", "evaluation.published", "customer.updated")


class WebhookEndpoint(models.Model):
    """Where webhook messages go: the company's SMS gateway (customer messages by SMS), an
    internal alert receiver (a chat bot, a ticket system), or another system told of
    ``events`` (a CRM, a loyalty or marketing tool: :mod:`.events`).

    Each request is signed: ``X-Tiering-Signature: sha256=<hex>`` is the HMAC-SHA256 with
    ``secret`` of ``<X-Tiering-Timestamp>.<body>``; ``Idempotency-Key`` is the same on
    every attempt of one message (see :mod:`.sending`)."""

    class Purpose(models.TextChoices):
        SMS = "sms", _("SMS to customers")
        ALERT = "alert", _("Internal alerts")
        INTEGRATION = "integration", _("Integration (events)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    #: for an integration: the names in :data:`EVENTS` it is told of
    events = models.JSONField(_("events"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ("purpose", "name")

    def __str__(self) -> str:
        return f"{self.name} ({self.purpose})"


class MessageTemplate(models.Model):
    """The wording of one kind of message in one language for one channel, in Django
    template syntax. Rendered in a sandbox (no tag libraries, no file access) with plain
    values only: see :func:`.wording.render`. Without a row, the built-in wording of
    :data:`.wording.DEFAULTS` is used."""

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ("kind", "language", "channel")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language", "channel"], name="one_template_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.language}/{self.channel}"


class Preference(models.Model):
    """A customer's consent and language for messages. No row means: Chinese, and every
    channel allowed (the company's default; a customer who objects is opted out here).
    The addresses come from ``Customer.contacts`` (the first contact with an e-mail, the
    first with a phone)."""

    customer = models.OneToOneField(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH
    )
    email_opt_out = models.BooleanField(_("no e-mail"), default=False)
    sms_opt_out = models.BooleanField(_("no SMS"), default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.language}"

    def opted_out(self, channel: str) -> bool:
        return {Channel.EMAIL: self.email_opt_out, Channel.SMS: self.sms_opt_out}.get(
            channel, False
        )


class Message(models.Model):
    """One message in the outbox, rendered when queued and sent by the worker.

    A publication's messages to customers are first ``held`` ("to send"): nothing goes
    out until a manager releases them (they become ``pending``) or cancels them
    (``discarded``), unless ``TIERING_HOLD_CUSTOMER_MESSAGES`` is off; those still held
    when a later publication of the rule set is queued are ``superseded`` (a customer is
    never told a tier they no longer have).
    ``pending`` → ``sending`` (claimed by a worker until ``lease_until``) → ``sent``; a
    failed attempt makes it ``failed`` with ``next_attempt_at`` pushed back exponentially,
    and after :data:`.sending.MAX_ATTEMPTS` attempts ``dead`` (a manager may retry it from
    the outbox page). ``cancelled``: the customer opted out before it was sent;
    ``withdrawn``: the publication it announced was withdrawn before it was sent;
    ``inactive``: its customer was deactivated before it was sent. A
    ``sending`` message whose lease has expired (its worker died) is claimed again."""

    class Status(models.TextChoices):
        HELD = "held", _("To send: awaiting release")
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Dead (gave up)")
        CANCELLED = "cancelled", _("Cancelled (opted out)")
        WITHDRAWN = "withdrawn", _("Withdrawn with its evaluation")
        INACTIVE = "inactive", _("Cancelled (customer deactivated)")
        DISCARDED = "discarded", _("Cancelled by a manager")
        SUPERSEDED = "superseded", _("Superseded by a later publication")

    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("webhook endpoint"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
    )
    recipient = models.CharField(_("recipient"), max_length=254)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff recipient"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    claim_token = models.CharField(_("claim"), max_length=64, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_messages",
    )
    evaluation = models.ForeignKey(
        Evaluation,
        verbose_name=_("evaluation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ("-created_at", "-id")
        indexes = [
            # the worker's claim: due pending/failed messages, expired leases
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status__in=["pending", "failed"]),
                name="message_due_idx",
            ),
            models.Index(
                fields=["lease_until"], condition=Q(status="sending"), name="message_lease_idx"
            ),
            models.Index(fields=["status", "-created_at"], name="message_status_idx"),
            models.Index(fields=["customer", "-created_at"], name="message_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({self.status})"
