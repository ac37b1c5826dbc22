"""Rule sets and their versions over the API. A new version is validated by the engine
(through :func:`~tiering_web.rulesets.services.do_save_ruleset_version`); its problems
come back as 409 with the rule file's field paths (``tiers[1].min_score``).

Each signature is the caller's own, as on the pages: ``POST
/rulesets/{id}/versions/{number}/review`` signs a draft as its reviewer
(:func:`~tiering_web.rulesets.services.do_review_ruleset_version`; not its author), then
``POST .../approve`` signs the reviewed version as its approver
(:func:`~tiering_web.rulesets.services.do_approve_ruleset_version`; neither its author
nor its reviewer, with an effective date). Nobody names another person as a signatory;
refusals are 409 keyed by field.

A what-if of edited rules is queued for the background worker (``POST
/rulesets/{id}/whatif``, 202) and read back, with its progress and then its result, by
``GET /rulesets/{id}/whatif/{run_id}``, as the editor's what-if does."""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from ninja import Field, Router, Schema, Status

from tiering_web.accounts.permissions import can_edit_rules, can_review_rules
from tiering_web.apischema import Date, InSchema, PathId, PathNumber, refusals
from tiering_web.rulesets.jobs import check_whatif
from tiering_web.rulesets.models import RuleSet, RuleSetVersion, WhatIfRun
from tiering_web.rulesets.services import (
    do_approve_ruleset_version,
    do_queue_whatif,
    do_review_ruleset_version,
    do_save_ruleset_version,
)

router = Router(tags=["rule sets"])


class VersionOut(Schema):
    id: int
    number: int
    status: str
    effective_date: dt.date | None
    author: str | None
    reviewer: str | None
    approver: str | None
    created_at: dt.datetime
    reviewed_at: dt.datetime | None
    approved_at: dt.datetime | None
    definition: dict[str, Any]

    @staticmethod
    def resolve_author(obj):
        return obj.author.username if obj.author_id else None

    @staticmethod
    def resolve_reviewer(obj):
        return obj.reviewer.username if obj.reviewer_id else None

    @staticmethod
    def resolve_approver(obj):
        return obj.approver.username if obj.approver_id else None


class RuleSetOut(Schema):
    id: int
    name: str
    description: str
    is_primary: bool
    versions: list[VersionOut]

    @staticmethod
    def resolve_versions(obj):
        return list(obj.versions.all())


class VersionIn(InSchema):
    definition: dict[str, Any] | str = Field(description="the rules, as a dict or YAML text")
    reason: str = ""
    effective_date: Date | None = None


def _rulesets():
    return RuleSet.objects.prefetch_related(
        "versions__author", "versions__reviewer", "versions__approver"
    )


@router.get("/", response=list[RuleSetOut])
def list_rulesets(request):
    return list(_rulesets())


@router.get("/{ruleset_id}", response=RuleSetOut)
def get_ruleset(request, ruleset_id: PathId):
    return get_object_or_404(_rulesets(), pk=ruleset_id)


@router.post("/{ruleset_id}/versions", response={201: VersionOut, **refusals(403, 409)})
def create_version(request, ruleset_id: PathId, payload: VersionIn):
    """Save the next draft version; approving it is a separate step."""
    if not can_edit_rules(request.auth):
        raise PermissionDenied("you may not change rule sets")
    ruleset = get_object_or_404(RuleSet, pk=ruleset_id)
    version = do_save_ruleset_version(
        request.auth,
        ruleset,
        payload.definition,
        payload.reason,
        effective_date=payload.effective_date,
    )
    return Status(201, _version_out(version))


def _version_out(version: RuleSetVersion) -> RuleSetVersion:
    return RuleSetVersion.objects.select_related("author", "reviewer", "approver").get(
        pk=version.pk
    )


class ReviewIn(InSchema):
    reason: str = Field("", description="the reviewer's note")


@router.post(
    "/{ruleset_id}/versions/{number}/review", response={200: VersionOut, **refusals(403, 409)}
)
def review_version(request, ruleset_id: PathId, number: PathNumber, payload: ReviewIn):
    """Sign a draft version as its reviewer, the caller in person (not its author)."""
    if not can_review_rules(request.auth):
        raise PermissionDenied("you may not review rule sets")
    version = get_object_or_404(RuleSetVersion, ruleset_id=ruleset_id, number=number)
    return _version_out(do_review_ruleset_version(request.auth, version, payload.reason))


class ApproveIn(InSchema):
    effective_date: Date | None = Field(
        None, description="when it takes effect (required unless the version has one)"
    )
    reason: str = ""


@router.post(
    "/{ruleset_id}/versions/{number}/approve", response={200: VersionOut, **refusals(403, 409)}
)
def approve_version(request, ruleset_id: PathId, number: PathNumber, payload: ApproveIn):
    """Sign a reviewed version as its approver, the caller in person (neither its author
    nor its reviewer)."""
    if not can_edit_rules(request.auth):
        raise PermissionDenied("you may not change rule sets")
    version = get_object_or_404(RuleSetVersion, ruleset_id=ruleset_id, number=number)
    version = do_approve_ruleset_version(
        request.auth, version, payload.reason, effective_date=payload.effective_date
    )
    return _version_out(version)


class WhatIfIn(InSchema):
    definition: dict[str, Any] | str = Field(description="the edited rules, as a dict or YAML text")
    as_of: Date


class WhatIfOut(Schema):
    id: int
    ruleset_id: int
    status: str = Field(description="queued, running, done or failed")
    stage: str = Field(description="reading, grading_current, grading_proposed or comparing")
    as_of: dt.date
    baseline: int | None = Field(description="the version number compared with")
    requested_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str = Field("", description="why a failed what-if failed")
    result: dict[str, Any] | None = Field(
        description="once done: distribution, comparison (totals, matrix, movers); money as "
        "decimal strings"
    )

    @staticmethod
    def resolve_baseline(obj):
        return obj.baseline.number if obj.baseline_id else None

    @staticmethod
    def resolve_requested_by(obj):
        return obj.requested_by.username if obj.requested_by_id else None

    @staticmethod
    def resolve_error(obj):
        return obj.error(get_language())


def _may_whatif(user) -> None:
    if not can_edit_rules(user):
        raise PermissionDenied("you may not run what-ifs of rule sets")


def _whatif(ruleset_id: int, run_id: int) -> WhatIfRun:
    runs = WhatIfRun.objects.select_related("baseline", "requested_by")
    return check_whatif(get_object_or_404(runs, pk=run_id, ruleset_id=ruleset_id))


@router.post("/{ruleset_id}/whatif", response={202: WhatIfOut, **refusals(403, 409)})
def queue_whatif(request, ruleset_id: PathId, payload: WhatIfIn):
    """Queue a what-if of the edited rules against the version in force (the same request
    while one is pending gets that one); nothing is saved as a version."""
    _may_whatif(request.auth)
    ruleset = get_object_or_404(RuleSet, pk=ruleset_id)
    run = do_queue_whatif(request.auth, ruleset, payload.definition, payload.as_of)
    return Status(202, _whatif(ruleset.pk, run.pk))


@router.get("/{ruleset_id}/whatif/{run_id}", response={200: WhatIfOut, **refusals(403)})
def get_whatif(request, ruleset_id: PathId, run_id: PathId):
    """A what-if's status and stage, then its result (or why it failed)."""
    _may_whatif(request.auth)
    return _whatif(ruleset_id, run_id)
