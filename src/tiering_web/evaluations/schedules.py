"""Scheduled evaluations: create and edit schedules (audited), and run the due ones.

A schedule's run date is ``next_run``; it grades as of the last day of the period (month
or calendar quarter) before the one the run date falls in, so a quarterly run on
2026-10-01 grades as of 2026-09-30, and a monthly run on 2026-11-05 as of 2026-10-31.
``python -m tiering_web run_schedules``, run daily by cron or a systemd timer, calls
:func:`run_due_schedules`; the background worker (``db_worker``) then computes the
evaluations it queued.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from tiering import add_months
from tiering_web.audit.services import record
from tiering_web.evaluations.models import Evaluation, Schedule
from tiering_web.evaluations.services import queue_evaluation
from tiering_web.rulesets.models import RuleSet, RuleSetVersion

logger = logging.getLogger(__name__)

#: Fields :func:`do_update_schedule` may change.
EDITABLE = ("frequency", "next_run", "auto_publish", "active")


def period_start(day: dt.date, months: int) -> dt.date:
    """The first day of the month (``months`` 1) or calendar quarter (3) holding ``day``."""
    month = (day.month - 1) // months * months + 1
    return dt.date(day.year, month, 1)


def as_of_for(run_date: dt.date, months: int) -> dt.date:
    """The as-of date of a run on ``run_date``: the end of the previous period."""
    return period_start(run_date, months) - dt.timedelta(days=1)


def _check(schedule: Schedule) -> None:
    errors = {}
    if schedule.next_run is not None and schedule.next_run.day > 28:
        errors["next_run"] = ValidationError(
            _("Choose a day from 1 to 28, so that every month has it."), code="day"
        )
    try:
        schedule.full_clean(exclude=["created_by"])
    except ValidationError as error:
        errors.update(error.error_dict)
    if errors:
        raise ValidationError(errors)


def do_create_schedule(
    actor,
    ruleset: RuleSet,
    frequency: str,
    next_run: dt.date,
    *,
    auto_publish: bool = False,
    active: bool = True,
    reason: str = "",
) -> Schedule:
    """Create a schedule for ``ruleset`` with ``actor`` as its creator (who also publishes
    its drafts when ``auto_publish`` is set)."""
    schedule = Schedule(
        ruleset=ruleset,
        frequency=frequency,
        next_run=next_run,
        auto_publish=auto_publish,
        active=active,
        created_by=actor,
    )
    _check(schedule)
    with transaction.atomic():
        schedule.save()
        record(
            actor,
            "schedule.create",
            schedule,
            reason,
            ruleset=ruleset.name,
            frequency=frequency,
            next_run=next_run,
            auto_publish=auto_publish,
            active=active,
        )
    return schedule


def do_update_schedule(actor, schedule: Schedule, changes: dict[str, Any], reason: str) -> Schedule:
    """Change a schedule's frequency, next run, auto-publish or active flag; each change is
    recorded as ``{field: [old, new]}``. Turning ``auto_publish`` on makes ``actor`` the
    one who publishes (the schedule's ``created_by``)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise TypeError(f"schedule fields that cannot be changed: {', '.join(unknown)}")
    before = {name: getattr(schedule, name) for name in changes}
    for name, value in changes.items():
        setattr(schedule, name, value)
    changed = {n: [before[n], changes[n]] for n in changes if before[n] != changes[n]}
    if not changed:
        return schedule
    _check(schedule)
    fields = list(changed)
    if changed.get("auto_publish", [False, False])[1] and schedule.created_by_id != actor.pk:
        changed["created_by"] = [getattr(schedule.created_by, "username", None), actor.username]
        schedule.created_by = actor
        fields.append("created_by")
    with transaction.atomic():
        schedule.save(update_fields=fields)
        record(actor, "schedule.update", schedule, reason, changes=changed)
    return schedule


@dataclass
class ScheduleRun:
    """What :func:`run_due_schedules` did with one due schedule."""

    schedule: Schedule
    as_of: dt.date
    evaluation: Evaluation | None
    skipped_periods: int = 0
    problem: str = ""


def _latest_approved(ruleset: RuleSet, as_of: dt.date) -> RuleSetVersion | None:
    """The latest approved version in effect on ``as_of`` (:func:`.domain.check_runnable`)."""
    return (
        ruleset.versions.filter(status=RuleSetVersion.Status.APPROVED, effective_date__lte=as_of)
        .order_by("-number")
        .first()
    )


def _run_one(schedule_id: int, today: dt.date, lang: str) -> ScheduleRun | None:
    with transaction.atomic():
        # no outer joins in a locking query: PostgreSQL refuses FOR UPDATE on them
        schedule = (
            Schedule.objects.select_for_update()
            .filter(pk=schedule_id, active=True, next_run__lte=today)
            .first()
        )
        if schedule is None:  # run meanwhile by another run_schedules
            return None
        months = schedule.months
        run_date, skipped = schedule.next_run, 0
        while add_months(run_date, months) <= today:  # missed periods: grade the latest only
            run_date, skipped = add_months(run_date, months), skipped + 1
        as_of = as_of_for(run_date, months)
        version = _latest_approved(schedule.ruleset, as_of)
        if version is None:
            # stays due: it runs on the first day the rule set has an approved version
            return ScheduleRun(schedule, as_of, None, skipped, "no approved version")
        evaluation = Evaluation.objects.filter(schedule=schedule, as_of=as_of).first()
        if evaluation is None:
            try:
                with transaction.atomic():
                    evaluation = queue_evaluation(
                        schedule.created_by, version, as_of, lang=lang, schedule=schedule
                    )
            except IntegrityError:  # queued by a concurrent run (unique per period)
                evaluation = Evaluation.objects.get(schedule=schedule, as_of=as_of)
        previous_run = schedule.next_run
        schedule.next_run = add_months(run_date, months)
        schedule.save(update_fields=["next_run"])
        record(
            None,
            "schedule.run",
            schedule,
            "",
            run_date=run_date,
            as_of=as_of,
            evaluation=evaluation.pk,
            skipped_periods=skipped,
            next_run=[previous_run, schedule.next_run],
        )
    return ScheduleRun(schedule, as_of, evaluation, skipped)


def run_due_schedules(today: dt.date, lang: str = "zh-hans") -> list[ScheduleRun]:
    """Queue one evaluation for each active schedule due on ``today`` and move its next
    run one period on. Idempotent: a period already queued is not queued again, and a
    schedule whose next run is still ahead is left alone; running it twice a day is
    harmless. Missed periods (the command did not run for a while) are not caught up one
    by one: the latest due period is graded and the others counted as skipped."""
    due = Schedule.objects.filter(active=True, next_run__lte=today).values_list("pk", flat=True)
    runs = []
    for schedule_id in list(due):
        run = _run_one(schedule_id, today, lang)
        if run is not None:
            runs.append(run)
    return runs
