"""Writes to rule sets: each validated the way the engine validates and audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from tiering import RuleError, parse_rules
from tiering_web.accounts import permissions
from tiering_web.audit.services import record
from tiering_web.nul import has_nul
from tiering_web.rulesets import domain
from tiering_web.rulesets.jobs import check_whatif
from tiering_web.rulesets.models import RuleSet, RuleSetVersion, WhatIfRun
from tiering_web.rulesets.tasks import whatif_in_background
from tiering_web.rulesets.whatif import baseline_version


def rule_errors(error: RuleError, lang: str | None = None) -> ValidationError:
    """A :class:`RuleError` as a Django ValidationError keyed by the rule file's field
    (``tiers[1].min``; ``definition`` for the file as a whole), each message in the engine's
    own wording with its line number when the rules came as text."""
    lang = lang or get_language() or "en"
    errors: dict[str, list[ValidationError]] = {}
    for problem in error.problems:
        errors.setdefault(problem.field or "definition", []).append(
            ValidationError(problem.message(lang), code="rules")
        )
    return ValidationError(errors)


def validate_definition(definition: dict | str, source: str = "<rules>") -> dict:
    """The rules as a dict, validated; YAML text is accepted too (its problems then carry
    line numbers). Raises ValidationError with field-level messages."""
    if has_nul(definition):
        raise ValidationError(
            {
                "definition": ValidationError(
                    _("the rules cannot contain NUL (\\u0000) characters"), code="nul"
                )
            }
        )
    try:
        parse_rules(definition, source=source)
    except RuleError as e:
        raise rule_errors(e) from None
    if isinstance(definition, str):
        definition = yaml.safe_load(definition)
    return definition


def do_create_ruleset(actor, name: str, reason: str = "", description: str = "") -> RuleSet:
    """Create an empty rule set (its rules come with the first version)."""
    ruleset = RuleSet(name=name, description=description)
    ruleset.full_clean()
    with transaction.atomic():
        ruleset.save()
        record(actor, "ruleset.create", ruleset, reason)
    return ruleset


def do_save_ruleset_version(
    actor,
    ruleset: RuleSet,
    definition: dict[str, Any] | str,
    reason: str,
    *,
    effective_date: dt.date | None = None,
) -> RuleSetVersion:
    """Save ``definition`` as the next draft version of ``ruleset``, with ``actor`` as its
    author. The engine validates it first, so a version that exists always evaluates."""
    data = validate_definition(definition, source=ruleset.name)
    with transaction.atomic():
        # lock the rule set row so two authors cannot take the same number
        RuleSet.objects.select_for_update().filter(pk=ruleset.pk).first()
        last = ruleset.versions.aggregate(n=Max("number"))["n"] or 0
        version = RuleSetVersion.objects.create(
            ruleset=ruleset,
            number=last + 1,
            definition=data,
            author=actor,
            effective_date=effective_date,
        )
        record(actor, "ruleset.version.save", version, reason, number=version.number)
    return version


def _may_sign(allowed: bool, field: str) -> None:
    if not allowed:
        raise ValidationError(
            {field: ValidationError(_("your role may not sign rule sets"), code="not_allowed")}
        )


def do_review_ruleset_version(actor, version: RuleSetVersion, reason: str = "") -> RuleSetVersion:
    """``actor`` signs a draft version as its reviewer (审核人), in person: the rules'
    author may not, nor may a role that does not read rules critically (administrators,
    managers and analysts review; account managers do not). Raises ValidationError keyed
    by ``status`` or ``reviewer``; the signature is audited with its reason."""
    _may_sign(permissions.can_review_rules(actor), "reviewer")
    with transaction.atomic():
        # read again under a row lock: two reviews at once cannot both pass
        locked = RuleSetVersion.objects.select_for_update().get(pk=version.pk)
        domain.check_review(
            status=locked.status, author=locked.author_id, reviewer=getattr(actor, "pk", None)
        )
        version.status = RuleSetVersion.Status.REVIEWED
        version.reviewer = actor
        version.reviewed_at = timezone.now()
        version.save(update_fields=["status", "reviewer", "reviewed_at"])
        record(actor, "ruleset.version.review", version, reason, number=version.number)
    return version


def do_approve_ruleset_version(
    actor,
    version: RuleSetVersion,
    reason: str = "",
    *,
    effective_date: dt.date | None = None,
) -> RuleSetVersion:
    """``actor`` signs a reviewed version as its approver (批准人), in person, and
    ``effective_date``, when given, becomes the date it takes effect.

    Four eyes on every path (pages, API, demo, scripts; :func:`.domain.check_approval`):
    the version must have been reviewed (:func:`do_review_ruleset_version`) and its
    approver is neither its author nor its reviewer; an effective date is required, because
    these rules decide prices and service levels. Raises ValidationError keyed by
    ``status``, ``approver``, ``effective_date``."""
    _may_sign(permissions.can_edit_rules(actor), "approver")
    with transaction.atomic():
        # read again under a row lock: two approvals at once cannot both pass
        locked = RuleSetVersion.objects.select_for_update().get(pk=version.pk)
        domain.check_approval(
            status=locked.status,
            author=locked.author_id,
            approver=getattr(actor, "pk", None),
            reviewer=locked.reviewer_id,
            effective_date=effective_date or locked.effective_date,
        )
        version.status = RuleSetVersion.Status.APPROVED
        version.approver = actor
        version.approved_at = timezone.now()
        if effective_date is not None:
            version.effective_date = effective_date
        version.save(update_fields=["status", "approver", "approved_at", "effective_date"])
        record(
            actor,
            "ruleset.version.approve",
            version,
            reason,
            reviewer=getattr(locked.reviewer, "username", None),
            effective_date=version.effective_date,
        )
    return version


def do_set_primary(
    actor, ruleset: RuleSet, reason: str, *, require_approved: bool = False
) -> RuleSet:
    """Make ``ruleset`` the primary one (and no other). With ``require_approved`` (the
    rule-set pages), a rule set without an approved version cannot become primary: the
    primary grades drive service levels."""
    if (
        require_approved
        and not ruleset.versions.filter(status=RuleSetVersion.Status.APPROVED).exists()
    ):
        raise ValidationError(
            _("only a rule set with an approved version can be primary"), code="unapproved"
        )
    with transaction.atomic():
        RuleSet.objects.filter(is_primary=True).exclude(pk=ruleset.pk).update(is_primary=False)
        ruleset.is_primary = True
        ruleset.save(update_fields=["is_primary"])
        record(actor, "ruleset.set_primary", ruleset, reason)
    return ruleset


def whatif_key(definition: dict, as_of: dt.date, baseline: RuleSetVersion | None) -> str:
    """What makes two what-if requests the same: the rules, the date, the baseline."""
    text = json.dumps(
        {"rules": definition, "as_of": as_of, "baseline": baseline.pk if baseline else None},
        cls=DjangoJSONEncoder,
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _pending_whatif(ruleset: RuleSet, key: str) -> WhatIfRun | None:
    """The live pending run of this request, if any (a lost one is failed on the way)."""
    run = WhatIfRun.objects.filter(
        ruleset=ruleset, key=key, status__in=[WhatIfRun.Status.QUEUED, WhatIfRun.Status.RUNNING]
    ).first()
    if run is None:
        return None
    run = check_whatif(run)
    return run if run.is_pending else None


def do_queue_whatif(
    actor, ruleset: RuleSet, definition: dict[str, Any] | str, as_of: dt.date
) -> WhatIfRun:
    """Queue a what-if of ``definition`` (validated as a version would be) against the
    rule set's baseline (:func:`~tiering_web.rulesets.whatif.baseline_version`) as of
    ``as_of``, for the background worker.

    Grading a million customers twice takes a minute, so the request only queues it;
    while the same request (rules, date, baseline) is still pending, it is answered by
    that run instead of a second one. The run, its task and the audit entry are written
    in one transaction; nothing else is saved (a what-if never makes a version)."""
    data = validate_definition(definition, source=ruleset.name)
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))  # as the run will store it
    baseline = baseline_version(ruleset)
    key = whatif_key(data, as_of, baseline)
    details = {"as_of": as_of, "baseline": baseline.number if baseline else None}
    if (run := _pending_whatif(ruleset, key)) is not None:
        with transaction.atomic():
            record(actor, "ruleset.whatif.queue", run, "", reused=True, **details)
        return run
    with transaction.atomic():
        # lock the rule set row: two identical requests at once make one run
        RuleSet.objects.select_for_update().filter(pk=ruleset.pk).first()
        run = WhatIfRun.objects.filter(
            ruleset=ruleset, key=key, status__in=[WhatIfRun.Status.QUEUED, WhatIfRun.Status.RUNNING]
        ).first()
        if run is not None:
            record(actor, "ruleset.whatif.queue", run, "", reused=True, **details)
            return run
        run = WhatIfRun.objects.create(
            ruleset=ruleset,
            baseline=baseline,
            definition=data,
            as_of=as_of,
            key=key,
            requested_by=actor,
        )
        run.task_id = str(whatif_in_background.enqueue(run.pk).id)
        run.save(update_fields=["task_id"])
        record(actor, "ruleset.whatif.queue", run, "", reused=False, **details)
    return run
