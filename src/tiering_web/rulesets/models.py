from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RuleSet(models.Model):
    """A named way of grading customers, kept as numbered versions.

    Exactly one rule set may be primary: its grades drive service levels; the others are
    extra grades shown on each customer.
    """

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        ordering = ("-is_primary", "name")
        constraints = [
            models.UniqueConstraint(
                fields=["is_primary"], condition=Q(is_primary=True), name="ruleset_one_primary"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def latest_version(self) -> "RuleSetVersion | None":
        return self.versions.order_by("-number").first()


class RuleSetVersion(models.Model):
    """One version of a rule set: the rules as the engine reads them (the dict form of a
    rule file), with its author, reviewer and approver (制定人/审核人/批准人) and the date
    it takes effect. Versions are never edited after approval; a change is a new version.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")

    ruleset = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("rules"), encoder=DjangoJSONEncoder)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
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
    effective_date = models.DateField(_("effective date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rule set version")
        verbose_name_plural = _("rule set versions")
        ordering = ("ruleset", "-number")
        constraints = [
            models.UniqueConstraint(fields=["ruleset", "number"], name="ruleset_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.ruleset} v{self.number}"

    def rules(self):
        """The validated :class:`tiering.RuleSet`."""
        from tiering import parse_rules

        return parse_rules(self.definition, source=str(self))
