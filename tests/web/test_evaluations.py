import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Transaction
from tiering_web.evaluations import services
from tiering_web.evaluations.models import (
    Evaluation,
    EvaluationResult,
    Override,
    TierAssignment,
)
from tiering_web.evaluations.services import (
    discard_evaluation,
    do_set_override,
    publish_evaluation,
    run_evaluation,
)

from .conftest import AS_OF, EXPECTED, NEXT_QUARTER, approve

# the engine reads through its own connection, which sees committed rows only
pytestmark = pytest.mark.django_db(transaction=True)


def tiers(evaluation):
    return dict(evaluation.results.values_list("customer__code", "tier"))


def open_tiers(ruleset):
    return dict(
        TierAssignment.objects.filter(ruleset=ruleset, valid_to__isnull=True).values_list(
            "customer__code", "tier"
        )
    )


def test_running_an_evaluation_grades_every_customer_in_the_app_database(
    manager, customers, version
):
    """Given six customers and their transactions, when the thresholds rules run as of
    30 September, then a draft holds each customer's expected tier, with its reason, the
    gap to the next tier and exact money metrics, and an audit entry counts the tiers."""
    evaluation = run_evaluation(manager, version, AS_OF, lang="en")
    assert evaluation.status == Evaluation.Status.DRAFT
    assert evaluation.created_by == manager
    assert tiers(evaluation) == EXPECTED

    c4 = evaluation.results.get(customer__code="C4")
    assert c4.next_tier == "B"
    assert c4.gap == Decimal("0.0100")
    assert "revenue" in c4.reason
    assert Decimal(c4.details["revenue"]) == Decimal("19999.99")
    c3 = evaluation.results.get(customer__code="C3")
    assert Decimal(c3.details["revenue"]) == Decimal("20000.00")  # the return counts against
    assert "inactive" in evaluation.results.get(customer__code="C5").flags

    entry = AuditEntry.objects.get(action="evaluation.run")
    assert entry.details["tiers"] == {"A": 2, "B": 2, "C": 2}
    assert not TierAssignment.objects.exists()  # a draft changes no tiers


def test_publishing_opens_tiers_and_a_later_one_closes_them(manager, customers, version):
    """Given a published evaluation, when C4 buys more and a second evaluation a quarter
    later is published, then only C4's assignment is closed (on the second's date, by the
    second) and a new one opened; the five who keep their tier keep one open assignment
    from the first date; C4's change is 'up', and the tier as of a past date is the old one."""
    ruleset = version.ruleset
    first = publish_evaluation(manager, run_evaluation(manager, version, AS_OF), "Q3")
    assert first.status == Evaluation.Status.PUBLISHED
    assert first.published_by == manager and first.published_at is not None
    assert open_tiers(ruleset) == EXPECTED
    entry = AuditEntry.objects.filter(action="evaluation.publish").latest("id")
    assert {k: entry.details[k] for k in ("closed", "opened", "kept")} == {
        "closed": 0,
        "opened": 6,
        "kept": 0,
    }

    Transaction.objects.create(
        customer=customers["C4"], date=dt.date(2026, 11, 15), amount=Decimal("90000.00")
    )
    second = run_evaluation(manager, version, NEXT_QUARTER)
    c4 = second.results.get(customer__code="C4")
    assert (c4.previous_tier, c4.tier, c4.change) == ("C", "A", "up")
    publish_evaluation(manager, second, "Q4")

    assert open_tiers(ruleset) == {**EXPECTED, "C4": "A"}
    for code, customer in customers.items():
        history = list(TierAssignment.objects.filter(customer=customer).order_by("valid_from"))
        periods = [(a.tier, a.valid_from, a.valid_to, a.evaluation_id) for a in history]
        if code == "C4":
            assert periods == [
                ("C", AS_OF, NEXT_QUARTER, first.pk),
                ("A", NEXT_QUARTER, None, second.pk),
            ]
            assert history[0].closed_by_id == second.pk
        else:
            assert periods == [(EXPECTED[code], AS_OF, None, first.pk)]
    in_october = TierAssignment.objects.get(
        customer=customers["C4"], valid_from__lte="2026-10-15", valid_to__gt="2026-10-15"
    )
    assert in_october.tier == "C"
    entry = AuditEntry.objects.filter(action="evaluation.publish").latest("id")
    assert (entry.actor, entry.reason) == (manager, "Q4")
    assert {k: entry.details[k] for k in ("closed", "opened", "kept")} == {
        "closed": 1,
        "opened": 1,
        "kept": 5,
    }


def test_a_constraint_violation_halfway_leaves_the_previous_tiers(manager, customers, version):
    """Given published tiers and a second draft whose last result cannot be stored as a
    tier (blank, refused by a database check), when publishing it, then the error rolls
    everything back: the previous tiers are still open, the draft is still a draft, and
    no publish entry is written."""
    ruleset = version.ruleset
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF))
    before = list(TierAssignment.objects.order_by("id").values())
    draft = run_evaluation(manager, version, NEXT_QUARTER)
    EvaluationResult.objects.filter(pk=draft.results.latest("id").pk).update(tier="")

    with pytest.raises(IntegrityError):
        publish_evaluation(manager, draft)

    assert list(TierAssignment.objects.order_by("id").values()) == before
    assert open_tiers(ruleset) == EXPECTED
    draft.refresh_from_db()
    assert draft.status == Evaluation.Status.DRAFT and draft.published_by is None
    assert AuditEntry.objects.filter(action="evaluation.publish").count() == 1


def test_a_failure_at_the_last_write_leaves_the_previous_tiers(manager, customers, version):
    """Given published tiers and a second draft, when the final write of publishing (the
    audit entry) fails, then the new tiers and the status change are rolled back too."""
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF))
    before = list(TierAssignment.objects.order_by("id").values())
    draft = run_evaluation(manager, version, NEXT_QUARTER)

    with (
        mock.patch.object(services, "record", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError, match="disk full"),
    ):
        publish_evaluation(manager, draft)

    assert list(TierAssignment.objects.order_by("id").values()) == before
    draft.refresh_from_db()
    assert draft.status == Evaluation.Status.DRAFT


def test_only_drafts_can_be_published_or_discarded(manager, customers, version):
    """Given a discarded draft, when publishing or discarding it again, then both are
    refused and no tier exists."""
    draft = run_evaluation(manager, version, AS_OF)
    discard_evaluation(manager, draft, "wrong date")
    draft.refresh_from_db()
    assert draft.status == Evaluation.Status.DISCARDED
    for action in (publish_evaluation, discard_evaluation):
        with pytest.raises(ValidationError):
            action(manager, draft)
    assert not TierAssignment.objects.exists()
    assert AuditEntry.objects.get(action="evaluation.discard").reason == "wrong date"


def test_publishing_an_older_evaluation_after_a_newer_one_is_refused(manager, customers, version):
    """Given tiers published as of December, when a September draft is published, then it
    is refused: history cannot be rewritten backwards."""
    older = run_evaluation(manager, version, AS_OF)
    publish_evaluation(manager, run_evaluation(manager, version, NEXT_QUARTER))
    with pytest.raises(ValidationError) as e:
        publish_evaluation(manager, older)
    assert "as_of" in e.value.message_dict


def test_overrides_flow_into_the_next_draft(manager, customers, version):
    """Given a manager's override lifting C5 to A until next March, and an expired one on
    C6, when the next evaluation runs, then C5 is A with the override's reason and flag,
    C6 keeps its computed tier, and the override was audited."""
    ruleset = version.ruleset
    do_set_override(manager, customers["C5"], ruleset, "A", "战略客户", dt.date(2027, 3, 31))
    # set when it was valid, expired since (an expiry in the past cannot be set now)
    Override.objects.create(
        customer=customers["C6"],
        ruleset=ruleset,
        tier="A",
        reason="旧协议",
        expires=dt.date(2026, 6, 30),
        created_by=manager,
    )

    draft = run_evaluation(manager, version, AS_OF, lang="en")
    assert tiers(draft) == {**EXPECTED, "C5": "A"}
    c5 = draft.results.get(customer__code="C5")
    assert "override" in c5.flags
    assert c5.details["override_reason"] == "战略客户"
    assert c5.details["computed_tier"] == "C"

    entry = AuditEntry.objects.filter(action="override.set").earliest("id")
    assert (entry.actor, entry.reason, entry.details["tier"]) == (manager, "战略客户", "A")


def test_override_must_name_a_tier_and_a_reason(manager, customers, version):
    """Given the rule set's tiers A/B/C, when an override names tier 'Z' without a reason,
    then both fields are reported and nothing is saved."""
    with pytest.raises(ValidationError) as e:
        do_set_override(manager, customers["C1"], version.ruleset, "Z", " ", dt.date(2027, 1, 1))
    assert set(e.value.message_dict) == {"tier", "reason"}
    assert not AuditEntry.objects.filter(action="override.set").exists()


def test_run_evaluation_refuses_to_run_inside_a_transaction(manager, customers, version):
    """Given an open transaction, when running an evaluation, then it refuses: the engine's
    own connection would not see the uncommitted rows."""
    from django.db import transaction

    with pytest.raises(RuntimeError, match="outside"), transaction.atomic():
        run_evaluation(manager, version, AS_OF)


def test_results_hold_the_reason_in_both_languages_from_one_run(manager, customers, version):
    """Given a run in Chinese, then each result's reason and missing phrase are Chinese,
    ``details["reasons"]`` holds the same reason in Chinese and English, and the engine's
    per-language columns are not stored again in ``details``."""
    draft = run_evaluation(manager, version, AS_OF, lang="zh-hans")
    c4 = draft.results.get(customer__code="C4")
    assert c4.customer_id == customers["C4"].pk
    assert "营收" in c4.reason and c4.details["missing"].startswith("升至 B")
    assert c4.details["reasons"]["zh"] == c4.reason
    assert "revenue" in c4.details["reasons"]["en"]
    assert not {"reason_zh", "reason_en", "missing_zh", "missing_en"} & set(c4.details)


def test_grace_counts_carry_over_from_the_stored_results(manager, customers, grace_version):
    """Given a rule set keeping a lower tier away for two evaluations and published tiers,
    when the customers stop buying and three evaluations are published in turn, then C1
    keeps A twice (grace 1 of 2, then 2 of 2, read back from the results that assigned
    it) with the note in both languages, and drops to C the third time."""
    version = grace_version
    ruleset = version.ruleset
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF))
    seen = []
    for as_of in (dt.date(2027, 9, 30), dt.date(2027, 12, 31), dt.date(2028, 3, 31)):
        draft = run_evaluation(manager, version, as_of, lang="en")
        c1 = draft.results.get(customer__code="C1")
        seen.append((c1.tier, c1.details["grace_count"], c1.change))
        assert c1.grace_count == c1.details["grace_count"]
        if len(seen) == 1:
            assert "during grace 1 of 2" in c1.reason
            assert "降级宽限第 1/2 次" in c1.details["reasons"]["zh"]
        publish_evaluation(manager, draft)
        open_tier = TierAssignment.objects.get(
            ruleset=ruleset, customer=customers["C1"], valid_to__isnull=True
        )
        assert open_tier.grace_count == c1.grace_count  # where the next run reads it
    assert seen == [("A", 1, "same"), ("A", 2, "same"), ("C", 0, "down")]
    entry = AuditEntry.objects.filter(action="evaluation.publish").latest("id")
    assert entry.details["changes"] == {"down": 4, "same": 2}  # A, A, B, B down; C, C same


def test_the_migration_fills_the_grace_counts_from_the_details(manager, customers, version):
    """Given results and open tiers stored before the grace count had columns (the count
    only in ``details``, the columns 0), when migration 0005's fill runs, then the results'
    columns hold their details' counts and each open tier its result's count."""
    import importlib

    from django.apps import apps
    from django.db import connection

    fill = importlib.import_module(
        "tiering_web.evaluations.migrations.0005_grace_count_columns"
    ).fill
    draft = run_evaluation(manager, version, AS_OF)
    published = publish_evaluation(manager, draft)
    c1 = published.results.get(customer__code="C1")
    EvaluationResult.objects.filter(pk=c1.pk).update(details={**c1.details, "grace_count": 2})
    with connection.schema_editor() as editor:
        fill(apps, editor)
    assert EvaluationResult.objects.get(pk=c1.pk).grace_count == 2
    assert published.results.exclude(pk=c1.pk).filter(grace_count__gt=0).count() == 0
    tiers = TierAssignment.objects.filter(evaluation=published, valid_to__isnull=True)
    assert tiers.get(customer=customers["C1"]).grace_count == 2
    assert tiers.filter(grace_count__gt=0).count() == 1


def test_pareto_ties_are_broken_by_code_as_on_the_command_line(manager):
    """Given three customers with the same profit, created in the order Z9, A1, M5 (so
    their primary keys order them unlike their codes), and a Pareto rule set whose top
    third is A, when evaluated in the app, then A1 (the first code) is the A customer,
    as tiering.evaluate grades the same customers from a file; the results are stored
    against the right customers."""
    import pyarrow as pa

    import tiering
    from tiering_web.customers.services import do_create_customer
    from tiering_web.rulesets.services import (
        do_create_ruleset,
        do_save_ruleset_version,
    )

    for code in ("Z9", "A1", "M5"):
        customer = do_create_customer(manager, {"code": code, "name": code}, "test data")
        Transaction.objects.create(
            customer=customer,
            date=dt.date(2026, 6, 1),
            amount=Decimal("100.00"),
            cost=Decimal("40.00"),
            kind=Transaction.Kind.ORDER,
        )
    rules = {
        "name": "ABC",
        "lookback": "12 months",
        "pareto": {"metric": "profit", "by": "customers"},
        "tiers": [{"name": "A", "top": "33%"}, {"name": "B"}],
    }
    ruleset = do_create_ruleset(manager, "ABC", "test")
    version = approve(do_save_ruleset_version(manager, ruleset, rules, "ties"))
    draft = run_evaluation(manager, version, AS_OF, lang="en")
    assert tiers(draft) == {"A1": "A", "M5": "B", "Z9": "B"}
    engine = tiering.evaluate(
        rules,
        pa.table({"customer_id": ["Z9", "A1", "M5"]}),
        pa.table(
            {
                "customer_id": ["Z9", "A1", "M5"],
                "date": [dt.date(2026, 6, 1)] * 3,
                "amount": [Decimal("100.00")] * 3,
                "cost": [Decimal("40.00")] * 3,
            }
        ),
        as_of=AS_OF,
    ).to_pyarrow()
    graded = zip(engine["customer_id"].to_pylist(), engine["tier"].to_pylist(), strict=True)
    assert dict(graded) == tiers(draft)
    assert {r.customer.code: r.details["rank"] for r in draft.results.all()} == {
        "A1": 1,
        "M5": 2,
        "Z9": 3,
    }
