"""Account managers' work: assignment proposals after a publication (capacities,
seniority, nobody moved without a decision), ownership transfers with the conflict rule,
revisit tasks on their cadence across month, quarter and year ends, completing a task,
stale records, the pages' role rules and the customer page's section."""

import datetime as dt
import html
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st

from tiering_web.accounts.models import Role
from tiering_web.accountwork import assignment
from tiering_web.accountwork.models import (
    AssignmentProposal,
    ManagerProfile,
    OwnershipChange,
    RevisitPlan,
    Task,
)
from tiering_web.accountwork.services import (
    complete_task,
    decide_proposal,
    do_save_manager_profile,
    do_save_revisit_plan,
    do_transfer_owner,
    generate_tasks,
    propose_assignments,
    stale_customers,
    week_end,
)
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import Evaluation, TierAssignment
from tiering_web.evaluations.services import (
    publish_evaluation,
    run_evaluation,
    withdraw_evaluation,
)
from tiering_web.policies.services import do_save_policy_version
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF, NEXT_QUARTER, approve_policies
from .worker import run_worker

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "x-secret-1"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(django_user_model, manager):
    """The manager (wang), an administrator, three account managers and an analyst."""
    made = {"wang": manager}
    for name, role in (
        ("admin", Role.ADMINISTRATOR),
        ("li", Role.ACCOUNT_MANAGER),
        ("zhang", Role.ACCOUNT_MANAGER),
        ("zhao", Role.ACCOUNT_MANAGER),
        ("chen", Role.ANALYST),
    ):
        made[name] = django_user_model.objects.create_user(name, password=PASSWORD, role=role)
    return made


@pytest.fixture
def policies(manager, version):
    """The rule set is primary; A and B need a dedicated manager (revisits every 30 and
    90 days), C is served by a team."""
    ruleset = version.ruleset
    do_set_primary(manager, ruleset, "test")
    rows = [
        {"tier": "A", "dedicated_manager": True, "revisit_days": 30},
        {"tier": "B", "dedicated_manager": True, "revisit_days": 90},
        {"tier": "C", "service_team": "客服中心"},
    ]
    saved = do_save_policy_version(manager, ruleset, dt.date(2026, 1, 1), rows, "service levels")
    approve_policies(saved, "ok")
    return ruleset


def published(manager, version, as_of=AS_OF) -> Evaluation:
    """Run and publish the rule set, then let the worker make the proposals."""
    evaluation = publish_evaluation(manager, run_evaluation(manager, version, as_of, lang="en"))
    run_worker()
    return evaluation


# --------------------------------------------------------------------------- proposals


@pytest.mark.django_db(transaction=True)
def test_publication_proposes_by_value_seniority_and_capacity(
    manager, people, customers, version, policies
):
    """Given li (seniority 3, room for 1 A and 1 B), zhang (seniority 1, 1 A and 1 B),
    zhang owning both A customers (C1 150,000, C2 100,000), zhao (no capacity) owning C6
    (B, 25,000) and C3 (B, 20,000) unowned, when the evaluation is published and the worker
    runs, then zhang keeps C1, the more valuable; C2 (over capacity) and C6 (zhao is not
    given tier B) go to li, the most senior with room; C3 goes to zhang, li being full;
    C tier customers are left alone and nobody has moved yet."""
    li, zhang, zhao = people["li"], people["zhang"], people["zhao"]
    do_save_manager_profile(manager, li, 3, {"A": 1, "B": 1}, "senior")
    do_save_manager_profile(manager, zhang, 1, {"A": 1, "B": 1}, "junior")
    for code, owner in (("C1", zhang), ("C2", zhang), ("C6", zhao)):
        do_transfer_owner(manager, customers[code], owner, "first owner")

    evaluation = published(manager, version)

    proposals = list(AssignmentProposal.objects.filter(evaluation=evaluation).order_by("position"))
    assert [
        (p.customer.code, p.tier, p.value, p.from_owner, p.to_owner, p.why) for p in proposals
    ] == [
        ("C2", "A", Decimal("100000.00"), zhang, li, "over_capacity"),
        ("C6", "B", Decimal("25000.00"), zhao, li, "cannot_serve"),
        ("C3", "B", Decimal("20000.00"), None, zhang, "no_owner"),
    ]
    assert Customer.objects.get(code="C2").owner == zhang  # nothing moves on its own
    assert AuditEntry.objects.filter(action="accountwork.propose").count() == 1
    # a second delivery of the same publication proposes nothing new
    assert len(propose_assignments(evaluation, manager)) == 3
    assert AssignmentProposal.objects.count() == 3

    # the manager accepts all three on the page, with one reason
    client = login(manager)
    response = client.post(
        reverse("work_proposals"),
        {"decision": "accept", "proposals": [p.pk for p in proposals], "reason": "Q3 plan"},
        **EN,
    )
    assert response.status_code == 302
    owners = dict(Customer.objects.values_list("code", "owner__username"))
    assert (owners["C1"], owners["C2"], owners["C6"], owners["C3"]) == (
        "zhang",
        "li",
        "li",
        "zhang",
    )
    changes = OwnershipChange.objects.filter(source="proposal").order_by("id")
    assert [(c.customer.code, c.reason, c.by) for c in changes] == [
        ("C2", "Q3 plan", manager),
        ("C6", "Q3 plan", manager),
        ("C3", "Q3 plan", manager),
    ]
    assert set(AssignmentProposal.objects.values_list("status", flat=True)) == {"accepted"}
    # nobody is above capacity
    for profile in ManagerProfile.objects.all():
        for tier in ("A", "B"):
            owned = TierAssignment.objects.filter(
                valid_to__isnull=True, tier=tier, customer__owner=profile.user
            ).count()
            assert owned <= profile.capacity_for(tier)


@pytest.mark.django_db(transaction=True)
def test_accepting_is_refused_above_capacity_or_after_a_change_of_hands(
    manager, people, customers, version, policies
):
    """Given proposals C1 → li and C2 → li (room for 2 A), when li's capacity drops to 1
    and someone gives C2 to zhang by hand, then accepting C1 works, accepting C2 is
    refused (it changed hands; and li would be above capacity), each refusal naming the
    customer, and a rejection needs a reason."""
    translation.activate("en")  # the services' refusals, read in English
    li, zhang = people["li"], people["zhang"]
    do_save_manager_profile(manager, li, 3, {"A": 2}, "senior")
    do_save_manager_profile(manager, zhang, 1, {"A": 1}, "junior")
    evaluation = published(manager, version)
    by_code = {
        p.customer.code: p
        for p in AssignmentProposal.objects.filter(evaluation=evaluation).select_related("customer")
    }
    # nobody is given tier B: its customers wait for a manager with room
    assert {c: p.to_owner and p.to_owner.username for c, p in by_code.items()} == {
        "C1": "li",
        "C2": "li",
        "C6": None,
        "C3": None,
    }
    with pytest.raises(ValidationError) as error:
        decide_proposal(manager, by_code["C6"], True, "ok")
    assert "C6: no account manager had room" in error.value.messages[0]
    do_save_manager_profile(manager, li, 3, {"A": 1}, "fewer hours")

    decide_proposal(manager, by_code["C1"], True, "ok")
    with pytest.raises(ValidationError) as error:
        decide_proposal(manager, by_code["C2"], True, "ok")
    assert "C2: li already serves 1 customers of tier A (capacity 1)" in error.value.messages[0]

    do_transfer_owner(manager, customers["C2"], zhang, "zhang knows them")
    do_save_manager_profile(manager, li, 3, {"A": 2}, "more hours")
    with pytest.raises(ValidationError) as error:
        decide_proposal(manager, by_code["C2"], True, "ok")
    assert "C2 changed hands meanwhile: zhang owns it now" in error.value.messages[0]
    with pytest.raises(ValidationError):
        decide_proposal(manager, by_code["C2"], False, "  ")
    decide_proposal(manager, by_code["C2"], False, "zhang keeps them")
    assert AssignmentProposal.objects.get(pk=by_code["C2"].pk).status == "rejected"
    assert Customer.objects.get(code="C2").owner == zhang


@pytest.mark.django_db(transaction=True)
def test_a_later_publication_supersedes_waiting_proposals(manager, people, customers, version):
    """Given proposals of the Q3 publication still waiting, when Q4 is published, then
    they are superseded by Q4's and only Q4's wait for a decision."""
    do_set_primary(manager, version.ruleset, "test")
    rows = [{"tier": "A", "dedicated_manager": True}, {"tier": "B"}, {"tier": "C"}]
    saved = do_save_policy_version(manager, version.ruleset, dt.date(2026, 1, 1), rows, "x")
    approve_policies(saved, "ok")
    do_save_manager_profile(manager, people["li"], 1, {"A": 5}, "x")
    q3 = published(manager, version)
    q4 = published(manager, version, NEXT_QUARTER)
    assert set(
        AssignmentProposal.objects.filter(evaluation=q3).values_list("status", flat=True)
    ) == {"superseded"}
    waiting = AssignmentProposal.objects.filter(status="proposed")
    assert {p.evaluation_id for p in waiting} == {q4.pk}


@pytest.mark.django_db(transaction=True)
def test_withdrawing_a_publication_withdraws_its_waiting_proposals(
    manager, people, customers, version
):
    """Given Q4's proposals waiting (one accepted), when Q4 is withdrawn, then the waiting
    ones are 'withdrawn' and cannot be accepted, the accepted one stays accepted, and a
    withdrawal before the worker ran leaves no proposals at all."""
    do_set_primary(manager, version.ruleset, "test")
    rows = [{"tier": "A", "dedicated_manager": True}, {"tier": "B"}, {"tier": "C"}]
    saved = do_save_policy_version(manager, version.ruleset, dt.date(2026, 1, 1), rows, "x")
    approve_policies(saved, "ok")
    do_save_manager_profile(manager, people["li"], 1, {"A": 5}, "x")
    q4 = published(manager, version, NEXT_QUARTER)
    first, *rest = AssignmentProposal.objects.filter(evaluation=q4).order_by("position")
    assert rest, "the test needs two proposals"
    decide_proposal(manager, first, True, "ok")

    withdraw_evaluation(manager, q4, "wrong quarter")

    statuses = dict(AssignmentProposal.objects.filter(evaluation=q4).values_list("pk", "status"))
    assert statuses[first.pk] == "accepted"
    assert {statuses[p.pk] for p in rest} == {"withdrawn"}
    with pytest.raises(ValidationError):
        decide_proposal(manager, rest[0], True, "too late")
    entry = AuditEntry.objects.get(action="accountwork.withdraw")
    assert entry.details["proposals"] == len(rest)

    again = publish_evaluation(manager, run_evaluation(manager, version, NEXT_QUARTER))
    withdraw_evaluation(manager, again, "before the worker")
    run_worker()
    assert not AssignmentProposal.objects.filter(evaluation=again).exists()


# the algorithm's invariants on random cases (no database)

TIERS = ["A", "B", "C"]


@st.composite
def cases(draw):
    managers = [
        assignment.Manager(
            id=i,
            seniority=draw(st.integers(0, 3)),
            capacity={t: draw(st.integers(0, 4)) for t in TIERS},
        )
        for i in range(1, draw(st.integers(0, 5)) + 1)
    ]
    n = draw(st.integers(0, 25))
    owners = st.one_of(st.none(), st.integers(1, 7))  # 6 and 7 have no profile
    clients = [
        assignment.Client(
            id=i,
            code=f"K{i:03d}",
            tier=draw(st.sampled_from(TIERS)),
            value=Decimal(draw(st.integers(0, 10**6))),
            owner=draw(owners),
        )
        for i in range(n)
    ]
    return managers, clients


@settings(max_examples=400, deadline=None)
@given(cases())
def test_after_accepting_every_proposal_nobody_is_above_capacity(case):
    """For random capacities, seniorities, owners and customers, after every proposal with
    a new owner is accepted: nobody serves more customers of a tier than their capacity
    for it (customers for whom nobody had room still wait, with their old owner, and are
    not counted as served), every customer of a tier whose total capacity suffices has a
    manager who can serve it, and planning twice gives the same proposals."""
    managers, clients = case
    tiers = ["A", "B"]  # C has no dedicated manager
    moves = assignment.plan(tiers, clients, managers)
    assert moves == assignment.plan(tiers, clients, managers)
    owner = {c.id: c.owner for c in clients}
    for move in moves:
        owner[move.client.id] = move.to_owner  # None: still waiting for a manager
    by_id = {m.id: m for m in managers}
    for tier in tiers:
        members = [c for c in clients if c.tier == tier]
        for m in managers:
            load = sum(1 for c in members if owner[c.id] == m.id)
            assert load <= m.capacity[tier], (tier, m, load)
        total = sum(m.capacity[tier] for m in managers)
        if len(members) <= total:
            for c in members:
                assert owner[c.id] in by_id and by_id[owner[c.id]].can_serve(tier), c
    assert all(m.client.tier in tiers for m in moves)


def test_the_most_senior_take_the_most_valuable_and_equals_share_the_load():
    """Given two seniors (5) and a junior (1), each with room for 3 A customers, and four
    unowned A customers, then the two most valuable go to the seniors, one each (balanced
    load among equals), and so do the next two before the junior gets any."""
    managers = [
        assignment.Manager(1, 1, {"A": 3}),
        assignment.Manager(2, 5, {"A": 3}),
        assignment.Manager(3, 5, {"A": 3}),
    ]
    clients = [
        assignment.Client(i, f"K{i}", "A", Decimal(v), None)
        for i, v in enumerate([500, 400, 300, 200, 100, 50, 10])
    ]
    moves = assignment.plan(["A"], clients, managers)
    assert [m.to_owner for m in moves] == [2, 3, 2, 3, 2, 3, 1]


# --------------------------------------------------------------------------- transfers


@pytest.mark.django_db
def test_transfer_page_records_history_moves_open_tasks_and_refuses_a_stale_form(
    manager, people, customers, version
):
    """Given C1 owned by li with an open task, when the manager transfers it to zhang on
    the page with a reason, then zhang owns it, the open task follows, the history and the
    audit log say who, why and from whom, and the profile's last update is untouched; a
    second form opened before the transfer (still showing li) is refused, naming the
    current owner, and a missing reason is refused on the field."""
    li, zhang, zhao = people["li"], people["zhang"], people["zhao"]
    do_transfer_owner(manager, customers["C1"], li, "first owner")
    task = Task.objects.create(customer=customers["C1"], owner=li, kind="call", due=AS_OF)
    updated = Customer.objects.get(code="C1").updated_at
    client = login(manager)
    url = reverse("customer_transfer", args=["C1"])
    page = client.get(url, **EN)
    assert page.status_code == 200 and page.context["form"]["expected_owner"].value() == li.pk

    response = client.post(
        url, {"new_owner": zhang.pk, "reason": "", "expected_owner": li.pk}, **EN
    )
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["This field is required."]
    response = client.post(
        url, {"new_owner": zhang.pk, "reason": "li moves to Beijing", "expected_owner": li.pk}
    )
    assert response.status_code == 302
    customer = Customer.objects.get(code="C1")
    assert customer.owner == zhang and customer.updated_at == updated
    task.refresh_from_db()
    assert task.owner == zhang
    change = OwnershipChange.objects.filter(customer=customer).order_by("-id").first()
    assert (change.from_owner, change.to_owner, change.reason, change.source, change.by) == (
        li,
        zhang,
        "li moves to Beijing",
        "transfer",
        manager,
    )
    entry = AuditEntry.objects.filter(action="customer.transfer").order_by("-id").first()
    assert (entry.actor, entry.reason, entry.details["from_owner"], entry.details["to_owner"]) == (
        manager,
        "li moves to Beijing",
        "li",
        "zhang",
    )

    stale_form = client.post(
        url, {"new_owner": zhao.pk, "reason": "I want it too", "expected_owner": li.pk}, **EN
    )
    assert stale_form.status_code == 200
    assert "C1 changed hands meanwhile: zhang owns it now." in html.unescape(
        stale_form.content.decode()
    )
    assert Customer.objects.get(code="C1").owner == zhang
    with pytest.raises(ValidationError):
        do_transfer_owner(manager, customer, people["chen"], "analysts own nobody")


# --------------------------------------------------------------------------- tasks


def assign(customer, ruleset, periods, version):
    """Give ``customer`` the tier history ``periods`` [(tier, from, to|None)] by hand."""
    for tier, start, end in periods:
        evaluation = Evaluation.objects.create(
            ruleset_version=version, as_of=start, status=Evaluation.Status.PUBLISHED
        )
        TierAssignment.objects.create(
            customer=customer,
            ruleset=ruleset,
            tier=tier,
            valid_from=start,
            valid_to=end,
            evaluation=evaluation,
        )


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.django_db
def test_tasks_fall_due_on_the_cadence_across_quarter_and_year_ends(
    manager, people, customers, version
):
    """Given a quarterly (90-day) call plan for tier A and C1 in A since 2026-11-15 (B
    before; re-published A on 2026-12-31, which does not restart the run), when tasks are
    generated daily, then the first call falls due on 2027-02-13, is made 7 days ahead
    (not on 2027-02-05, on 2027-02-06), running twice makes nothing new, and once it is
    done on 2027-02-20 the next falls due on 2027-05-21."""
    ruleset = version.ruleset
    li = people["li"]
    do_transfer_owner(manager, customers["C1"], li, "owner")
    assign(
        customers["C1"],
        ruleset,
        [
            ("B", day("2026-08-15"), day("2026-11-15")),
            ("A", day("2026-11-15"), day("2026-12-31")),
            ("A", day("2026-12-31"), None),
        ],
        version,
    )
    do_save_revisit_plan(
        manager, ruleset, "A", "call", 90, "quarterly calls", starts_on=day("2026-01-01")
    )

    assert generate_tasks(day("2027-02-05")).created == 0
    made = generate_tasks(day("2027-02-06"))
    assert made.created == 1
    task = Task.objects.get()
    assert (task.customer.code, task.owner, task.kind, task.due) == (
        "C1",
        li,
        "call",
        day("2027-02-13"),
    )
    assert generate_tasks(day("2027-02-06")).created == 0
    assert generate_tasks(day("2027-02-07")).created == 0  # one open task at a time
    assert Task.objects.count() == 1

    complete_task(li, task, "reached", "happy with the delivery times")
    Task.objects.filter(pk=task.pk).update(
        done_at=timezone.make_aware(dt.datetime(2027, 2, 20, 10, 30))
    )
    assert generate_tasks(day("2027-05-13")).created == 0
    assert generate_tasks(day("2027-05-14")).created == 1
    assert Task.objects.filter(status="open").get().due == day("2027-05-21")


@pytest.mark.django_db
def test_month_end_cadence_from_the_policy_and_leaving_the_tier_cancels(
    manager, people, customers, version
):
    """Given a visit plan for tier A without its own interval (A's policy says every 30
    days) and C2 in A since 2027-01-31, when generating through the command, then the
    visit falls due on 2027-03-02 (30 days past January's end, February being short);
    when C2 drops to B, its open task is cancelled."""
    ruleset = version.ruleset
    do_set_primary(manager, ruleset, "test")
    rows = [{"tier": "A", "revisit_days": 30}, {"tier": "B"}, {"tier": "C"}]
    saved = do_save_policy_version(manager, ruleset, dt.date(2026, 1, 1), rows, "x")
    approve_policies(saved, "ok")
    assign(customers["C2"], ruleset, [("A", day("2027-01-31"), None)], version)
    do_save_revisit_plan(
        manager, ruleset, "A", "visit", None, "visits", starts_on=day("2027-01-01")
    )

    out = io.StringIO()
    call_command("generate_tasks", today="2027-02-27", stdout=out)
    assert "2027-02-27: 1 task(s) created" in out.getvalue()
    assert Task.objects.get().due == day("2027-03-02")

    TierAssignment.objects.filter(customer=customers["C2"]).update(valid_to=day("2027-03-31"))
    assign(customers["C2"], ruleset, [("B", day("2027-03-31"), None)], version)
    result = generate_tasks(day("2027-04-01"))
    assert (result.created, result.cancelled) == (0, 1)
    assert Task.objects.get().status == "cancelled"


@pytest.mark.django_db
def test_completing_a_task_inline_records_outcome_and_feedback(manager, people, customers):
    """Given an open call for li's customer C1, when li completes it from the task list
    with htmx, then the row comes back done with the outcome, the task holds the outcome,
    the feedback, who and when, and the audit log has it; a follow-up without feedback,
    no outcome, a second completion, and another account manager are refused."""
    li, zhang = people["li"], people["zhang"]
    do_transfer_owner(manager, customers["C1"], li, "owner")
    task = Task.objects.create(
        customer=customers["C1"], owner=li, kind="call", due=timezone.localdate()
    )
    url = reverse("work_task_complete", args=[task.pk])

    assert login(zhang).post(url, {"outcome": "reached"}).status_code == 403
    client = login(li)
    response = client.post(url, {"outcome": "follow_up", "feedback": " "}, **HTMX, **EN)
    assert response.status_code == 200
    assert "Say what needs following up." in html.unescape(response.content.decode())
    response = client.post(url, {"outcome": ""}, **HTMX, **EN)
    assert "This field is required." in response.content.decode()
    assert Task.objects.get(pk=task.pk).status == "open"

    response = client.post(
        url, {"outcome": "follow_up", "feedback": "wants a quote for 500 units"}, **HTMX, **EN
    )
    body = html.unescape(response.content.decode())
    assert response.status_code == 200 and f'id="task-{task.pk}"' in body
    assert "Done: Reached, follow-up needed" in body and "wants a quote for 500 units" in body
    task.refresh_from_db()
    assert (task.status, task.outcome, task.feedback, task.done_by) == (
        "done",
        "follow_up",
        "wants a quote for 500 units",
        li,
    )
    assert task.done_at is not None
    entry = AuditEntry.objects.get(action="task.complete")
    assert (entry.actor, entry.details["outcome"], entry.details["customer"]) == (
        li,
        "follow_up",
        "C1",
    )
    with pytest.raises(ValidationError):
        complete_task(li, task, "reached", "")
    # without htmx the page redirects back to the list
    assert client.post(url, {"outcome": "reached"}).status_code == 302


@pytest.mark.django_db
def test_task_list_sections_and_a_bounded_number_of_queries(
    manager, people, customers, django_assert_max_num_queries
):
    """Given li's tasks overdue, due today, later this week and next week, and zhang's,
    when li opens the list, then each section holds li's tasks only, next week's are not
    shown, and the page costs a bounded number of queries; the manager can open li's."""
    li, zhang = people["li"], people["zhang"]
    today = timezone.localdate()
    for code in ("C1", "C2", "C3", "C4"):
        do_transfer_owner(manager, customers[code], li, "owner")
    do_transfer_owner(manager, customers["C5"], zhang, "owner")
    later = week_end(today) if week_end(today) > today else None
    dues = {
        "C1": today - dt.timedelta(days=3),
        "C2": today,
        "C4": week_end(today) + dt.timedelta(1),
    }
    if later:
        dues["C3"] = later
    for code, due in dues.items():
        Task.objects.create(customer=customers[code], owner=li, kind="visit", due=due)
    Task.objects.create(customer=customers["C5"], owner=zhang, kind="call", due=today)

    client = login(li)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("work_tasks"), **EN)
    sections = {
        s["key"]: [t.customer.code for t, _form in s["tasks"]] for s in response.context["sections"]
    }
    assert sections == {
        "overdue": ["C1"],
        "today": ["C2"],
        "week": ["C3"] if later else [],
        "done": [],
    }
    body = response.content.decode()
    # as links or shown codes (a bare "C5" can occur inside the page's CSRF token)
    for code in ("C5", "C4"):
        assert reverse("customer_detail", args=[code]) not in body and f">{code}<" not in body
    assert reverse("customer_detail", args=["C2"]) in body and ">C2<" in body
    as_manager = login(manager).get(reverse("work_tasks"), {"owner": li.pk}, **EN)
    assert as_manager.context["owner"] == li and "C2" in as_manager.content.decode()
    # an account manager cannot read someone else's list by asking
    assert login(zhang).get(reverse("work_tasks"), {"owner": li.pk}).context["owner"] == zhang


# --------------------------------------------------------------------------- stale records


@pytest.mark.django_db
def test_stale_records_per_owner(manager, people, customers):
    """Given C1 and C2 (li's) last updated 100 and 20 days ago, C3 (zhang's) 200 days ago
    and C4 unowned 95 days ago, when listing records not updated for 90 days, then li has
    C1, zhang C3 and nobody C4; li's page shows only li's; the manager sees the count per
    owner; a bad number of days is refused on the field."""
    li, zhang = people["li"], people["zhang"]
    now = timezone.now()
    for code, owner, age in (("C1", li, 100), ("C2", li, 20), ("C3", zhang, 200), ("C4", None, 95)):
        if owner is not None:
            do_transfer_owner(manager, customers[code], owner, "owner")
        Customer.objects.filter(code=code).update(updated_at=now - dt.timedelta(days=age))
    Customer.objects.filter(code__in=["C5", "C6"]).update(updated_at=now)

    assert [c.code for c in stale_customers(li, 90)] == ["C1"]
    assert [c.code for c in stale_customers(None, 90)] == ["C4"]
    assert [c.code for c in stale_customers(zhang, 300)] == []

    own = login(li).get(reverse("work_stale"), {"days": 90}, **EN)
    assert [c.code for c, _age in own.context["rows"]] == ["C1"]
    assert own.context["rows"][0][1] == 100
    page = login(manager).get(reverse("work_stale"), {"days": 90}, **EN)
    assert [(r["owner__username"], r["n"]) for r in page.context["counts"]] == [
        ("li", 1),
        ("zhang", 1),
        (None, 1),
    ]
    assert [c.code for c, _age in page.context["rows"]] == ["C3", "C1", "C4"]
    only_zhang = login(manager).get(reverse("work_stale"), {"days": 90, "owner": zhang.pk})
    assert [c.code for c, _age in only_zhang.context["rows"]] == ["C3"]
    bad = login(manager).get(reverse("work_stale"), {"days": "0"}, **EN)
    assert "Ensure this value is greater than or equal to 1." in html.unescape(bad.content.decode())


# --------------------------------------------------------------------------- capacities


@pytest.mark.django_db(transaction=True)
def test_managers_page_sets_capacity_and_shows_load(manager, people, customers, version, policies):
    """Given li owning the two A customers, when the manager gives li seniority 4 and room
    for 1 A on the page, then the profile is saved and audited and the page shows li's A
    load 2 of 1, over capacity, and C (capacity 0) as a tier li does not serve; a negative
    capacity is refused naming li and the tier."""
    li = people["li"]
    for code in ("C1", "C2"):
        do_transfer_owner(manager, customers[code], li, "owner")
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"))
    client = login(manager)
    url = reverse("work_managers")
    response = client.post(
        url,
        {
            "user": li.pk,
            "username": "li",
            "seniority": 4,
            "capacity_0": 1,
            "capacity_1": 10,
            "reason": "new",
        },
    )
    assert response.status_code == 302
    profile = ManagerProfile.objects.get(user=li)
    assert (profile.seniority, profile.capacity) == (4, {"A": 1, "B": 10})
    assert AuditEntry.objects.filter(action="accountwork.profile.save").count() == 1
    page = client.get(url, **EN)
    row = next(r for r in page.context["rows"] if r["user"] == li)
    assert [(c["tier"], c["load"], c["capacity"], c["over"]) for c in row["cells"]] == [
        ("A", 2, 1, True),
        ("B", 0, 10, False),
        ("C", 0, 0, False),
    ]
    assert [c["serves"] for c in row["cells"]] == [True, True, False]
    # capacity 0 reads as a tier li does not serve, never "0 / 0" or full
    li_row = html.unescape(client.get(url).content.decode()).split(">li<", 1)[1].split("</tr>")[0]
    assert "不负责该等级" in li_row and "0 / 0" not in li_row and "2 / 1" in li_row
    bad = client.post(
        url,
        {"user": li.pk, "username": "li", "seniority": 4, "capacity_0": -1, "reason": "x"},
        **EN,
    )
    assert bad.status_code == 200
    assert "li, A: Ensure this value is greater than or equal to 0." in html.unescape(
        bad.content.decode()
    )
    with pytest.raises(ValidationError) as error:
        do_save_manager_profile(manager, li, 4, {"VIP": 3}, "x")
    assert "VIP is not a tier of 按营收分级 (A, B, C)." in error.value.messages[0]

    plan = client.post(
        reverse("work_plan_save"),
        {"tier": "A", "kind": "review", "every_days": "", "active": "on", "reason": "QBR"},
    )
    assert plan.status_code == 302
    saved = RevisitPlan.objects.get()
    assert (saved.tier, saved.kind, saved.every_days, saved.active) == ("A", "review", None, True)
    page = client.get(url, **EN)
    assert page.context["plans"] == [(saved, 30)]  # A's policy interval


# --------------------------------------------------------------------------- roles and pages


PAGES = {
    "work_tasks": {"admin": 200, "wang": 200, "li": 200, "chen": 403},
    "work_proposals": {"admin": 200, "wang": 200, "li": 403, "chen": 403},
    "work_managers": {"admin": 200, "wang": 200, "li": 403, "chen": 403},
    "work_stale": {"admin": 200, "wang": 200, "li": 200, "chen": 200},
    "customer_transfer": {"admin": 200, "wang": 200, "li": 403, "chen": 403},
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PAGES))
def test_role_matrix(name, people, customers, manager):
    """Given each role, when they open each page, then they get it or a 403 as the role
    rules say, and an anonymous visitor is sent to log in; writes follow the same rules."""
    do_transfer_owner(manager, customers["C1"], people["li"], "owner")
    args = ["C1"] if name == "customer_transfer" else []
    url = reverse(name, args=args)
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    for who, status in PAGES[name].items():
        assert login(people[who]).get(url).status_code == status, who
    if name in ("work_proposals", "work_managers", "customer_transfer"):
        assert login(people["li"]).post(url, {"reason": "x"}).status_code == 403
    assert login(people["li"]).post(reverse("work_plan_save"), {}).status_code == 403


@pytest.mark.django_db
def test_customer_page_section(manager, people, customers, django_assert_max_num_queries):
    """Given C1 handed from li to zhang with an open visit, when the manager and zhang open
    C1, then both see the owner, the history and the task; only the manager gets the
    transfer link; the section reads in Chinese for a Chinese reader."""
    li, zhang = people["li"], people["zhang"]
    do_transfer_owner(manager, customers["C1"], li, "first owner")
    do_transfer_owner(manager, customers["C1"], zhang, "li is on leave")
    Task.objects.create(customer=customers["C1"], owner=zhang, kind="visit", due=day("2026-12-01"))
    url = reverse("customer_detail", args=["C1"])

    body = html.unescape(login(manager).get(url, **EN).content.decode())
    assert 'id="transfer-link"' in body and "li is on leave" in body and "Visit" in body
    mine = login(zhang).get(url, **EN).content.decode()
    assert 'id="transfer-link"' not in mine and "li is on leave" in mine
    chinese = login(zhang).get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "客户经理与回访" in chinese and "拜访" in chinese and "归属变更记录" in chinese
    # the ownership history's columns hold names: the previous and the new manager
    assert "<th>原负责人</th><th>新负责人</th>" in chinese
    assert "<th>收件人</th>" in chinese and "结束日期" not in chinese  # the messages' recipient


@pytest.mark.django_db
def test_overdue_revisits_once_per_customer_with_tier_and_days(manager, people, customers, version):
    """Given li's customers C1 (in tier A, a call 10 days late and a visit 3 days late)
    and C2 (in A, a visit 5 days late), when li opens the task list, then the overdue
    section lists each customer once, the longest late first, with the tier and the days
    the oldest is late, and both of C1's revisits in its row, each still completable."""
    li = people["li"]
    ruleset = version.ruleset
    today = timezone.localdate()
    for code in ("C1", "C2"):
        do_transfer_owner(manager, customers[code], li, "owner")
    plans = {
        kind: do_save_revisit_plan(manager, ruleset, "A", kind, 30, "cadence")
        for kind in ("call", "visit")
    }
    for code, kind, late in (("C1", "call", 10), ("C1", "visit", 3), ("C2", "visit", 5)):
        Task.objects.create(
            customer=customers[code],
            owner=li,
            plan=plans[kind],
            kind=kind,
            due=today - dt.timedelta(days=late),
        )

    response = login(li).get(reverse("work_tasks"), **EN)
    overdue = next(s for s in response.context["sections"] if s["key"] == "overdue")
    groups = [
        (g.customer.code, g.tier, g.days, [t.kind for t, _form in g.tasks])
        for g in overdue["customers"]
    ]
    assert groups == [("C1", "A", 10, ["call", "visit"]), ("C2", "A", 5, ["visit"])]
    body = html.unescape(response.content.decode())
    assert body.count('class="overdue-customer"') == 2
    assert "10 days" in body and "5 days" in body and "2 customers" in body
    assert body.count('name="compact"') == 3  # each revisit keeps its own form
    chinese = login(li).get(reverse("work_tasks"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "逾期天数" in chinese.content.decode() and "10 天" in chinese.content.decode()

    task = Task.objects.get(customer=customers["C1"], kind="call")
    done = login(li).post(
        reverse("work_task_complete", args=[task.pk]),
        {"outcome": "reached", "compact": "1"},
        **HTMX,
        **EN,
    )
    row = done.content.decode()
    assert f'id="task-{task.pk}"' in row and reverse("customer_detail", args=["C1"]) not in row


@pytest.mark.django_db
def test_visits_done_are_listed_for_me_and_on_the_customer_page(
    manager, people, customers, django_assert_max_num_queries
):
    """Given li's visit to C1 done with a follow-up and feedback, an older call to C1 done
    by the manager, and a visit done 40 days ago, when li opens the task list, then the
    revisits of the last 30 days are under "done" with outcome, feedback and who recorded
    them, the latest first; C1's page shows every revisit in its follow-up record (跟进记录)
    with outcome and feedback, in a bounded number of queries."""
    li = people["li"]
    do_transfer_owner(manager, customers["C1"], li, "owner")
    today = timezone.localdate()
    visit = Task.objects.create(customer=customers["C1"], owner=li, kind="visit", due=today)
    call = Task.objects.create(
        customer=customers["C1"], owner=li, kind="call", due=today - dt.timedelta(days=7)
    )
    old = Task.objects.create(
        customer=customers["C1"], owner=li, kind="survey", due=today - dt.timedelta(days=40)
    )
    complete_task(manager, call, "unreachable", "")
    Task.objects.filter(pk=call.pk).update(done_at=timezone.now() - dt.timedelta(days=2))
    complete_task(li, visit, "follow_up", "wants a quote for 500 units")
    complete_task(li, old, "reached", "long ago")
    Task.objects.filter(pk=old.pk).update(done_at=timezone.now() - dt.timedelta(days=40))

    response = login(li).get(reverse("work_tasks"), **EN)
    done = next(s for s in response.context["sections"] if s["key"] == "done")
    assert [t.kind for t, _form in done["tasks"]] == ["visit", "call"]
    body = html.unescape(response.content.decode())
    assert "Reached, follow-up needed" in body and "wants a quote for 500 units" in body
    assert "Could not reach" in body and "long ago" not in body

    client = login(li)
    with django_assert_max_num_queries(40):
        page = client.get(reverse("customer_detail", args=["C1"]), **EN)
    text = html.unescape(page.content.decode())
    record = text[text.index('id="follow-ups"') :]
    record = record[: record.index("</ol>")]
    assert (
        record.index("wants a quote") < record.index("Could not reach") < record.index("long ago")
    )
    assert "wang" in record and "Satisfaction survey" in record
    chinese = client.get(reverse("customer_detail", args=["C1"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "跟进记录" in chinese.content.decode()


@pytest.mark.django_db
def test_task_list_in_chinese(people, manager, customers):
    """The task list reads in Chinese, with the outcome choices translated."""
    li = people["li"]
    do_transfer_owner(manager, customers["C1"], li, "owner")
    Task.objects.create(customer=customers["C1"], owner=li, kind="survey", due=timezone.localdate())
    body = login(li).get(reverse("work_tasks"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "回访任务" in body and "满意度调查" in body and "已联系，一切正常" in body
