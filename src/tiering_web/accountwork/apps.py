from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _on_published(sender, evaluation, actor=None, **kwargs):
    """Queue the assignment proposals of a just-published evaluation."""
    from tiering_web.accountwork.tasks import propose_in_background

    propose_in_background.enqueue(evaluation.pk, getattr(actor, "pk", None))


def _on_withdrawn(sender, evaluation, actor=None, **kwargs):
    """The proposals of a withdrawn publication still waiting can no longer be accepted."""
    from tiering_web.accountwork.services import withdraw_proposals

    withdraw_proposals(evaluation, actor)


def _on_customer_deactivated(sender, customer, actor=None, **kwargs):
    """A deactivated customer's open revisit tasks and waiting proposals are cancelled."""
    from tiering_web.accountwork.services import cancel_work_of

    return cancel_work_of(customer, actor)


class AccountWorkConfig(AppConfig):
    name = "tiering_web.accountwork"
    verbose_name = _("Account managers' work")

    def ready(self):
        from tiering_web.evaluations.signals import evaluation_published, evaluation_withdrawn

        evaluation_published.connect(_on_published, dispatch_uid="accountwork.propose")
        evaluation_withdrawn.connect(_on_withdrawn, dispatch_uid="accountwork.withdraw")
        from tiering_web.customers.signals import customer_deactivated

        customer_deactivated.connect(
            _on_customer_deactivated, dispatch_uid="accountwork.customer_deactivated"
        )
