"""Signals other apps listen to when a customer is changed, deactivated or reactivated.

``customer_updated(sender=Customer, customer=..., actor=..., fields=[...])`` is sent
inside :func:`.services.do_update_customer`'s transaction once the changed ``fields`` are
saved (notifications queue the ``customer.updated`` event for integrations).

``customer_deactivated(sender=Customer, customer=..., actor=..., reason=...)`` and
``customer_reactivated(...)`` are sent inside the service's transaction
(:func:`.services.do_deactivate_customer`, :func:`.services.do_reactivate_customer`):
the tiers end or come back (evaluations), open revisit tasks and waiting proposals are
cancelled (accountwork), messages not sent yet are held back (notifications), and each
receiver returns what it did for the audit entry (``{"tiers_ended": 2}``). A receiver's
failure undoes the whole change."""

from django.dispatch import Signal

customer_updated = Signal()
customer_deactivated = Signal()
customer_reactivated = Signal()
