"""Evaluation pages: run in the background (django-tasks, db_worker), follow its status,
review the draft with filters, publish or discard it, export the results; the role matrix
of every page."""

import csv
import datetime as dt
import io
from decimal import Decimal
from unittest import mock

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tiering_web.accounts.models import Role
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Transaction
from tiering_web.customers.services import do_update_customer
from tiering_web.evaluations import forms, services
from tiering_web.evaluations.models import Evaluation, TierAssignment
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.rulesets.services import do_save_ruleset_version

from .conftest import AS_OF, EXPECTED, approve
from .worker import run_worker

# the engine reads through its own connection, which sees committed rows only
pytestmark = pytest.mark.django_db(transaction=True)

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
OCTOBER = dt.date(2026, 10, 31)
CONTACTS = [{"name": "李雷", "phone": "13800000000", "email": "li@example.com"}]

#: A scorecard on a customer attribute the app's customers do not have: it validates as
#: rules, but the engine refuses it when it meets the data.
NEEDS_REGION = {
    "name": "按地区评分",
    "lookback": "12 months",
    "scorecard": [
        {"factor": "revenue", "weight": 50, "scale": "percentile"},
        {"factor": "attribute.region", "weight": 50, "scale": {"map": {"north": 100}}},
    ],
    "tiers": [{"name": "A", "min_score": 75}, {"name": "B"}],
}


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    """The run form refuses future as-of dates: fix "today" after the dates used here."""
    monkeypatch.setattr(forms, "today", lambda: dt.date(2026, 11, 22))


@pytest.fixture
def users(django_user_model, manager):
    made = {Role.MANAGER: manager}
    for role in (Role.ADMINISTRATOR, Role.ACCOUNT_MANAGER, Role.ANALYST):
        made[role] = django_user_model.objects.create_user(role, password="x-secret-1", role=role)
    return made


@pytest.fixture
def owned(users, customers, manager):
    """C1 (with a contact) and C3 belong to the account manager; C3 is in another
    industry."""
    am = users[Role.ACCOUNT_MANAGER]
    do_update_customer(manager, customers["C1"], {"owner": am, "contacts": CONTACTS}, "assign")
    do_update_customer(manager, customers["C3"], {"owner": am, "industry": "软件"}, "assign")
    return customers


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def codes(response):
    return [r.customer.code for r in response.context["page"].object_list]


# --- running in the background -----------------------------------------------------------


def test_run_page_queues_the_worker_computes_and_the_page_follows(manager, customers, version):
    """Given the run page, when a manager runs the rule set as of 30 September, then an
    evaluation is queued with its task, its page polls for the status; after the worker
    runs, the draft holds the expected tiers, the status poll reloads the page, and the
    page lists every customer linking to its page."""
    client = login(manager)
    assert client.get(reverse("evaluation_run")).status_code == 200
    response = client.post(
        reverse("evaluation_run"), {"version": version.pk, "as_of": AS_OF.isoformat()}
    )
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("evaluation_detail", args=[evaluation.pk])
    assert evaluation.status == Evaluation.Status.QUEUED and evaluation.created_by == manager
    task = DBTaskResult.objects.get()
    assert str(task.id) == evaluation.task_id and task.status == "READY"

    page = client.get(reverse("evaluation_detail", args=[evaluation.pk]), **EN)
    status_url = reverse("evaluation_status", args=[evaluation.pk])
    assert f'hx-get="{status_url}"' in page.text and "every 2s" in page.text
    assert "Queued" in page.text and "background worker" in page.text
    poll = client.get(status_url, HTTP_HX_REQUEST="true", **EN)
    assert poll.status_code == 200 and "every 2s" in poll.text and "HX-Refresh" not in poll

    run_worker()

    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.DRAFT
    assert evaluation.started_at is not None and evaluation.finished_at is not None
    assert dict(evaluation.results.values_list("customer__code", "tier")) == EXPECTED
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    done = client.get(status_url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"

    page = client.get(reverse("evaluation_detail", args=[evaluation.pk]), **EN)
    assert "every 2s" not in page.text
    assert codes(page) == sorted(EXPECTED)
    assert f'href="{reverse("customer_detail", args=["C4"])}"' in page.text
    summary = {row["tier"]: row["total"] for row in page.context["summary"]}
    assert summary == {"A": 2, "B": 2, "C": 2, None: 6}
    actions = list(
        AuditEntry.objects.filter(object_id=str(evaluation.pk)).values_list("action", "actor")
    )
    assert ("evaluation.queue", manager.pk) in actions and ("evaluation.run", manager.pk) in actions
    assert not TierAssignment.objects.exists()  # a draft changes no tier


def test_run_form_names_the_bad_field(manager, customers, version, settings):
    """Given the run form, when the date is missing, malformed or in the future, or the
    version does not exist, then the form says which field is wrong and nothing is
    queued."""
    settings.TIERING_AS_OF_HORIZON_DAYS = 0  # as in production
    client = login(manager)
    url = reverse("evaluation_run")
    cases = [
        ({"version": version.pk, "as_of": ""}, "as_of", "This field is required."),
        ({"version": version.pk, "as_of": "2026-13-01"}, "as_of", "Enter a valid date."),
        ({"version": version.pk, "as_of": "2026-12-31"}, "as_of", "cannot be in the future"),
        ({"version": 999, "as_of": AS_OF.isoformat()}, "version", "Select a valid choice."),
    ]
    for data, field, message in cases:
        response = client.post(url, data, **EN)
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert list(errors) == [field] and message in errors[field][0], errors
        assert message in response.text
    assert not Evaluation.objects.exists() and not DBTaskResult.objects.exists()


def test_run_page_offers_only_approved_versions_in_effect(manager, customers, version):
    """Given an approved version, a draft and an approved version taking effect on
    2026-10-01, when the run page is opened, then it offers only the approved ones; when
    a draft is posted anyway, then the form refuses it on ``version``; when the later
    version is run as of 2026-09-30, then the form says so on ``as_of``; nothing is
    queued."""
    draft = do_save_ruleset_version(manager, version.ruleset, version.definition, "v2")
    later = approve(
        do_save_ruleset_version(
            manager, version.ruleset, version.definition, "v3", effective_date=dt.date(2026, 10, 1)
        )
    )
    client = login(manager)
    url = reverse("evaluation_run")
    offered = set(client.get(url).context["form"].fields["version"].queryset)
    assert offered == {version, later}
    response = client.post(url, {"version": draft.pk, "as_of": AS_OF.isoformat()}, **EN)
    assert list(response.context["form"].errors) == ["version"]
    response = client.post(url, {"version": later.pk, "as_of": AS_OF.isoformat()}, **EN)
    errors = response.context["form"].errors
    assert list(errors) == ["as_of"] and "takes effect on" in errors["as_of"][0], errors
    assert not Evaluation.objects.exists() and not DBTaskResult.objects.exists()


def test_an_engine_error_fails_the_evaluation_with_its_message(manager, customers):
    """Given a rule set version scoring an attribute the customers do not have, when it
    runs in the background, then the evaluation is failed, its page shows the engine's
    message in Chinese (the default) and English, nothing can be published, and the audit
    log records the failure."""
    from tiering_web.rulesets.services import do_create_ruleset

    ruleset = do_create_ruleset(manager, "按地区评分", "test")
    version = approve(do_save_ruleset_version(manager, ruleset, NEEDS_REGION, "v1"))
    client = login(manager)
    client.post(reverse("evaluation_run"), {"version": version.pk, "as_of": AS_OF.isoformat()})
    run_worker()

    evaluation = Evaluation.objects.get()
    assert evaluation.status == Evaluation.Status.FAILED and not evaluation.results.exists()
    assert "the customers file has no column 'region'" in evaluation.error_en
    assert "客户文件中没有列 'region'" in evaluation.error_zh
    url = reverse("evaluation_detail", args=[evaluation.pk])
    assert "客户文件中没有列 &#x27;region&#x27;" in client.get(url).text
    english = client.get(url, **EN).text
    assert "The evaluation failed" in english and "has no column &#x27;region&#x27;" in english
    assert "publish-form" not in english
    client.post(
        reverse("evaluation_publish", args=[evaluation.pk]),
        {"publish-reason": "try", "publish-confirm": "on"},
    )
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.FAILED
    assert AuditEntry.objects.get(action="evaluation.fail").actor == manager
    assert client.get(reverse("evaluation_export", args=[evaluation.pk])).status_code == 400


def test_an_unexpected_error_fails_the_evaluation_and_the_task(manager, customers, version):
    """Given an error the engine does not report on purpose (a bug, a lost connection),
    when the background run meets it, then the evaluation is failed with the error's
    text and the worker records the task as failed, with its traceback."""
    client = login(manager)
    client.post(reverse("evaluation_run"), {"version": version.pk, "as_of": AS_OF.isoformat()})
    with mock.patch.object(services, "_compute", side_effect=OSError("connection lost")):
        run_worker()
    evaluation = Evaluation.objects.get()
    assert evaluation.status == Evaluation.Status.FAILED
    assert evaluation.error_en == "unexpected error: OSError: connection lost"
    assert evaluation.error_zh == "意外错误：OSError: connection lost"
    task = DBTaskResult.objects.get()
    assert task.status == "FAILED" and "connection lost" in task.traceback


def test_a_task_delivered_twice_computes_once(manager, customers, version):
    """Given a queued evaluation already computed, when its task runs again, then nothing
    changes: the results are not stored twice."""
    evaluation = services.queue_evaluation(manager, version, AS_OF, lang="en")
    run_worker()
    assert services.execute_evaluation(evaluation.pk, "en") is None
    assert evaluation.results.count() == 6


def test_the_api_can_queue_an_evaluation(manager, customers, version):
    """Given the API, when a run asks for the background, then the answer is 202 with the
    queued evaluation, and after the worker the evaluation reads as a draft."""
    client = login(manager)
    body = {"ruleset_version": version.pk, "as_of": AS_OF.isoformat(), "background": True}
    response = client.post("/api/evaluations/", body, content_type="application/json")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued" and response.json()["tiers"] == {}
    run_worker()
    read = client.get(f"/api/evaluations/{response.json()['id']}").json()
    assert read["status"] == "draft" and read["tiers"] == {"A": 2, "B": 2, "C": 2}


# --- reviewing, publishing, discarding ---------------------------------------------------


@pytest.fixture
def moved(manager, customers, version):
    """Tiers published as of 30 September; then C4 buys 90,000 (C → A) and C2 returns
    60,000 (A → B), and a second draft as of 31 October shows the moves."""
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"), "Q3")
    Transaction.objects.create(
        customer=customers["C4"], date=dt.date(2026, 10, 15), amount=Decimal("90000.00")
    )
    Transaction.objects.create(
        customer=customers["C2"],
        date=dt.date(2026, 10, 20),
        amount=Decimal("60000.00"),
        kind=Transaction.Kind.RETURN,
    )
    return run_evaluation(manager, version, OCTOBER, lang="en")


def test_filters_show_upgrades_downgrades_tiers_owners_and_industries(users, owned, moved, manager):
    """Given a second draft where C4 moved up and C2 down, when filtering the results, then
    each filter shows exactly its customers, the summary counts the moves, and the list of
    evaluations counts one upgrade and one downgrade."""
    client = login(manager)
    url = reverse("evaluation_detail", args=[moved.pk])
    assert codes(client.get(url, {"change": "up"})) == ["C4"]
    assert codes(client.get(url, {"change": "down"})) == ["C2"]
    assert codes(client.get(url, {"change": "same"})) == ["C1", "C3", "C5", "C6"]
    assert codes(client.get(url, {"tier": "A"})) == ["C1", "C4"]
    assert codes(client.get(url, {"industry": "软件"})) == ["C3"]
    am = users[Role.ACCOUNT_MANAGER]
    assert codes(client.get(url, {"owner": am.pk})) == ["C1", "C3"]
    assert codes(client.get(url, {"change": "same", "owner": am.pk, "tier": "B"})) == ["C3"]

    page = client.get(url)
    summary = {row["tier"]: row for row in page.context["summary"]}
    assert (summary["A"]["up"], summary["B"]["down"], summary[None]["same"]) == (1, 1, 4)
    listed = client.get(reverse("evaluation_list"), **EN)
    assert listed.status_code == 200
    counts = {e.pk: (e.counts["up"], e.counts["down"]) for e in listed.context["evaluations"]}
    assert counts[moved.pk] == (1, 1)
    partial = client.get(url, {"change": "up"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.text and "C4" in partial.text


def test_results_are_paginated(manager, customers, version, monkeypatch):
    """Given six results and pages of four, when paging, then the second page holds the
    last two, with the filters kept in the page links."""
    from tiering_web.evaluations import views

    monkeypatch.setattr(views, "PER_PAGE", 4)
    draft = run_evaluation(manager, version, AS_OF)
    client = login(manager)
    url = reverse("evaluation_detail", args=[draft.pk])
    first = client.get(url, {"industry": "制造业"})
    assert codes(first) == ["C1", "C2", "C3", "C4"]
    assert "industry=%E5%88%B6%E9%80%A0%E4%B8%9A&amp;page=2" in first.text
    assert codes(client.get(url, {"industry": "制造业", "page": 2})) == ["C5", "C6"]


def test_publishing_from_the_page_records_who_and_makes_the_tiers_current(
    manager, customers, version
):
    """Given a draft, when a manager publishes it without confirming or without a reason,
    then it stays a draft with the field named; when they confirm with a reason, the tiers
    become current, the evaluation names them as publisher, and the audit log has the
    reason; publishing it again is refused with a message."""
    draft = run_evaluation(manager, version, AS_OF)
    client = login(manager)
    url = reverse("evaluation_publish", args=[draft.pk])

    unconfirmed = client.post(url, {"publish-reason": "Q3 review done"}, **EN)
    assert unconfirmed.status_code == 400
    assert list(unconfirmed.context["publish_form"].errors) == ["confirm"]
    no_reason = client.post(url, {"publish-confirm": "on"}, **EN)
    assert list(no_reason.context["publish_form"].errors) == ["reason"]
    draft.refresh_from_db()
    assert draft.status == Evaluation.Status.DRAFT and not TierAssignment.objects.exists()

    done = client.post(url, {"publish-reason": "Q3 review done", "publish-confirm": "on"})
    assert done.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Evaluation.Status.PUBLISHED and draft.published_by == manager
    current = TierAssignment.objects.filter(valid_to__isnull=True)
    assert dict(current.values_list("customer__code", "tier")) == EXPECTED
    entry = AuditEntry.objects.get(action="evaluation.publish")
    assert (entry.actor, entry.reason) == (manager, "Q3 review done")

    again = client.post(url, {"publish-reason": "again", "publish-confirm": "on"}, follow=True)
    assert "只有草稿评估才能发布或放弃" in again.text
    assert AuditEntry.objects.filter(action="evaluation.publish").count() == 1


def test_discarding_from_the_page(manager, customers, version):
    """Given a draft, when a manager discards it with a reason, then it is discarded, no
    tier changes, and the reason is in the audit log."""
    draft = run_evaluation(manager, version, AS_OF)
    client = login(manager)
    response = client.post(
        reverse("evaluation_discard", args=[draft.pk]),
        {"discard-reason": "wrong date", "discard-confirm": "on"},
        follow=True,
        **EN,
    )
    assert "Discarded." in response.text
    draft.refresh_from_db()
    assert draft.status == Evaluation.Status.DISCARDED
    assert not TierAssignment.objects.exists()
    assert AuditEntry.objects.get(action="evaluation.discard").reason == "wrong date"
    assert "publish-form" not in response.text


# --- exports -----------------------------------------------------------------------------


def content(response) -> bytes:
    """A file response's bytes; closing it closes the file."""
    assert response.status_code == 200, response.content
    try:
        return b"".join(response.streaming_content)
    finally:
        response.close()


def read_xlsx(response) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(content(response)))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def read_csv(response) -> list[list[str]]:
    text = content(response).decode("utf-8")
    assert text.startswith("\ufeff")  # a BOM, so that Excel reads the Chinese right
    return list(csv.reader(io.StringIO(text[1:])))


def test_export_excel_and_csv_with_filters(users, owned, moved, manager):
    """Given the second draft, when a manager exports the upgrades to Excel and the
    downgrades to CSV, then each file holds just that row with the tier, the change and
    the revenue as a number; headers are Chinese by default and English in English."""
    client = login(manager)
    url = reverse("evaluation_export", args=[moved.pk])

    response = client.get(url, {"format": "xlsx", "change": "up"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="evaluation-{moved.pk}.xlsx"'
    rows = read_xlsx(response)
    header, values = rows[0], rows[1:]
    assert header[:3] == ["客户编号", "客户名称", "行业"] and "联系人" in header
    assert len(values) == 1
    row = dict(zip(header, values[0], strict=True))
    assert (row["客户编号"], row["原等级"], row["等级"], row["变化"]) == ("C4", "C", "A", "升级")
    assert row["营收"] == pytest.approx(109999.99)

    response = client.get(url, {"format": "csv", "change": "down"}, **EN)
    rows = read_csv(response)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 2
    assert (row["Customer code"], row["Previous tier"], row["Tier"]) == ("C2", "A", "B")
    assert row["Change"] == "Downgrade" and Decimal(row["revenue"]) == Decimal("40000")

    assert client.get(url, {"format": "pdf"}).status_code == 400


def test_export_honours_the_viewer_role(users, owned, moved):
    """Given C1 with a contact, when an analyst exports, then every customer is there but
    no contact data; when the account manager exports, only their own customers are
    there, with their contact."""
    url = reverse("evaluation_export", args=[moved.pk])
    rows = read_csv(login(users[Role.ANALYST]).get(url, {"format": "csv"}, **EN))
    assert "Contacts" not in rows[0] and len(rows) == 7
    assert not any("13800000000" in cell for row in rows for cell in row)

    rows = read_csv(login(users[Role.ACCOUNT_MANAGER]).get(url, {"format": "csv"}, **EN))
    contacts = rows[0].index("Contacts")
    assert [r[0] for r in rows[1:]] == ["C1", "C3"]
    assert "13800000000" in rows[1][contacts]


# --- the role matrix ---------------------------------------------------------------------

A, M, AM, AN = Role.ADMINISTRATOR, Role.MANAGER, Role.ACCOUNT_MANAGER, Role.ANALYST
MATRIX = {
    # page: expected status per role
    "evaluation_list": {A: 200, M: 200, AM: 200, AN: 200},
    "evaluation_run": {A: 200, M: 200, AM: 403, AN: 200},
    "run (POST)": {A: 302, M: 302, AM: 403, AN: 302},
    "evaluation_detail": {A: 200, M: 200, AM: 200, AN: 200},
    "evaluation_status": {A: 200, M: 200, AM: 200, AN: 200},
    "evaluation_export": {A: 200, M: 200, AM: 200, AN: 200},
    "evaluation_publish": {A: 302, M: 302, AM: 403, AN: 403},
    "evaluation_discard": {A: 302, M: 302, AM: 403, AN: 403},
    "schedule_list": {A: 200, M: 200, AM: 403, AN: 403},
}


def visit(client, page, draft, version):
    if page in ("evaluation_list", "evaluation_run", "schedule_list"):
        return client.get(reverse(page))
    if page == "run (POST)":
        data = {"version": version.pk, "as_of": AS_OF.isoformat()}
        return client.post(reverse("evaluation_run"), data)
    if page in ("evaluation_publish", "evaluation_discard"):
        prefix = page.removeprefix("evaluation_")
        data = {f"{prefix}-reason": "r", f"{prefix}-confirm": "on"}
        return client.post(reverse(page, args=[draft.pk]), data)
    if page == "evaluation_export":
        response = client.get(reverse(page, args=[draft.pk]), {"format": "csv"})
        if response.status_code == 200:
            assert content(response).startswith(b"\xef\xbb\xbf")
        return response
    return client.get(reverse(page, args=[draft.pk]))


@pytest.mark.parametrize("role", [A, M, AM, AN])
def test_role_matrix(role, users, owned, version):
    """Given one user per role and a draft, when each role opens each page, then the
    status is the matrix's; an anonymous visitor is sent to log in everywhere; an account
    manager who opens a draft sees only their own customers' rows and counts."""
    draft = run_evaluation(users[M], version, AS_OF)
    client = login(users[role])
    for page, expected in MATRIX.items():
        response = visit(client, page, draft, version)
        assert response.status_code == expected[role], (page, response.status_code)
        if page in ("evaluation_publish", "evaluation_discard") and expected[role] == 302:
            draft = run_evaluation(users[M], version, AS_OF)  # the next one needs a draft
        if page == "evaluation_detail" and role == AM:
            assert codes(response) == ["C1", "C3"]
            assert response.context["summary"][-1]["total"] == 2
            assert "publish-form" not in response.text
    anonymous = Client()
    for page in MATRIX:
        response = visit(anonymous, page, draft, version)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_list_and_review_pages_cost_a_bounded_number_of_queries(
    users, owned, moved, manager, django_assert_max_num_queries
):
    """Given two evaluations, when the list and a filtered draft page are opened, then each
    costs a few queries, not one per evaluation or per row."""
    client = login(manager)
    with django_assert_max_num_queries(8):
        client.get(reverse("evaluation_list"))
    with django_assert_max_num_queries(12):
        client.get(reverse("evaluation_detail", args=[moved.pk]), {"change": "same"})
