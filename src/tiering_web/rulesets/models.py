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
    it takes effect. A version is saved as a ``draft`` by its author, ``reviewed`` by a
    second person's own signature, then ``approved`` by a third's
    (:mod:`tiering_web.rulesets.domain`); each signature is stamped with its time. Versions
    are never edited after approval; a change is a new version.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEWED = "reviewed", _("Reviewed, awaiting approval")
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
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

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


class WhatIfRun(models.Model):
    """One what-if asked from the rule-set editor or the API, computed by the background
    worker: the edited rules graded beside the version in force, as of a date.

    It is ``queued``, ``running`` (``stage`` says which step; the worker stamps
    ``heartbeat_at`` every few seconds) and ends ``done`` with the comparison in
    ``result``, or ``failed`` with the reason in English and Chinese. ``result`` is what
    the page shows and nothing per customer: the tiers under the edited rules, the from ×
    to matrix (customers and revenue per cell), the totals moving up and down and the
    largest movers by name (see :func:`tiering_web.rulesets.whatif.result_json`). A
    what-if never saves a rule-set version. While one is pending, the same request (rule
    set, rules, date and baseline: ``key``) is answered by it instead of a second run.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Stage(models.TextChoices):
        READING = "reading", _("Reading the customers and transactions")
        GRADING_CURRENT = "grading_current", _("Grading under the current rules")
        GRADING_PROPOSED = "grading_proposed", _("Grading under the edited rules")
        COMPARING = "comparing", _("Comparing")

    ruleset = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.CASCADE, related_name="whatifs"
    )
    baseline = models.ForeignKey(
        RuleSetVersion,
        verbose_name=_("compared with"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    definition = models.JSONField(_("rules"), encoder=DjangoJSONEncoder)
    as_of = models.DateField(_("as of"))
    key = models.CharField(_("request key"), max_length=64, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, blank=True)
    task_id = models.CharField(_("background task"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error_en = models.TextField(_("error (English)"), blank=True)
    error_zh = models.TextField(_("error (Chinese)"), blank=True)
    result = models.JSONField(_("result"), null=True, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("what-if run")
        verbose_name_plural = _("what-if runs")
        ordering = ("-created_at", "-id")
        constraints = [
            # one pending run per request: a second ask while it runs is answered by it
            models.UniqueConstraint(
                fields=["ruleset", "key"],
                condition=Q(status__in=["queued", "running"]),
                name="whatif_one_pending_per_request",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="whatif_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ruleset} what-if #{self.pk} @ {self.as_of}"

    @property
    def is_pending(self) -> bool:
        """Queued or running: the result is not there yet."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def stages(self) -> list[str]:
        """The stages this run goes through (no grading under current rules without a
        version to compare with)."""
        return [
            value
            for value in self.Stage.values
            if value != self.Stage.GRADING_CURRENT or self.baseline_id is not None
        ]

    @property
    def step(self) -> int:
        """How many of :attr:`stages` have begun (0 while queued)."""
        return self.stages.index(self.stage) + 1 if self.stage in self.stages else 0

    def error(self, lang: str | None) -> str:
        """Why it failed, in ``lang`` (Chinese for ``zh-hans``, else English)."""
        if (lang or "").startswith("zh"):
            return self.error_zh or self.error_en
        return self.error_en or self.error_zh
