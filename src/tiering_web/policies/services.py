"""Tier policies: save and approve versions (audited), and read the terms in force.

Every write goes through a ``do_*`` function that records who did it and why
(:func:`tiering_web.audit.services.record`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tiering_web.audit.services import record
from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import TierAssignment
from tiering_web.policies import domain
from tiering_web.policies.models import PolicyVersion, TierPolicy
from tiering_web.rulesets.models import RuleSet

#: The fields of :class:`TierPolicy` a version's rows may set (besides ``tier``).
TERMS = (
    "benefits",
    "price_coefficient",
    "discount_percent",
    "payment_terms_days",
    "credit_days",
    "credit_limit",
    "delivery_lead_days",
    "dedicated_manager",
    "service_team",
    "revisit_days",
    "queue_priority",
    "answer_seconds",
    "answer_share",
    "callback_hours",
)


def tier_names(ruleset: RuleSet) -> list[str]:
    """The tiers of the rule set's latest version, best first."""
    version = ruleset.latest_version()
    return version.rules().tier_names if version is not None else []


def _check_benefits(benefits: Any, where: str) -> list[str]:
    problems = []
    if not isinstance(benefits, list):
        return [_("%(where)s: benefits must be a list") % {"where": where}]
    for i, b in enumerate(benefits, 1):
        if not isinstance(b, dict) or not str(b.get("code") or "").strip():
            problems.append(_("%(where)s: benefit %(n)s needs a code") % {"where": where, "n": i})
        elif not (str(b.get("zh") or "").strip() or str(b.get("en") or "").strip()):
            problems.append(
                _("%(where)s: benefit %(code)s needs a text in Chinese or English")
                % {"where": where, "code": b["code"]}
            )
    return problems


def do_save_policy_version(
    actor,
    ruleset: RuleSet,
    effective_date: dt.date,
    tiers: list[dict[str, Any]],
    reason: str,
    *,
    note: str = "",
) -> PolicyVersion:
    """Save a new draft version of ``ruleset``'s policies: one row per tier of its latest
    rule version (each exactly once), validated field by field before anything is written.

    Raises :class:`ValidationError` naming the tier and field of every problem."""
    names = tier_names(ruleset)
    problems: list[str] = []
    if not names:
        problems.append(_("the rule set has no version, so no tiers to give policies to"))
    given = [str(row.get("tier") or "") for row in tiers]
    for name in given:
        if name not in names:
            problems.append(
                _("%(tier)s is not a tier of %(ruleset)s (%(names)s)")
                % {"tier": name or "—", "ruleset": ruleset.name, "names": ", ".join(names)}
            )
        elif given.count(name) > 1:
            problems.append(_("%(tier)s is given twice") % {"tier": name})
    missing = [n for n in names if n not in given]
    if missing:
        problems.append(_("no policy for %(tiers)s") % {"tiers": ", ".join(missing)})
    rows = []
    for position, row in enumerate(tiers):
        unknown = set(row) - {"tier", *TERMS}
        if unknown:
            problems.append(
                _("%(tier)s: unknown fields %(fields)s")
                % {"tier": row.get("tier"), "fields": ", ".join(sorted(unknown))}
            )
            continue
        policy = TierPolicy(position=position, **row)
        problems += _check_benefits(policy.benefits, str(row.get("tier")))
        try:
            policy.full_clean(exclude=["version"])
        except ValidationError as e:
            for field, messages in e.message_dict.items():
                problems += [f"{row.get('tier')}, {field}: {m}" for m in messages]
        rows.append(policy)
    if problems:
        raise ValidationError(sorted(set(problems), key=problems.index))
    with transaction.atomic():
        last = (
            PolicyVersion.objects.select_for_update()
            .filter(ruleset=ruleset)
            .aggregate(n=Max("number"))["n"]
        )
        version = PolicyVersion.objects.create(
            ruleset=ruleset,
            number=(last or 0) + 1,
            effective_date=effective_date,
            note=note,
            author=actor,
        )
        for policy in rows:
            policy.version = version
        TierPolicy.objects.bulk_create(rows)
        record(
            actor,
            "policy.version.save",
            version,
            reason,
            effective_date=effective_date,
            tiers=[p.tier for p in rows],
        )
    return version


def do_approve_policy_version(
    actor,
    version: PolicyVersion,
    reason: str,
    *,
    allow_past: bool = True,
) -> PolicyVersion:
    """Approve a draft version: from its effective date on, its terms are in force.

    Four eyes on every path (:func:`.domain.check_approval`): the version's author may
    not approve it, since terms that decide prices, credit and service are checked by a
    second person, like the rules themselves; a reason is required. Without
    ``allow_past`` (the pages and the API) a version whose effective date has already
    passed is refused, so that approving today never rewrites the terms that were in
    force on an earlier day (save a new version with a later date instead). Raises
    :class:`ValidationError` keyed by field (``status``, ``reason``, ``approver``,
    ``effective_date``)."""
    with transaction.atomic():
        # read again under a row lock: two approvals at once cannot both pass
        locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        domain.check_approval(
            status=locked.status,
            author=locked.author_id,
            approver=getattr(actor, "pk", None),
            effective_date=locked.effective_date,
            reason=reason,
            not_before=None if allow_past else timezone.localdate(),
        )
        version.status = PolicyVersion.Status.APPROVED
        version.approver = actor
        version.approved_at = timezone.now()
        version.save(update_fields=["status", "approver", "approved_at"])
        record(actor, "policy.version.approve", version, reason)
    return version


def version_in_force(ruleset: RuleSet, on: dt.date | None = None) -> PolicyVersion | None:
    """The approved version with the latest effective date on or before ``on`` (today)."""
    on = on or timezone.localdate()
    return (
        PolicyVersion.objects.filter(
            ruleset=ruleset, status=PolicyVersion.Status.APPROVED, effective_date__lte=on
        )
        .order_by("-effective_date", "-number")
        .first()
    )


def policies_in_force(ruleset: RuleSet, on: dt.date | None = None) -> dict[str, TierPolicy]:
    """Tier name → the policy in force on ``on`` (today), empty without one."""
    version = version_in_force(ruleset, on)
    if version is None:
        return {}
    return {p.tier: p for p in version.tiers.all()}


def tier_on(customer: Customer, ruleset: RuleSet, on: dt.date | None = None) -> str | None:
    """The customer's tier under ``ruleset`` on ``on`` (the current tier without it), from
    the effective-dated tier history."""
    assignments = TierAssignment.objects.filter(customer=customer, ruleset=ruleset)
    if on is None:
        assignments = assignments.filter(valid_to__isnull=True)
    else:
        assignments = assignments.filter(valid_from__lte=on).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=on)
        )
    return assignments.order_by("-valid_from").values_list("tier", flat=True).first()


def customer_policy(
    customer: Customer, on: dt.date | None = None
) -> tuple[str | None, TierPolicy | None]:
    """(tier, policy) of the customer under the primary rule set on ``on`` (today)."""
    ruleset = RuleSet.objects.filter(is_primary=True).first()
    if ruleset is None:
        return None, None
    tier = tier_on(customer, ruleset, on)
    if tier is None:
        return None, None
    return tier, policies_in_force(ruleset, on).get(tier)


def rulesets_primary_first():
    """Every rule set, the primary one first, then by name."""
    return RuleSet.objects.order_by("-is_primary", "name", "pk")


def next_version(ruleset: RuleSet, after: dt.date | None = None) -> PolicyVersion | None:
    """The approved version that takes effect next after ``after`` (today), if any."""
    after = after or timezone.localdate()
    return (
        PolicyVersion.objects.filter(
            ruleset=ruleset, status=PolicyVersion.Status.APPROVED, effective_date__gt=after
        )
        .order_by("effective_date", "number")
        .first()
    )


def _comparable(policy: TierPolicy | None, term: str) -> Any:
    if policy is None:
        return None
    value = getattr(policy, term)
    if term == "benefits":
        return [
            (str(b.get("code", "")), str(b.get("zh", "")), str(b.get("en", "")))
            for b in value or []
        ]
    return value


def tier_changes(old: TierPolicy | None, new: TierPolicy | None) -> list[tuple[str, Any, Any]]:
    """The terms that differ between two policies of a tier, as (term, old, new);
    a missing policy counts as every term empty."""
    changes = []
    for term in TERMS:
        before, after = _comparable(old, term), _comparable(new, term)
        if before != after:
            changes.append((term, getattr(old, term, None), getattr(new, term, None)))
    return changes


def version_changes(version: PolicyVersion, against: PolicyVersion | None) -> list[tuple]:
    """Per tier (the new version's order, then tiers only ``against`` has), what changes
    from ``against`` (the version in force, say) to ``version``: [(tier, old policy, new
    policy, changes)]."""
    new = {p.tier: p for p in version.tiers.all()}
    old = {p.tier: p for p in against.tiers.all()} if against is not None else {}
    tiers = list(new) + [t for t in old if t not in new]
    return [
        (tier, old.get(tier), new.get(tier), tier_changes(old.get(tier), new.get(tier)))
        for tier in tiers
    ]


@dataclass(frozen=True)
class CustomerTerms:
    """What a customer gets under the primary rule set on a date, and what changes next."""

    ruleset: RuleSet | None
    tier: str | None
    version: PolicyVersion | None
    policy: TierPolicy | None
    #: the next approved version after the date, when it changes the tier's terms
    upcoming: PolicyVersion | None = None
    upcoming_policy: TierPolicy | None = None
    upcoming_changes: list = field(default_factory=list)


def customer_terms(customer: Customer, on: dt.date | None = None) -> CustomerTerms:
    """The customer's tier under the primary rule set on ``on`` (now), the policy in force
    for it, and the next approved version that changes that tier's terms (a few bounded
    queries: for the customer page and the API)."""
    ruleset = RuleSet.objects.filter(is_primary=True).first()
    if ruleset is None:
        return CustomerTerms(None, None, None, None)
    tier = tier_on(customer, ruleset, on)
    if tier is None:
        return CustomerTerms(ruleset, None, None, None)
    day = on or timezone.localdate()
    version = version_in_force(ruleset, day)
    policy = version.tiers.filter(tier=tier).first() if version is not None else None
    upcoming = next_version(ruleset, day)
    if upcoming is None:
        return CustomerTerms(ruleset, tier, version, policy)
    upcoming_policy = upcoming.tiers.filter(tier=tier).first()
    changes = tier_changes(policy, upcoming_policy)
    if not changes:
        return CustomerTerms(ruleset, tier, version, policy)
    return CustomerTerms(ruleset, tier, version, policy, upcoming, upcoming_policy, changes)
