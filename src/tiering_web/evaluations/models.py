from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiering_web.customers.models import Customer
from tiering_web.rulesets.models import RuleSet, RuleSetVersion


class Schedule(models.Model):
    """Evaluate a rule set automatically every month or quarter.

    ``python -m tiering_web run_schedules`` (run daily by cron or a systemd timer) queues
    an evaluation of the rule set's latest approved version for each active schedule whose
    ``next_run`` has come, as of the last day of the period before the one ``next_run``
    falls in (a quarterly run on 2026-10-01 grades as of 2026-09-30), then moves
    ``next_run`` one period on. The draft awaits review, or is published as soon as it is
    computed when ``auto_publish`` is set (by ``created_by``, who must be allowed to
    publish).
    """

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        QUARTERLY = "quarterly", _("Quarterly")

    ruleset = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.CASCADE, related_name="schedules"
    )
    frequency = models.CharField(
        _("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.QUARTERLY
    )
    next_run = models.DateField(_("next run"))
    auto_publish = models.BooleanField(_("publish automatically"), default=False)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        ordering = ("next_run", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=["monthly", "quarterly"]), name="schedule_frequency"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ruleset} ({self.frequency}, {self.next_run})"

    @property
    def months(self) -> int:
        """The length of the period in months."""
        return 3 if self.frequency == self.Frequency.QUARTERLY else 1


class Evaluation(models.Model):
    """One run of a rule set version as of a date.

    A run started from the pages or a schedule is first ``queued``, then ``running`` in the
    background worker, and ends ``failed`` (with the engine's message in English and
    Chinese) or as a ``draft`` that a manager reviews, then publishes (its tiers become the
    customers' current tiers) or discards. The latest publication of a rule set can be
    ``withdrawn`` (the tiers it changed go back to what they were before it)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FAILED = "failed", _("Failed")
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        DISCARDED = "discarded", _("Discarded")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    ruleset_version = models.ForeignKey(
        RuleSetVersion,
        verbose_name=_("rule set version"),
        on_delete=models.PROTECT,
        related_name="evaluations",
    )
    as_of = models.DateField(_("as of"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # stamped by the worker while running (tiering_web.jobs.Heartbeat)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    error_en = models.TextField(_("error (English)"), blank=True)
    error_zh = models.TextField(_("error (Chinese)"), blank=True)
    schedule = models.ForeignKey(
        Schedule,
        verbose_name=_("schedule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evaluations",
    )
    task_id = models.CharField(_("background task"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ("-as_of", "-id")
        constraints = [
            # a schedule evaluates each period once, however often run_schedules runs
            models.UniqueConstraint(
                fields=["schedule", "as_of"],
                condition=Q(schedule__isnull=False),
                name="one_evaluation_per_schedule_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ruleset_version} @ {self.as_of}"

    @property
    def ruleset(self) -> RuleSet:
        return self.ruleset_version.ruleset

    @classmethod
    def in_force(cls, ruleset: RuleSet, exclude: "Evaluation | None" = None):
        """The rule set's publication in force: the published evaluation of the latest
        date (of two on one date, the later published), None before the first."""
        published = cls.objects.filter(
            ruleset_version__ruleset=ruleset, status=cls.Status.PUBLISHED
        )
        if exclude is not None:
            published = published.exclude(pk=exclude.pk)
        return published.order_by("-as_of", "-published_at", "-id").first()

    @property
    def is_pending(self) -> bool:
        """Queued or running: the results are not there yet."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    def error(self, lang: str | None) -> str:
        """Why it failed, in ``lang`` (Chinese for ``zh-hans``, else English)."""
        if (lang or "").startswith("zh"):
            return self.error_zh or self.error_en
        return self.error_en or self.error_zh


class EvaluationResult(models.Model):
    """One customer's proposed tier in an evaluation, with the why: score, reason, what
    the next tier needs, and every other value the engine computed (in ``details``)."""

    # no index of its own: ``result_per_customer`` and ``result_tier_idx`` lead with it (one
    # index less to maintain for each of a million rows written)
    evaluation = models.ForeignKey(
        Evaluation,
        verbose_name=_("evaluation"),
        on_delete=models.CASCADE,
        related_name="results",
        db_index=False,
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    tier = models.CharField(pgettext_lazy("customer grade", "tier"), max_length=50)
    score = models.DecimalField(_("score"), max_digits=12, decimal_places=4, null=True)
    reason = models.TextField(_("reason"), blank=True)
    next_tier = models.CharField(_("next tier"), max_length=50, blank=True)
    gap = models.DecimalField(_("gap"), max_digits=24, decimal_places=4, null=True)
    gap_unit = models.CharField(_("gap unit"), max_length=50, blank=True)
    flags = models.CharField(_("flags"), max_length=200, blank=True)
    previous_tier = models.CharField(_("previous tier"), max_length=50, blank=True)
    change = models.CharField(_("change"), max_length=20, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    #: how many evaluations in a row the customer has been kept above the computed tier
    #: (the downgrade grace period); also in ``details``, here for publishing to copy
    grace_count = models.PositiveIntegerField(_("grace count"), default=0, db_default=0)

    class Meta:
        verbose_name = _("evaluation result")
        verbose_name_plural = _("evaluation results")
        ordering = ("evaluation", "id")
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "customer"], name="result_per_customer")
        ]
        indexes = [models.Index(fields=["evaluation", "tier"], name="result_tier_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier}"


class TierAssignment(models.Model):
    """A customer's tier under a rule set for a period: ``valid_from`` up to, not including,
    ``valid_to`` (open while ``valid_to`` is null), so a report for a past date reads the
    tiers of that date.

    Publishing an evaluation closes the open assignments whose tier it changes (and those
    of customers it does not grade), recording itself in ``closed_by``, and opens one for
    each customer whose tier changed or who had none; a customer who keeps the tier keeps
    the assignment, only its ``grace_count`` follows the evaluation. So ``valid_from`` is
    the day the customer came into the tier and ``evaluation`` the evaluation that put
    them there (the latest published evaluation of the rule set holds the current why).
    Assignments written before 2026-12 were opened by every publication, tier changed or
    not; both read the same."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="tiers"
    )
    # no index of its own: ``tier_history_idx`` leads with it
    ruleset = models.ForeignKey(
        RuleSet,
        verbose_name=_("rule set"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    tier = models.CharField(pgettext_lazy("customer grade", "tier"), max_length=50)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    evaluation = models.ForeignKey(
        Evaluation,
        verbose_name=_("evaluation"),
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    #: the latest published result's grace count (copied when published): the next
    #: evaluation starts from it without reading a million results' details
    grace_count = models.PositiveIntegerField(_("grace count"), default=0, db_default=0)
    #: the publication that closed it (withdrawing that publication reopens it)
    closed_by = models.ForeignKey(
        Evaluation,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    #: closed because its customer was deactivated (reactivating opens it again, as a new
    #: period from that day; withdrawing a publication never reopens it)
    ended_by_deactivation = models.BooleanField(
        _("ended by deactivation"), default=False, db_default=False
    )

    class Meta:
        verbose_name = _("tier assignment")
        verbose_name_plural = _("tier assignments")
        ordering = ("customer", "ruleset", "valid_from")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "ruleset"],
                condition=Q(valid_to__isnull=True),
                name="one_open_tier_per_ruleset",
            ),
            models.CheckConstraint(condition=~Q(tier=""), name="tier_assignment_has_tier"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="tier_assignment_period",
            ),
        ]
        indexes = [
            models.Index(fields=["ruleset", "customer", "valid_from"], name="tier_history_idx"),
            # the customer list filtered by current tier (bench/web.py: p95 310 -> 110 ms)
            models.Index(
                fields=["ruleset", "tier", "customer"],
                condition=Q(valid_to__isnull=True),
                name="open_tier_by_tier_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.tier} {self.valid_from}–{self.valid_to or ''}"


class Override(models.Model):
    """A tier set by hand for one customer under one rule set, with a reason and an
    expiry; evaluations as of a date up to ``expires`` apply it. One per customer and
    rule set: setting another replaces it (the audit log keeps the earlier ones)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="overrides"
    )
    ruleset = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.CASCADE, related_name="overrides"
    )
    tier = models.CharField(pgettext_lazy("customer grade", "tier"), max_length=50)
    reason = models.TextField(_("reason"))
    expires = models.DateField(_("expires"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("override")
        verbose_name_plural = _("overrides")
        constraints = [
            models.UniqueConstraint(fields=["customer", "ruleset"], name="one_override_per_ruleset")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.tier} (≤ {self.expires})"
