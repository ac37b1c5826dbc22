"""Tier policy pages, the customer page's policy section and the policy API: the role
matrix, a version written through the form (benefit rows, terms, service level), bad input
named by tier and field with nothing saved, four-eyes approval, the terms in force on a
date, a customer's benefits in Chinese and English, and the JSON answers."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tiering_web.accounts.api import issue_token
from tiering_web.accounts.models import Role
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Customer
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.policies.models import PolicyVersion
from tiering_web.policies.services import (
    customer_terms,
    do_approve_policy_version,
    do_save_policy_version,
)
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def today() -> dt.date:
    """Today in the app's time zone, asked each time: a run that passes midnight in Shanghai
    must not keep the day it started with."""
    return timezone.localdate()


GOLD = [
    {"code": "member_price", "zh": "会员价", "en": "Member price"},
    {"code": "birthday_gift", "zh": "生日礼品", "en": "Birthday gift"},
]


def rows(a_terms=30, credit_limit="500000.00"):
    return [
        {
            "tier": "A",
            "benefits": GOLD,
            "discount_percent": Decimal("5.00"),
            "payment_terms_days": a_terms,
            "credit_days": 60,
            "credit_limit": Decimal(credit_limit),
            "dedicated_manager": True,
            "revisit_days": 30,
            "queue_priority": 1,
            "answer_seconds": 20,
            "answer_share": Decimal("0.900"),
        },
        {
            "tier": "B",
            "benefits": [{"code": "free_delivery", "zh": "免费配送", "en": "Free delivery"}],
            "payment_terms_days": 15,
            "service_team": "华东服务组",
            "revisit_days": 90,
            "queue_priority": 3,
            "answer_seconds": 20,
            "answer_share": Decimal("0.850"),
            "callback_hours": 24,
        },
        {"tier": "C", "queue_priority": 5},
    ]


@pytest.fixture
def users(staff):
    return staff


@pytest.fixture
def primary(manager, version):
    do_set_primary(manager, version.ruleset, "the one we use")
    return version.ruleset


def approved(author, approver, ruleset, effective, policy_rows, note=""):
    saved = do_save_policy_version(author, ruleset, effective, policy_rows, "test", note=note)
    return do_approve_policy_version(approver, saved, "checked")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(effective=None, reason="Q4 terms", **overrides):
    """What the editor posts for the THRESHOLDS tiers A, B, C: A with two benefit rows,
    B with one, C none (each block's blank row left empty)."""
    data = {
        "effective_date": (effective or today()).isoformat(),
        "note": "",
        "reason": reason,
    }
    blocks = {
        0: (GOLD, {"discount_percent": "5", "payment_terms_days": "30", "credit_days": "60",
                   "credit_limit": "500000", "dedicated_manager": "on", "revisit_days": "30",
                   "queue_priority": "1", "answer_seconds": "20", "answer_share": "0.9"}),
        1: ([{"code": "free_delivery", "zh": "免费配送", "en": "Free delivery"}],
            {"payment_terms_days": "15", "service_team": "华东服务组", "revisit_days": "90",
             "queue_priority": "3", "callback_hours": "24"}),
        2: ([], {"queue_priority": "5"}),
    }  # fmt: skip
    for i, (benefits, terms) in blocks.items():
        data[f"t{i}-b-TOTAL_FORMS"] = str(len(benefits) + 1)
        data[f"t{i}-b-INITIAL_FORMS"] = "0"
        for j, benefit in enumerate(benefits):
            for key, value in benefit.items():
                data[f"t{i}-b-{j}-{key}"] = value
        for key, value in terms.items():
            data[f"t{i}-{key}"] = value
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- the role matrix -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "reads", "edits"),
    [
        (Role.ADMINISTRATOR, 200, 200),
        (Role.MANAGER, 200, 200),
        (Role.ACCOUNT_MANAGER, 200, 403),
        (Role.ANALYST, 200, 403),
        (None, 302, 302),
    ],
)
def test_role_matrix(users, primary, role, reads, edits):
    """Given a saved draft, when each role opens the policy pages, then everyone signed in
    reads the list and the version, only administrators and managers open the editor, add
    benefit rows and approve; anonymous visitors are sent to log in."""
    draft = do_save_policy_version(users[Role.MANAGER], primary, today(), rows(), "draft")
    client = logged_in(users[role]) if role else Client()
    pk = primary.pk
    pages = {
        reverse("policy_list"): reads,
        reverse("policy_detail", args=[pk, draft.number]): reads,
        reverse("policy_edit", args=[pk]): edits,
        reverse("policy_benefit_row", args=[pk]) + "?tier=0&t0-b-TOTAL_FORMS=1": edits,
    }
    for url, status in pages.items():
        response = client.get(url, **EN)
        assert response.status_code == status, url
        if status == 302:
            assert response["Location"].startswith(reverse("login"))
    # a reader may not post either; the approval of someone else's version is the right
    # of administrators only here (the manager wrote it)
    response = client.post(reverse("policy_edit", args=[pk]), form_data(), **EN)
    assert response.status_code == (302 if edits == 200 else edits)
    approve = client.post(
        reverse("policy_approve", args=[pk, draft.number]), {"reason": "ok"}, **EN
    )
    expected = {Role.ADMINISTRATOR: 302, Role.MANAGER: 200, None: 302}.get(role, 403)
    assert approve.status_code == expected
    draft.refresh_from_db()
    assert draft.status == ("approved" if role == Role.ADMINISTRATOR else "draft")
    detail = client.get(reverse("policy_detail", args=[pk, draft.number]), **EN)
    if reads == 200:
        assert (b'id="approve-form"' in detail.content) == (
            edits == 200 and role != Role.ADMINISTRATOR
        )


# --- writing a version ---------------------------------------------------------------------


@pytest.mark.django_db
def test_manager_writes_a_version_through_the_form(users, primary):
    """Given the THRESHOLDS rule set with no policy yet, when the manager fills one block
    per tier (two benefits for A, one for B, terms and service levels) and saves, then a
    draft version 1 holds exactly those terms, audited with the manager and the reason,
    and the editor's next start is that version."""
    client = logged_in(users[Role.MANAGER])
    editor = client.get(reverse("policy_edit", args=[primary.pk]), **EN)
    assert editor.status_code == 200
    assert [b.tier for b in editor.context["editor"].blocks] == ["A", "B", "C"]

    response = client.post(reverse("policy_edit", args=[primary.pk]), form_data(), **EN)

    version = PolicyVersion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("policy_detail", args=[primary.pk, 1])
    assert (version.number, version.status, version.author) == (1, "draft", users["manager"])
    tiers = {p.tier: p for p in version.tiers.all()}
    assert tiers["A"].benefits == GOLD
    assert tiers["A"].discount_percent == Decimal("5.00")
    assert (tiers["A"].credit_days, tiers["A"].credit_limit) == (60, Decimal("500000.00"))
    assert tiers["A"].dedicated_manager and tiers["A"].answer_share == Decimal("0.900")
    assert tiers["B"].service_team == "华东服务组" and tiers["B"].callback_hours == 24
    assert not tiers["B"].dedicated_manager and tiers["C"].benefits == []
    entry = AuditEntry.objects.filter(action="policy.version.save").get()
    assert (entry.actor, entry.reason) == (users["manager"], "Q4 terms")

    detail = client.get(response["Location"], **EN)
    text = html.unescape(detail.content.decode())
    assert "Member price; Birthday gift" in text and "90% within 20 s" in text
    assert "500,000.00" in text and "60 days" in text

    again = client.get(reverse("policy_edit", args=[primary.pk]), **EN)
    content = again.content.decode()
    assert 'name="t0-b-0-code" value="member_price"' in content
    assert 'name="t1-service_team" value="华东服务组"' in content


@pytest.mark.django_db
def test_bad_input_names_tier_and_field_and_saves_nothing(users, primary):
    """Given a form with a discount of 150% for B, priority 0 for C, a benefit of A with a
    Chinese text but no code, a duplicated code in B and yesterday as the effective date,
    when the manager saves, then every problem is shown on its field and in the summary
    by tier and field, and nothing is written."""
    client = logged_in(users[Role.MANAGER])
    data = form_data(
        effective=today() - dt.timedelta(days=1),
        **{
            "t0-b-2-zh": "积分翻倍",
            "t1-discount_percent": "150",
            "t1-b-1-code": "free_delivery",
            "t1-b-1-en": "Free delivery again",
            "t2-queue_priority": "0",
        },
    )
    response = client.post(reverse("policy_edit", args=[primary.pk]), data, **EN)

    assert response.status_code == 200
    editor = response.context["editor"]
    a, b, c = editor.blocks
    assert a.benefits.forms[2].errors["code"] == ["a benefit needs a code"]
    assert b.form.errors["discount_percent"] == ["Ensure this value is less than or equal to 100."]
    assert b.benefits.forms[1].errors["code"] == ["this code is given twice"]
    assert c.form.errors["queue_priority"] == ["Ensure this value is greater than or equal to 1."]
    assert "effective_date" in editor.version.errors
    summary = html.unescape(response.content.decode())
    assert "Nothing was saved" in summary
    assert "B — Discount (%): Ensure this value is less than or equal to 100." in summary
    assert "C — Call-centre priority: Ensure this value is greater than or equal to 1." in summary
    assert "A — benefit 3, Code: a benefit needs a code" in summary
    # what was typed stays in the form
    assert 'name="t1-discount_percent" value="150"' in response.content.decode()
    assert not PolicyVersion.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="policy.").exists()


@pytest.mark.django_db
def test_a_benefit_row_is_added_with_htmx(users, primary):
    """Given a tier block with two benefit rows, when the manager asks for another, then
    the third row's empty fields come back with the block's form count raised to three."""
    client = logged_in(users[Role.MANAGER])
    url = reverse("policy_benefit_row", args=[primary.pk])
    response = client.get(url, {"tier": "1", "t1-b-TOTAL_FORMS": "2"}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="t1-b-2-code"' in content and 'name="t1-b-2-zh"' in content
    assert 'name="t1-b-2-en"' in content and 'name="t1-b-2-DELETE"' in content
    assert 'id="id_t1-b-TOTAL_FORMS" hx-swap-oob="true"' in content
    assert 'name="t1-b-TOTAL_FORMS" value="3"' in content
    assert client.get(url, {"tier": "x", "t1-b-TOTAL_FORMS": "2"}).status_code == 404


# --- approving -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_approval_needs_a_second_person_and_a_reason(users, primary):
    """Given the manager's draft effective today, when the manager approves it, then it is
    refused (four eyes); when the administrator approves without a reason, then the reason
    is asked for; with one, it is approved, audited and in force today."""
    manager, admin = users[Role.MANAGER], users[Role.ADMINISTRATOR]
    draft = do_save_policy_version(manager, primary, today(), rows(), "draft")
    url = reverse("policy_approve", args=[primary.pk, draft.number])

    own = logged_in(manager).post(url, {"reason": "looks fine"}, **EN)
    assert own.status_code == 200
    assert own.context["approve_form"].errors["__all__"] == [
        "the author of a version cannot approve it"
    ]
    admin_client = logged_in(admin)
    blank = admin_client.post(url, {"reason": "  "}, **EN)
    assert blank.context["approve_form"].errors["reason"] == ["This field is required."]
    draft.refresh_from_db()
    assert draft.status == "draft"

    response = admin_client.post(url, {"reason": "checked with finance"}, **EN)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.approver) == ("approved", admin)
    entry = AuditEntry.objects.get(action="policy.version.approve")
    assert (entry.actor, entry.reason) == (admin, "checked with finance")
    listing = admin_client.get(reverse("policy_list"), **EN)
    assert listing.context["sections"][0]["current"] == draft


@pytest.mark.django_db
def test_a_version_whose_date_has_passed_is_not_approved_on_the_page(users, primary):
    """Given a draft effective last week (saved through the service), when the
    administrator approves it on the page, then it is refused: approving it now would
    rewrite the terms in force last week."""
    draft = do_save_policy_version(
        users[Role.MANAGER], primary, today() - dt.timedelta(days=7), rows(), "late"
    )
    url = reverse("policy_approve", args=[primary.pk, draft.number])
    response = logged_in(users[Role.ADMINISTRATOR]).post(url, {"reason": "ok"}, **EN)
    assert response.status_code == 200
    assert "has passed" in response.context["approve_form"].errors["__all__"][0]
    draft.refresh_from_db()
    assert draft.status == "draft"


# --- reading: in force on dates, comparison ------------------------------------------------


@pytest.mark.django_db
def test_the_list_shows_the_terms_in_force_today_and_on_a_date(users, primary):
    """Given v1 (A: 30 days) from 100 days ago, v2 (A: 45 days) from 10 days ago and v3
    (A: 60 days) approved for next month, when an analyst reads the list, then today's
    terms are v2's; on a date 50 days ago v1's; a bad date is named; and v3's page shows
    what changes per tier against v2."""
    manager, admin = users[Role.MANAGER], users[Role.ADMINISTRATOR]
    approved(manager, admin, primary, today() - dt.timedelta(days=100), rows(30))
    v2 = approved(manager, admin, primary, today() - dt.timedelta(days=10), rows(45))
    v3 = approved(manager, admin, primary, today() + dt.timedelta(days=30), rows(60, "800000.00"))
    client = logged_in(users[Role.ANALYST])

    listing = client.get(reverse("policy_list"), **EN)
    section = listing.context["sections"][0]
    assert (section["current"], section["shown"]) == (v2, v2)
    assert section["terms"]["tiers"] == ["A", "B", "C"]
    assert [v.number for v in section["versions"]] == [3, 2, 1]
    assert "45 days" in listing.content.decode()

    past = (today() - dt.timedelta(days=50)).isoformat()
    earlier = client.get(reverse("policy_list"), {"on": past}, **EN)
    section = earlier.context["sections"][0]
    assert (section["current"].number, section["shown"].number) == (2, 1)
    commercial = dict(section["terms"]["groups"][1][1])
    assert commercial["payment terms (days)"] == ["30 days", "15 days", "—"]

    bad = client.get(reverse("policy_list"), {"on": "2026-02-30"}, **EN)
    assert bad.status_code == 200 and bad.context["date_form"].errors["on"]

    detail = client.get(reverse("policy_detail", args=[primary.pk, v3.number]), **EN)
    changes = {tier: rows for tier, _added, _removed, rows in detail.context["changes"]}
    assert changes["A"] == [
        ("payment terms (days)", "45 days", "60 days"),
        ("credit limit", "500,000.00", "800,000.00"),
    ]
    assert changes["B"] == [] and changes["C"] == []


# --- the customer page and the API ---------------------------------------------------------


@pytest.fixture
def graded(users, customers, primary, version):
    """C1 graded A and C3 graded B as of AS_OF (published), C3 owned by the account
    manager, and the policy of rows() in force since 1 January."""
    manager, admin = users[Role.MANAGER], users[Role.ADMINISTRATOR]
    Customer.objects.filter(code="C3").update(owner=users[Role.ACCOUNT_MANAGER])
    approved(manager, admin, primary, dt.date(2026, 1, 1), rows())
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"), "Q3")
    return customers


@pytest.mark.django_db(transaction=True)
def test_customer_page_shows_what_the_tier_gets_in_both_languages(
    users, graded, primary, django_assert_max_num_queries
):
    """Given C1 in tier A with the policy in force, when the manager reads C1's page in
    English and in Chinese, then its benefits, terms and service level read in that
    language; once v2 (A's payment terms 45 days) is approved for next month, a note says
    what changes and when; the account manager sees it on their own customer C3 only."""
    manager, admin = users[Role.MANAGER], users[Role.ADMINISTRATOR]
    client = logged_in(manager)
    url = reverse("customer_detail", args=["C1"])

    english = html.unescape(client.get(url, **EN).content.decode())
    assert "What this customer gets" in english
    for text in ("Member price", "Birthday gift", "5.00%", "30 days", "500,000.00"):
        assert text in english, text
    assert "90% within 20 s" in english and "1 (1 first, 9 last)" in english
    assert "policy-upcoming" not in english

    chinese = html.unescape(client.get(url, **ZH).content.decode())
    assert "会员价" in chinese and "生日礼品" in chinese
    assert "Member price" not in chinese
    assert "30 天" in chinese and "90% 在 20 秒内接听" in chinese

    later = today() + dt.timedelta(days=20)
    approved(manager, admin, primary, later, rows(45), note="longer terms")
    english = html.unescape(client.get(url, **EN).content.decode())
    assert f"From {later:%m/%d/%Y} (policy version 2) tier A's terms change:" in english
    assert "Payment terms (days): 30 days → 45 days" in english

    # the section costs a few bounded queries, however many versions and customers
    with django_assert_max_num_queries(6):
        terms = customer_terms(graded["C1"])
    assert (terms.tier, terms.upcoming.number, terms.policy.payment_terms_days) == ("A", 2, 30)

    sales = logged_in(users[Role.ACCOUNT_MANAGER])
    own = html.unescape(sales.get(reverse("customer_detail", args=["C3"]), **EN).content.decode())
    assert "Free delivery" in own and "85% within 20 s" in own and "within 24 hours" in own
    assert sales.get(url, **EN).status_code == 404
    analyst = logged_in(users[Role.ANALYST]).get(url, **EN)
    assert "Member price" in analyst.content.decode()


def api_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, user, 'tests')}")


@pytest.mark.django_db(transaction=True)
def test_api_answers_terms_in_force_and_a_customers_policy(users, graded, primary):
    """Given the policy in force since 1 January and C1 graded A, when the API is asked,
    then it answers the terms per tier on a date (none before 1 January), a customer's
    tier and policy for a caller who may see them, and JSON errors naming the field."""
    api = api_client(users[Role.ANALYST])

    response = api.get("/api/policies", **EN)
    body = response.json()
    assert response.status_code == 200
    assert body["ruleset"] == {"id": primary.pk, "name": "按营收分级", "is_primary": True}
    assert body["version"]["number"] == 1 and body["version"]["approver"] == "admin1"
    assert [t["tier"] for t in body["tiers"]] == ["A", "B", "C"]
    gold = body["tiers"][0]
    assert gold["benefits"][0] == {
        "code": "member_price",
        "zh": "会员价",
        "en": "Member price",
        "text": "Member price",
    }
    assert gold["answer_target"] == "90% within 20 s" and gold["queue_priority"] == 1
    assert (gold["credit_days"], gold["credit_limit"]) == (60, "500000.00")

    before = api.get("/api/policies", {"on": "2025-12-31", "ruleset": primary.pk}).json()
    assert before["version"] is None and before["tiers"] == []

    customer = api.get("/api/policies/customer/C1", {"on": "2026-10-15"}, **ZH).json()
    assert (customer["customer"], customer["tier"]) == ("C1", "A")
    assert customer["policy"]["benefits"][1]["text"] == "生日礼品"
    assert customer["policy"]["answer_target"] == "90% 在 20 秒内接听"
    assert api.get("/api/policies/customer/C1", {"on": "2026-01-15"}).json()["tier"] is None

    bad = api.get("/api/policies", {"on": "someday", "ruleset": "999"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"on"}
    unknown = api.get("/api/policies", {"ruleset": "999"}, **EN)
    assert unknown.status_code == 409
    assert unknown.json()["errors"] == [
        {"field": "ruleset", "message": "no rule set has the id 999"}
    ]

    sales = api_client(users[Role.ACCOUNT_MANAGER])
    assert sales.get("/api/policies/customer/C3").json()["tier"] == "B"
    assert sales.get("/api/policies/customer/C1").status_code == 404
    assert Client().get("/api/policies").status_code == 401
