"""Rule sets and their versions over the API. A new version is validated by the engine
(through :func:`~tiering_web.rulesets.services.do_save_ruleset_version`); its problems
come back as 422 with the rule file's field paths (``tiers[1].min_score``)."""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from tiering_web.accounts.permissions import can_edit_rules
from tiering_web.rulesets.models import RuleSet, RuleSetVersion
from tiering_web.rulesets.services import do_save_ruleset_version

router = Router(tags=["rule sets"])


class VersionOut(Schema):
    id: int
    number: int
    status: str
    effective_date: dt.date | None
    author: str | None
    approver: str | None
    created_at: dt.datetime
    definition: dict[str, Any]

    @staticmethod
    def resolve_author(obj):
        return obj.author.username if obj.author_id else None

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


class VersionIn(Schema):
    definition: dict[str, Any] | str = Field(description="the rules, as a dict or YAML text")
    reason: str = ""
    effective_date: dt.date | None = None


def _rulesets():
    return RuleSet.objects.prefetch_related("versions__author", "versions__approver")


@router.get("/", response=list[RuleSetOut])
def list_rulesets(request):
    return list(_rulesets())


@router.get("/{ruleset_id}", response=RuleSetOut)
def get_ruleset(request, ruleset_id: int):
    return get_object_or_404(_rulesets(), pk=ruleset_id)


@router.post("/{ruleset_id}/versions", response={201: VersionOut})
def create_version(request, ruleset_id: int, payload: VersionIn):
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
    return Status(
        201, RuleSetVersion.objects.select_related("author", "approver").get(pk=version.pk)
    )
