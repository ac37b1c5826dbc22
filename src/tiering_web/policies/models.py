"""What each tier gets (DOMAIN.md, "What each tier gets"): benefits, commercial terms and
service level per tier of the primary rule set, versioned like rule sets so that the terms
in force on any date can be read back.

A :class:`PolicyVersion` is one complete set of policies for a rule set's tiers, with its
author and approver and the date it takes effect; it is never edited once approved (a
change is a new version). The version in force on a date is the approved one with the
latest ``effective_date`` on or before it (see :func:`.services.policies_in_force`).
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiering_web.rulesets.models import RuleSet


class PolicyVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")

    ruleset = models.ForeignKey(
        RuleSet,
        verbose_name=_("rule set"),
        on_delete=models.CASCADE,
        related_name="policy_versions",
    )
    number = models.PositiveIntegerField(_("version"))
    effective_date = models.DateField(_("effective date"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    note = models.TextField(_("note"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approver"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ("ruleset", "-number")
        constraints = [
            models.UniqueConstraint(fields=["ruleset", "number"], name="policy_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.ruleset} policies v{self.number}"


class TierPolicy(models.Model):
    """What one tier gets under one policy version. Every term is optional: empty means
    "the company's standard", not zero."""

    version = models.ForeignKey(
        PolicyVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="tiers"
    )
    tier = models.CharField(pgettext_lazy("customer grade", "tier"), max_length=50)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    #: [{"code": "member_price", "zh": "会员价", "en": "Member price"}, ...]
    benefits = models.JSONField(_("benefits"), default=list, blank=True, encoder=DjangoJSONEncoder)
    # commercial terms
    price_coefficient = models.DecimalField(
        _("price coefficient"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    discount_percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    payment_terms_days = models.PositiveIntegerField(
        _("payment terms (days)"),
        null=True,
        blank=True,
        help_text=_("days from invoice to payment due"),
    )
    credit_days = models.PositiveIntegerField(
        _("credit period (days)"),
        null=True,
        blank=True,
        help_text=_("how long a sale on credit may stay unpaid, up to the credit limit"),
    )
    credit_limit = models.DecimalField(
        _("credit limit"),
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    delivery_lead_days = models.PositiveIntegerField(
        _("delivery lead time (days)"), null=True, blank=True
    )
    # service level
    dedicated_manager = models.BooleanField(_("dedicated account manager"), default=False)
    service_team = models.CharField(_("service team"), max_length=100, blank=True)
    revisit_days = models.PositiveIntegerField(_("revisit every (days)"), null=True, blank=True)
    queue_priority = models.PositiveSmallIntegerField(
        _("call-centre priority"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(9)],
        help_text=_("1 is answered first, 9 last"),
    )
    answer_seconds = models.PositiveIntegerField(
        _("answer within (seconds)"), null=True, blank=True
    )
    answer_share = models.DecimalField(
        _("share answered in time"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_('e.g. 0.800 for "80% within 20 s"'),
    )
    callback_hours = models.PositiveIntegerField(
        _("call back within (hours)"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")
        ordering = ("version", "position", "tier")
        constraints = [
            models.UniqueConstraint(fields=["version", "tier"], name="one_policy_per_tier")
        ]

    def __str__(self) -> str:
        return f"{self.version} / {self.tier}"
