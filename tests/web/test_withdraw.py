"""Tier assignments as periods, and withdrawing the publication in force: the tiers it
changed go back, all or nothing, audited, from the service, the page and the API."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Transaction
from tiering_web.customers.services import do_create_customer
from tiering_web.evaluations.explanations import customer_tiers
from tiering_web.evaluations.models import Evaluation, TierAssignment
from tiering_web.evaluations.services import (
    publish_evaluation,
    run_evaluation,
    withdraw_evaluation,
)

from .conftest import AS_OF, EXPECTED, NEXT_QUARTER, THRESHOLDS, approved_version

pytestmark = pytest.mark.django_db(transaction=True)


def periods(ruleset) -> list[tuple]:
    """Every assignment of the rule set, as comparable tuples."""
    return list(
        TierAssignment.objects.filter(ruleset=ruleset)
        .order_by("customer__code", "valid_from", "id")
        .values_list(
            "customer__code", "tier", "valid_from", "valid_to", "evaluation_id", "grace_count"
        )
    )


def open_tiers(ruleset) -> dict[str, str]:
    return dict(
        TierAssignment.objects.filter(ruleset=ruleset, valid_to__isnull=True).values_list(
            "customer__code", "tier"
        )
    )


@pytest.fixture
def second_quarter(manager, customers, version):
    """Q3 published; then C4 buys 90,000 (C → A), C7 joins (new) and a Q4 draft."""
    first = publish_evaluation(manager, run_evaluation(manager, version, AS_OF), "Q3")
    Transaction.objects.create(
        customer=customers["C4"], date=dt.date(2026, 11, 15), amount=Decimal("90000.00")
    )
    newcomer = do_create_customer(manager, {"code": "C7", "name": "新客户"}, "test data")
    Transaction.objects.create(
        customer=newcomer, date=dt.date(2026, 12, 1), amount=Decimal("60000.00")
    )
    return first, run_evaluation(manager, version, NEXT_QUARTER)


def test_withdrawing_puts_back_the_tiers_of_the_publication_before(
    manager, customers, version, second_quarter
):
    """Given Q3 published and Q4 published over it (C4 up to A, the newcomer C7 graded),
    when Q4 is withdrawn with a reason, then the assignments are exactly those after Q3
    (C4's C reopened, C7's deleted), Q3 is in force again, Q4 is 'withdrawn' with its
    results kept, and the audit entry counts what moved back."""
    first, second = second_quarter
    ruleset = version.ruleset
    after_q3 = periods(ruleset)
    publish_evaluation(manager, second, "Q4")
    assert open_tiers(ruleset) == {**EXPECTED, "C4": "A", "C7": "B"}

    withdrawn = withdraw_evaluation(manager, second, "wrong quarter end")

    assert withdrawn.status == Evaluation.Status.WITHDRAWN
    assert periods(ruleset) == after_q3
    assert open_tiers(ruleset) == EXPECTED
    assert Evaluation.in_force(ruleset) == first
    assert second.results.count() == 7
    entry = AuditEntry.objects.get(action="evaluation.withdraw")
    assert (entry.actor, entry.reason) == (manager, "wrong quarter end")
    assert (entry.object_type, entry.object_id) == ("evaluations.evaluation", str(second.pk))
    assert (entry.details["deleted"], entry.details["reopened"]) == (2, 1)
    assert entry.details["restored"] == first.pk

    # the quarter can be published again, and a later one on top of it
    again = publish_evaluation(manager, run_evaluation(manager, version, NEXT_QUARTER), "Q4 again")
    assert open_tiers(ruleset) == {**EXPECTED, "C4": "A", "C7": "B"}
    assert Evaluation.in_force(ruleset) == again


def test_withdrawing_the_only_publication_leaves_no_tiers(manager, customers, version):
    """Given one publication, when it is withdrawn, then the rule set has no tiers and the
    next evaluation sees every customer as new."""
    ruleset = version.ruleset
    only = publish_evaluation(manager, run_evaluation(manager, version, AS_OF))
    withdraw_evaluation(manager, only, "published the test rules")
    assert not TierAssignment.objects.filter(ruleset=ruleset).exists()
    assert Evaluation.in_force(ruleset) is None
    draft = run_evaluation(manager, version, AS_OF)
    assert set(draft.results.values_list("change", flat=True)) == {""}


def test_withdrawing_restores_the_grace_counts(manager, customers, grace_version):
    """Given a rule set with a grace of two and C1 kept in A once by grace, when that
    publication is withdrawn, then C1's open assignment is back to grace 0 (as Q3 left
    it), so the next run counts the grace from the start again."""
    version = grace_version
    ruleset = version.ruleset
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF))
    later = publish_evaluation(manager, run_evaluation(manager, version, dt.date(2027, 9, 30)))
    c1 = TierAssignment.objects.get(ruleset=ruleset, customer=customers["C1"], valid_to=None)
    assert (c1.tier, c1.grace_count) == ("A", 1)

    withdraw_evaluation(manager, later, "too early")

    c1.refresh_from_db()
    assert (c1.tier, c1.grace_count, c1.valid_to) == ("A", 0, None)
    assert AuditEntry.objects.get(action="evaluation.withdraw").details["grace"] >= 1
    redo = run_evaluation(manager, version, dt.date(2027, 9, 30))
    assert redo.results.get(customer__code="C1").grace_count == 1


def test_rules_without_grace_clear_the_grace_counts_of_those_who_stay(
    manager, customers, grace_version
):
    """Given C1 kept in A by grace (count 1) under a version with a grace of two, when a
    version without grace that still puts C1 in A (24 months of revenue) is published,
    then C1 keeps the same assignment, with the grace count back to 0."""
    with_grace, ruleset = grace_version, grace_version.ruleset
    later = dt.date(2027, 9, 30)
    publish_evaluation(manager, run_evaluation(manager, with_grace, AS_OF))
    publish_evaluation(manager, run_evaluation(manager, with_grace, later))
    c1 = TierAssignment.objects.get(ruleset=ruleset, customer=customers["C1"], valid_to=None)
    assert (c1.tier, c1.grace_count) == ("A", 1)

    rules = {**THRESHOLDS, "lookback": "24 months"}
    without = approved_version(manager, ruleset, rules, "two years, no grace")
    publish_evaluation(manager, run_evaluation(manager, without, later))

    kept = TierAssignment.objects.get(ruleset=ruleset, customer=customers["C1"], valid_to=None)
    assert (kept.pk, kept.tier, kept.grace_count) == (c1.pk, "A", 0)
    entry = AuditEntry.objects.filter(action="evaluation.publish").latest("id")
    assert entry.details["grace"] >= 1


def test_only_the_publication_in_force_can_be_withdrawn(
    manager, customers, version, second_quarter
):
    """Given Q3 and Q4 published, when withdrawing Q3, a draft, or Q4 without a reason,
    then each is refused with its field and nothing changes; Q4 then Q3 in turn works."""
    first, second = second_quarter
    ruleset = version.ruleset
    publish_evaluation(manager, second, "Q4")
    before = periods(ruleset)
    draft = run_evaluation(manager, version, NEXT_QUARTER)

    for evaluation, reason, code in (
        (first, "older", "not_latest"),
        (draft, "a draft", "status"),
        (second, "  ", "required"),
    ):
        with pytest.raises(ValidationError) as e:
            withdraw_evaluation(manager, evaluation, reason)
        field = "reason" if code == "required" else "status"
        assert e.value.error_dict[field][0].code == code
    assert periods(ruleset) == before
    assert not AuditEntry.objects.filter(action="evaluation.withdraw").exists()

    withdraw_evaluation(manager, second, "Q4 wrong")
    withdraw_evaluation(manager, first, "Q3 wrong too")
    assert not TierAssignment.objects.filter(ruleset=ruleset).exists()
    with pytest.raises(ValidationError):
        withdraw_evaluation(manager, second, "twice")


def test_an_earlier_date_cannot_be_published_over_a_later_one(manager, customers, version):
    """Given September published, then December published with nobody's tier changed (so
    every open assignment still starts in September), when another September draft is
    published, then it is refused: the publication in force is of a later date; after
    December is withdrawn it is accepted."""
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF))
    older = run_evaluation(manager, version, AS_OF)
    december = publish_evaluation(manager, run_evaluation(manager, version, NEXT_QUARTER))
    entry = AuditEntry.objects.filter(action="evaluation.publish").latest("id")
    assert (entry.details["closed"], entry.details["opened"], entry.details["kept"]) == (0, 0, 6)
    assert not TierAssignment.objects.filter(valid_from=NEXT_QUARTER).exists()

    with pytest.raises(ValidationError) as e:
        publish_evaluation(manager, older)
    assert "as_of" in e.value.message_dict
    withdraw_evaluation(manager, december, "wrong date")
    publish_evaluation(manager, older)
    assert open_tiers(version.ruleset) == EXPECTED


def test_the_why_comes_from_the_publication_in_force(manager, customers, version):
    """Given C1 in A since Q3 and kept in A by Q4 (its assignment opened by Q3), when the
    customer page and the API show the current tier, then the date is Q3's (since when)
    and the explanation is Q4's result (why today), with Q4's revenue."""
    first = publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"))
    first_result = first.results.get(customer__code="C1")
    Transaction.objects.create(
        customer=customers["C1"], date=dt.date(2026, 11, 1), amount=Decimal("12345.00")
    )
    q4 = publish_evaluation(manager, run_evaluation(manager, version, NEXT_QUARTER, lang="en"))
    q4_result = q4.results.get(customer__code="C1")

    (current,) = customer_tiers(customers["C1"])
    assert (current.assignment.tier, current.assignment.valid_from) == ("A", AS_OF)
    assert current.result == q4_result

    client = Client()
    client.force_login(manager)
    (tier,) = client.get("/api/customers/C1/tiers").json()
    assert (tier["tier"], tier["valid_from"]) == ("A", AS_OF.isoformat())
    assert tier["explanation"]["details"]["revenue"] == q4_result.details["revenue"]
    assert q4_result.details["revenue"] != first_result.details["revenue"]


def test_a_publication_written_the_old_way_is_withdrawn_too(manager, customers, version):
    """Given two publications stored as before 2026-12 (every assignment closed at the
    second's date without closed_by, and one opened per customer), when the second is
    withdrawn, then the first's assignments are open again and the second's are gone."""
    ruleset = version.ruleset
    first = publish_evaluation(manager, run_evaluation(manager, version, AS_OF))
    second = run_evaluation(manager, version, NEXT_QUARTER)
    # what publishing did before periods: close all, open one per result
    TierAssignment.objects.filter(ruleset=ruleset, valid_to=None).update(valid_to=NEXT_QUARTER)
    TierAssignment.objects.bulk_create(
        TierAssignment(
            customer_id=r.customer_id,
            ruleset=ruleset,
            tier=r.tier,
            valid_from=NEXT_QUARTER,
            evaluation=second,
        )
        for r in second.results.all()
    )
    Evaluation.objects.filter(pk=second.pk).update(status=Evaluation.Status.PUBLISHED)

    withdraw_evaluation(manager, second, "legacy")

    assert open_tiers(ruleset) == EXPECTED
    assert set(
        TierAssignment.objects.filter(ruleset=ruleset).values_list("evaluation_id", flat=True)
    ) == {first.pk}


def test_managers_withdraw_from_the_evaluation_page(manager, customers, version, django_user_model):
    """Given a publication in force, when a manager opens its page, then a withdraw form
    is there (not on an older publication's page); posting it without a reason is a 400
    naming the field, with a reason the tiers go back; an analyst may not post it."""
    from tiering_web.accounts.models import Role

    first = publish_evaluation(manager, run_evaluation(manager, version, AS_OF))
    second = publish_evaluation(manager, run_evaluation(manager, version, NEXT_QUARTER))
    client = Client()
    client.force_login(manager)
    assert 'id="withdraw-form"' in client.get(f"/evaluations/{second.pk}/").content.decode()
    assert 'id="withdraw-form"' not in client.get(f"/evaluations/{first.pk}/").content.decode()

    url = f"/evaluations/{second.pk}/withdraw/"
    empty = client.post(url, {"withdraw-reason": "", "withdraw-confirm": "on"})
    assert empty.status_code == 400 and 'id="withdraw-form"' in empty.content.decode()
    analyst = django_user_model.objects.create_user("li", password="x-secret-1", role=Role.ANALYST)
    other = Client()
    other.force_login(analyst)
    assert other.post(url, {"withdraw-reason": "x", "withdraw-confirm": "on"}).status_code == 403
    second.refresh_from_db()
    assert second.status == Evaluation.Status.PUBLISHED

    done = client.post(url, {"withdraw-reason": "wrong date", "withdraw-confirm": "on"})
    assert done.status_code == 302
    second.refresh_from_db()
    assert second.status == Evaluation.Status.WITHDRAWN
    assert Evaluation.in_force(version.ruleset) == first
    page = client.get(f"/evaluations/{first.pk}/").content.decode()
    assert 'id="withdraw-form"' in page
