"""Signals other apps listen to when a customer is deactivated or reactivated.

``customer_deactivated(sender=Customer, customer=..., actor=..., reason=...)`` and
``customer_reactivated(...)`` are sent inside the service's transaction
(:func:`.services.do_deactivate_customer`, :func:`.services.do_reactivate_customer`):
the tiers end or come back (evaluations), open revisit tasks and waiting proposals are
cancelled (accountwork), messages not sent yet are held back (notifications), and each
receiver returns what it did for the audit entry (``{"tiers_ended": 2}``). A receiver's
failure undoes the whole change."""

from django.dispatch import Signal

customer_deactivated = Signal()
customer_reactivated = Signal()
