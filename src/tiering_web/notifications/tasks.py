"""Background work of the notifications app (django-tasks, database backend), run by
``python -m tiering_web db_worker``.

:func:`queue_publication_messages` is enqueued when an evaluation is published (see
:mod:`.receivers`); every queuing enqueues :func:`send_due_messages` once it commits, and
``python -m tiering_web send_notifications`` (cron) sends what is due too, e.g. the
retries whose back-off has passed.
"""

from django_tasks import task

from tiering_web.evaluations.models import Evaluation
from tiering_web.notifications import events, sending, services


@task()
def send_due_messages() -> dict:
    """Send every due message; returns the counts (claimed, sent, failed, dead...)."""
    return vars(sending.send_due())


@task()
def queue_publication_messages(evaluation_id: int) -> dict:
    """Queue the messages of a published evaluation and its events for integrations (then
    the sending is enqueued)."""
    evaluation = Evaluation.objects.filter(pk=evaluation_id).first()
    if evaluation is None:
        return {"queued": 0}
    outcome = services.queue_publication(evaluation)
    return {
        "queued": outcome.queued,
        "existing": outcome.existing,
        "skipped": len(outcome.skipped),
        "events": events.queue_publication_events(evaluation),
    }
