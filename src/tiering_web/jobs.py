"""Background work that can outlive its worker: heartbeats, and jobs whose worker is gone.

A what-if, an evaluation and an import run in the background worker (``python -m
tiering_web db_worker``, django-tasks with the database backend). A worker can die in the
middle (killed, out of memory, the machine gone) without anyone writing that down:
django-tasks' own record of the task then stays ``RUNNING`` too, and so would the job. So:

* while a job runs, :class:`Heartbeat` stamps its ``heartbeat_at`` every
  :data:`HEARTBEAT_SECONDS` from a thread of the worker, through the thread's own database
  connection (on SQLite a stamp that meets the job's own write transaction is skipped:
  that transaction holds the database, and a page could not mark the job failed either);
* :func:`fail_if_lost`, which the pages and the API call before showing a pending job,
  marks it failed, with the reason in English and Chinese, when its heartbeat is older than
  :data:`LOST_AFTER`, or when django-tasks says its task failed, finished or no longer
  exists while the job is still pending. The update is a compare-and-set on the pending
  statuses, so a job that finished meanwhile keeps its result.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.db import DatabaseError, connections, models
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus, default_task_backend
from django_tasks.exceptions import TaskResultDoesNotExist

#: How often (seconds) the worker stamps a running job as alive.
HEARTBEAT_SECONDS = 5.0
#: A running job without a heartbeat for this long has lost its worker.
LOST_AFTER = dt.timedelta(seconds=60)


def both(text: Callable[[], str]) -> tuple[str, str]:
    """``text()`` (a gettext call) in English and in Chinese, to store both."""
    out = []
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            out.append(text())
    return out[0], out[1]


class Heartbeat:
    """While the ``with`` block runs, stamp ``heartbeat_at`` of the ``model`` row ``pk``
    every ``every`` seconds, as long as its status is one of ``running``, from a thread
    with its own database connection."""

    def __init__(
        self, model: type[models.Model], pk: int, running: Iterable[str], every: float | None = None
    ):
        self.model, self.pk, self.running = model, pk, list(running)
        self.every = every or HEARTBEAT_SECONDS
        self._stop = threading.Event()
        name = f"heartbeat-{model._meta.model_name}-{pk}"
        self._thread = threading.Thread(target=self._beat, name=name, daemon=True)

    def _beat(self) -> None:
        rows = self.model._default_manager.filter(pk=self.pk, status__in=self.running)
        try:
            while not self._stop.wait(self.every):
                try:
                    rows.update(heartbeat_at=timezone.now())
                except DatabaseError:  # SQLite: the job's own transaction holds the database
                    continue
        finally:
            connections.close_all()  # this thread's connections only

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def lost_reason(
    heartbeat_at: dt.datetime | None, task_id: str, what: Any, now: dt.datetime | None = None
) -> tuple[str, str] | None:
    """Why a pending job will never finish, in English and Chinese; None while it may.
    ``heartbeat_at`` is None while the job waits for a worker (only its task can tell
    then); ``what`` (a lazy translation: "the what-if") names the job in the message of a
    task that ended without it."""
    now = now or timezone.now()
    if heartbeat_at is not None and now - heartbeat_at > LOST_AFTER:
        seconds = int((now - heartbeat_at).total_seconds())
        return both(
            lambda: (
                _("the background worker stopped: no sign of life for %(seconds)s seconds")
                % {"seconds": seconds}
            )
        )
    if not task_id:
        return None
    try:
        task = default_task_backend.get_result(task_id)
    except TaskResultDoesNotExist:
        return both(lambda: _("the background task is gone"))
    if task.status == TaskResultStatus.FAILED:
        errors = getattr(task, "errors", None) or []
        kind = errors[-1].exception_class_path if errors else ""
        return both(lambda: _("the background task failed (%(kind)s)") % {"kind": kind or "?"})
    if task.status == TaskResultStatus.SUCCESSFUL:
        return both(
            lambda: _("the background task ended without finishing %(what)s") % {"what": str(what)}
        )
    return None


def fail_if_lost(
    job: models.Model,
    pending: Iterable[str],
    what: Any,
    fail: Callable[[tuple[str, str]], dict],
) -> models.Model:
    """``job``, failed first if it is pending (its status one of ``pending``) but will never
    finish (see :func:`lost_reason`). ``fail(reason)`` gives the fields that mark it
    failed (status, error texts, finish time). The update is a compare-and-set on the
    pending statuses; on SQLite, one that meets a running job's write transaction is
    skipped (the job is alive: its transaction holds the database)."""
    pending = list(pending)
    if job.status not in pending:
        return job
    reason = lost_reason(job.heartbeat_at, job.task_id, what)
    if reason is None:
        return job
    try:
        type(job)._default_manager.filter(pk=job.pk, status__in=pending).update(**fail(reason))
    except DatabaseError:
        return job
    job.refresh_from_db()
    return job
