"""Tier policies: versions saved and approved through the services, and the terms in
force on a date read back, also for a customer through their tier history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from tiering_web.audit.models import AuditEntry
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.policies.models import PolicyVersion
from tiering_web.policies.services import (
    customer_policy,
    do_save_policy_version,
    policies_in_force,
)
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF, NEXT_QUARTER, approve_policies

GOLD = [{"code": "member_price", "zh": "会员价", "en": "Member price"}]


def rows(a_terms=30):
    return [
        {
            "tier": "A",
            "benefits": GOLD,
            "payment_terms_days": a_terms,
            "dedicated_manager": True,
            "revisit_days": 30,
            "queue_priority": 1,
            "answer_seconds": 20,
            "answer_share": Decimal("0.900"),
        },
        {"tier": "B", "payment_terms_days": 15, "revisit_days": 90, "queue_priority": 3},
        {"tier": "C", "queue_priority": 5},
    ]


@pytest.mark.django_db
def test_versions_in_force_by_date(manager, version):
    """Given v1 effective 2026-01-01 and v2 (A's payment terms 45 days) effective
    2026-10-01, both approved, when reading the terms in force, then 2026-09-30 reads v1,
    2026-10-01 reads v2, and before 2026-01-01 there are none; a draft is never in force."""
    ruleset = version.ruleset
    v1 = do_save_policy_version(manager, ruleset, dt.date(2026, 1, 1), rows(), "first")
    assert policies_in_force(ruleset, dt.date(2026, 9, 30)) == {}  # still a draft
    approve_policies(v1, "ok")
    v2 = do_save_policy_version(manager, ruleset, dt.date(2026, 10, 1), rows(45), "longer terms")
    approve_policies(v2, "ok")

    assert policies_in_force(ruleset, dt.date(2025, 12, 31)) == {}
    before = policies_in_force(ruleset, dt.date(2026, 9, 30))
    after = policies_in_force(ruleset, dt.date(2026, 10, 1))
    assert before["A"].payment_terms_days == 30 and after["A"].payment_terms_days == 45
    assert before["A"].benefits == GOLD and after["B"].revisit_days == 90
    assert (v1.number, v2.number) == (1, 2)
    actions = list(AuditEntry.objects.values_list("action", flat=True).order_by("id"))
    assert actions[-4:] == [
        "policy.version.save",
        "policy.version.approve",
        "policy.version.save",
        "policy.version.approve",
    ]


@pytest.mark.django_db
def test_bad_versions_are_refused_whole(manager, version):
    """Given a version missing tier C, naming an unknown tier, giving A twice, a discount
    of 150% and a benefit without a code, when it is saved, then every problem is named
    and nothing is written."""
    bad = [
        {"tier": "A", "discount_percent": Decimal("150"), "benefits": [{"zh": "生日礼"}]},
        {"tier": "A"},
        {"tier": "VIP"},
        {"tier": "B", "colour": "gold"},
    ]
    with translation.override("en"), pytest.raises(ValidationError) as error:
        do_save_policy_version(manager, version.ruleset, dt.date(2026, 1, 1), bad, "x")
    text = " | ".join(error.value.messages)
    assert "VIP is not a tier of 按营收分级 (A, B, C)" in text
    assert "A is given twice" in text and "no policy for C" in text
    assert "A, discount_percent" in text and "benefit 1 needs a code" in text
    assert "B: unknown fields colour" in text
    assert not PolicyVersion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_customer_terms_follow_their_tier_on_the_date(manager, customers, version):
    """Given C4 graded C as of AS_OF and (after a 1.00 order) B as of NEXT_QUARTER, both
    published, when reading C4's policy on each date, then it is C's, then B's."""
    from tiering_web.customers.models import Transaction

    do_set_primary(manager, version.ruleset, "test")
    v = do_save_policy_version(manager, version.ruleset, dt.date(2026, 1, 1), rows(), "first")
    approve_policies(v, "ok")
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"), "Q3")
    Transaction.objects.create(
        customer=customers["C4"], date=dt.date(2026, 10, 15), amount=Decimal("1.00")
    )
    publish_evaluation(manager, run_evaluation(manager, version, NEXT_QUARTER, lang="en"), "Q4")

    tier, policy = customer_policy(customers["C4"], dt.date(2026, 11, 1))
    assert (tier, policy.queue_priority) == ("C", 5)
    tier, policy = customer_policy(customers["C4"])
    assert (tier, policy.queue_priority, policy.revisit_days) == ("B", 3, 90)
