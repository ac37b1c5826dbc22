"""The call centre: phone numbers normalised into an index kept in step with the
customers, the priority answer for an IVR (token only), call logs from the API and from
CSV files (all or nothing, every bad row named) and the SLA report per tier."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tiering_web.accounts.models import ApiToken, Role
from tiering_web.accounts.services import issue_token
from tiering_web.audit.models import AuditEntry
from tiering_web.callcentre import services, tokens
from tiering_web.callcentre.models import CallLog, PhoneIndex
from tiering_web.callcentre.phones import contact_phones, normalise_phone
from tiering_web.customers.models import Customer, Status
from tiering_web.customers.services import do_create_customer, do_update_customer
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.policies.services import do_save_policy_version
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF, approve_policies
from .worker import run_worker

PRIORITY = "/api/priority"
CALLS = "/api/calls"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

#: Call-centre terms per tier of the THRESHOLDS rule set (A best).
TERMS = [
    {
        "tier": "A",
        "queue_priority": 1,
        "answer_seconds": 20,
        "answer_share": Decimal("0.900"),
    },
    {
        "tier": "B",
        "queue_priority": 3,
        "answer_seconds": 30,
        "answer_share": Decimal("0.850"),
        "callback_hours": 24,
    },
    {"tier": "C", "queue_priority": 6},
]
#: Each graded customer's phone as its contact sheet writes it.
PHONES = {
    "C1": "138-0013-8000",  # A
    "C2": "(010) 6552 8899 转 801",  # A, blacklisted below
    "C3": "+86 139 1234 5678",  # B
    "C4": "0755-8765 4321",  # C
}


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts with this process's cached policies and tokens forgotten."""
    services.clear_terms_cache()
    tokens.clear()
    yield
    services.clear_terms_cache()
    tokens.clear()


def user(django_user_model, name, role):
    return django_user_model.objects.create_user(name, password="x-secret-1", role=role)


def bearer(who) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(who, who, 'ivr')}")


def login(who) -> Client:
    client = Client()
    client.force_login(who)
    return client


def at(day: str, clock: str = "10:00:00") -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(f"{day} {clock}"))


@pytest.fixture
def graded(manager, customers, version):
    """LEDGER's customers graded as of AS_OF (C1, C2 A; C3, C6 B; C4, C5 C) under the
    primary rule set with TERMS approved since 2026-01-01, C1–C4 with a phone each and C2
    blacklisted."""
    ruleset = version.ruleset
    do_set_primary(manager, ruleset, "test")
    policies = do_save_policy_version(manager, ruleset, dt.date(2026, 1, 1), TERMS, "call centre")
    approve_policies(policies, "ok")
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"), "Q3")
    for code, phone in PHONES.items():
        do_update_customer(
            manager, customers[code], {"contacts": [{"name": "张三", "phone": phone}]}, "phones"
        )
    do_update_customer(manager, customers["C2"], {"status": Status.BLACKLISTED}, "abusive")
    return customers


# --- phone numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "key"),
    [
        # mobiles: spaces, dashes, +86, 0086, 86 without +, a leading 0, full-width digits
        ("13800138000", "8613800138000"),
        ("138 0013 8000", "8613800138000"),
        ("138-0013-8000", "8613800138000"),
        ("+86 138 0013 8000", "8613800138000"),
        ("+86-13800138000", "8613800138000"),
        ("008613800138000", "8613800138000"),
        ("8613800138000", "8613800138000"),
        ("013800138000", "8613800138000"),
        ("（+86）１３８ ００１３ ８０００", "8613800138000"),
        # landlines: area code with or without its 0, brackets, +86 (0), extensions
        ("010-65528899", "861065528899"),
        ("(010) 6552 8899", "861065528899"),
        ("+86 10 6552 8899", "861065528899"),
        ("+86 (0)10 65528899", "861065528899"),
        ("0086-10-65528899", "861065528899"),
        ("010-65528899 转 801", "861065528899"),
        ("010-65528899-801", "861065528899"),
        ("010 65528899 ext. 12", "861065528899"),
        ("0755-8765 4321", "8675587654321"),
        ("075587654321", "8675587654321"),
        ("400-820-8820", "864008208820"),
        # foreign numbers keep their country code; short numbers stay as written
        ("+1 (415) 555-0100", "14155550100"),
        ("0044 20 7946 0958", "442079460958"),
        ("65528899", "65528899"),
        ("95588", "95588"),
        ("", ""),
        ("无", ""),
        (None, ""),
    ],
)
def test_phone_numbers_are_normalised(written, key):
    """Given a number as people write it, when normalised, then it is the canonical key."""
    assert normalise_phone(written) == key


def test_a_contact_list_gives_every_number_once():
    """Given contacts with two numbers in one cell, a repeated number, an empty phone and
    junk, when their keys are read, then each number appears once."""
    contacts = [
        {"name": "张三", "phone": "138 0013 8000 / 010-65528899"},
        {"name": "李四", "phone": "+86 13800138000"},
        {"name": "王五", "phone": ""},
        "not a contact",
    ]
    assert contact_phones(contacts) == {"8613800138000", "861065528899"}
    assert contact_phones(None) == set()


# --- the phone index -------------------------------------------------------------------------


def indexed(customer) -> set[str]:
    return set(PhoneIndex.objects.filter(customer=customer).values_list("phone", flat=True))


@pytest.mark.django_db
def test_the_index_follows_saved_customers(manager):
    """Given a customer created with two numbers, when their contacts change through the
    customer service and when they are deleted, then the index follows each time."""
    customer = do_create_customer(
        manager,
        {
            "code": "P1",
            "name": "星辰科技",
            "contacts": [{"name": "张三", "phone": "13800138000"}, {"phone": "010-65528899"}],
        },
        "new",
    )
    assert indexed(customer) == {"8613800138000", "861065528899"}
    do_update_customer(manager, customer, {"contacts": [{"phone": "139 1234 5678"}]}, "moved")
    assert indexed(customer) == {"8613912345678"}
    customer.delete()
    assert not PhoneIndex.objects.exists()


@pytest.mark.django_db
def test_bulk_changes_reach_the_index_through_the_command(manager):
    """Given contacts changed by bulk statements (as imports write, without save
    signals), when ``rebuild_phone_index`` runs, then the index holds exactly the new
    numbers and says what it changed."""
    a = Customer.objects.create(code="P1", name="甲", contacts=[{"phone": "13800138000"}])
    b = Customer.objects.create(code="P2", name="乙")
    a.contacts, b.contacts = [{"phone": "13900000000"}], [{"phone": "010-65528899"}]
    Customer.objects.bulk_update([a, b], ["contacts"])
    assert indexed(a) == {"8613800138000"} and indexed(b) == set()

    out = io.StringIO()
    call_command("rebuild_phone_index", stdout=out)

    assert indexed(a) == {"8613900000000"} and indexed(b) == {"861065528899"}
    assert out.getvalue().strip() == "2 customers read, 2 numbers added, 1 removed"


@pytest.mark.django_db(transaction=True)
def test_a_publication_rebuilds_the_index_in_the_background(manager, customers, version):
    """Given a number written by a bulk statement, when an evaluation is published and
    the worker runs, then the number leads to its customer."""
    do_set_primary(manager, version.ruleset, "test")
    Customer.objects.filter(code="C1").update(contacts=[{"phone": "13800138000"}])
    assert not PhoneIndex.objects.exists()

    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"), "Q3")
    run_worker()

    assert indexed(customers["C1"]) == {"8613800138000"}


# --- the priority answer ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_priority_answers_known_blacklisted_untiered_and_unknown_callers(
    graded, manager, django_user_model
):
    """Given the graded customers, when an IVR asks for callers' priorities by phone in
    other forms than the contact sheets', then a tier A caller gets 1 and "90% within
    20 s", tier B 3 with a 24 h callback, a blacklisted tier A customer 9, a customer
    with a number but no policy the default 5, and an unknown number a 200 with
    known=false and the default priority."""
    ivr = bearer(user(django_user_model, "ivr", Role.ANALYST))
    Customer.objects.create(code="N1", name="新客户", contacts=[{"phone": "13700000000"}])

    a = ivr.get(PRIORITY, {"phone": "+8613800138000"})
    assert a.status_code == 200
    assert a.json() == {
        "known": True,
        "phone": "8613800138000",
        "customer": "C1",
        "name": "客户C1",
        "tier": "A",
        "queue_priority": 1,
        "answer_seconds": 20,
        "answer_share": 0.9,
        "callback_hours": None,
        "blacklisted": False,
    }
    b = ivr.get(PRIORITY, {"phone": "13912345678"}).json()
    assert (b["customer"], b["tier"], b["queue_priority"], b["callback_hours"]) == (
        "C3",
        "B",
        3,
        24,
    )
    black = ivr.get(PRIORITY, {"phone": "01065528899"}).json()
    assert (black["customer"], black["tier"], black["queue_priority"]) == ("C2", "A", 9)
    assert black["blacklisted"] is True
    c = ivr.get(PRIORITY, {"phone": "075587654321"}).json()
    assert (c["tier"], c["queue_priority"], c["answer_seconds"]) == ("C", 6, None)
    untiered = ivr.get(PRIORITY, {"phone": "137 0000 0000"}).json()
    assert (untiered["known"], untiered["tier"], untiered["queue_priority"]) == (True, None, 5)
    unknown = ivr.get(PRIORITY, {"phone": "13600000000"})
    assert unknown.status_code == 200
    assert unknown.json()["known"] is False and unknown.json()["queue_priority"] == 5
    by_code = ivr.get(PRIORITY, {"customer": "C6"}).json()
    assert (by_code["tier"], by_code["queue_priority"], by_code["phone"]) == ("B", 3, "")
    withheld = ivr.get(PRIORITY)  # no number (withheld): an unknown caller, not an error
    assert withheld.status_code == 200
    assert withheld.json()["known"] is False and withheld.json()["queue_priority"] == 5
    schema = ivr.get("/api/openapi.json").json()["paths"]
    assert "/api/priority" in schema and "/api/calls" in schema


@pytest.mark.django_db(transaction=True)
def test_a_shared_number_answers_for_the_best_customer_and_account_managers_for_their_own(
    graded, manager, django_user_model
):
    """Given one switchboard number on a tier C and a tier A customer's contacts, the
    latter owned by an account manager, when asked, then the answer is the tier A
    customer's; another account manager hears only of their own (tier C) customer."""
    own = user(django_user_model, "li", Role.ACCOUNT_MANAGER)
    other = user(django_user_model, "zhou", Role.ACCOUNT_MANAGER)
    shared = [{"phone": "021-5555 6666"}]
    do_update_customer(manager, graded["C5"], {"contacts": shared, "owner": other}, "x")
    do_update_customer(manager, graded["C1"], {"contacts": shared, "owner": own}, "x")

    assert bearer(manager).get(PRIORITY, {"phone": "02155556666"}).json()["customer"] == "C1"
    assert bearer(own).get(PRIORITY, {"phone": "02155556666"}).json()["customer"] == "C1"
    theirs = bearer(other).get(PRIORITY, {"phone": "02155556666"}).json()
    assert (theirs["customer"], theirs["queue_priority"]) == ("C5", 6)
    assert bearer(other).get(PRIORITY, {"customer": "C1"}).json()["known"] is False


@pytest.mark.django_db
def test_priority_needs_a_valid_token_of_an_active_user(manager, django_user_model):
    """Given no token, a wrong one, a session without token and a deactivated user's,
    when asking, then each is refused with 401; a valid token is stamped as used once
    however often it asks within a minute."""
    assert Client().get(PRIORITY, {"phone": "13800138000"}).status_code == 401
    wrong = Client(HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.get(PRIORITY, {"phone": "13800138000"}).status_code == 401
    assert login(manager).get(PRIORITY, {"phone": "13800138000"}).status_code == 401

    ivr = bearer(manager)
    for _ in range(3):
        assert ivr.get(PRIORITY, {"phone": "13800138000"}).status_code == 200
    stamped = ApiToken.objects.get(user=manager).last_used
    assert stamped is not None

    gone = user(django_user_model, "gone", Role.ANALYST)
    client = bearer(gone)
    gone.is_active = False
    gone.save()
    assert client.get(PRIORITY, {"phone": "13800138000"}).status_code == 401
    assert ApiToken.objects.get(user=manager).last_used == stamped


# --- recording calls -------------------------------------------------------------------------


def call(phone, day, wait, answered=True, callback=None, **more):
    row = {
        "caller": phone,
        "queued_at": f"{day}T10:00:00+08:00",
        "wait_seconds": wait,
        "answered": answered,
    }
    if callback:
        row["callback_at"] = callback
    return row | more


@pytest.mark.django_db
def test_api_calls_are_refused_whole_with_each_problem_named(manager, django_user_model):
    """Given a batch with a negative wait, a callback before the call, a repeated
    reference and an empty caller, when posted, then 409 names each as calls[i].field and
    nothing is recorded; analysts and account managers may not post at all."""
    bad = [
        call("13800138000", "2026-10-01", 10, reference="X1"),
        call("13800138000", "2026-10-01", 5, False, "2026-09-30T10:00:00+08:00"),
        call("", "2026-10-01", 3, reference="X1"),
    ]
    response = bearer(manager).post(CALLS, {"calls": bad}, content_type="application/json")
    assert response.status_code == 409
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["calls[1].callback_at", "calls[2].caller", "calls[2].reference"]
    negative = [call("13800138000", "2026-10-01", -1)]
    response = bearer(manager).post(CALLS, {"calls": negative}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "calls[0].wait_seconds"
    assert not CallLog.objects.exists()
    for role in (Role.ANALYST, Role.ACCOUNT_MANAGER):
        someone = bearer(user(django_user_model, role, role))
        good = [call("13800138000", "2026-10-01", 10)]
        assert (
            someone.post(CALLS, {"calls": good}, content_type="application/json").status_code == 403
        )
    assert not CallLog.objects.exists()


def sla_rows(client, **period):
    response = client.get(
        reverse("callcentre_sla"), period or {"start": "2026-10-01", "end": "2026-10-31"}
    )
    assert response.status_code == 200
    return {row.tier: row for row in response.context["rows"]}


@pytest.mark.django_db(transaction=True)
def test_sla_report_per_tier_against_the_policy(graded, manager, django_user_model):
    """Given October's calls: tier A (C1) 10 calls, 9 answered within 20 s and one after
    25 s; tier B (C3) 20 calls, 16 within 30 s, 4 abandoned of which 3 called back within
    24 h and one after 30 h; tier C (C4) 2 calls; 2 from an unknown number; and one A call
    in September; when the report for October is read, then A is 90% in time vs 90%
    (met), B 80% vs 85% (missed) with callbacks 3 of 4, C has no target, the unknown
    calls have no tier, and the CSV export says the same."""
    calls = [call("13800138000", "2026-10-02", 5 + i) for i in range(9)]
    calls.append(call("138 0013 8000", "2026-10-03", 25, reference="A-late"))
    calls += [call("+86 13912345678", "2026-10-05", 30) for _ in range(16)]
    calls += [
        call("13912345678", "2026-10-06", 40, False, "2026-10-07T09:00:00+08:00") for _ in range(3)
    ]
    calls.append(call("13912345678", "2026-10-06", 40, False, "2026-10-07T16:00:00+08:00"))
    calls += [call("0755-87654321", "2026-10-08", 100), call("0755 87654321", "2026-10-08", 1)]
    calls += [call("13600000000", "2026-10-09", 3), call("13600000000", "2026-10-09", 90, False)]
    calls.append(call("13800138000", "2026-09-30", 60))
    response = bearer(manager).post(
        CALLS, {"calls": calls, "reason": "October"}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json() == {"recorded": 35, "matched": 33}
    assert AuditEntry.objects.filter(action="callcentre.calls.record", reason="October").exists()

    rows = sla_rows(login(manager))
    a, b, c, none = rows["A"], rows["B"], rows["C"], rows[""]
    assert (a.calls, a.answered, a.within, a.within_share, a.met) == (10, 10, 9, 0.9, True)
    assert (b.calls, b.within, b.abandoned, b.met) == (20, 16, 4, False)
    assert (b.callbacks_due, b.callbacks_in_time, b.callback_share) == (4, 3, 0.75)
    assert (c.calls, c.within_share, c.met) == (2, None, None)
    assert (none.calls, none.answered, none.abandoned) == (2, 1, 1)
    assert list(rows) == ["A", "B", "C", ""]

    export = login(manager).get(
        reverse("callcentre_sla"),
        {"start": "2026-10-01", "end": "2026-10-31", "format": "csv"},
        **EN,
    )
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Tier,Calls,Answered,Answered in time,Share in time")
    assert lines[1] == "A,10,10,9,0.9000,20,0.900,yes,0,0,0,"
    assert lines[2] == "B,20,16,16,0.8000,30,0.850,no,4,4,3,24"
    page = login(manager).get(
        reverse("callcentre_sla"), {"start": "2026-10-01", "end": "2026-10-31"}, **EN
    )
    assert "90% within 20 s" in page.text and "missed" in page.text
    assert "3 / 4 (75.0%) within 24 hours" in page.text
    chinese = login(manager).get(
        reverse("callcentre_sla"),
        {"start": "2026-10-01", "end": "2026-10-31"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "呼叫中心服务水平" in chinese.text and "90% 在 20 秒内接听" in chinese.text
    assert "未达标" in chinese.text and "24 小时内" in chinese.text

    # the same report over the API
    report = bearer(manager).get(
        "/api/callcentre/sla", {"start": "2026-10-01", "end": "2026-10-31"}
    )
    assert report.status_code == 200, report.content
    by_tier = {row["tier"]: row for row in report.json()["rows"]}
    assert list(by_tier) == ["A", "B", "C", ""]
    assert (by_tier["A"]["within_share"], by_tier["A"]["met"]) == (0.9, True)
    assert (by_tier["B"]["callback_share"], by_tier["B"]["met"]) == (0.75, False)
    backwards = bearer(manager).get(
        "/api/callcentre/sla", {"start": "2026-11-01", "end": "2026-10-01"}
    )
    assert backwards.status_code == 409 and backwards.json()["errors"][0]["field"] == "start"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMINISTRATOR, 200),
        (Role.MANAGER, 200),
        (Role.ANALYST, 200),
        (Role.ACCOUNT_MANAGER, 403),
    ],
)
def test_who_sees_the_sla_report(django_user_model, role, status):
    """Given each role, when they open the SLA report, its export or its API, then
    administrators, managers and analysts may, account managers may not."""
    who = user(django_user_model, role, role)
    client = login(who)
    assert client.get(reverse("callcentre_sla")).status_code == status
    assert client.get(reverse("callcentre_sla"), {"format": "csv"}).status_code == status
    assert bearer(who).get("/api/callcentre/sla").status_code == status


@pytest.mark.django_db
def test_pages_ask_anonymous_visitors_to_log_in():
    """Given an anonymous visitor, when they open the call-centre pages, then they are
    sent to log in."""
    for name in ("callcentre_sla", "callcentre_import"):
        response = Client().get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_a_bad_period_is_explained(manager):
    """Given a start after the end, when the report is asked for, then the form says so."""
    response = login(manager).get(
        reverse("callcentre_sla"), {"start": "2026-10-31", "end": "2026-10-01"}, **EN
    )
    assert response.status_code == 200 and "The start is after the end." in response.text


# --- importing calls -------------------------------------------------------------------------

GOOD = (
    "主叫号码,排队时间,等待秒数,是否接通,回拨时间,通话编号\n"
    "138-0013-8000,2026-10-01 09:30:00,12,接通,,R1\n"
    "13600000000,2026/10/01 10:00,45秒,放弃,2026-10-01 15:00:00,R2\n"
)


def upload(client, text: str, encoding="utf-8", reason="October calls"):
    data = io.BytesIO(text.encode(encoding))
    data.name = "calls.csv"
    return client.post(reverse("callcentre_import"), {"file": data, "reason": reason}, **EN)


@pytest.mark.django_db
def test_a_gbk_calls_file_with_chinese_headers_is_imported(manager):
    """Given a GBK file with Chinese headers, slashes in a date and 45秒, when a manager
    imports it, then both calls are recorded, the first matched to its customer."""
    customer = Customer.objects.create(code="P1", name="甲", contacts=[{"phone": "13800138000"}])
    response = upload(login(manager), GOOD, "gbk")
    assert response.status_code == 302 and response["Location"] == reverse("callcentre_sla")
    first, second = CallLog.objects.order_by("reference")
    assert (first.customer, first.wait_seconds, first.answered) == (customer, 12, True)
    assert first.queued_at == at("2026-10-01", "09:30:00")
    assert (second.customer, second.wait_seconds, second.answered) == (None, 45, False)
    assert second.callback_at == at("2026-10-01", "15:00:00")
    entry = AuditEntry.objects.get(action="callcentre.calls.record")
    assert entry.actor == manager and entry.reason == "October calls (calls.csv)"


@pytest.mark.django_db
def test_a_calls_file_with_bad_rows_is_refused_whole(manager):
    """Given a file whose rows have a bad time, a bad wait, an unknown outcome, a callback
    before the call and a reference already recorded, when imported, then nothing is
    recorded and every problem is listed with its row and column."""
    upload(login(manager), GOOD)
    bad = (
        "caller,queued_at,wait_seconds,answered,callback_at,reference\n"
        "13800138000,2026-10-02 09:00:00,10,yes,,R9\n"
        "13800138000,yesterday,10,yes,,\n"
        "13800138000,2026-10-02 09:00:00,ten,yes,,\n"
        "13800138000,2026-10-02 09:00:00,10,maybe,,\n"
        "13800138000,2026-10-02 09:00:00,10,no,2026-10-01 09:00:00,\n"
        "13800138000,2026-10-02 09:00:00,10,yes,,R1\n"
    )
    response = upload(login(manager), bad)
    assert response.status_code == 400
    issues = [(i.row, i.field, i.value) for i in response.context["issues"]]
    assert issues == [
        (3, "queued_at", "yesterday"),
        (4, "wait_seconds", "ten"),
        (5, "answered", "maybe"),
        (6, "callback_at", "2026-10-01T09:00:00+08:00"),
        (7, "reference", "R1"),
    ]
    assert (
        "Nothing was imported" in response.text and "this call is already recorded" in response.text
    )
    assert CallLog.objects.count() == 2


@pytest.mark.django_db
def test_a_calls_file_without_a_needed_column_names_it(manager):
    """Given a file without the wait column, when imported, then the page says which
    column is missing and which the file has."""
    response = upload(
        login(manager), "caller,queued_at,answered\n13800138000,2026-10-02 09:00,yes\n"
    )
    assert response.status_code == 400
    message = response.context["issues"][0].message
    assert "no column for wait_seconds" in message and "caller, queued_at, answered" in message


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMINISTRATOR, 200),
        (Role.MANAGER, 200),
        (Role.ANALYST, 403),
        (Role.ACCOUNT_MANAGER, 403),
    ],
)
def test_who_may_import_calls_and_rebuild_the_index(django_user_model, role, status):
    """Given each role, when they open the import page and ask for an index rebuild, then
    only administrators and managers may; the rebuild is audited."""
    who = user(django_user_model, role, role)
    client = login(who)
    assert client.get(reverse("callcentre_import")).status_code == status
    response = client.post(reverse("callcentre_rebuild_index"), {"reason": "contacts restored"})
    assert response.status_code == (302 if status == 200 else 403)
    rebuilt = AuditEntry.objects.filter(action="callcentre.phone_index.rebuild", actor=who)
    assert rebuilt.exists() == (status == 200)


# --- the customer page -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_customer_page_shows_priority_and_recent_calls(graded, manager, django_user_model):
    """Given a tier B customer with a call, when a manager and an analyst open their page,
    then both see priority 3, the answer target and the call; only the manager sees the
    caller's number."""
    services.do_record_calls(
        manager,
        [
            {
                "caller": "139 1234 5678",
                "queued_at": at("2026-10-06"),
                "wait_seconds": 42,
                "answered": False,
            }
        ],
        "test",
    )
    url = reverse("customer_detail", args=["C3"])
    page = login(manager).get(url, **EN)
    assert page.status_code == 200
    assert '<strong id="queue-priority">3</strong>' in page.text
    assert "85% within 30 s" in page.text and "called back within 24 hours" in page.text
    assert "139 1234 5678" in page.text and "abandoned" in page.text
    analyst = login(user(django_user_model, "zhao", Role.ANALYST)).get(url, **EN)
    assert "abandoned" in analyst.text and "139 1234 5678" not in analyst.text


def test_a_number_longer_than_any_telephone_number_has_no_key():
    """E.164 numbers have at most 15 digits: a longer "caller" (63 zeros, as a client
    fuzzing the API sent) gives no key, so it is recorded unmatched instead of overflowing
    the 32-character phone column (a 500 on PostgreSQL)."""
    assert normalise_phone("0" * 63) == ""
    assert normalise_phone("+" + "9" * 16) == ""
    assert normalise_phone("+" + "9" * 15) == "9" * 15
    assert normalise_phone("+1 415 555 0100") == "14155550100"
