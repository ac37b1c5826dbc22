"""Tier policies: save and approve versions (audited), and read the terms in force.

Every write goes through a ``do_*`` function that records who did it and why
(:func:`tiering_web.audit.services.record`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tiering_web.audit.services import record
from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import TierAssignment
from tiering_web.policies.models import PolicyVersion, TierPolicy
from tiering_web.rulesets.models import RuleSet

#: The fields of :class:`TierPolicy` a version's rows may set (besides ``tier``).
TERMS = (
    "benefits",
    "price_coefficient",
    "discount_percent",
    "payment_terms_days",
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


def do_approve_policy_version(actor, version: PolicyVersion, reason: str) -> PolicyVersion:
    """Approve a draft version: from its effective date on, its terms are in force."""
    if version.status == PolicyVersion.Status.APPROVED:
        raise ValidationError(_("this version is already approved"))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("a reason is required")})
    with transaction.atomic():
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
