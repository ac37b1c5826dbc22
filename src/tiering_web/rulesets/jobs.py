"""Background work of the rulesets app: computing a queued what-if.

:func:`tiering_web.rulesets.services.do_queue_whatif` enqueues
:data:`tiering_web.rulesets.tasks.whatif_in_background`, which the worker
(``python -m tiering_web db_worker``) runs by calling :func:`execute_whatif`.

A worker can die in the middle (killed, out of memory, the machine gone) without anyone
writing that down: django-tasks' own record of the task then stays ``RUNNING`` too. So a
running what-if is stamped with a heartbeat every :data:`HEARTBEAT_SECONDS` by a thread
of the worker, and :func:`check_whatif`, which the page and the API call before showing a
pending run, marks it failed when the heartbeat is older than :data:`LOST_AFTER`, or
when django-tasks says its task failed, finished or no longer exists while the run is
still pending.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from django.db import connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus, default_task_backend
from django_tasks.exceptions import TaskResultDoesNotExist

from tiering import TieringError
from tiering_web.rulesets.models import WhatIfRun
from tiering_web.rulesets.whatif import result_json, what_if

#: How often (seconds) the worker stamps a running what-if as alive.
HEARTBEAT_SECONDS = 5.0
#: A running what-if without a heartbeat for this long has lost its worker.
LOST_AFTER = dt.timedelta(seconds=60)

_PENDING = (WhatIfRun.Status.QUEUED, WhatIfRun.Status.RUNNING)


def _both(text: Callable[[], str]) -> tuple[str, str]:
    """``text()`` (a gettext call) in English and in Chinese, to store both."""
    out = []
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            out.append(text())
    return out[0], out[1]


class _Heartbeat:
    """While the ``with`` block runs, stamp ``heartbeat_at`` of the running what-if every
    ``every`` seconds from a thread (with its own database connection)."""

    def __init__(self, run_id: int, every: float | None = None):
        self.run_id, self.every = run_id, every or HEARTBEAT_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"whatif-{run_id}", daemon=True)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.every):
                WhatIfRun.objects.filter(pk=self.run_id, status=WhatIfRun.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connections.close_all()  # this thread's connections only

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _stage(run_id: int):
    def step(stage: str) -> None:
        WhatIfRun.objects.filter(pk=run_id, status=WhatIfRun.Status.RUNNING).update(
            stage=stage, heartbeat_at=timezone.now()
        )

    return step


def _finish(run_id: int, status: str, *, result=None, error: tuple[str, str] = ("", "")) -> bool:
    """End a running what-if; compare-and-set, so one already declared lost stays failed."""
    return bool(
        WhatIfRun.objects.filter(pk=run_id, status=WhatIfRun.Status.RUNNING).update(
            status=status,
            result=result,
            error_en=error[0],
            error_zh=error[1],
            finished_at=timezone.now(),
        )
    )


def execute_whatif(run_id: int) -> WhatIfRun | None:
    """Compute a queued what-if (what the background task calls).

    Marks it running, grades the customers under its baseline and its rules (the stage
    written as each step begins) and stores :func:`~tiering_web.rulesets.whatif.result_json`;
    an engine error (:class:`tiering.TieringError`) fails it with the engine's message in
    both languages, any other error fails it too and is raised again for the worker to
    record with its traceback. A run that is no longer queued (a task delivered twice) is
    left alone and None is returned. Must not be called inside a transaction (the engine
    reads through its own connection)."""
    with transaction.atomic():
        locked = WhatIfRun.objects.select_for_update().filter(pk=run_id).first()
        if locked is None or locked.status != WhatIfRun.Status.QUEUED:
            return None
        now = timezone.now()
        locked.status, locked.started_at, locked.heartbeat_at = WhatIfRun.Status.RUNNING, now, now
        locked.save(update_fields=["status", "started_at", "heartbeat_at"])
    run = WhatIfRun.objects.select_related("baseline__ruleset").get(pk=run_id)
    try:
        with _Heartbeat(run.pk):
            outcome = what_if(run.definition, run.baseline, run.as_of, progress=_stage(run.pk))
            data = result_json(outcome)
    except TieringError as error:
        _finish(run.pk, WhatIfRun.Status.FAILED, error=(error.message("en"), error.message("zh")))
    except Exception as error:
        detail = f"{type(error).__name__}: {error}"
        _finish(
            run.pk,
            WhatIfRun.Status.FAILED,
            error=_both(lambda: _("unexpected error: %(detail)s") % {"detail": detail}),
        )
        raise
    else:
        _finish(run.pk, WhatIfRun.Status.DONE, result=data)
    run.refresh_from_db()
    return run


def _lost(run: WhatIfRun, now: dt.datetime) -> tuple[str, str] | None:
    """Why a pending run will never finish, in English and Chinese; None while it may."""
    beat = run.heartbeat_at
    if run.status == WhatIfRun.Status.RUNNING and beat is not None and now - beat > LOST_AFTER:
        seconds = int((now - beat).total_seconds())
        return _both(
            lambda: (
                _("the background worker stopped: no sign of life for %(seconds)s seconds")
                % {"seconds": seconds}
            )
        )
    if not run.task_id:
        return None
    try:
        task = default_task_backend.get_result(run.task_id)
    except TaskResultDoesNotExist:
        return _both(lambda: _("the background task is gone"))
    if task.status == TaskResultStatus.FAILED:
        errors = getattr(task, "errors", None) or []
        kind = errors[-1].exception_class_path if errors else ""
        return _both(lambda: _("the background task failed (%(kind)s)") % {"kind": kind or "?"})
    if task.status == TaskResultStatus.SUCCESSFUL:
        return _both(lambda: _("the background task ended without finishing the what-if"))
    return None


def check_whatif(run: WhatIfRun) -> WhatIfRun:
    """``run``, failed first if it is pending but will never finish (see the module's
    docstring); a run that is done, failed, or still alive is returned as it is."""
    if not run.is_pending:
        return run
    error = _lost(run, timezone.now())
    if error is None:
        return run
    WhatIfRun.objects.filter(pk=run.pk, status__in=_PENDING).update(
        status=WhatIfRun.Status.FAILED,
        error_en=error[0],
        error_zh=error[1],
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run
