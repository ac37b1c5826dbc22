"""Evaluations: run a rule set version into a draft, publish or discard it, and set
overrides. Every write records who did it and why (see :mod:`tiering_web.audit`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy

import tiering
from tiering_web.audit.services import record
from tiering_web.customers.models import Customer
from tiering_web.evaluations import domain, storage
from tiering_web.evaluations.adapters import by_primary_key, engine_inputs
from tiering_web.evaluations.models import Evaluation, Override, TierAssignment
from tiering_web.evaluations.signals import evaluation_published, evaluation_withdrawn
from tiering_web.jobs import Heartbeat, fail_if_lost
from tiering_web.rulesets.models import RuleSet, RuleSetVersion


def today() -> dt.date:
    """Today in the site's time zone (one function, so that tests can set the day)."""
    return timezone.localdate()


def check_as_of(as_of: dt.date) -> None:
    """:func:`domain.check_as_of` with today and ``TIERING_AS_OF_HORIZON_DAYS``."""
    domain.check_as_of(as_of, today(), settings.TIERING_AS_OF_HORIZON_DAYS)


def check_run(version: RuleSetVersion, as_of: dt.date) -> None:
    """What running ``version`` as of ``as_of`` asks first, on every path: a date that
    has come (:func:`check_as_of`) and an approved version in effect on it
    (:func:`domain.check_runnable`)."""
    check_as_of(as_of)
    domain.check_runnable(
        as_of=as_of, version_status=version.status, version_effective=version.effective_date
    )


def _overrides(ruleset: RuleSet) -> list[tiering.Override]:
    """The rule set's overrides for the engine, keyed by code as its inputs are."""
    rows = Override.objects.filter(
        ruleset=ruleset, customer__deactivated_at__isnull=True
    ).values_list("customer__code", "tier", "reason", "expires")
    return [
        tiering.Override(customer_id=code, tier=tier, reason=reason, expires=expires)
        for code, tier, reason, expires in rows
    ]


@dataclass
class _Computed:
    """The engine's results of one evaluation, before they are stored."""

    table: pa.Table  # one row per customer, ``customer_id`` the primary key as text
    lang: str
    expired_overrides: list[str]  # customer codes


def _compute(version: RuleSetVersion, as_of: dt.date, lang: str) -> _Computed:
    """The engine's results for every customer, as one Arrow table.

    The engine grades the app's tables (through :mod:`.adapters`: read out of the database
    with ``COPY`` and graded in DuckDB, faster than PostgreSQL's own plan), starting from
    the current tiers (for change and downgrade protection) and applying the rule set's
    overrides, and the payments received when a rule uses a payment metric. Customers are
    graded by code, so that ties are broken as the command line breaks them, and the
    results are keyed by primary key in one DuckDB join, never in Python. One pass words
    every explanation in Chinese and English, so each viewer reads it in theirs. The
    engine reads through its own connection, which sees committed rows only, so this must
    not run inside a transaction."""
    if connections["default"].in_atomic_block:
        raise RuntimeError(
            "run_evaluation reads through a second connection: call it outside transaction.atomic()"
        )
    ruleset = version.ruleset
    rules = version.rules()
    overrides = _overrides(ruleset)
    paying = bool(tiering.rules.PAYMENT_METRICS.intersection(rules.metric_refs()))
    with engine_inputs(
        want_payments=paying,
        previous_of=ruleset.pk,
        read_out=True,
    ) as inputs:
        computed = tiering.evaluate(
            rules,
            inputs.customers,
            inputs.transactions,
            payments=inputs.payments,
            as_of=as_of,
            previous=inputs.previous,
            overrides=overrides,
            lang=lang,
            languages=("zh", "en"),
            attributes=False,
        )
        # graded by code (ties broken as the command line breaks them), stored by key
        table = by_primary_key(computed.to_pyarrow(), inputs.ids)
    expired = [o.customer_id for o in computed.expired_overrides]
    return _Computed(table, lang, expired)


def _store(actor, evaluation: Evaluation, computed: _Computed) -> None:
    """Save the results of ``evaluation`` and its audit entry (inside a transaction)."""
    rows = storage.result_rows(computed.table, computed.lang, evaluation.pk)
    storage.insert_results(rows)
    record(
        actor,
        "evaluation.run",
        evaluation,
        "",
        as_of=evaluation.as_of,
        customers=rows.num_rows,
        tiers=storage.tier_counts(rows),
        expired_overrides=computed.expired_overrides,
    )


def run_evaluation(
    actor, version: RuleSetVersion, as_of: dt.date, *, lang: str | None = None
) -> Evaluation:
    """Grade every customer with ``version`` as of ``as_of`` into a draft evaluation, now.

    Nothing visible to customers changes until :func:`publish_evaluation`. This runs in the
    caller's process (the API, tests, scripts); pages and schedules use
    :func:`queue_evaluation`, which runs the same computation in the background worker.
    Must not be called inside a transaction (see :func:`_compute`). Refused for an as-of
    date after today, and unless ``version`` is approved and in effect on ``as_of``
    (:func:`check_run`).
    """
    check_run(version, as_of)
    computed = _compute(version, as_of, lang or get_language() or "en")
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            ruleset_version=version, as_of=as_of, created_by=actor
        )
        _store(actor, evaluation, computed)
    return evaluation


def queue_evaluation(
    actor,
    version: RuleSetVersion,
    as_of: dt.date,
    *,
    lang: str | None = None,
    schedule=None,
) -> Evaluation:
    """Create a queued evaluation and enqueue the background task that computes it.

    The evaluation row, the task row (django-tasks' database backend writes to the same
    database) and the audit entry are written in one transaction: a worker never sees a
    task without its evaluation, and a failure leaves neither. ``lang`` is the language of
    the reasons the engine writes (the requester's)."""
    from tiering_web.evaluations.tasks import evaluate_in_background

    check_run(version, as_of)
    lang = lang or get_language() or "en"
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            ruleset_version=version,
            as_of=as_of,
            created_by=actor,
            status=Evaluation.Status.QUEUED,
            schedule=schedule,
        )
        result = evaluate_in_background.enqueue(evaluation.pk, lang)
        evaluation.task_id = str(result.id)
        evaluation.save(update_fields=["task_id"])
        record(
            actor,
            "evaluation.queue",
            evaluation,
            "",
            as_of=as_of,
            version=version.number,
            schedule=schedule.pk if schedule is not None else None,
        )
    return evaluation


def _unexpected(error: BaseException) -> tuple[str, str]:
    detail = f"{type(error).__name__}: {error}"
    return f"unexpected error: {detail}", f"意外错误：{detail}"


def check_evaluation(evaluation: Evaluation) -> Evaluation:
    """``evaluation``, failed first (with the audit entry of a failure) if it is queued or
    running but its worker is gone (see :func:`tiering_web.jobs.fail_if_lost`): what the
    pages and the API call before showing a pending evaluation."""
    if not evaluation.is_pending:
        return evaluation
    checked = fail_if_lost(
        evaluation,
        (Evaluation.Status.QUEUED, Evaluation.Status.RUNNING),
        gettext_lazy("the evaluation"),
        lambda error: {
            "status": Evaluation.Status.FAILED,
            "error_en": error[0],
            "error_zh": error[1],
            "finished_at": timezone.now(),
        },
    )
    if checked.status == Evaluation.Status.FAILED:
        record(checked.created_by, "evaluation.fail", checked, "", error=checked.error_en)
    return checked


def _fail(evaluation: Evaluation, en: str, zh: str) -> None:
    with transaction.atomic():
        evaluation.status = Evaluation.Status.FAILED
        evaluation.error_en, evaluation.error_zh = en, zh
        evaluation.finished_at = timezone.now()
        evaluation.save(update_fields=["status", "error_en", "error_zh", "finished_at"])
        record(evaluation.created_by, "evaluation.fail", evaluation, "", error=en)


def execute_evaluation(evaluation_id: int, lang: str = "en") -> Evaluation | None:
    """Compute a queued evaluation (what the background task calls).

    Marks it running, grades every customer and stores the draft; an engine error
    (:class:`tiering.TieringError`) marks it failed with the engine's message in both
    languages, any other error marks it failed too and is raised again for the worker to
    record with its traceback. An evaluation that is no longer queued (a task delivered
    twice) is left alone and None is returned. When the evaluation comes from a schedule
    with ``auto_publish``, the draft is published at once by the schedule's creator."""
    with transaction.atomic():
        # no outer joins in a locking query: PostgreSQL refuses FOR UPDATE on them
        locked = Evaluation.objects.select_for_update().filter(pk=evaluation_id).first()
        if locked is None or locked.status != Evaluation.Status.QUEUED:
            return None
        locked.status = Evaluation.Status.RUNNING
        locked.started_at = locked.heartbeat_at = timezone.now()
        locked.save(update_fields=["status", "started_at", "heartbeat_at"])
    evaluation = Evaluation.objects.select_related(
        "ruleset_version__ruleset", "created_by", "schedule__created_by"
    ).get(pk=evaluation_id)
    try:
        with Heartbeat(Evaluation, evaluation.pk, [Evaluation.Status.RUNNING]):
            computed = _compute(evaluation.ruleset_version, evaluation.as_of, lang)
            with transaction.atomic():
                still = Evaluation.objects.select_for_update().filter(
                    pk=evaluation.pk, status=Evaluation.Status.RUNNING
                )
                if not still.exists():  # declared lost meanwhile: its failure stands
                    return None
                _store(evaluation.created_by, evaluation, computed)
                evaluation.status = Evaluation.Status.DRAFT
                evaluation.finished_at = timezone.now()
                evaluation.save(update_fields=["status", "finished_at"])
    except tiering.TieringError as error:
        _fail(evaluation, error.message("en"), error.message("zh"))
        return evaluation
    except Exception as error:
        _fail(evaluation, *_unexpected(error))
        raise
    if evaluation.schedule is not None and evaluation.schedule.auto_publish:
        evaluation = _auto_publish(evaluation)
    return evaluation


def _auto_publish(evaluation: Evaluation) -> Evaluation:
    """Publish a scheduled draft as its schedule's creator; when they may no longer publish
    or publishing is refused, the draft stays for a manager and the audit log says why."""
    from tiering_web.accounts.permissions import can_publish

    schedule = evaluation.schedule
    actor = schedule.created_by
    reason = f"published automatically by schedule #{schedule.pk}"
    if not can_publish(actor):
        record(
            actor,
            "evaluation.auto_publish.refused",
            evaluation,
            reason,
            error="the schedule's creator may not publish",
        )
        return evaluation
    try:
        return publish_evaluation(actor, evaluation, reason)
    except ValidationError as error:
        record(
            actor,
            "evaluation.auto_publish.refused",
            evaluation,
            reason,
            error="; ".join(error.messages),
        )
        return evaluation


def _locked(evaluation: Evaluation) -> Evaluation:
    """The evaluation read again under a row lock (inside a transaction)."""
    return (
        Evaluation.objects.select_for_update()
        .select_related("ruleset_version__ruleset")
        .get(pk=evaluation.pk)
    )


def _locked_draft(evaluation: Evaluation) -> Evaluation:
    locked = _locked(evaluation)
    domain.check_draft(locked.status)
    return locked


def _lock(ruleset: RuleSet) -> None:
    """One publication or withdrawal of a rule set at a time: the second waits here for
    the first to commit (a row lock on PostgreSQL; SQLite writes one at a time anyway)."""
    list(RuleSet.objects.select_for_update().filter(pk=ruleset.pk).values_list("pk"))


def publish_evaluation(actor, evaluation: Evaluation, reason: str = "") -> Evaluation:
    """Make a draft's tiers the customers' current tiers, all or nothing.

    In one transaction: close, as of ``as_of``, the open tier assignments of the rule set
    whose tier the draft changes, open one where the tier changed or the customer had
    none (:func:`storage.publish_tiers`), mark the evaluation published by ``actor`` and
    write the audit entry. Refused (:func:`domain.check_publishable`) unless the rule-set
    version is approved and in effect on the date, and when a publication of a later date
    is in force. Any failure rolls all of it back, leaving the previous tiers and the
    draft as they were. A million customers never pass through Python.
    """
    with transaction.atomic():
        evaluation = _locked_draft(evaluation)
        ruleset = evaluation.ruleset
        _lock(ruleset)
        latest = Evaluation.in_force(ruleset)
        version = evaluation.ruleset_version
        domain.check_publishable(
            status=evaluation.status,
            as_of=evaluation.as_of,
            version_status=version.status,
            version_effective=version.effective_date,
            in_force_as_of=latest.as_of if latest is not None else None,
            later_tiers=TierAssignment.objects.filter(
                ruleset=ruleset, valid_to__isnull=True, valid_from__gt=evaluation.as_of
            ).exists(),
        )
        counts = storage.publish_tiers(evaluation)
        changes = storage.change_counts(evaluation)
        evaluation.status = Evaluation.Status.PUBLISHED
        evaluation.published_by = actor
        evaluation.published_at = timezone.now()
        evaluation.save(update_fields=["status", "published_by", "published_at"])
        record(actor, "evaluation.publish", evaluation, reason, **counts, changes=changes)
        transaction.on_commit(
            lambda: evaluation_published.send_robust(
                sender=Evaluation, evaluation=evaluation, actor=actor
            )
        )
    return evaluation


def withdraw_evaluation(actor, evaluation: Evaluation, reason: str) -> Evaluation:
    """Withdraw the publication in force of a rule set (a wrong date, the wrong rules):
    the tiers it changed go back to what they were before it, all or nothing, and it is
    marked ``withdrawn``; its results stay for reference. Only the latest publication
    can be withdrawn (an earlier one's tiers were since replaced), and a reason is
    required; the audit entry records how many tiers moved back. Receivers of
    ``evaluation_withdrawn`` withdraw what the publication started, in the same
    transaction (its waiting assignment proposals, its messages not sent yet); the
    messages already sent for it are not recalled."""
    with transaction.atomic():
        locked = _locked(evaluation)
        ruleset = locked.ruleset
        _lock(ruleset)
        domain.check_withdrawable(
            status=locked.status,
            in_force=Evaluation.in_force(ruleset) == locked,
            reason=reason,
        )
        previous = Evaluation.in_force(ruleset, exclude=locked)
        counts = storage.withdraw_tiers(locked, previous)
        locked.status = Evaluation.Status.WITHDRAWN
        locked.save(update_fields=["status"])
        record(
            actor,
            "evaluation.withdraw",
            locked,
            reason,
            **counts,
            restored=previous.pk if previous else None,
        )
        evaluation_withdrawn.send(sender=Evaluation, evaluation=locked, actor=actor)
    return locked


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
    version's tiers, ``reason`` is required and ``expires`` after today
    (:func:`domain.check_override`)."""
    version = ruleset.latest_version()
    domain.check_override(
        tier=tier,
        tier_names=version.rules().tier_names if version is not None else [],
        reason=reason,
        expires=expires,
        today=today(),
    )
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
