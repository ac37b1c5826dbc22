"""Background work of the rulesets app (django-tasks, database backend).

:func:`tiering_web.rulesets.services.do_queue_whatif` enqueues
:data:`whatif_in_background`; the worker (``python -m tiering_web db_worker``) runs it.
"""

from django_tasks import task

from tiering_web.rulesets.jobs import execute_whatif


@task()
def whatif_in_background(run_id: int) -> str | None:
    """Compute the queued what-if ``run_id``; returns its final status."""
    run = execute_whatif(run_id)
    return run.status if run is not None else None
