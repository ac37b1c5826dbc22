"""Evaluations over the API: run a draft, read its results, publish or discard it; and
overrides. Running is synchronous by default (the response is the finished draft); with
``"background": true`` it is queued for the worker and the response is the queued
evaluation, whose status a client polls with ``GET /evaluations/{id}``."""

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from tiering_web.accounts.permissions import (
    can_override,
    can_publish,
    can_run_evaluation,
    visible_customers,
)
from tiering_web.apischema import Date, Id, InSchema, PathId, QuerySchema, refusals
from tiering_web.evaluations.models import Evaluation, EvaluationResult
from tiering_web.evaluations.services import (
    check_evaluation,
    discard_evaluation,
    do_set_override,
    publish_evaluation,
    queue_evaluation,
    run_evaluation,
    withdraw_evaluation,
)
from tiering_web.paging import Paging
from tiering_web.rulesets.models import RuleSet, RuleSetVersion

router = Router(tags=["evaluations"])
overrides_router = Router(tags=["overrides"])


class EvaluationOut(Schema):
    id: int
    ruleset_id: int
    ruleset: str
    ruleset_version_id: int
    version: int
    as_of: dt.date
    status: str
    created_by: str | None
    created_at: dt.datetime
    published_by: str | None
    published_at: dt.datetime | None
    error: str = Field("", description="why a failed evaluation failed")
    tiers: dict[str, int] = Field(description="customers per proposed tier")
    changes: dict[str, int] = Field(description="customers per change (up, down, same, new)")


def _user(user) -> str | None:
    return user.username if user is not None else None


def _evaluation_out(evaluation: Evaluation, user) -> dict[str, Any]:
    """The evaluation with its tier and change counts over the customers ``user`` may
    see (an account manager's counts cover their own customers only)."""
    rows = list(
        evaluation.results.filter(customer__in=visible_customers(user)).values_list(
            "tier", "change"
        )
    )
    version = evaluation.ruleset_version
    return {
        "id": evaluation.pk,
        "ruleset_id": version.ruleset_id,
        "ruleset": version.ruleset.name,
        "ruleset_version_id": version.pk,
        "version": version.number,
        "as_of": evaluation.as_of,
        "status": evaluation.status,
        "created_by": _user(evaluation.created_by),
        "created_at": evaluation.created_at,
        "published_by": _user(evaluation.published_by),
        "published_at": evaluation.published_at,
        "error": evaluation.error(get_language()),
        "tiers": dict(Counter(tier for tier, _ in rows)),
        "changes": dict(Counter(change or "new" for _, change in rows)),
    }


def _evaluation(evaluation_id: int) -> Evaluation:
    """The evaluation, failed first if it is pending and its worker is gone."""
    return check_evaluation(
        get_object_or_404(
            Evaluation.objects.select_related(
                "ruleset_version__ruleset", "created_by", "published_by"
            ),
            pk=evaluation_id,
        )
    )


class RunIn(InSchema):
    ruleset_version: Id = Field(description="the rule set version's id")
    as_of: Date
    background: bool = Field(False, description="queue it for the worker instead of waiting")


class ReasonIn(InSchema):
    reason: str = ""


class EvaluationSummaryOut(Schema):
    id: int
    ruleset: str
    ruleset_version_id: int
    as_of: dt.date
    status: str
    published_by: str | None

    @staticmethod
    def resolve_ruleset(obj):
        return obj.ruleset_version.ruleset.name

    @staticmethod
    def resolve_published_by(obj):
        return _user(obj.published_by)


@router.get("/", response=list[EvaluationSummaryOut])
@paginate(Paging, page_size=50)
def list_evaluations(request):
    return Evaluation.objects.select_related("ruleset_version__ruleset", "published_by")


@router.post("/", response={201: EvaluationOut, 202: EvaluationOut, **refusals(403, 404, 409)})
def run(request, payload: RunIn):
    """Grade every customer into a draft: now (201, the draft), or in the background
    (202, the queued evaluation). Only an approved version in effect on ``as_of`` runs
    (409 on ``ruleset_version`` or ``as_of`` otherwise); a draft is tried with the rule
    set's what-if."""
    if not can_run_evaluation(request.auth):
        raise PermissionDenied("you may not run evaluations")
    version = get_object_or_404(
        RuleSetVersion.objects.select_related("ruleset"), pk=payload.ruleset_version
    )
    if payload.background:
        evaluation = queue_evaluation(request.auth, version, payload.as_of)
        return Status(202, _evaluation_out(_evaluation(evaluation.pk), request.auth))
    evaluation = run_evaluation(request.auth, version, payload.as_of)
    return Status(201, _evaluation_out(_evaluation(evaluation.pk), request.auth))


@router.get("/{evaluation_id}", response=EvaluationOut)
def get_evaluation(request, evaluation_id: PathId):
    return _evaluation_out(_evaluation(evaluation_id), request.auth)


class ResultOut(Schema):
    customer: str
    customer_name: str
    owner: str | None
    tier: str
    previous_tier: str
    change: str
    score: Decimal | None
    reason: str
    next_tier: str
    gap: Decimal | None
    gap_unit: str
    flags: str
    details: dict[str, Any]

    @staticmethod
    def resolve_customer(obj):
        return obj.customer.code

    @staticmethod
    def resolve_customer_name(obj):
        return obj.customer.name

    @staticmethod
    def resolve_owner(obj):
        return obj.customer.owner.username if obj.customer.owner_id else None


class ResultFilter(QuerySchema):
    change: Literal["up", "down", "same", "new"] | None = None
    tier: str | None = None
    owner: str | None = Field(None, description="the account manager's username")
    industry: str | None = None


@router.get("/{evaluation_id}/results", response=list[ResultOut])
@paginate(Paging, page_size=100)
def results(request, evaluation_id: PathId, filters: Query[ResultFilter]):
    """The proposed tiers of the customers the caller may see."""
    evaluation = get_object_or_404(Evaluation, pk=evaluation_id)
    rows = (
        EvaluationResult.objects.filter(
            evaluation=evaluation, customer__in=visible_customers(request.auth)
        )
        .select_related("customer__owner")
        .order_by("customer__code")
    )
    if filters.change == "new":
        rows = rows.filter(change="")
    elif filters.change:
        rows = rows.filter(change=filters.change)
    if filters.tier:
        rows = rows.filter(tier=filters.tier)
    if filters.owner:
        rows = rows.filter(customer__owner__username=filters.owner)
    if filters.industry:
        rows = rows.filter(customer__industry=filters.industry)
    return rows


@router.post("/{evaluation_id}/publish", response={200: EvaluationOut, **refusals(403, 409)})
def publish(request, evaluation_id: PathId, payload: ReasonIn):
    """Make the draft's tiers current, all or nothing; the caller is recorded as publisher."""
    if not can_publish(request.auth):
        raise PermissionDenied("you may not publish evaluations")
    evaluation = publish_evaluation(request.auth, _evaluation(evaluation_id), payload.reason)
    return _evaluation_out(_evaluation(evaluation.pk), request.auth)


@router.post("/{evaluation_id}/discard", response={200: EvaluationOut, **refusals(403, 409)})
def discard(request, evaluation_id: PathId, payload: ReasonIn):
    if not can_publish(request.auth):
        raise PermissionDenied("you may not discard evaluations")
    evaluation = discard_evaluation(request.auth, _evaluation(evaluation_id), payload.reason)
    return _evaluation_out(_evaluation(evaluation.pk), request.auth)


@router.post("/{evaluation_id}/withdraw", response={200: EvaluationOut, **refusals(403, 409)})
def withdraw(request, evaluation_id: PathId, payload: ReasonIn):
    """Withdraw the rule set's publication in force: the tiers it changed go back to what
    they were before it, all or nothing. A reason is required; only the latest
    publication of a rule set can be withdrawn."""
    if not can_publish(request.auth):
        raise PermissionDenied("you may not withdraw evaluations")
    evaluation = withdraw_evaluation(request.auth, _evaluation(evaluation_id), payload.reason)
    return _evaluation_out(_evaluation(evaluation.pk), request.auth)


class OverrideIn(InSchema):
    customer: str = Field(description="customer code")
    ruleset: Id = Field(description="the rule set's id")
    tier: str = Field(max_length=50)
    reason: str
    expires: Date


class OverrideOut(Schema):
    id: int
    customer: str
    ruleset: str
    tier: str
    reason: str
    expires: dt.date

    @staticmethod
    def resolve_customer(obj):
        return obj.customer.code

    @staticmethod
    def resolve_ruleset(obj):
        return obj.ruleset.name


@overrides_router.post("/", response={200: OverrideOut, **refusals(403, 404, 409)})
def set_override(request, payload: OverrideIn):
    """Set a customer's tier by hand until ``expires``; the next evaluation applies it."""
    if not can_override(request.auth):
        raise PermissionDenied("you may not set overrides")
    customer = get_object_or_404(visible_customers(request.auth), code=payload.customer)
    ruleset = get_object_or_404(RuleSet, pk=payload.ruleset)
    return do_set_override(
        request.auth, customer, ruleset, payload.tier, payload.reason, payload.expires
    )
