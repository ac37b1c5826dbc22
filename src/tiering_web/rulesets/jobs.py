"""Background work of the rulesets app: computing a queued what-if.

:func:`tiering_web.rulesets.services.do_queue_whatif` enqueues
:data:`tiering_web.rulesets.tasks.whatif_in_background`, which the worker
(``python -m tiering_web db_worker``) runs by calling :func:`execute_whatif`.

A running what-if is stamped with a heartbeat, and :func:`check_whatif`, which the page and
the API call before showing a pending run, fails it when its worker is gone: see
:mod:`tiering_web.jobs`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tiering import TieringError
from tiering_web.jobs import Heartbeat, both, fail_if_lost
from tiering_web.rulesets.models import WhatIfRun
from tiering_web.rulesets.whatif import result_json, what_if

_PENDING = (WhatIfRun.Status.QUEUED, WhatIfRun.Status.RUNNING)


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
        with Heartbeat(WhatIfRun, run.pk, [WhatIfRun.Status.RUNNING]):
            outcome = what_if(run.definition, run.baseline, run.as_of, progress=_stage(run.pk))
            data = result_json(outcome)
    except TieringError as error:
        _finish(run.pk, WhatIfRun.Status.FAILED, error=(error.message("en"), error.message("zh")))
    except Exception as error:
        detail = f"{type(error).__name__}: {error}"
        _finish(
            run.pk,
            WhatIfRun.Status.FAILED,
            error=both(lambda: _("unexpected error: %(detail)s") % {"detail": detail}),
        )
        raise
    else:
        _finish(run.pk, WhatIfRun.Status.DONE, result=data)
    run.refresh_from_db()
    return run


def check_whatif(run: WhatIfRun) -> WhatIfRun:
    """``run``, failed first if it is pending but will never finish (see
    :func:`tiering_web.jobs.fail_if_lost`); a run that is done, failed, or still alive is
    returned as it is."""
    return fail_if_lost(
        run,
        _PENDING,
        gettext_lazy("the what-if"),
        lambda error: {
            "status": WhatIfRun.Status.FAILED,
            "error_en": error[0],
            "error_zh": error[1],
            "finished_at": timezone.now(),
        },
    )
