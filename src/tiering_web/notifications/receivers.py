"""Receivers of other apps' signals (connected in :meth:`.apps.NotificationsConfig.ready`)."""

import logging

from django.dispatch import receiver

from tiering_web.customers.signals import customer_deactivated, customer_updated
from tiering_web.evaluations.signals import evaluation_published, evaluation_withdrawn

logger = logging.getLogger(__name__)


@receiver(evaluation_published, dispatch_uid="notifications.evaluation_published")
def on_evaluation_published(sender, evaluation, actor=None, **kwargs):
    """Queue the publication's messages in the background: the publishing request only
    adds one task row. The signal is sent with ``send_robust``, which swallows errors, so
    a failure is logged here."""
    from tiering_web.notifications.tasks import queue_publication_messages

    try:
        queue_publication_messages.enqueue(evaluation.pk)
    except Exception:
        logger.exception("could not queue the messages of evaluation %s", evaluation.pk)
        raise


@receiver(evaluation_withdrawn, dispatch_uid="notifications.evaluation_withdrawn")
def on_evaluation_withdrawn(sender, evaluation, actor=None, **kwargs):
    """The withdrawn publication's messages not sent yet are withdrawn with it (inside its
    transaction: a failure here undoes the withdrawal)."""
    from tiering_web.notifications.services import withdraw_publication_messages

    withdraw_publication_messages(evaluation, actor)


@receiver(customer_deactivated, dispatch_uid="notifications.customer_deactivated")
def on_customer_deactivated(sender, customer, **kwargs):
    """A deactivated customer's messages not sent yet are held back (``inactive``)."""
    from tiering_web.notifications.services import hold_messages_of

    return {"messages_cancelled": hold_messages_of(customer)}


@receiver(customer_updated, dispatch_uid="notifications.customer_updated")
def on_customer_updated(sender, customer, fields, actor=None, **kwargs):
    """Tell the integrations subscribed to ``customer.updated`` (queued inside the
    update's transaction: no event for a change rolled back)."""
    from tiering_web.notifications import events

    events.queue(events.customer_updated_events(customer, fields, actor))
