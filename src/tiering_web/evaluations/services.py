"""Evaluations: run a rule set version into a draft, publish or discard it, and set
overrides. Every write records who did it and why (see :mod:`tiering_web.audit`)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from decimal import Decimal
from typing import Any

import pyarrow as pa
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import get_language

import tiering
from tiering_web.audit.services import record
from tiering_web.customers.models import Customer
from tiering_web.evaluations.adapters import engine_inputs
from tiering_web.evaluations.models import Evaluation, EvaluationResult, Override, TierAssignment
from tiering_web.rulesets.models import RuleSet, RuleSetVersion

#: Engine output columns stored in their own fields; every other column goes to
#: ``EvaluationResult.details``.
_FIELDS = (
    "tier",
    "score",
    "reason",
    "next_tier",
    "gap",
    "gap_unit",
    "flags",
    "previous_tier",
    "change",
)
_BATCH = 2000


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _decimal(value: Any) -> Decimal | None:
    """A float or Decimal from the engine as a Decimal with 4 places (None stays None)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, float):
        value = Decimal(repr(value))
    return Decimal(value).quantize(Decimal("0.0001"))


def _previous(ruleset: RuleSet) -> pa.Table | None:
    """The current tiers (open assignments) in the engine's ``previous`` form, with the
    grace count carried by the evaluation that assigned them."""
    rows = list(
        TierAssignment.objects.filter(ruleset=ruleset, valid_to__isnull=True).values_list(
            "customer_id", "customer__code", "tier", "evaluation_id"
        )
    )
    if not rows:
        return None
    grace: dict[tuple[int, int], int] = {}
    for evaluation_id in {r[3] for r in rows}:
        results = EvaluationResult.objects.filter(evaluation_id=evaluation_id).values_list(
            "customer_id", "details"
        )
        for customer_id, details in results:
            grace[(evaluation_id, customer_id)] = int((details or {}).get("grace_count") or 0)
    return pa.table(
        {
            "customer_id": pa.array([r[1] for r in rows], pa.string()),
            "tier": pa.array([r[2] for r in rows], pa.string()),
            "grace_count": pa.array([grace.get((r[3], r[0]), 0) for r in rows], pa.int64()),
        }
    )


def _overrides(ruleset: RuleSet) -> list[tiering.Override]:
    return [
        tiering.Override(customer_id=code, tier=tier, reason=reason, expires=expires)
        for code, tier, reason, expires in Override.objects.filter(ruleset=ruleset).values_list(
            "customer__code", "tier", "reason", "expires"
        )
    ]


def _result(evaluation: Evaluation, customer_id: int, row: dict[str, Any]) -> EvaluationResult:
    details = {k: _json_value(v) for k, v in row.items() if k not in _FIELDS and k != "customer_id"}
    return EvaluationResult(
        evaluation=evaluation,
        customer_id=customer_id,
        tier=row["tier"],
        score=_decimal(row.get("score")),
        reason=row.get("reason") or "",
        next_tier=row.get("next_tier") or "",
        gap=_decimal(row.get("gap")),
        gap_unit=row.get("gap_unit") or "",
        flags=row.get("flags") or "",
        previous_tier=row.get("previous_tier") or "",
        change=row.get("change") or "",
        details=details,
    )


def run_evaluation(
    actor, version: RuleSetVersion, as_of: dt.date, *, lang: str | None = None
) -> Evaluation:
    """Grade every customer with ``version`` as of ``as_of`` into a draft evaluation.

    The engine computes inside the app's database (through :mod:`.adapters`), starting from
    the current tiers (for change and downgrade protection) and applying the rule set's
    overrides. Nothing visible to customers changes until :func:`publish_evaluation`.
    The engine reads through its own connection, which sees committed rows only, so this
    must not run inside a transaction.
    """
    if connections["default"].in_atomic_block:
        raise RuntimeError(
            "run_evaluation reads through a second connection: call it outside transaction.atomic()"
        )
    ruleset = version.ruleset
    rules = version.rules()
    lang = lang or get_language() or "en"
    with engine_inputs() as inputs:
        computed = tiering.evaluate(
            rules,
            inputs.customers,
            inputs.transactions,
            as_of=as_of,
            previous=_previous(ruleset),
            overrides=_overrides(ruleset),
            lang=lang,
            attributes=False,
        )
        rows = computed.to_pyarrow().to_pylist()
    ids = dict(Customer.objects.values_list("code", "id"))
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            ruleset_version=version, as_of=as_of, created_by=actor
        )
        EvaluationResult.objects.bulk_create(
            (_result(evaluation, ids[row["customer_id"]], row) for row in rows),
            batch_size=_BATCH,
        )
        tiers = Counter(row["tier"] for row in rows)
        record(
            actor,
            "evaluation.run",
            evaluation,
            "",
            as_of=as_of,
            customers=len(rows),
            tiers=dict(tiers),
            expired_overrides=[o.customer_id for o in computed.expired_overrides],
        )
    return evaluation


def _locked_draft(evaluation: Evaluation) -> Evaluation:
    locked = (
        Evaluation.objects.select_for_update()
        .select_related("ruleset_version__ruleset")
        .get(pk=evaluation.pk)
    )
    if locked.status != Evaluation.Status.DRAFT:
        raise ValidationError(
            {"status": ValidationError("only a draft evaluation can be changed", code="status")}
        )
    return locked


def publish_evaluation(actor, evaluation: Evaluation, reason: str = "") -> Evaluation:
    """Make a draft's tiers the customers' current tiers, all or nothing.

    In one transaction: close every open tier assignment of the rule set at ``as_of``, open
    one per result, mark the evaluation published by ``actor`` and write the audit entry.
    Any failure rolls all of it back, leaving the previous tiers and the draft as they were.
    """
    with transaction.atomic():
        evaluation = _locked_draft(evaluation)
        ruleset = evaluation.ruleset
        current = TierAssignment.objects.filter(ruleset=ruleset, valid_to__isnull=True)
        if current.filter(valid_from__gt=evaluation.as_of).exists():
            raise ValidationError(
                {
                    "as_of": ValidationError(
                        "tiers as of a later date are already published", code="as_of"
                    )
                }
            )
        closed = current.update(valid_to=evaluation.as_of)
        results = evaluation.results.values_list("customer_id", "tier", "change")
        changes: Counter[str] = Counter()
        assignments = []
        for customer_id, tier, change in results.iterator(chunk_size=_BATCH):
            changes[change or "new"] += 1
            assignments.append(
                TierAssignment(
                    customer_id=customer_id,
                    ruleset=ruleset,
                    tier=tier,
                    valid_from=evaluation.as_of,
                    evaluation=evaluation,
                )
            )
        TierAssignment.objects.bulk_create(assignments, batch_size=_BATCH)
        evaluation.status = Evaluation.Status.PUBLISHED
        evaluation.published_by = actor
        evaluation.published_at = timezone.now()
        evaluation.save(update_fields=["status", "published_by", "published_at"])
        record(
            actor,
            "evaluation.publish",
            evaluation,
            reason,
            closed=closed,
            opened=len(assignments),
            changes=dict(changes),
        )
    return evaluation


def discard_evaluation(actor, evaluation: Evaluation, reason: str = "") -> Evaluation:
    """Discard a draft; its results stay for reference but never become tiers."""
    with transaction.atomic():
        evaluation = _locked_draft(evaluation)
        evaluation.status = Evaluation.Status.DISCARDED
        evaluation.save(update_fields=["status"])
        record(actor, "evaluation.discard", evaluation, reason)
    return evaluation


def do_set_override(
    actor,
    customer: Customer,
    ruleset: RuleSet,
    tier: str,
    reason: str,
    expires: dt.date,
) -> Override:
    """Set ``customer``'s tier under ``ruleset`` by hand until ``expires``, replacing any
    earlier override; the next evaluation applies it. ``tier`` must be one of the latest
    version's tiers and ``reason`` is required."""
    errors = {}
    version = ruleset.latest_version()
    names = version.rules().tier_names if version is not None else []
    if tier not in names:
        errors["tier"] = ValidationError(
            "not a tier of this rule set (%(names)s)",
            code="tier",
            params={"names": ", ".join(names)},
        )
    if not (reason or "").strip():
        errors["reason"] = ValidationError("a reason is required", code="required")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = Override.objects.filter(customer=customer, ruleset=ruleset).first()
        override, _ = Override.objects.update_or_create(
            customer=customer,
            ruleset=ruleset,
            defaults={"tier": tier, "reason": reason, "expires": expires, "created_by": actor},
        )
        record(
            actor,
            "override.set",
            override,
            reason,
            customer=customer.code,
            ruleset=ruleset.name,
            tier=tier,
            expires=expires,
            replaced={"tier": before.tier, "expires": before.expires} if before else None,
        )
    return override
