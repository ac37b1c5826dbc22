"""Customer codes: the rule of ``customers/domain.py`` and the address converter without
a database; then the rule on every way in (services, API, import), and customers stored
with a ``/`` before the rule (old data) still listed and opened by every role."""

import csv
from urllib.parse import unquote

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import resolve, reverse
from django.utils import translation

from tiering_web.accounts.models import Role
from tiering_web.customers import domain
from tiering_web.customers.converters import CustomerCodeConverter
from tiering_web.customers.models import Customer

JSON = "application/json"
OLD = "HZ/001"  # a code stored before the rule, as an old import let it in

# --- the rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["K001", "客户-甲", "A B", "50%", "x" * 64, "a.b_c:d@e", "~tilde", "%2F"],
)
def test_a_code_that_is_fine(code):
    """Given a code without slashes or hidden characters, up to 64 characters, when it is
    checked, then it passes."""
    assert domain.code_problem(code) is None
    domain.check_code(code)


@pytest.mark.parametrize(
    "code, reason",
    [
        (None, "required"),
        ("", "required"),
        ("   ", "required"),
        ("x" * 65, "max_length"),
        ("HZ/001", "slash"),
        ("/", "slash"),
        ("HZ\\001", "slash"),
        ("K\t001", "control"),
        ("K001\n", "control"),
        ("K\x00001", "control"),
        ("K\u200b001", "control"),  # a zero-width space nobody can see or type back
        ("K\u2028001", "control"),
    ],
)
def test_a_code_that_is_refused(code, reason):
    """Given a code that is blank, too long, with a slash or backslash, or a control or
    invisible character, when it is checked, then it is refused on ``code`` with the
    reason's code."""
    assert domain.code_problem(code).code == reason
    with pytest.raises(ValidationError) as e:
        domain.check_code(code)
    assert [error.code for error in e.value.error_dict["code"]] == [reason]


def test_the_refusal_speaks_the_reader_language():
    """Given a code with a slash, when it is refused, then the message is Chinese for a
    Chinese reader and English otherwise; a long code's names its length."""
    with translation.override("zh-hans"):
        assert list(domain.code_problem("A/B")) == [
            "客户编号不能包含 / 或 \\（它们会拆开客户的网址）"
        ]
        assert list(domain.code_problem("x" * 70)) == ["客户编号最多 64 个字符（此编号有 70 个）"]
    with translation.override("en"):
        (message,) = domain.code_problem("A/B")
        assert "cannot contain / or \\" in message


# --- the address of every stored code ----------------------------------------------------


@pytest.mark.parametrize(
    "code, in_address",
    [
        ("K001", "K001"),  # codes without / or % keep their address
        ("客户 甲", "客户 甲"),
        (OLD, "HZ%2F001"),
        ("50%", "50%25"),
        ("a%2Fb", "a%252Fb"),  # a literal escape is escaped, so it comes back as typed
        ("//", "%2F%2F"),
    ],
)
def test_the_converter_reaches_every_code(code, in_address):
    """Given any stored code, when it is written into an address and read back, then it
    is the same code, and the address segment has no slash."""
    converter = CustomerCodeConverter()
    assert converter.to_url(code) == in_address
    assert "/" not in converter.to_url(code)
    assert converter.to_python(converter.to_url(code)) == code


def test_reversing_an_old_code_and_resolving_it_back():
    """Given a code with a slash, when its pages are reversed, then each address has one
    segment for the code (the % escaped once more by reverse) and resolves to it."""
    for name in ("customer_detail", "customer_override", "customer_transfer"):
        url = reverse(name, args=[OLD])
        assert "HZ%252F001" in url
        # the server decodes the address once before resolving it
        match = resolve(unquote(url))
        assert (match.url_name, match.kwargs) == (name, {"code": OLD})


# --- every way in ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_services_refuse_a_bad_new_code_but_keep_an_old_one_editable(manager):
    """Given the services, when a customer is created with a slash in its code or renamed
    to one, then it is refused on ``code`` with the other problems of the same call; a
    customer stored with a slash before the rule can still be edited (its name)."""
    from tiering_web.customers.services import do_create_customer, do_update_customer

    with pytest.raises(ValidationError) as e:
        do_create_customer(manager, {"code": "A/B", "name": ""}, "test")
    assert set(e.value.error_dict) == {"code", "name"}
    assert e.value.error_dict["code"][0].code == "slash"
    assert not Customer.objects.exists()

    old = Customer.objects.create(code=OLD, name="老客户")
    do_update_customer(manager, old, {"name": "老客户（杭州）"}, "renamed")
    assert Customer.objects.get(code=OLD).name == "老客户（杭州）"
    with pytest.raises(ValidationError) as e:
        do_update_customer(manager, old, {"code": "HZ\\002"}, "typo")
    assert e.value.error_dict["code"][0].code == "slash"
    assert Customer.objects.filter(code=OLD).exists()
    do_update_customer(manager, old, {"code": "HZ-001"}, "now a valid code")
    assert Customer.objects.filter(code="HZ-001").exists()


def api(user) -> Client:
    from tiering_web.accounts.api import issue_token

    token = issue_token(user, user, "tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db
def test_the_api_answers_409_on_code_and_still_serves_an_old_code(manager):
    """Given the API, when a customer is created with a slash (or a tab) in its code,
    then 409 names ``code`` and nothing is stored; an old customer with a slash is read
    at its escaped address, and its tiers and policy too."""
    client = api(manager)
    # a blank code is refused by the schema itself (minLength), the others by the rule
    for bad, status in (("A/B", 409), ("A\tB", 409), ("", 422)):
        response = client.post("/api/customers/", {"code": bad, "name": "x"}, content_type=JSON)
        assert response.status_code == status, response.content
        assert [e["field"] for e in response.json()["errors"]] == ["code"]
    assert not Customer.objects.exists()

    Customer.objects.create(code=OLD, name="老客户")
    response = client.get("/api/customers/HZ%252F001")
    assert response.status_code == 200, response.content
    assert response.json()["code"] == OLD
    assert client.get("/api/customers/HZ%252F001/tiers").status_code == 200
    assert client.get("/api/policies/customer/HZ%252F001").status_code == 200
    patched = client.patch(
        "/api/customers/HZ%252F001", {"name": "改名", "reason": "r"}, content_type=JSON
    )
    assert patched.status_code == 200, patched.content
    assert client.get("/api/customers/K001").status_code == 404


@pytest.mark.django_db
def test_the_import_lists_each_bad_new_code_and_updates_an_old_one(tmp_path, manager):
    """Given a customers file with new codes holding a slash, a backslash and a zero-width
    space, and a row updating an old customer stored with a slash, when it is validated
    and imported, then each bad code is listed with its row, column and value in both
    languages and nothing is imported; without the bad rows the old customer is updated."""
    from tiering_web.imports.services import ImportRejected, import_customers, validate

    Customer.objects.create(code=OLD, name="老客户")
    rows = [
        [OLD, "老客户（杭州）"],  # row 2: stored before the rule, updated as it is
        ["K/002", "新客户甲"],  # row 3
        ["K\\003", "新客户乙"],  # row 4
        ["K\u200b004", "新客户丙"],  # row 5
        ["K005", "新客户丁"],  # row 6
    ]
    path = tmp_path / "customers.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["客户编号", "客户名称"], *rows])

    found = validate(path, "customers")
    assert [(i.row, i.column, i.value) for i in found] == [
        (3, "客户编号", "K/002"),
        (4, "客户编号", "K\\003"),
        (5, "客户编号", "K\u200b004"),
    ]
    assert (
        found[0].en == "a customer code cannot contain / or \\ (they would split its web address)"
    )
    assert found[0].zh == "客户编号不能包含 / 或 \\（它们会拆开客户的网址）"
    assert found[2].zh == "客户编号不能包含控制字符或不可见字符"
    with pytest.raises(ImportRejected):
        import_customers(manager, path, None, "with bad codes")
    assert set(Customer.objects.values_list("code", flat=True)) == {OLD}

    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["客户编号", "客户名称"], rows[0], rows[4]])
    import_customers(manager, path, None, "clean")
    assert dict(Customer.objects.values_list("code", "name")) == {
        OLD: "老客户（杭州）",
        "K005": "新客户丁",
    }


@pytest.mark.django_db
def test_every_role_lists_and_opens_an_old_customer_with_a_slash(client, staff):
    """Given customers stored before the rule with a slash, a percent sign and a
    backslash in their codes, owned by an account manager, when each role opens the
    customer list and follows the link, then the list answers 200 with the link and the
    customer's page opens; so do the override and transfer pages, and the message
    preferences are saved."""
    owner = staff[Role.ACCOUNT_MANAGER]
    odd = [OLD, "HZ/002/b", "50%", "C\\3"]
    for code in odd:
        Customer.objects.create(code=code, name=f"老客户{code}", owner=owner)
    for role, user in staff.items():
        client.force_login(user)
        listing = client.get(reverse("customer_list"))
        assert listing.status_code == 200, role
        page = listing.content.decode()
        for code in odd:
            url = reverse("customer_detail", args=[code])
            assert f'href="{url}"' in page, (role, code)
            opened = client.get(url)
            assert opened.status_code == 200, (role, code)
            assert opened.context["customer"].code == code
    client.force_login(staff[Role.MANAGER])
    for name in ("customer_override", "customer_transfer"):
        assert client.get(reverse(name, args=[OLD])).status_code == 200, name
    saved = client.post(
        reverse("notification_preferences", args=[OLD]), {"language": "zh-hans", "reason": "r"}
    )
    assert (saved.status_code, saved.url) == (302, reverse("customer_detail", args=[OLD]))
