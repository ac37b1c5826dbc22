"""Keeping the phone index and the cached policies current (connected in
:meth:`CallCentreConfig.ready`); see :mod:`tiering_web.callcentre.services` for the rule."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tiering_web.callcentre import services
from tiering_web.customers.models import Customer
from tiering_web.evaluations.signals import evaluation_published
from tiering_web.imports.models import ImportJob
from tiering_web.policies.models import PolicyVersion, TierPolicy
from tiering_web.rulesets.models import RuleSet


@receiver(post_save, sender=Customer, dispatch_uid="callcentre_index_customer")
def index_saved_customer(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or (update_fields is not None and "contacts" not in update_fields):
        return
    services.index_customer(instance)


@receiver(post_save, sender=ImportJob, dispatch_uid="callcentre_index_import")
def index_imported_customers(sender, instance, raw=False, **kwargs):
    if raw or instance.kind != ImportJob.Kind.CUSTOMERS or instance.status != "done":
        return
    since = instance.created_at
    transaction.on_commit(
        lambda: services.sync_phone_index(Customer.objects.filter(updated_at__gte=since))
    )


@receiver(evaluation_published, dispatch_uid="callcentre_index_after_publication")
def index_after_publication(sender, **kwargs):
    from tiering_web.callcentre.tasks import rebuild_phone_index

    rebuild_phone_index.enqueue()


@receiver(post_save, sender=PolicyVersion, dispatch_uid="callcentre_policy_saved")
@receiver(post_save, sender=TierPolicy, dispatch_uid="callcentre_tier_policy_saved")
@receiver(post_save, sender=RuleSet, dispatch_uid="callcentre_ruleset_saved")
@receiver(post_delete, sender=PolicyVersion, dispatch_uid="callcentre_policy_deleted")
@receiver(post_delete, sender=RuleSet, dispatch_uid="callcentre_ruleset_deleted")
def forget_terms(sender, **kwargs):
    services.clear_terms_cache()
    transaction.on_commit(services.clear_terms_cache)  # in case a reader refilled it meanwhile
