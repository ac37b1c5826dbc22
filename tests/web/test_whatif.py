"""The rule-set what-if in the background: queued by a service, computed by the worker's
task in stages with a heartbeat, stored compactly, reused while pending, failed with the
engine's message in both languages, failed when its worker is lost; and over the API.
On SQLite by default, on PostgreSQL with ``DATABASE_URL``."""

import datetime as dt
import time
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tiering_web.accounts.models import Role
from tiering_web.jobs import Heartbeat
from tiering_web.rulesets import jobs
from tiering_web.rulesets.models import RuleSetVersion, WhatIfRun
from tiering_web.rulesets.services import do_create_ruleset, do_queue_whatif
from tiering_web.rulesets.whatif import WhatIfResult, result_json, what_if

from .conftest import AS_OF, THRESHOLDS
from .worker import run_worker

# the engine reads through its own connection, which sees committed rows only
pytestmark = pytest.mark.django_db(transaction=True)

#: THRESHOLDS with A raised to 120,000 and B lowered to 19,999: C2 goes down, C4 up.
EDITED = {
    **THRESHOLDS,
    "tiers": [{"name": "A", "min": 120000}, {"name": "B", "min": 19999}, {"name": "C"}],
}

#: Rules on a customer attribute the app's customers lack: valid rules, refused by the
#: engine when it meets the data.
NEEDS_REGION = {
    "name": "按地区评分",
    "lookback": "12 months",
    "scorecard": [
        {"factor": "revenue", "weight": 50, "scale": "percentile"},
        {"factor": "attribute.region", "weight": 50, "scale": {"map": {"north": 100}}},
    ],
    "tiers": [{"name": "A", "min_score": 75}, {"name": "B"}],
}


def test_the_background_gives_the_comparison_the_synchronous_what_if_gave(
    manager, customers, version
):
    """Given the approved THRESHOLDS and the edited rules, when a what-if is queued and the
    worker runs it, then it goes queued → running (reading, grading current, grading
    proposed, comparing) → done, its stored result is exactly what the synchronous
    what-if gives, read back for the page, and no version is saved."""
    stages = []
    step = jobs._stage

    def spy(run_id):
        inner = step(run_id)

        def record(stage):
            stages.append((stage, WhatIfRun.objects.get(pk=run_id).status))
            inner(stage)

        return record

    run = do_queue_whatif(manager, version.ruleset, EDITED, AS_OF)
    assert run.status == "queued" and run.baseline == version and run.stage == ""
    task = DBTaskResult.objects.get()
    assert str(task.id) == run.task_id and task.status == "READY"

    with mock.patch.object(jobs, "_stage", spy):
        run_worker()

    run.refresh_from_db()
    assert stages == [
        ("reading", "running"),
        ("grading_current", "running"),
        ("grading_proposed", "running"),
        ("comparing", "running"),
    ]
    assert (run.status, run.stage, run.step) == ("done", "comparing", 4)
    assert run.started_at <= run.heartbeat_at <= run.finished_at
    assert run.error_en == run.error_zh == ""
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL" and task.return_value == "done"

    synchronous = result_json(what_if(EDITED, version, AS_OF))
    assert run.result == synchronous
    stored = WhatIfResult.from_json(run.result)
    c = stored.comparison
    assert (c.customers, c.changed, c.up, c.down, c.unordered) == (6, 2, 1, 1, 0)
    assert str(c.changed_revenue) == "119999.99"
    assert [(m["code"], m["before"], m["after"], str(m["revenue"])) for m in stored.down] == [
        ("C2", "A", "B", "100000.00")
    ]
    assert RuleSetVersion.objects.count() == 1
    # compact: the page's numbers, no row per customer
    assert set(run.result) == {"as_of", "baseline", "tier_names", "distribution", "comparison"}
    assert len(run.result["comparison"]["movers"]["up"]) == 1


def test_the_same_request_while_pending_is_answered_by_the_same_run(manager, customers, version):
    """Given a queued what-if, when the same rules are asked again (also as YAML text), then
    the same run answers with no second task; other rules or another date make a new
    run; once done, the same rules are graded again."""
    first = do_queue_whatif(manager, version.ruleset, EDITED, AS_OF)
    yaml_text = (
        "name: 按营收分级\nlookback: 12 months\nthresholds: {metric: revenue}\n"
        "tiers:\n- {name: A, min: 120000}\n- {name: B, min: 19999}\n- {name: C}\n"
    )
    assert do_queue_whatif(manager, version.ruleset, yaml_text, AS_OF) == first
    other_day = do_queue_whatif(manager, version.ruleset, EDITED, dt.date(2026, 6, 30))
    other_rules = do_queue_whatif(manager, version.ruleset, THRESHOLDS, AS_OF)
    assert len({first.pk, other_day.pk, other_rules.pk}) == 3
    assert DBTaskResult.objects.count() == 3
    run_worker()
    again = do_queue_whatif(manager, version.ruleset, EDITED, AS_OF)
    assert again != first and again.status == "queued"


def test_an_engine_error_fails_the_run_in_both_languages(manager, customers):
    """Given rules scoring an attribute the customers lack, when the what-if runs, then it
    fails with the engine's message in English and Chinese, and the task itself ends
    successfully (the failure is the answer, not a crash)."""
    ruleset = do_create_ruleset(manager, "按地区评分", "test")
    run = do_queue_whatif(manager, ruleset, NEEDS_REGION, AS_OF)
    run_worker()
    run.refresh_from_db()
    assert run.status == "failed" and run.result is None and run.finished_at is not None
    assert "the customers file has no column 'region'" in run.error("en")
    assert "客户文件中没有列 'region'" in run.error("zh-hans")
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_an_unexpected_error_fails_the_run_and_the_task(manager, customers, version):
    """Given an error nobody planned for, when the worker meets it, then the run is failed
    with its text in both languages and django-tasks records the task failed."""
    run = do_queue_whatif(manager, version.ruleset, EDITED, AS_OF)
    with mock.patch.object(jobs, "what_if", side_effect=OSError("connection lost")):
        run_worker()
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error_en == "unexpected error: OSError: connection lost"
    assert run.error_zh == "意外错误：OSError: connection lost"
    task = DBTaskResult.objects.get()
    assert task.status == "FAILED" and "connection lost" in task.traceback


def test_a_run_whose_worker_is_lost_reads_as_failed(manager, customers, version):
    """Given running what-ifs whose worker died (no heartbeat for two minutes), whose task
    django-tasks records as failed, or whose task is gone, when they are read, then each
    reads as failed with the reason in both languages; a live one stays running, and the
    same request then queues a new run."""
    now = timezone.now()
    runs = [do_queue_whatif(manager, version.ruleset, EDITED, AS_OF + dt.timedelta(days=i))
            for i in range(4)]  # fmt: skip
    silent, crashed, gone, alive = runs
    WhatIfRun.objects.filter(pk__in=[r.pk for r in runs]).update(
        status="running", stage="grading_current", started_at=now, heartbeat_at=now
    )
    WhatIfRun.objects.filter(pk=silent.pk).update(heartbeat_at=now - dt.timedelta(minutes=2))
    DBTaskResult.objects.filter(id=crashed.task_id).update(status="FAILED")
    DBTaskResult.objects.filter(id=gone.task_id).delete()

    read = {r.pk: jobs.check_whatif(WhatIfRun.objects.get(pk=r.pk)) for r in runs}
    assert read[alive.pk].status == "running"
    assert read[silent.pk].status == "failed"
    assert read[silent.pk].error_en.startswith("the background worker stopped")
    assert read[silent.pk].error_zh.startswith("后台")
    assert read[crashed.pk].status == read[gone.pk].status == "failed"
    assert read[gone.pk].error_en == "the background task is gone"
    assert read[crashed.pk].error_en.startswith("the background task failed")
    renewed = do_queue_whatif(manager, version.ruleset, EDITED, AS_OF)
    assert renewed.pk not in {r.pk for r in runs} and renewed.status == "queued"
    # the lost worker coming back later cannot overwrite the failure
    assert jobs._finish(silent.pk, "done", result={}) is False
    assert WhatIfRun.objects.get(pk=silent.pk).status == "failed"


def test_the_heartbeat_stamps_a_running_run(manager, customers, version):
    """Given a running what-if, while its heartbeat runs, then ``heartbeat_at`` moves on."""
    run = do_queue_whatif(manager, version.ruleset, EDITED, AS_OF)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    WhatIfRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=long_ago)
    with Heartbeat(WhatIfRun, run.pk, ["running"], every=0.05):
        time.sleep(0.5)
    assert WhatIfRun.objects.get(pk=run.pk).heartbeat_at > long_ago + dt.timedelta(minutes=59)


# --- the API -------------------------------------------------------------------------------


@pytest.fixture
def analyst(django_user_model):
    return django_user_model.objects.create_user("zhao", password="x-secret-1", role=Role.ANALYST)


def test_the_api_queues_a_what_if_and_reads_its_result(manager, analyst, customers, version):
    """Given the API, when a manager posts edited rules, then the answer is 202 with the
    queued run; after the worker, reading it gives the result; an analyst may do
    neither; bad rules are refused with the field named."""
    client = Client()
    client.force_login(manager)
    url = f"/api/rulesets/{version.ruleset.pk}/whatif"
    body = {"definition": EDITED, "as_of": AS_OF.isoformat()}
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 202, response.content
    queued = response.json()
    assert (queued["status"], queued["stage"], queued["baseline"]) == ("queued", "", 1)
    assert queued["requested_by"] == "wang" and queued["result"] is None
    run_worker()
    read = client.get(f"{url}/{queued['id']}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert read["status"] == "done" and read["stage"] == "comparing"
    comparison = read["result"]["comparison"]
    assert (comparison["up"], comparison["down"], comparison["changed_revenue"]) == (
        1,
        1,
        "119999.99",
    )
    assert read["result"]["distribution"] == [
        ["A", 1, "150000.00"],
        ["B", 4, "164999.99"],
        ["C", 1, "0.00"],
    ]

    bad = {"definition": {**THRESHOLDS, "tiers": [{"name": "A", "min": 5}, {"name": "B",
           "min": 10}, {"name": "C"}]}, "as_of": AS_OF.isoformat()}  # fmt: skip
    refused = client.post(url, bad, content_type="application/json")
    assert refused.status_code == 409
    assert any(e["field"].startswith("tiers[1]") for e in refused.json()["errors"])

    reader = Client()
    reader.force_login(analyst)
    assert reader.post(url, body, content_type="application/json").status_code == 403
    assert reader.get(f"{url}/{queued['id']}").status_code == 403
    assert client.get(f"{url}/999999").status_code == 404
    assert WhatIfRun.objects.count() == 1
