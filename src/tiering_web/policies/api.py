"""Tier policies over the API: the terms in force per tier of a rule set on a date, and
what one customer gets (their tier under the primary rule set and its policy). Everyone
signed in may read policies; a customer only by those who may see them (404 otherwise).
Benefits come with both texts and ``text`` in the request's language.

A draft version is approved with ``POST /policies/{ruleset_id}/versions/{number}/approve``
under the same rule as the pages (:func:`~tiering_web.policies.services.do_approve_policy_version`):
the caller approves, may not be its author, gives a reason, and its effective date has not
passed; refusals are 409 keyed by field."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from tiering_web.accounts.permissions import can_edit_policies, role, visible_customers
from tiering_web.apischema import ID_MAX, Date, InSchema, PathId, PathNumber, refusals
from tiering_web.policies.display import answer_target, benefit_text
from tiering_web.policies.models import PolicyVersion, TierPolicy
from tiering_web.policies.services import (
    customer_terms,
    do_approve_policy_version,
    version_in_force,
)
from tiering_web.rulesets.models import RuleSet

router = Router(tags=["tier policies"])


class BenefitOut(Schema):
    code: str
    zh: str = ""
    en: str = ""
    text: str = Field(description="in the request's language")


class TierPolicyOut(Schema):
    tier: str
    benefits: list[BenefitOut]
    price_coefficient: Decimal | None
    discount_percent: Decimal | None
    payment_terms_days: int | None
    credit_days: int | None = Field(description="credit period in days")
    credit_limit: Decimal | None
    delivery_lead_days: int | None
    dedicated_manager: bool
    service_team: str
    revisit_days: int | None
    queue_priority: int = Field(description="1 is answered first, 9 last")
    answer_seconds: int | None
    answer_share: Decimal | None = Field(description="0.800 for 80% within answer_seconds")
    answer_target: str = Field(description='e.g. "80% within 20 s", in the request language')
    callback_hours: int | None

    @staticmethod
    def resolve_benefits(obj: TierPolicy):
        return [
            {
                "code": str(b.get("code", "")),
                "zh": str(b.get("zh") or ""),
                "en": str(b.get("en") or ""),
                "text": benefit_text(b),
            }
            for b in obj.benefits or []
        ]

    @staticmethod
    def resolve_answer_target(obj: TierPolicy):
        return answer_target(obj) if obj.answer_seconds is not None else ""


class PolicyVersionOut(Schema):
    number: int
    effective_date: dt.date
    status: str
    author: str | None
    approver: str | None
    approved_at: dt.datetime | None

    @staticmethod
    def resolve_author(obj: PolicyVersion):
        return obj.author.username if obj.author_id else None

    @staticmethod
    def resolve_approver(obj: PolicyVersion):
        return obj.approver.username if obj.approver_id else None


class RuleSetRef(Schema):
    id: int
    name: str
    is_primary: bool


class PoliciesOut(Schema):
    ruleset: RuleSetRef
    on: dt.date
    version: PolicyVersionOut | None = Field(
        description="null when no approved version is in force"
    )
    tiers: list[TierPolicyOut]


class CustomerPolicyOut(Schema):
    customer: str
    on: dt.date
    ruleset: RuleSetRef | None = Field(description="the primary rule set")
    tier: str | None
    version: PolicyVersionOut | None
    policy: TierPolicyOut | None = Field(description="null when no policy is in force")


def _reader(request) -> None:
    if role(request.auth) is None:
        raise PermissionDenied(_("you may not read policies"))


def _ruleset(ruleset_id: int | None) -> RuleSet:
    if ruleset_id is None:
        found = RuleSet.objects.filter(is_primary=True).first()
        if found is None:
            raise ValidationError({"ruleset": [_("there is no primary rule set: name one")]})
        return found
    found = RuleSet.objects.filter(pk=ruleset_id).first()
    if found is None:
        raise ValidationError(
            {"ruleset": [_("no rule set has the id %(id)s") % {"id": ruleset_id}]}
        )
    return found


def _version(version: PolicyVersion | None) -> PolicyVersion | None:
    if version is None:
        return None
    return PolicyVersion.objects.select_related("author", "approver").get(pk=version.pk)


@router.get("", response={200: PoliciesOut, **refusals(403, 409)}, url_name="api_policies")
def policies(
    request,
    on: Date | None = None,
    ruleset: int | None = Query(None, ge=1, le=ID_MAX, description="a rule set's id"),
):
    """The terms in force per tier of a rule set (the primary one by default) on ``on``
    (today by default), best tier first."""
    _reader(request)
    found = _ruleset(ruleset)
    day = on or timezone.localdate()
    version = _version(version_in_force(found, day))
    tiers = list(version.tiers.all()) if version is not None else []
    return {"ruleset": found, "on": day, "version": version, "tiers": tiers}


@router.get(
    "/customer/{customer_code:code}",
    response={200: CustomerPolicyOut, **refusals(403)},
    url_name="api_customer_policy",
)
def customer_policy(request, code: str, on: Date | None = None):
    """A customer's tier under the primary rule set on ``on`` (today) and its policy."""
    _reader(request)
    if "\x00" in code:
        raise Http404
    customer = get_object_or_404(visible_customers(request.auth), code=code)
    terms = customer_terms(customer, on)
    return {
        "customer": customer.code,
        "on": on or timezone.localdate(),
        "ruleset": terms.ruleset,
        "tier": terms.tier,
        "version": _version(terms.version),
        "policy": terms.policy,
    }


class PolicyApproveIn(InSchema):
    reason: str = ""


@router.post(
    "/{ruleset_id}/versions/{number}/approve",
    response={200: PolicyVersionOut, **refusals(403, 409)},
)
def approve_version(request, ruleset_id: PathId, number: PathNumber, payload: PolicyApproveIn):
    """Approve a draft policy version, the caller as approver: four eyes, as on the pages."""
    if not can_edit_policies(request.auth):
        raise PermissionDenied(_("you may not approve policies"))
    version = get_object_or_404(PolicyVersion, ruleset_id=ruleset_id, number=number)
    version = do_approve_policy_version(request.auth, version, payload.reason, allow_past=False)
    return _version(version)
