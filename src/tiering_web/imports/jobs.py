"""The web's import jobs: who may import, queueing a job for the background worker,
running it with its progress on the job, and failing a job whose worker is gone."""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tiering_web.accounts.models import Role
from tiering_web.accounts.permissions import role
from tiering_web.imports.checks import CHECKING
from tiering_web.imports.importing import IMPORTERS
from tiering_web.imports.issues import ImportRejected
from tiering_web.imports.models import ImportJob
from tiering_web.imports.uploads import _sample_path, upload_path
from tiering_web.jobs import Heartbeat, fail_if_lost


def can_import(user) -> bool:
    """Administrators and managers import customers, transactions and payments. Account managers
    may not (an import writes many customers at once, beyond their own), nor analysts."""
    return role(user) in (Role.ADMINISTRATOR, Role.MANAGER)


def can_see_job(user, job: ImportJob) -> bool:
    return can_import(user)


def queue_import(actor, job: ImportJob, mapping: dict[str, str], reason: str) -> ImportJob:
    """Queue the pending job's import with the chosen mapping for the background worker
    (:func:`tiering_web.imports.tasks.run_import`). The import itself records the audit
    entry, with this reason, when it writes."""
    from tiering_web.imports.tasks import run_import

    if job.status != ImportJob.Status.PENDING:
        raise ValueError(f"import job {job.pk} is {job.status}, not pending")
    job.mapping = {field: header for field, header in mapping.items() if header}
    job.reason = reason
    job.uploaded_by = job.uploaded_by or actor
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["mapping", "reason", "uploaded_by", "status"])
    result = run_import.enqueue(job.pk)
    job.task_id = str(result.id)
    job.save(update_fields=["task_id"])
    return job


class _JobProgress:
    """Writes a running job's phase and ``rows_done`` where the job's page can see them.

    The checking runs outside any transaction, so a plain UPDATE is visible at once. The
    writing runs inside the import's one transaction, whose own updates nobody sees until
    it commits: on PostgreSQL each step is written through a second connection in
    autocommit; SQLite allows one writer at a time, so there only the start of the writing
    is shown (written just before the transaction) and the counts when it commits."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.alias = router.db_for_write(ImportJob)
        self._side = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        status = ImportJob.Status.CHECKING if phase == CHECKING else ImportJob.Status.WRITING
        self.job.status, self.job.rows_done, self.job.rows_total = status, done, total
        main = connections[self.alias]
        if not main.in_atomic_block:
            ImportJob.objects.using(self.alias).filter(pk=self.job.pk).update(
                status=status, rows_done=done, rows_total=total
            )
        elif main.vendor == "postgresql":
            if self._side is None:
                self._side = connections.create_connection(self.alias)
            table = self._side.ops.quote_name(ImportJob._meta.db_table)
            with self._side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET status = %s, rows_done = %s, rows_total = %s "
                    "WHERE id = %s",
                    [status, done, total, self.job.pk],
                )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


_RUNNING = (ImportJob.Status.CHECKING, ImportJob.Status.WRITING)


def check_import(job: ImportJob) -> ImportJob:
    """``job``, failed first if it is queued or running but its worker is gone (see
    :func:`tiering_web.jobs.fail_if_lost`; nothing of it was written: the import writes
    in one transaction): what the job's pages call before showing it."""
    if not job.running:
        return job

    def failed(error: tuple[str, str]) -> dict[str, Any]:
        issue = {"row": None, "column": None, "value": None, "en": error[0], "zh": error[1]}
        return {"status": ImportJob.Status.FAILED, "finished_at": timezone.now(), "errors": [issue]}

    return fail_if_lost(
        job, (ImportJob.Status.QUEUED, *_RUNNING), gettext_lazy("the import"), failed
    )


def run_job(job_id: int) -> dict[str, Any]:
    """Run a queued job's import (called by the background task): check the whole file,
    then write it all or nothing, with the progress on the job. The stored file is removed
    once imported; a refused file stays, its job listing every bad row."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.CHECKING, heartbeat_at=timezone.now()
    )
    if not claimed:
        return {"job": job.pk, "status": job.status}  # already run (a repeated task)
    job.status = ImportJob.Status.CHECKING
    importer = IMPORTERS[job.kind]
    progress = _JobProgress(job)
    try:
        with Heartbeat(ImportJob, job.pk, _RUNNING):
            importer(
                job.uploaded_by,
                upload_path(job),
                job.mapping,
                job.reason,
                file_name=job.file_name,
                job=job,
                progress=progress,
            )
    except ImportRejected:
        pass
    except Exception as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            errors=[
                {
                    "row": None,
                    "column": None,
                    "value": None,
                    "en": f"the import stopped, nothing was imported: {message}",
                    "zh": f"导入中止，未导入任何数据：{message}",
                }
            ],
        )
        raise
    finally:
        progress.close()
    if job.status == ImportJob.Status.DONE:
        upload_path(job).unlink(missing_ok=True)
        _sample_path(upload_path(job)).unlink(missing_ok=True)
    return {
        "job": job.pk,
        "status": job.status,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "errors": len(job.errors),
    }
