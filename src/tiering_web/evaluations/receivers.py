"""The tiers follow a customer's deactivation (:mod:`tiering_web.customers.signals`)."""

from django.dispatch import receiver
from django.utils import timezone

from tiering_web.customers.signals import customer_deactivated, customer_reactivated
from tiering_web.evaluations import storage


@receiver(customer_deactivated, dispatch_uid="evaluations.customer_deactivated")
def on_customer_deactivated(sender, customer, **kwargs):
    """A deactivated customer holds no tier: its open tiers end today."""
    return {"tiers_ended": storage.end_tiers(customer, timezone.localdate())}


@receiver(customer_reactivated, dispatch_uid="evaluations.customer_reactivated")
def on_customer_reactivated(sender, customer, **kwargs):
    """The tiers its deactivation ended open again from today."""
    return {"tiers_restored": storage.restore_tiers(customer, timezone.localdate())}
