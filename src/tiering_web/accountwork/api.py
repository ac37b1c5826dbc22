"""Account managers' work over the API: revisit tasks and assignment proposals, with the
pages' role rules and their services (so every write is audited the same way).

- ``GET /api/tasks/`` lists revisit tasks: an account manager's own; an administrator or
  manager sees their own too, or anyone's with ``owner=<username>`` (``owner=*`` for all).
  ``when=overdue|today|week|open|done|all`` (default ``open``).
- ``POST /api/tasks/{id}/complete`` records the outcome and the customer's feedback
  (required for a follow-up): the task's owner, or an administrator or manager.
- ``GET /api/proposals/`` lists assignment proposals (``status``, default ``proposed``)
  and ``POST /api/proposals/{id}/decide`` accepts or rejects one with a reason, within
  the new owner's capacity: administrators and managers.
- ``GET/POST /api/plans/`` the revisit plans, ``GET /api/capacities/`` and
  ``PUT /api/capacities/{username}`` the account managers' seniority, capacity per tier
  and load: administrators and managers.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from tiering_web.accounts.models import User
from tiering_web.accounts.permissions import (
    can_complete_task,
    can_plan_account_work,
    has_task_list,
    visible_customers,
)
from tiering_web.accountwork.models import (
    AssignmentProposal,
    ManagerProfile,
    RevisitPlan,
    Task,
    TaskKind,
)
from tiering_web.accountwork.services import (
    complete_task,
    decide_proposal,
    do_save_manager_profile,
    do_save_revisit_plan,
    load_by_owner,
    possible_owners,
    week_end,
)
from tiering_web.apischema import Date, Id, InSchema, PathId, QuerySchema, refusals
from tiering_web.paging import Paging
from tiering_web.rulesets.models import RuleSet

tasks_router = Router(tags=["revisit tasks"])
proposals_router = Router(tags=["assignment proposals"])


def _username(user) -> str | None:
    return user.username if user is not None else None


class _OfCustomer(Schema):
    """An object of one customer: its code and name."""

    customer: str = Field(description="the customer's code")
    customer_name: str

    @staticmethod
    def resolve_customer(obj):
        return obj.customer.code

    @staticmethod
    def resolve_customer_name(obj):
        return obj.customer.name


class TaskOut(_OfCustomer):
    id: int
    owner: str | None
    kind: str = Field(description="revisit, or another kind of the plan")
    due: dt.date
    status: Literal["open", "done", "cancelled"]
    outcome: str = Field(description="reached, follow_up or unreachable once done")
    feedback: str
    done_at: dt.datetime | None
    done_by: str | None

    @staticmethod
    def resolve_owner(obj):
        return _username(obj.owner)

    @staticmethod
    def resolve_done_by(obj):
        return _username(obj.done_by)


class TaskFilter(QuerySchema):
    when: Literal["overdue", "today", "week", "open", "done", "all"] = Field(
        "open", description="open tasks overdue, due today or later this week; or all open, done"
    )
    owner: str | None = Field(
        None,
        max_length=150,
        description="managers: whose tasks (a username, or * for everyone's); default yours",
    )


@tasks_router.get("/", response={200: list[TaskOut], **refusals(403)})
@paginate(Paging, page_size=50)
def list_tasks(request, filters: Query[TaskFilter]):
    """Revisit tasks, the earliest due first."""
    user = request.auth
    if not has_task_list(user):
        raise PermissionDenied("you have no revisit tasks")
    tasks = Task.objects.select_related("customer", "owner", "done_by").order_by(
        "due", "customer__code", "kind", "id"
    )
    if filters.owner and filters.owner != user.username:
        if not can_plan_account_work(user):
            raise PermissionDenied("you may read your own tasks only")
        if filters.owner != "*":
            tasks = tasks.filter(owner__username=filters.owner)
    else:
        tasks = tasks.filter(owner=user)
    today = timezone.localdate()
    if filters.when == "done":
        return tasks.filter(status=Task.Status.DONE).order_by("-done_at", "-id")
    if filters.when == "all":
        return tasks
    tasks = tasks.filter(status=Task.Status.OPEN)
    if filters.when == "overdue":
        return tasks.filter(due__lt=today)
    if filters.when == "today":
        return tasks.filter(due=today)
    if filters.when == "week":
        return tasks.filter(due__gt=today, due__lte=week_end(today))
    return tasks


#: (literals, not the models' enums: those are named Outcome and Status, and OpenAPI
#: components are keyed by name, so an enum would overwrite the customers' Status)
Outcome = Literal[tuple(Task.Outcome.values)]  # type: ignore[valid-type]
ProposalStatus = Literal[tuple(AssignmentProposal.Status.values)]  # type: ignore[valid-type]


class CompleteIn(InSchema):
    outcome: Outcome
    feedback: str = Field("", max_length=5000, description="required for follow_up")


@tasks_router.post("/{task_id}/complete", response={200: TaskOut, **refusals(403, 409)})
def complete(request, task_id: PathId, payload: CompleteIn):
    """Record a revisit as done (409 when it is done or cancelled already, or a follow-up
    has no feedback)."""
    task = get_object_or_404(Task.objects.select_related("customer", "owner"), pk=task_id)
    if not visible_customers(request.auth).filter(pk=task.customer_id).exists():
        raise Http404
    if not can_complete_task(request.auth, task):
        raise PermissionDenied("only the task's owner or a manager completes it")
    done = complete_task(request.auth, task, payload.outcome, payload.feedback)
    return Task.objects.select_related("customer", "owner", "done_by").get(pk=done.pk)


class ProposalOut(_OfCustomer):
    id: int
    evaluation_id: int
    tier: str
    value: Decimal = Field(description="the customer's value that ranked the proposal")
    from_owner: str | None
    to_owner: str | None = Field(description="null when no account manager had room")
    why: str
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str = Field(description="the decision's reason")

    @staticmethod
    def resolve_reason(obj):
        return obj.decision_reason

    @staticmethod
    def resolve_from_owner(obj):
        return _username(obj.from_owner)

    @staticmethod
    def resolve_to_owner(obj):
        return _username(obj.to_owner)

    @staticmethod
    def resolve_decided_by(obj):
        return _username(obj.decided_by)


class ProposalFilter(QuerySchema):
    status: ProposalStatus = AssignmentProposal.Status.PROPOSED.value


def _planner(user) -> None:
    if not can_plan_account_work(user):
        raise PermissionDenied("only administrators and managers decide assignments")


def _proposals():
    return AssignmentProposal.objects.select_related(
        "customer", "from_owner", "to_owner", "decided_by"
    )


@proposals_router.get("/", response={200: list[ProposalOut], **refusals(403)})
@paginate(Paging, page_size=50)
def list_proposals(request, filters: Query[ProposalFilter]):
    """Assignment proposals in a status, the most valuable customers first."""
    _planner(request.auth)
    return _proposals().filter(status=filters.status).order_by("-value", "customer__code", "id")


class DecideIn(InSchema):
    accept: bool = Field(description="true moves the customer to to_owner; false rejects")
    reason: str = Field(min_length=1, max_length=2000)


@proposals_router.post("/{proposal_id}/decide", response={200: ProposalOut, **refusals(403, 409)})
def decide(request, proposal_id: PathId, payload: DecideIn):
    """Accept or reject a waiting proposal (409 when it is no longer waiting, has no new
    owner, the customer's owner changed since, or the new owner has no room left)."""
    _planner(request.auth)
    proposal = get_object_or_404(AssignmentProposal, pk=proposal_id)
    decide_proposal(request.auth, proposal, payload.accept, payload.reason)
    return _proposals().get(pk=proposal.pk)


# --------------------------------------------------------------------------- plans

plans_router = Router(tags=["revisit plans"])
capacities_router = Router(tags=["capacities"])

TaskKindValue = Literal[tuple(TaskKind.values)]  # type: ignore[valid-type]


class PlanOut(Schema):
    id: int
    ruleset_id: int
    ruleset: str
    tier: str
    kind: str
    every_days: int | None = Field(description="null: the tier policy's revisit interval")
    starts_on: dt.date
    active: bool

    @staticmethod
    def resolve_ruleset(obj):
        return obj.ruleset.name


class PlanIn(InSchema):
    ruleset: Id = Field(description="the rule set's id")
    tier: str = Field(min_length=1, max_length=50)
    kind: TaskKindValue
    every_days: int | None = Field(
        None, ge=1, le=3650, description="null: the tier policy's revisit interval"
    )
    starts_on: Date | None = Field(None, description="default today (a new plan)")
    active: bool = True
    reason: str = Field(min_length=1, max_length=2000)


@plans_router.get("/", response={200: list[PlanOut], **refusals(403)})
def list_plans(request):
    """Every revisit plan, by rule set, tier and kind (administrators and managers)."""
    _planner(request.auth)
    return list(RevisitPlan.objects.select_related("ruleset"))


@plans_router.post("/", response={200: PlanOut, **refusals(403, 404, 409)})
def save_plan(request, payload: PlanIn):
    """Create or change the plan of one kind of revisit for a tier (409 for a tier the
    rule set does not have)."""
    _planner(request.auth)
    ruleset = get_object_or_404(RuleSet, pk=payload.ruleset)
    plan = do_save_revisit_plan(
        request.auth,
        ruleset,
        payload.tier,
        payload.kind,
        payload.every_days,
        payload.reason,
        starts_on=payload.starts_on,
        active=payload.active,
    )
    return RevisitPlan.objects.select_related("ruleset").get(pk=plan.pk)


# --------------------------------------------------------------------------- capacities


class CapacityOut(Schema):
    username: str
    name: str
    seniority: int = Field(description="higher is more senior")
    capacity: dict[str, int] = Field(
        description="customers per tier of the primary rule set; a tier not named (or 0) "
        "is one the manager is not given"
    )
    load: dict[str, int] = Field(description="customers owned now per current tier")


class CapacityIn(InSchema):
    seniority: int = Field(ge=0, le=99)
    capacity: dict[str, Annotated[int, Field(ge=0, le=1_000_000)]]
    reason: str = Field(min_length=1, max_length=2000)


def _capacity_out(user, profile: ManagerProfile | None, loads) -> dict:
    return {
        "username": user.username,
        "name": user.get_full_name() or user.username,
        "seniority": profile.seniority if profile else 1,
        "capacity": {t: int(n or 0) for t, n in (profile.capacity if profile else {}).items()},
        "load": dict(loads.get(user.pk, {})),
    }


@capacities_router.get("/", response={200: list[CapacityOut], **refusals(403)})
def list_capacities(request):
    """Each possible owner's seniority, capacity and current load under the primary rule
    set (administrators and managers)."""
    _planner(request.auth)
    loads = load_by_owner(RuleSet.objects.filter(is_primary=True).first())
    people = possible_owners().select_related("manager_profile").order_by("username")
    return [_capacity_out(u, getattr(u, "manager_profile", None), loads) for u in people]


@capacities_router.put("/{username}", response={200: CapacityOut, **refusals(403, 409)})
def save_capacity(request, username: str, payload: CapacityIn):
    """Set an account manager's seniority and capacity per tier (409 for a tier the
    primary rule set does not have, or a user who may not own customers)."""
    _planner(request.auth)
    if "\x00" in username:
        raise Http404
    user = get_object_or_404(User, username=username)
    profile = do_save_manager_profile(
        request.auth, user, payload.seniority, payload.capacity, payload.reason
    )
    loads = load_by_owner(RuleSet.objects.filter(is_primary=True).first())
    return _capacity_out(user, profile, loads)
