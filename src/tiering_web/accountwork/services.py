"""Account managers' work: assignment proposals, ownership transfers, revisit tasks and
stale records.

Every write goes through one function here that records who did it and why
(:func:`tiering_web.audit.services.record`), whether called from a page, the signal
receiver, the daily command or a script.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tiering_web.accounts.models import Role
from tiering_web.accounts.permissions import role
from tiering_web.accountwork import assignment
from tiering_web.accountwork.models import (
    AssignmentProposal,
    ManagerProfile,
    OwnershipChange,
    RevisitPlan,
    Task,
    TaskKind,
)
from tiering_web.audit.services import record
from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import Evaluation, EvaluationResult, TierAssignment
from tiering_web.policies.services import policies_in_force, tier_names
from tiering_web.rulesets.models import RuleSet

#: Tasks are made this many days before they are due, so "this week" is never empty by
#: surprise.
LOOKAHEAD_DAYS = 7
_BATCH = 1000
#: ``expected_owner`` default of :func:`do_transfer_owner`: do not check.
ANY = object()
#: Roles that may own customers.
OWNER_ROLES = (Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMINISTRATOR)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("A reason is required.")})
    return reason


def _name(user) -> str:
    return user.get_username() if user is not None else ""


def possible_owners() -> QuerySet:
    """Active users who may own customers, by username."""
    User = get_user_model()
    return User.objects.filter(is_active=True).filter(
        Q(role__in=OWNER_ROLES) | Q(is_superuser=True)
    )


# --------------------------------------------------------------------------- capacities


def do_save_manager_profile(
    actor, user, seniority: int, capacity: dict[str, Any], reason: str
) -> ManagerProfile:
    """Set ``user``'s seniority and capacity per tier (tiers of the primary rule set).

    Raises :class:`ValidationError` naming the tier of every bad capacity."""
    reason = _reason(reason)
    problems: dict[str, list[str]] = defaultdict(list)
    if role(user) not in OWNER_ROLES:
        problems["user"].append(
            _("%(user)s may not own customers (inactive or an analyst).") % {"user": _name(user)}
        )
    if not isinstance(seniority, int) or isinstance(seniority, bool) or not 0 <= seniority <= 99:
        problems["seniority"].append(_("Seniority must be a whole number from 0 to 99."))
    primary = RuleSet.objects.filter(is_primary=True).first()
    known = tier_names(primary) if primary is not None else []
    clean: dict[str, int] = {}
    for tier, value in capacity.items():
        if known and tier not in known:
            problems["capacity"].append(
                _("%(tier)s is not a tier of %(ruleset)s (%(names)s).")
                % {"tier": tier, "ruleset": primary.name, "names": ", ".join(known)}
            )
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if number < 0 or str(value).strip() not in (str(number), f"{number}.0"):
            problems["capacity"].append(
                _("Capacity for %(tier)s must be a whole number of customers, 0 or more.")
                % {"tier": tier}
            )
            continue
        if number:
            clean[tier] = number
    if problems:
        raise ValidationError(dict(problems))
    with transaction.atomic():
        profile, _created = ManagerProfile.objects.select_for_update().get_or_create(user=user)
        before = {"seniority": profile.seniority, "capacity": dict(profile.capacity)}
        profile.seniority, profile.capacity = seniority, clean
        profile.save()
        record(
            actor,
            "accountwork.profile.save",
            profile,
            reason,
            user=_name(user),
            before=before,
            after={"seniority": seniority, "capacity": clean},
        )
    return profile


def current_tiers(ruleset: RuleSet, customers: QuerySet | None = None) -> QuerySet:
    """Open tier assignments of ``ruleset`` (of ``customers`` when given)."""
    assignments = TierAssignment.objects.filter(ruleset=ruleset, valid_to__isnull=True)
    if customers is not None:
        assignments = assignments.filter(customer__in=customers)
    return assignments


def load_by_owner(ruleset: RuleSet | None) -> dict[int, Counter]:
    """Owner id → how many customers they own in each current tier of ``ruleset``."""
    loads: dict[int, Counter] = defaultdict(Counter)
    if ruleset is None:
        return loads
    rows = (
        current_tiers(ruleset)
        .filter(customer__owner__isnull=False)
        .values_list("customer__owner_id", "tier")
        .annotate(n=Count("id"))
    )
    for owner_id, tier, n in rows:
        loads[owner_id][tier] = n
    return loads


# --------------------------------------------------------------------------- proposals


def _value(details: dict) -> Decimal:
    """The customer's value in an evaluation: its revenue, 0 when unknown."""
    raw = (details or {}).get("revenue")
    try:
        value = Decimal(str(raw)) if raw is not None else Decimal(0)
    except InvalidOperation:
        value = Decimal(0)
    return value.quantize(Decimal("0.01")) if value.is_finite() else Decimal(0)


def dedicated_tiers(evaluation: Evaluation) -> list[str]:
    """The tiers of the evaluation (best first) whose policy in force on its date asks
    for a dedicated account manager."""
    policies = policies_in_force(evaluation.ruleset, evaluation.as_of)
    names = evaluation.ruleset_version.rules().tier_names
    return [t for t in names if t in policies and policies[t].dedicated_manager]


def propose_assignments(evaluation: Evaluation, actor=None) -> list[AssignmentProposal]:
    """Propose (re)assignments after ``evaluation`` is published (see :mod:`.assignment`
    for the algorithm): customers of the dedicated-manager tiers without an owner, whose
    owner is over capacity, or whose owner is not given the tier. Nobody moves until a
    manager accepts (:func:`decide_proposal`).

    Idempotent: an evaluation gets one batch. Proposals of earlier evaluations of the same
    rule set still waiting are superseded by the new batch."""
    evaluation = Evaluation.objects.select_related("ruleset_version__ruleset").get(pk=evaluation.pk)
    if evaluation.status != Evaluation.Status.PUBLISHED:
        raise ValidationError(_("Only a published evaluation's tiers are assigned."))
    existing = list(AssignmentProposal.objects.filter(evaluation=evaluation))
    if existing:
        return existing
    tiers = dedicated_tiers(evaluation)
    rows = (
        EvaluationResult.objects.filter(
            evaluation=evaluation, tier__in=tiers, customer__deactivated_at__isnull=True
        )
        .values_list("customer_id", "customer__code", "tier", "details", "customer__owner_id")
        .order_by("id")
    )
    clients = [
        assignment.Client(id=cid, code=code, tier=tier, value=_value(details), owner=owner)
        for cid, code, tier, details, owner in rows
    ]
    profiles = ManagerProfile.objects.filter(user__in=possible_owners()).order_by("user_id")
    managers = [
        assignment.Manager(
            id=p.user_id,
            seniority=p.seniority,
            capacity={t: int(n) for t, n in (p.capacity or {}).items()},
        )
        for p in profiles
    ]
    moves = assignment.plan(tiers, clients, managers)
    with transaction.atomic():
        superseded = (
            AssignmentProposal.objects.filter(
                status=AssignmentProposal.Status.PROPOSED,
                evaluation__ruleset_version__ruleset=evaluation.ruleset,
            )
            .exclude(evaluation=evaluation)
            .update(status=AssignmentProposal.Status.SUPERSEDED, decided_at=timezone.now())
        )
        made = AssignmentProposal.objects.bulk_create(
            [
                AssignmentProposal(
                    evaluation=evaluation,
                    customer_id=move.client.id,
                    tier=move.client.tier,
                    value=move.client.value,
                    from_owner_id=move.client.owner,
                    to_owner_id=move.to_owner,
                    why=move.why,
                    position=position,
                )
                for position, move in enumerate(moves)
            ],
            batch_size=_BATCH,
        )
        if made or superseded:
            record(
                actor,
                "accountwork.propose",
                evaluation,
                "",
                tiers=tiers,
                proposals=len(made),
                without_room=sum(m.to_owner is None for m in moves),
                superseded=superseded,
            )
    return made


def _close_waiting(proposals: QuerySet, status: str, actor) -> int:
    """Give those of ``proposals`` still waiting ``status``, as decided by ``actor`` now."""
    return proposals.filter(status=AssignmentProposal.Status.PROPOSED).update(
        status=status,
        decided_by=actor if actor is not None and actor.pk is not None else None,
        decided_at=timezone.now(),
    )


def withdraw_proposals(evaluation: Evaluation, actor=None) -> int:
    """Mark the waiting proposals of a withdrawn publication ``withdrawn`` (called inside
    the withdrawal's transaction; decided ones stay as they were decided). Returns how
    many; the audit entry is written only when there were some."""
    withdrawn = _close_waiting(
        AssignmentProposal.objects.filter(evaluation=evaluation),
        AssignmentProposal.Status.WITHDRAWN,
        actor,
    )
    if withdrawn:
        record(actor, "accountwork.withdraw", evaluation, "", proposals=withdrawn)
    return withdrawn


def cancel_work_of(customer: Customer, actor=None) -> dict[str, int]:
    """Cancel ``customer``'s open revisit tasks and its proposals still waiting for a
    decision (called inside its deactivation's transaction, which writes the audit
    entry with these counts)."""
    tasks = Task.objects.filter(customer=customer, status=Task.Status.OPEN).update(
        status=Task.Status.CANCELLED
    )
    proposals = _close_waiting(
        AssignmentProposal.objects.filter(customer=customer),
        AssignmentProposal.Status.CANCELLED,
        actor,
    )
    return {"tasks_cancelled": tasks, "proposals_cancelled": proposals}


def decide_proposal(actor, proposal: AssignmentProposal, accept: bool, reason: str):
    """Accept (the customer moves to the proposed owner, through :func:`do_transfer_owner`)
    or reject a waiting proposal, with a reason.

    Accepting is refused when the proposal has no new owner, when the customer's owner has
    changed since, or when the new owner would go above their capacity for the tier: no
    manager is ever above capacity through an accepted proposal."""
    reason = _reason(reason)
    with transaction.atomic():
        proposal = (
            # only the proposal's row: PostgreSQL cannot lock the nullable side of the
            # outer join to to_owner
            AssignmentProposal.objects.select_for_update(of=("self",))
            .select_related("customer", "to_owner", "evaluation__ruleset_version__ruleset")
            .get(pk=proposal.pk)
        )
        if proposal.status != AssignmentProposal.Status.PROPOSED:
            raise ValidationError(
                _("%(customer)s: this proposal is already %(status)s.")
                % {"customer": proposal.customer.code, "status": proposal.get_status_display()}
            )
        if accept:
            _check_room(proposal)
            do_transfer_owner(
                actor,
                proposal.customer,
                proposal.to_owner,
                reason,
                OwnershipChange.Source.PROPOSAL,
                expected_owner=proposal.from_owner_id,
                proposal=proposal,
            )
        proposal.status = (
            AssignmentProposal.Status.ACCEPTED if accept else AssignmentProposal.Status.REJECTED
        )
        proposal.decided_by, proposal.decided_at = actor, timezone.now()
        proposal.decision_reason = reason
        proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        record(
            actor,
            "accountwork.proposal.accept" if accept else "accountwork.proposal.reject",
            proposal.customer,
            reason,
            proposal=proposal.pk,
            to_owner=_name(proposal.to_owner),
        )
    return proposal


def _check_room(proposal: AssignmentProposal) -> None:
    code = proposal.customer.code
    if proposal.to_owner is None:
        raise ValidationError(
            _("%(customer)s: no account manager had room; transfer the customer by hand.")
            % {"customer": code}
        )
    profile = ManagerProfile.objects.select_for_update().filter(user=proposal.to_owner_id).first()
    capacity = profile.capacity_for(proposal.tier) if profile is not None else 0
    ruleset = proposal.evaluation.ruleset
    load = (
        current_tiers(ruleset)
        .filter(tier=proposal.tier, customer__owner=proposal.to_owner_id)
        .exclude(customer=proposal.customer_id)
        .count()
    )
    if load >= capacity:
        raise ValidationError(
            _(
                "%(customer)s: %(owner)s already serves %(load)s customers of tier %(tier)s "
                "(capacity %(capacity)s)."
            )
            % {
                "customer": code,
                "owner": _name(proposal.to_owner),
                "load": load,
                "tier": proposal.tier,
                "capacity": capacity,
            }
        )


def decide_proposals(actor, proposals, accept: bool, reason: str) -> tuple[int, list[str]]:
    """Decide several proposals one by one (each in its own transaction): the number
    decided and the problem of each one refused, naming its customer."""
    done, problems = 0, []
    for proposal in proposals:
        try:
            decide_proposal(actor, proposal, accept, reason)
        except ValidationError as error:
            problems.extend(error.messages)
        else:
            done += 1
    return done, problems


# --------------------------------------------------------------------------- ownership


def do_transfer_owner(
    actor,
    customer: Customer,
    new_owner,
    reason: str,
    source: str = OwnershipChange.Source.TRANSFER,
    *,
    expected_owner: Any = ANY,
    proposal: AssignmentProposal | None = None,
) -> OwnershipChange:
    """Hand ``customer`` to ``new_owner``: the one way a customer changes owner.

    One owner per customer: the change is a compare-and-set on the owner the caller saw
    (``expected_owner``, a user id or None), so when two colleagues claim the same customer
    at once the second is told who owns it now instead of silently overwriting. Open
    revisit tasks follow the customer. The profile's ``updated_at`` is left alone: a
    transfer is not a profile update (see :func:`stale_customers`)."""
    reason = _reason(reason)
    if new_owner is None or role(new_owner) not in OWNER_ROLES:
        raise ValidationError(
            {
                "new_owner": _(
                    "The new account manager must be an active user who may own customers."
                )
            }
        )
    with transaction.atomic():
        current = (
            Customer.objects.select_for_update()
            .filter(pk=customer.pk)
            .values_list("owner_id", flat=True)
            .get()
        )
        if expected_owner is not ANY and current != expected_owner:
            owner = get_user_model().objects.filter(pk=current).first()
            raise ValidationError(
                {
                    "new_owner": _("%(customer)s changed hands meanwhile: %(owner)s owns it now.")
                    % {"customer": customer.code, "owner": _name(owner) or "—"}
                }
            )
        if current == new_owner.pk:
            raise ValidationError(
                {
                    "new_owner": _("%(owner)s already owns %(customer)s.")
                    % {"owner": _name(new_owner), "customer": customer.code}
                }
            )
        Customer.objects.filter(pk=customer.pk).update(owner=new_owner)
        moved = Task.objects.filter(customer=customer, status=Task.Status.OPEN).update(
            owner=new_owner
        )
        change = OwnershipChange.objects.create(
            customer=customer,
            from_owner_id=current,
            to_owner=new_owner,
            reason=reason,
            source=source,
            proposal=proposal,
            by=actor,
        )
        previous = get_user_model().objects.filter(pk=current).first()
        record(
            actor,
            "customer.transfer",
            customer,
            reason,
            from_owner=_name(previous),
            to_owner=_name(new_owner),
            source=str(source),
            open_tasks=moved,
        )
    customer.owner = new_owner
    return change


# --------------------------------------------------------------------------- revisit plans


def do_save_revisit_plan(
    actor,
    ruleset: RuleSet,
    tier: str,
    kind: str,
    every_days: int | None,
    reason: str,
    *,
    starts_on: dt.date | None = None,
    active: bool = True,
) -> RevisitPlan:
    """Create or change the plan for ``kind`` revisits of ``tier`` (every ``every_days``
    days, or the tier policy's interval when None)."""
    reason = _reason(reason)
    problems: dict[str, list[str]] = defaultdict(list)
    names = tier_names(ruleset)
    if tier not in names:
        problems["tier"].append(
            _("%(tier)s is not a tier of %(ruleset)s (%(names)s).")
            % {"tier": tier or "—", "ruleset": ruleset.name, "names": ", ".join(names)}
        )
    if kind not in TaskKind.values:
        problems["kind"].append(_("Unknown kind of revisit: %(kind)s.") % {"kind": kind})
    if every_days is not None and every_days < 1:
        problems["every_days"].append(_("The interval must be at least 1 day."))
    if problems:
        raise ValidationError(dict(problems))
    with transaction.atomic():
        plan, created = RevisitPlan.objects.select_for_update().get_or_create(
            ruleset=ruleset,
            tier=tier,
            kind=kind,
            defaults={"starts_on": starts_on or timezone.localdate()},
        )
        plan.every_days, plan.active = every_days, active
        if starts_on is not None:
            plan.starts_on = starts_on
        plan.save()
        record(
            actor,
            "accountwork.plan.save",
            plan,
            reason,
            created=created,
            every_days=every_days,
            active=active,
            starts_on=plan.starts_on,
        )
    return plan


def plan_interval(plan: RevisitPlan, on: dt.date, policies=None) -> int | None:
    """The plan's interval in days on ``on``: its own, else its tier policy's."""
    if plan.every_days:
        return plan.every_days
    policies = policies if policies is not None else policies_in_force(plan.ruleset, on)
    policy = policies.get(plan.tier)
    return policy.revisit_days if policy is not None and policy.revisit_days else None


# --------------------------------------------------------------------------- tasks


@dataclass
class Generated:
    created: int = 0
    reopened: int = 0
    cancelled: int = 0


def _tier_starts(ruleset: RuleSet, tier: str, customer_ids: list[int]) -> dict[int, dt.date]:
    """When each customer's current run in ``tier`` began: the end of their last period in
    another tier, else their first tier. (Assignments written before 2026-12 were opened
    by every publication even when the tier stayed, so the open one's ``valid_from`` is
    not always the start; this reads both shapes alike.)"""
    starts: dict[int, dt.date] = {}
    history = TierAssignment.objects.filter(ruleset=ruleset)
    for i in range(0, len(customer_ids), _BATCH):
        chunk = customer_ids[i : i + _BATCH]
        first = (
            history.filter(customer_id__in=chunk)
            .values("customer_id")
            .annotate(d=Min("valid_from"))
        )
        starts.update((r["customer_id"], r["d"]) for r in first)
        left = (
            history.filter(customer_id__in=chunk, valid_to__isnull=False)
            .exclude(tier=tier)
            .values("customer_id")
            .annotate(d=Max("valid_to"))
        )
        starts.update((r["customer_id"], r["d"]) for r in left)
    return starts


def generate_tasks(today: dt.date, actor=None) -> Generated:
    """Make the revisit tasks due up to ``today`` + :data:`LOOKAHEAD_DAYS` (run daily).

    For each active plan, each customer currently in its tier without an open task of its
    kind gets one due ``interval`` days after the latest of: the last time a task of that
    kind was done for them, the start of their run in the tier, the plan's start. Date
    arithmetic is in whole days, so month, quarter and year ends need no special case.
    Open tasks of customers who left the plan's tier are cancelled. Idempotent: running it
    twice the same day makes nothing new (tasks are unique per customer, kind and due
    date)."""
    result = Generated()
    horizon = today + dt.timedelta(days=LOOKAHEAD_DAYS)
    for plan in RevisitPlan.objects.filter(active=True).select_related("ruleset"):
        members = current_tiers(plan.ruleset).filter(tier=plan.tier)
        with transaction.atomic():
            left = Task.objects.filter(plan=plan, status=Task.Status.OPEN).exclude(
                customer_id__in=members.values("customer_id")
            )
            result.cancelled += left.update(status=Task.Status.CANCELLED)
        every = plan_interval(plan, today)
        if not every:
            continue
        rows = list(members.values_list("customer_id", "customer__owner_id"))
        ids = [cid for cid, _owner in rows]
        of_kind = Task.objects.filter(kind=plan.kind, customer_id__in=members.values("customer_id"))
        busy = set(of_kind.filter(status=Task.Status.OPEN).values_list("customer_id", flat=True))
        last_done = dict(
            of_kind.filter(status=Task.Status.DONE)
            .values("customer_id")
            .annotate(at=Max("done_at"))
            .values_list("customer_id", "at")
        )
        starts = _tier_starts(plan.ruleset, plan.tier, ids)
        new: list[Task] = []
        for customer_id, owner_id in rows:
            if customer_id in busy:
                continue
            anchors = [plan.starts_on, starts.get(customer_id, plan.starts_on)]
            if last_done.get(customer_id) is not None:
                anchors.append(timezone.localdate(last_done[customer_id]))
            due = max(anchors) + dt.timedelta(days=every)
            if due <= horizon:
                new.append(
                    Task(
                        customer_id=customer_id,
                        owner_id=owner_id,
                        plan=plan,
                        kind=plan.kind,
                        due=due,
                    )
                )
        with transaction.atomic():
            result.reopened += _drop_existing(new)
            Task.objects.bulk_create(new, batch_size=_BATCH, ignore_conflicts=True)
            result.created += len(new)
    if result.created or result.reopened or result.cancelled:
        record(
            actor,
            "accountwork.tasks.generate",
            None,
            "",
            today=today,
            created=result.created,
            reopened=result.reopened,
            cancelled=result.cancelled,
        )
    return result


def _drop_existing(new: list[Task]) -> int:
    """Drop from ``new`` the tasks that exist already (same customer, kind and due date),
    reopening those that were cancelled (a customer back in the tier on the same
    cadence); the number reopened."""
    if not new:
        return 0
    wanted = {(t.customer_id, t.due): t for t in new}
    found = Task.objects.filter(
        kind=new[0].kind,
        customer_id__in={t.customer_id for t in new},
        due__in={t.due for t in new},
    ).values_list("pk", "customer_id", "due", "status")
    reopened = 0
    for pk, customer_id, due, status in found:
        task = wanted.pop((customer_id, due), None)
        if task is not None and status == Task.Status.CANCELLED:
            Task.objects.filter(pk=pk).update(
                status=Task.Status.OPEN, owner_id=task.owner_id, plan=task.plan
            )
            reopened += 1
    new[:] = list(wanted.values())
    return reopened


def complete_task(actor, task: Task, outcome: str, feedback: str) -> Task:
    """Record that ``task`` was done: its outcome and the customer's feedback (required
    when a follow-up is needed). The next one follows from this date on the plan's
    cadence (:func:`generate_tasks`)."""
    feedback = (feedback or "").strip()
    problems: dict[str, list[str]] = {}
    if outcome not in Task.Outcome.values:
        problems["outcome"] = [_("Choose an outcome.")]
    elif outcome == Task.Outcome.FOLLOW_UP and not feedback:
        problems["feedback"] = [_("Say what needs following up.")]
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        task = (
            Task.objects.select_for_update(of=("self",)).select_related("customer").get(pk=task.pk)
        )
        if task.status != Task.Status.OPEN:
            raise ValidationError(
                _("This task is already %(status)s.") % {"status": task.get_status_display()}
            )
        task.status, task.outcome, task.feedback = Task.Status.DONE, outcome, feedback
        task.done_at, task.done_by = timezone.now(), actor
        task.save(update_fields=["status", "outcome", "feedback", "done_at", "done_by"])
        record(
            actor,
            "task.complete",
            task,
            feedback,
            customer=task.customer.code,
            kind=task.kind,
            due=task.due,
            outcome=outcome,
        )
    return task


def week_end(today: dt.date) -> dt.date:
    """The Sunday ending ``today``'s week (weeks run Monday to Sunday)."""
    return today + dt.timedelta(days=6 - today.weekday())


#: How far back the task list shows the revisits done (days).
DONE_SHOWN_DAYS = 30


def task_lists(owner, today: dt.date) -> dict[str, QuerySet]:
    """``owner``'s open tasks: overdue, due today, and due later this week; and the
    revisits done for ``owner``'s customers in the last :data:`DONE_SHOWN_DAYS` days
    (``done``, the latest first, whoever recorded them)."""
    tasks = (
        Task.objects.filter(owner=owner, status=Task.Status.OPEN)
        .select_related("customer", "plan")
        .order_by("due", "customer__code", "kind")
    )
    since = stale_cutoff(DONE_SHOWN_DAYS, today)
    done = (
        Task.objects.filter(owner=owner, status=Task.Status.DONE, done_at__gte=since)
        .select_related("customer", "plan", "done_by")
        .order_by("-done_at", "-id")
    )
    return {
        "overdue": tasks.filter(due__lt=today),
        "today": tasks.filter(due=today),
        "week": tasks.filter(due__gt=today, due__lte=week_end(today)),
        "done": done,
    }


@dataclass
class Overdue:
    """One customer's overdue revisits, as the task list shows them: once per customer,
    with the tier the revisits are for and how many days the oldest is late."""

    customer: Customer
    tier: str
    days: int
    tasks: list = field(default_factory=list)


def overdue_by_customer(tasks, today: dt.date) -> list[Overdue]:
    """``tasks`` (overdue, in due order) grouped per customer, the longest late first
    (then by customer code); each task keeps what came with it (a form, say) when given
    as ``(task, extra)`` pairs."""
    groups: dict[int, Overdue] = {}
    for entry in tasks:
        task = entry[0] if isinstance(entry, tuple) else entry
        group = groups.get(task.customer_id)
        if group is None:
            tier = task.plan.tier if task.plan_id is not None else ""
            group = groups[task.customer_id] = Overdue(task.customer, tier, (today - task.due).days)
        group.days = max(group.days, (today - task.due).days)
        if not group.tier and task.plan_id is not None:
            group.tier = task.plan.tier
        group.tasks.append(entry)
    return sorted(groups.values(), key=lambda g: (-g.days, g.customer.code))


# --------------------------------------------------------------------------- stale records


def stale_cutoff(days: int, today: dt.date | None = None) -> dt.datetime:
    """The start of the day ``days`` days before ``today``, in the site's time zone."""
    today = today or timezone.localdate()
    day = today - dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def stale_customers(owner, days: int, today: dt.date | None = None) -> QuerySet:
    """``owner``'s customers (``None``: those with no owner) whose record, including the
    credit rating and price coefficient, nobody has updated for ``days`` days, the
    longest-untouched first.

    A record's last update is ``Customer.updated_at``, which every change moves, from the
    pages, the API or an import; an ownership transfer does not."""
    customers = Customer.objects.active().filter(updated_at__lt=stale_cutoff(days, today))
    customers = (
        customers.filter(owner__isnull=True) if owner is None else customers.filter(owner=owner)
    )
    return customers.order_by("updated_at", "code")


def stale_counts(customers: QuerySet, days: int, today: dt.date | None = None) -> list[dict]:
    """How many of ``customers`` are stale, per owner (username order, unowned last)."""
    rows = (
        customers.filter(updated_at__lt=stale_cutoff(days, today))
        .values("owner_id", "owner__username")
        .annotate(n=Count("id"), oldest=Min("updated_at"))
        .order_by("owner__username")
    )
    rows = list(rows)
    return sorted(rows, key=lambda r: (r["owner_id"] is None, r["owner__username"] or ""))


def record_ownership_changes(
    actor,
    changes: list[tuple[int, int | None, int | None]],
    reason: str,
    source: str = OwnershipChange.Source.IMPORT,
) -> int:
    """The ownership history of owners set outside :func:`do_transfer_owner` (in bulk by
    an import, or by a customer edit): one :class:`OwnershipChange` per (customer id,
    previous owner id, new owner id), and the customers' open tasks moved to their new
    owners. Called inside the caller's transaction (whose own audit entry says who changed
    what); returns how many were written."""
    rows = [
        OwnershipChange(
            customer_id=customer,
            from_owner_id=before,
            to_owner_id=after,
            reason=reason,
            source=source,
            by=actor if actor is not None and actor.pk is not None else None,
        )
        for customer, before, after in changes
        if before != after
    ]
    OwnershipChange.objects.bulk_create(rows, batch_size=2000)
    by_owner: dict[int | None, list[int]] = defaultdict(list)
    for row in rows:
        if row.from_owner_id is not None:
            by_owner[row.to_owner_id].append(row.customer_id)
    for owner, customers in by_owner.items():
        for i in range(0, len(customers), 2000):
            Task.objects.filter(
                customer_id__in=customers[i : i + 2000], status=Task.Status.OPEN
            ).update(owner_id=owner)
    return len(rows)
