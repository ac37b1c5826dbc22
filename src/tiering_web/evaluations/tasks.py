"""Background work of the evaluations app (django-tasks, database backend).

:func:`tiering_web.evaluations.services.queue_evaluation` enqueues
:data:`evaluate_in_background`; the worker (``python -m tiering_web db_worker``) runs it.
"""

from django_tasks import task

from tiering_web.evaluations.services import execute_evaluation


@task()
def evaluate_in_background(evaluation_id: int, lang: str) -> str | None:
    """Compute the queued evaluation ``evaluation_id``; returns its final status."""
    evaluation = execute_evaluation(evaluation_id, lang)
    return evaluation.status if evaluation is not None else None
