"""Background work of the accountwork app (django-tasks, database backend).

The ``evaluation_published`` receiver (see :mod:`.apps`) enqueues
:data:`propose_in_background`; the worker (``python -m tiering_web db_worker``) runs it,
so a publication never waits for the proposals and never fails because of them.
"""

from django.contrib.auth import get_user_model
from django_tasks import task

from tiering_web.accountwork.services import propose_assignments
from tiering_web.evaluations.models import Evaluation


@task()
def propose_in_background(evaluation_id: int, actor_id: int | None) -> int:
    """Propose the (re)assignments after evaluation ``evaluation_id`` was published by
    ``actor_id``; returns the number of proposals (none when the publication was
    withdrawn before the worker got to it)."""
    evaluation = Evaluation.objects.get(pk=evaluation_id)
    if evaluation.status == Evaluation.Status.WITHDRAWN:
        return 0
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return len(propose_assignments(evaluation, actor))
