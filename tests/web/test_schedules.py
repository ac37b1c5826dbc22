"""Scheduled evaluations: the period arithmetic, ``run_schedules`` (due or not, quarter
boundary, idempotent, missed periods, auto-publish), and the schedule pages."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tiering_web.accounts.models import Role
from tiering_web.audit.models import AuditEntry
from tiering_web.evaluations.models import Evaluation, Schedule, TierAssignment
from tiering_web.evaluations.schedules import (
    as_of_for,
    do_create_schedule,
    do_update_schedule,
    period_start,
)
from tiering_web.rulesets.services import do_create_ruleset, do_save_ruleset_version

from .conftest import AS_OF, EXPECTED, THRESHOLDS, approve
from .worker import run_worker

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
QUARTER_START = dt.date(2026, 10, 1)


def run_schedules(today: dt.date) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("run_schedules", today=today.isoformat(), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- the period arithmetic (no database) -------------------------------------------------


@pytest.mark.parametrize(
    ("run_date", "months", "start", "as_of"),
    [
        (dt.date(2026, 10, 1), 3, dt.date(2026, 10, 1), dt.date(2026, 9, 30)),
        (dt.date(2026, 11, 15), 3, dt.date(2026, 10, 1), dt.date(2026, 9, 30)),
        (dt.date(2027, 1, 1), 3, dt.date(2027, 1, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 3, 5), 1, dt.date(2026, 3, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 11, 5), 1, dt.date(2026, 11, 1), dt.date(2026, 10, 31)),
    ],
)
def test_a_run_grades_as_of_the_end_of_the_previous_period(run_date, months, start, as_of):
    """Given a run date, then its period starts on the first of its month or quarter and
    it grades as of the day before."""
    assert period_start(run_date, months) == start
    assert as_of_for(run_date, months) == as_of


# --- run_schedules -----------------------------------------------------------------------


@pytest.fixture
def quarterly(manager, version):
    return do_create_schedule(manager, version.ruleset, "quarterly", QUARTER_START, reason="Q")


@pytest.mark.django_db(transaction=True)
def test_a_due_schedule_queues_once_and_the_worker_makes_the_draft(manager, customers, quarterly):
    """Given a quarterly schedule whose next run is 1 October 2026, when run_schedules runs
    on 30 September, then nothing happens; on 1 October it queues one evaluation as of 30
    September and moves the next run to 1 January 2027; run again the same day or the
    next, it queues nothing more; the worker turns it into a draft awaiting review."""
    out, _ = run_schedules(dt.date(2026, 9, 30))
    assert out == "" and not Evaluation.objects.exists()

    out, _ = run_schedules(QUARTER_START)
    evaluation = Evaluation.objects.get()
    assert (evaluation.as_of, evaluation.status) == (AS_OF, Evaluation.Status.QUEUED)
    assert evaluation.schedule == quarterly and evaluation.created_by == manager
    quarterly.refresh_from_db()
    assert quarterly.next_run == dt.date(2027, 1, 1)
    assert f"evaluation #{evaluation.pk} as of 2026-09-30" in out and "2027-01-01" in out
    entry = AuditEntry.objects.get(action="schedule.run")
    assert entry.details["as_of"] == "2026-09-30" and entry.details["evaluation"] == evaluation.pk

    run_schedules(QUARTER_START)
    run_schedules(dt.date(2026, 10, 2))
    assert Evaluation.objects.count() == 1
    quarterly.refresh_from_db()
    assert quarterly.next_run == dt.date(2027, 1, 1)

    run_worker()
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.DRAFT
    assert dict(evaluation.results.values_list("customer__code", "tier")) == EXPECTED
    assert not TierAssignment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_period_already_queued_is_not_queued_again(manager, customers, quarterly):
    """Given the schedule's evaluation for the quarter already exists (another
    run_schedules got there first), when run_schedules runs, then it queues none and
    still moves the next run on."""
    Evaluation.objects.create(
        ruleset_version=quarterly.ruleset.latest_version(),
        as_of=AS_OF,
        schedule=quarterly,
        status=Evaluation.Status.QUEUED,
    )
    run_schedules(QUARTER_START)
    assert Evaluation.objects.count() == 1
    quarterly.refresh_from_db()
    assert quarterly.next_run == dt.date(2027, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_auto_publish_publishes_as_the_schedules_creator(manager, customers, version):
    """Given a monthly schedule that publishes automatically, when it runs on 1 October
    and the worker computes it, then the tiers as of 30 September are current and the
    schedule's creator is recorded as publisher."""
    schedule = do_create_schedule(
        manager, version.ruleset, "monthly", QUARTER_START, auto_publish=True
    )
    run_schedules(QUARTER_START)
    run_worker()
    evaluation = Evaluation.objects.get()
    assert evaluation.status == Evaluation.Status.PUBLISHED
    assert evaluation.published_by == manager
    current = TierAssignment.objects.filter(valid_to__isnull=True)
    assert dict(current.values_list("customer__code", "tier")) == EXPECTED
    entry = AuditEntry.objects.get(action="evaluation.publish")
    assert entry.reason == f"published automatically by schedule #{schedule.pk}"
    schedule.refresh_from_db()
    assert schedule.next_run == dt.date(2026, 11, 1)


@pytest.mark.django_db(transaction=True)
def test_auto_publish_waits_when_the_creator_may_no_longer_publish(manager, customers, version):
    """Given an auto-publishing schedule whose creator has since become an analyst, when
    it runs, then the draft waits for review and the audit log says why."""
    do_create_schedule(manager, version.ruleset, "quarterly", QUARTER_START, auto_publish=True)
    manager.role = Role.ANALYST
    manager.save()
    run_schedules(QUARTER_START)
    run_worker()
    assert Evaluation.objects.get().status == Evaluation.Status.DRAFT
    assert not TierAssignment.objects.exists()
    refused = AuditEntry.objects.get(action="evaluation.auto_publish.refused")
    assert refused.details["error"] == "the schedule's creator may not publish"


@pytest.mark.django_db(transaction=True)
def test_missed_periods_grade_the_latest_only(manager, customers, quarterly):
    """Given a schedule last due on 1 January 2026 (run_schedules did not run all year),
    when it runs on 1 October, then one evaluation as of 30 September is queued, three
    missed quarters are reported, and the next run is 1 January 2027."""
    do_update_schedule(manager, quarterly, {"next_run": dt.date(2026, 1, 1)}, "backdate")
    out, _ = run_schedules(QUARTER_START)
    assert list(Evaluation.objects.values_list("as_of", flat=True)) == [AS_OF]
    assert "3 missed period(s) skipped" in out
    quarterly.refresh_from_db()
    assert quarterly.next_run == dt.date(2027, 1, 1)


@pytest.mark.django_db
def test_a_schedule_runs_the_latest_version_in_effect_on_its_date(manager, version, quarterly):
    """Given version 1 in effect since 2020 and version 2 approved to take effect on 1
    October 2026, when the schedule runs on 1 October (as of 30 September), then it
    grades with version 1, which is in effect that day; on 1 January 2027 (as of 31
    December) with version 2."""
    later = approve(
        do_save_ruleset_version(
            manager, version.ruleset, version.definition, "Q4", effective_date=QUARTER_START
        )
    )
    run_schedules(QUARTER_START)
    run_schedules(dt.date(2027, 1, 1))
    runs = Evaluation.objects.order_by("as_of").values_list("as_of", "ruleset_version")
    assert list(runs) == [(AS_OF, version.pk), (dt.date(2026, 12, 31), later.pk)]


@pytest.mark.django_db
def test_inactive_or_unapproved_schedules_do_not_run(manager, quarterly):
    """Given an inactive schedule, and one whose rule set has no approved version, when
    run_schedules runs on the day, then neither queues; the inactive one is left alone
    and the other stays due, with the reason on stderr."""
    do_update_schedule(manager, quarterly, {"active": False}, "pause")
    ruleset = do_create_ruleset(manager, "草稿规则", "test")
    do_save_ruleset_version(manager, ruleset, THRESHOLDS, "draft only")
    pending = do_create_schedule(manager, ruleset, "monthly", QUARTER_START)

    _, err = run_schedules(QUARTER_START)

    assert not Evaluation.objects.exists()
    assert f"schedule #{pending.pk} (草稿规则): not run: no approved version" in err
    for schedule in (quarterly, pending):
        schedule.refresh_from_db()
        assert schedule.next_run == QUARTER_START


@pytest.mark.django_db
def test_the_command_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="expected YYYY-MM-DD"):
        call_command("run_schedules", today="1 Oct")


# --- the services and pages --------------------------------------------------------------


@pytest.mark.django_db
def test_schedule_services_validate_and_audit(manager, version):
    """Given a rule set, when a schedule is created on day 31, then the error names the
    next run; when it is created and then edited, the audit log holds the creation and
    each change as [old, new]; an edit that changes nothing writes nothing."""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        do_create_schedule(manager, version.ruleset, "monthly", dt.date(2026, 10, 31))
    assert list(error.value.error_dict) == ["next_run"]
    with pytest.raises(ValidationError) as error:
        do_create_schedule(manager, version.ruleset, "weekly", QUARTER_START)
    assert list(error.value.error_dict) == ["frequency"]

    schedule = do_create_schedule(manager, version.ruleset, "quarterly", QUARTER_START)
    do_update_schedule(manager, schedule, {"frequency": "monthly", "active": True}, "faster")
    do_update_schedule(manager, schedule, {"frequency": "monthly"}, "again")
    entries = list(AuditEntry.objects.filter(action__startswith="schedule.").order_by("id"))
    assert [e.action for e in entries] == ["schedule.create", "schedule.update"]
    assert entries[1].details["changes"] == {"frequency": ["quarterly", "monthly"]}
    assert entries[1].reason == "faster"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.ADMINISTRATOR, 200),
        (Role.MANAGER, 200),
        (Role.ACCOUNT_MANAGER, 403),
        (Role.ANALYST, 403),
    ],
)
def test_schedule_pages_role_matrix(django_user_model, manager, quarterly, role, expected):
    """Given a schedule, when each role opens the list and the edit page and posts a new
    schedule, then administrators and managers may, the others get 403 and nothing is
    created; anonymous visitors are sent to log in."""
    user = django_user_model.objects.create_user("u", password="x-secret-1", role=role)
    client = login(user)
    data = {"ruleset": quarterly.ruleset_id, "frequency": "monthly", "next_run": "2026-12-01"}
    assert client.get(reverse("schedule_list")).status_code == expected
    assert client.get(reverse("schedule_edit", args=[quarterly.pk])).status_code == expected
    posted = client.post(reverse("schedule_list"), data)
    assert posted.status_code == (302 if expected == 200 else 403)
    assert Schedule.objects.count() == (2 if expected == 200 else 1)
    for url in (reverse("schedule_list"), reverse("schedule_edit", args=[quarterly.pk])):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_schedule_pages_create_and_edit(manager, version):
    """Given the schedule page, when a manager creates a quarterly schedule, then it is
    listed with the as-of date of its first run; a day-31 next run is refused naming the
    field; editing it to auto-publish is saved with the reason in the audit log."""
    client = login(manager)
    url = reverse("schedule_list")
    data = {
        "ruleset": version.ruleset_id,
        "frequency": "quarterly",
        "next_run": "2026-10-01",
        "active": "on",
        "reason": "quarterly review",
    }
    assert client.post(url, data).status_code == 302
    schedule = Schedule.objects.get()
    assert (schedule.created_by, schedule.active, schedule.auto_publish) == (manager, True, False)
    page = client.get(url, **EN)
    assert "Quarterly" in page.text and "9/30/2026" in page.text
    assert AuditEntry.objects.get(action="schedule.create").reason == "quarterly review"

    bad = client.post(url, {**data, "next_run": "2026-10-31"}, **EN)
    assert bad.status_code == 200
    assert "Choose a day from 1 to 28" in bad.context["form"].errors["next_run"][0]
    assert Schedule.objects.count() == 1

    edit = reverse("schedule_edit", args=[schedule.pk])
    assert 'value="2026-10-01"' in client.get(edit).text
    changed = {**data, "auto_publish": "on", "reason": "trusted rules"}
    assert client.post(edit, changed).status_code == 302
    schedule.refresh_from_db()
    assert schedule.auto_publish and schedule.ruleset == version.ruleset
    entry = AuditEntry.objects.get(action="schedule.update")
    assert entry.details["changes"] == {"auto_publish": [False, True]}
    assert entry.reason == "trusted rules"
