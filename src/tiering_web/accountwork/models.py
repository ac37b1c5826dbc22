"""Account managers' work (DOMAIN.md, "The process" 5 and "Organisation follows the
grades"): who serves which customer, how ownership changes hands, and the revisits each
tier gets.

Every write goes through :mod:`.services`, which records who did it and why.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import Evaluation
from tiering_web.rulesets.models import RuleSet


class ManagerProfile(models.Model):
    """An account manager's seniority and capacity: how many customers of each tier they
    can serve well (``{"A": 5, "B": 20}``; a tier not named, or 0, is one they are not
    given). A higher ``seniority`` is more senior: the most senior take the top tier's
    most valuable customers (see :mod:`.assignment`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="manager_profile",
    )
    seniority = models.PositiveSmallIntegerField(
        _("seniority"), default=1, help_text=_("higher is more senior")
    )
    capacity = models.JSONField(_("capacity per tier"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("last updated"), auto_now=True)

    class Meta:
        verbose_name = _("account manager profile")
        verbose_name_plural = _("account manager profiles")
        ordering = ("-seniority", "user__username")

    def __str__(self) -> str:
        return f"{self.user} ({self.seniority})"

    def capacity_for(self, tier: str) -> int:
        return int(self.capacity.get(tier) or 0)


class Why(models.TextChoices):
    NO_OWNER = "no_owner", _("No account manager")
    OVER_CAPACITY = "over_capacity", _("Account manager over capacity")
    CANNOT_SERVE = "cannot_serve", _("Account manager not assigned to this tier")


class AssignmentProposal(models.Model):
    """A proposed (re)assignment from a published evaluation, waiting for a manager's
    decision: nobody's customer moves without one. ``to_owner`` is empty when no account
    manager had room; such a proposal can only be rejected (or settled by a transfer)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        SUPERSEDED = "superseded", _("Superseded by a later evaluation")
        WITHDRAWN = "withdrawn", _("Withdrawn with its evaluation")
        CANCELLED = "cancelled", _("Cancelled (customer deactivated)")

    evaluation = models.ForeignKey(
        Evaluation,
        verbose_name=_("evaluation"),
        on_delete=models.CASCADE,
        related_name="assignment_proposals",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="assignment_proposals",
    )
    tier = models.CharField(pgettext_lazy("customer grade", "tier"), max_length=50)
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=2, default=0)
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    why = models.CharField(_("why"), max_length=20, choices=Why.choices)
    position = models.PositiveIntegerField(_("position"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("assignment proposal")
        verbose_name_plural = _("assignment proposals")
        ordering = ("-evaluation_id", "position", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "customer"], name="one_proposal_per_evaluation"
            )
        ]
        indexes = [models.Index(fields=["status", "evaluation"], name="proposal_status_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_owner_id} → {self.to_owner_id} ({self.status})"


class OwnershipChange(models.Model):
    """One change of a customer's account manager: the ownership history."""

    class Source(models.TextChoices):
        PROPOSAL = "proposal", _("Accepted proposal")
        TRANSFER = "transfer", _("Transfer")
        IMPORT = "import", _("Import")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="ownership_changes",
    )
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("reason"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    proposal = models.ForeignKey(
        AssignmentProposal,
        verbose_name=_("proposal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("ownership change")
        verbose_name_plural = _("ownership changes")
        ordering = ("customer", "-at", "-id")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_owner_id} → {self.to_owner_id}"


class TaskKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    REVIEW = "review", _("Review meeting")
    SURVEY = "survey", _("Satisfaction survey")


class RevisitPlan(models.Model):
    """One kind of revisit for the customers of one tier of a rule set, every
    ``every_days`` days (empty: the ``revisit_days`` of the tier's policy in force).

    Tasks start on the cadence from ``starts_on`` or the customer's tier start date,
    whichever is later, then from the last time the task was done."""

    ruleset = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.CASCADE, related_name="+"
    )
    tier = models.CharField(pgettext_lazy("customer grade", "tier"), max_length=50)
    kind = models.CharField(_("kind"), max_length=10, choices=TaskKind.choices)
    every_days = models.PositiveIntegerField(
        _("every (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("empty: the tier policy's revisit interval"),
    )
    starts_on = models.DateField(_("starts on"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("revisit plan")
        verbose_name_plural = _("revisit plans")
        ordering = ("ruleset", "tier", "kind")
        constraints = [
            models.UniqueConstraint(fields=["ruleset", "tier", "kind"], name="one_plan_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.ruleset} / {self.tier} / {self.kind}"


class Task(models.Model):
    """A revisit an account manager owes a customer on ``due``. Unique per (customer,
    kind, due), so generating the same day twice makes nothing new."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached, all well")
        FOLLOW_UP = "follow_up", _("Reached, follow-up needed")
        UNREACHABLE = "unreachable", _("Could not reach")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="tasks"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="revisit_tasks",
    )
    plan = models.ForeignKey(
        RevisitPlan,
        verbose_name=_("revisit plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TaskKind.choices)
    due = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    feedback = models.TextField(_("feedback"), blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ("due", "id")
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "due"], name="one_task_per_due"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(done_at__isnull=False), name="done_task_has_date"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due"], name="task_owner_status_due_idx"),
            models.Index(fields=["customer", "kind", "status"], name="task_customer_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.due} ({self.status})"
