"""Jobs whose worker died (tiering_web.jobs): a real worker process killed with SIGKILL in
the middle of an import and of an evaluation; the job is marked failed with the reason,
nothing of it is written, and the work can be run again."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest
from django.db import connection
from django.urls import reverse

from tiering_web import jobs
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import Evaluation, EvaluationResult
from tiering_web.evaluations.services import check_evaluation, queue_evaluation
from tiering_web.imports import services
from tiering_web.imports.models import ImportJob

from .conftest import AS_OF
from .worker import run_worker, start_worker

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition, what: str, worker, seconds: float = 60) -> None:
    """Poll ``condition()`` until it holds; fail with the worker's stderr if it ended."""
    deadline = time.monotonic() + seconds
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the worker ended before {what}: {worker.stderr.read().decode()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds} s")
        time.sleep(0.05)


def kill(worker) -> None:
    worker.send_signal(signal.SIGKILL)
    worker.wait(30)
    worker.stderr.close()
    assert worker.returncode == -signal.SIGKILL


def test_an_import_whose_worker_is_killed_fails_and_writes_nothing(
    client, manager, settings, tmp_path, monkeypatch
):
    """Given a queued customers import whose file the worker cannot finish reading (a
    named pipe no one writes to), when the worker process is killed with SIGKILL while
    it checks the file, then the job reads as checking while its heartbeat is fresh, and
    as failed ("no sign of life") once it is older than the limit, on its page too; no
    customer was written, and the same file imports once uploaded again."""
    settings.VAR_DIR = tmp_path / "var"
    client.force_login(manager)
    text = "客户编号,客户名称\nK1,华东机械\nK2,南方贸易\n"
    upload = client.post(
        reverse("import_upload"),
        {"kind": "customers", "file": _csv(text)},
    )
    job = ImportJob.objects.latest("id")
    stored = services.upload_path(job)
    stored.unlink()
    os.mkfifo(stored)  # the mapping page uses the first rows kept at upload
    mapping = {field: "" for field in services.FIELDS["customers"]}
    mapping.update({"code": "客户编号", "name": "客户名称", "reason": "CRM export"})
    assert client.post(upload["Location"], mapping).status_code == 302

    worker = start_worker(TIERING_VAR_DIR=str(settings.VAR_DIR))
    wait_for(
        lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.CHECKING,
        "claimed job",
        worker,
    )
    kill(worker)

    job.refresh_from_db()
    assert services.check_import(job).status == ImportJob.Status.CHECKING  # fresh heartbeat
    monkeypatch.setattr(jobs, "LOST_AFTER", dt.timedelta(seconds=0.2))
    time.sleep(0.3)
    page = client.get(reverse("import_detail", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.finished_at is not None
    assert job.errors[0]["en"].startswith("the background worker stopped: no sign of life")
    assert job.errors[0]["zh"].startswith("后台")
    assert "no sign of life" in page.text
    assert Customer.objects.count() == 0

    stored.unlink()
    again = client.post(reverse("import_upload"), {"kind": "customers", "file": _csv(text)})
    assert client.post(again["Location"], mapping).status_code == 302
    run_worker()
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["K1", "K2"]


def _csv(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("客户.csv", text.encode("utf-8"), content_type="text/csv")


def test_an_evaluation_whose_worker_is_killed_fails_with_no_results(
    manager, customers, version, monkeypatch
):
    """Given a queued evaluation whose results the worker cannot write yet (the results
    table locked by another session), when the worker is killed with SIGKILL while it
    waits, then the evaluation reads as running while its heartbeat is fresh and as
    failed once it is older than the limit, with the audit entry of a failure and no
    result stored; run again, it grades every customer."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: on SQLite the lock would stop the worker before it runs")
    evaluation = queue_evaluation(manager, version, AS_OF)
    table = connection.ops.quote_name(EvaluationResult._meta.db_table)
    blocker = connection.copy()
    blocker.connect()
    blocker.set_autocommit(False)
    try:
        with blocker.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        worker = start_worker()
        wait_for(
            lambda: Evaluation.objects.get(pk=evaluation.pk).status == Evaluation.Status.RUNNING,
            "running evaluation",
            worker,
        )
        time.sleep(1.0)  # into the engine and the write it waits for
        kill(worker)
    finally:
        blocker.rollback()
        blocker.close()

    evaluation.refresh_from_db()
    assert check_evaluation(evaluation).status == Evaluation.Status.RUNNING
    monkeypatch.setattr(jobs, "LOST_AFTER", dt.timedelta(seconds=0.2))
    time.sleep(0.3)
    failed = check_evaluation(Evaluation.objects.get(pk=evaluation.pk))
    assert failed.status == Evaluation.Status.FAILED
    assert failed.error_en.startswith("the background worker stopped: no sign of life")
    assert not EvaluationResult.objects.filter(evaluation=failed).exists()
    assert AuditEntry.objects.filter(action="evaluation.fail", object_id=str(failed.pk)).exists()

    again = queue_evaluation(manager, version, AS_OF)
    run_worker()
    again.refresh_from_db()
    assert again.status == Evaluation.Status.DRAFT
    assert EvaluationResult.objects.filter(evaluation=again).count() == len(customers)
