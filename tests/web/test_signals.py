"""``evaluation_published`` is sent once, after the publication commits."""

import pytest

from tiering_web.evaluations.models import TierAssignment
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.evaluations.signals import evaluation_published

from .conftest import AS_OF


@pytest.mark.django_db(transaction=True)
def test_published_signal_sees_the_new_tiers(manager, customers, version):
    seen = []

    def receiver(sender, evaluation, actor, **kwargs):
        seen.append(
            (evaluation.pk, actor, TierAssignment.objects.filter(evaluation=evaluation).count())
        )

    evaluation_published.connect(receiver)
    try:
        evaluation = run_evaluation(manager, version, AS_OF, lang="en")
        assert seen == []
        publish_evaluation(manager, evaluation, "Q3")
    finally:
        evaluation_published.disconnect(receiver)
    assert seen == [(evaluation.pk, manager, 6)]
