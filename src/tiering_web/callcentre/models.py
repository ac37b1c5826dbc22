"""The call centre: where a caller's number leads (:class:`PhoneIndex`) and what
happened to each call (:class:`CallLog`), from which the SLA report per tier is made."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiering_web.customers.models import Customer


class PhoneIndex(models.Model):
    """One normalised phone number (:func:`tiering_web.callcentre.phones.normalise_phone`)
    of one customer's contact list: the index the priority lookup reads.

    Derived data, rebuilt from :attr:`Customer.contacts` by
    :func:`tiering_web.callcentre.services.sync_phone_index` (see there when it runs); a
    number shared by several customers has one row per customer."""

    phone = models.CharField(_("phone"), max_length=32)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("phone index entry")
        verbose_name_plural = _("phone index")
        constraints = [
            models.UniqueConstraint(fields=["phone", "customer"], name="phone_index_entry")
        ]
        indexes = [models.Index(fields=["customer"], name="phone_index_customer_idx")]

    def __str__(self) -> str:
        return f"{self.phone} → {self.customer_id}"


class CallLog(models.Model):
    """One call to the call centre: who called, when it entered the queue, how long the
    caller waited until answered or until they hung up (abandoned), and when we called
    back. ``customer`` and ``tier`` are what the caller's number matched when the call was
    recorded (the tier under the primary rule set on the call's date), so the report keeps
    the tier the caller had then."""

    caller = models.CharField(_("caller"), max_length=64)
    phone = models.CharField(_("normalised phone"), max_length=32, blank=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    tier = models.CharField(pgettext_lazy("customer grade", "tier"), max_length=50, blank=True)
    queued_at = models.DateTimeField(_("queued at"))
    wait_seconds = models.PositiveIntegerField(_("wait (seconds)"))
    answered = models.BooleanField(_("answered"))
    callback_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    reference = models.CharField(_("call reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ("-queued_at", "-id")
        constraints = [
            # the call-centre system's own id: posting the same call twice is refused
            models.UniqueConstraint(
                fields=["reference"], condition=~Q(reference=""), name="call_reference"
            )
        ]
        indexes = [
            models.Index(fields=["queued_at"], name="call_queued_idx"),
            models.Index(fields=["customer", "queued_at"], name="call_customer_idx"),
        ]

    @property
    def abandoned(self) -> bool:
        return not self.answered

    def __str__(self) -> str:
        return f"{self.caller} {self.queued_at:%Y-%m-%d %H:%M:%S}"
