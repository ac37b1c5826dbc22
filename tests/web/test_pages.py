"""Server-rendered pages: login, the customer list and page, the dashboard, languages."""

import html
from decimal import Decimal

import pytest
from django.urls import reverse

from tiering_web.accounts.models import Role
from tiering_web.customers.models import Customer, Status
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def make_user(django_user_model, username, role):
    return django_user_model.objects.create_user(username, password="x-secret-1", role=role)


@pytest.fixture
def sales(django_user_model):
    return make_user(django_user_model, "li", Role.ACCOUNT_MANAGER)


@pytest.fixture
def analyst(django_user_model):
    return make_user(django_user_model, "zhao", Role.ANALYST)


@pytest.fixture
def book(manager, sales):
    """Two customers owned by ``sales`` (one dormant, with contacts), one by the manager."""
    own = Customer.objects.create(
        code="S1",
        name="星辰科技",
        industry="软件",
        owner=sales,
        contacts=[{"name": "张三", "phone": "13800000000", "email": "zs@example.com"}],
    )
    dormant = Customer.objects.create(
        code="S2", name="北方机械", industry="制造业", owner=sales, status=Status.DORMANT
    )
    other = Customer.objects.create(code="M1", name="南方贸易", industry="贸易", owner=manager)
    return {"S1": own, "S2": dormant, "M1": other}


def codes(response):
    return [c.code for c in response.context["page"].object_list]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["dashboard", "customer_list"])
def test_pages_require_login(client, name):
    """Given an anonymous visitor, when they open a page, then they are sent to log in."""
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_login_page_logs_in_and_logout_logs_out(client, manager):
    """Given a user, when they log in with their password, then they reach the dashboard;
    when they log out, pages ask for a login again."""
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "wang", "password": "x-secret-1"})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "visible", "hidden_page"),
    [
        ("manager", ["M1", "S1", "S2"], None),
        ("analyst", ["M1", "S1", "S2"], None),
        ("sales", ["S1", "S2"], "M1"),
    ],
)
def test_role_matrix_for_customer_pages(client, request, book, who, visible, hidden_page):
    """Given customers of two owners, when each role opens the list and the pages, then
    an account manager sees only their own and gets 404 for another's; the others see
    all."""
    client.force_login(request.getfixturevalue(who))
    assert codes(client.get(reverse("customer_list"))) == visible
    for code in visible:
        assert client.get(reverse("customer_detail", args=[code])).status_code == 200
    if hidden_page:
        assert client.get(reverse("customer_detail", args=[hidden_page])).status_code == 404


@pytest.mark.django_db
def test_analysts_see_no_contacts(client, book, sales, analyst):
    """Given a customer with a contact, when the owner and an analyst open its page, then
    only the owner sees the contact's name and phone."""
    url = reverse("customer_detail", args=["S1"])
    client.force_login(sales)
    assert "13800000000" in client.get(url).text
    client.force_login(analyst)
    text = client.get(url).text
    assert "13800000000" not in text and "张三" not in text


@pytest.mark.django_db
def test_list_search_filters_and_sorting(client, book, manager, sales):
    """Given three customers, when searching, filtering and sorting, then the list shows
    the matching customers in the asked order."""
    client.force_login(manager)
    url = reverse("customer_list")
    assert codes(client.get(url, {"q": "星辰"})) == ["S1"]
    assert codes(client.get(url, {"q": "m1"})) == ["M1"]
    assert codes(client.get(url, {"industry": "制造业"})) == ["S2"]
    assert codes(client.get(url, {"owner": sales.pk})) == ["S1", "S2"]
    assert codes(client.get(url, {"status": "dormant"})) == ["S2"]
    assert codes(client.get(url, {"sort": "-code"})) == ["S2", "S1", "M1"]
    assert codes(client.get(url, {"sort": "name"})) == ["S2", "M1", "S1"]  # by code point


@pytest.mark.django_db
def test_htmx_request_gets_only_the_table(client, book, manager):
    """Given the filter form, when htmx asks for the list, then only the table comes back;
    a plain request gets the whole page."""
    client.force_login(manager)
    partial = client.get(reverse("customer_list"), {"q": "S"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.text and "S1" in partial.text
    full = client.get(reverse("customer_list"))
    assert "<html" in full.text and 'hx-target="#customer-table"' in full.text


@pytest.mark.django_db
def test_pagination_and_bounded_query_count(
    client, manager, django_assert_max_num_queries, settings
):
    """Given 120 customers, when paging through the list, then each page holds 50 (the
    last 20), and a page costs the same few queries however many customers there are."""
    Customer.objects.bulk_create(
        Customer(code=f"K{i:04d}", name=f"客户{i}", industry=f"行业{i % 3}", owner=manager)
        for i in range(120)
    )
    client.force_login(manager)
    url = reverse("customer_list")
    first = client.get(url)
    assert len(codes(first)) == 50 and first.context["paginator"].num_pages == 3
    assert codes(client.get(url, {"page": 3}))[-1] == "K0119"
    assert len(codes(client.get(url, {"page": 3}))) == 20
    with django_assert_max_num_queries(10):
        client.get(url, {"industry": "行业1", "sort": "-tier", "page": 2})


@pytest.mark.django_db
def test_count_is_capped(client, manager, monkeypatch):
    """Given more customers than the paginator counts, when listing, then the list says
    'more than' instead of an exact count."""
    from tiering_web.customers.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 5)
    Customer.objects.bulk_create(Customer(code=f"K{i}", name="x") for i in range(8))
    client.force_login(manager)
    response = client.get(reverse("customer_list"), **EN)
    assert response.context["paginator"].capped
    assert "More than 5 customers" in response.text


@pytest.mark.django_db
def test_language_default_is_chinese_and_english_can_be_chosen(client, manager):
    """Given no language preference, when opening the list, then labels are Chinese;
    after choosing English with the language switch, they are English."""
    client.force_login(manager)
    url = reverse("customer_list")
    response = client.get(url)
    assert "客户" in response.text and "Customers" not in response.text
    switched = client.post(reverse("set_language"), {"language": "en", "next": url})
    assert switched.status_code == 302
    response = client.get(url)
    assert "Customers" in response.text and "Log out" in response.text


@pytest.mark.django_db
def test_dashboard_serves_plotly_locally(client, manager):
    """Given a logged-in user, when opening the dashboard, then plotly.js comes from this
    site (no CDN), and the file is served with a long cache lifetime."""
    client.force_login(manager)
    text = client.get(reverse("dashboard")).text
    assert "cdn" not in text.lower() and "https://" not in text
    response = client.get(reverse("plotly_js"))
    assert response.status_code == 200
    assert "max-age=31536000" in response["Cache-Control"]
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()


@pytest.mark.django_db(transaction=True)
def test_customer_page_explains_the_published_tier(client, manager, customers, version):
    """Given a published evaluation of the primary rule set, when opening C4's page, then
    it shows the tier, the reason, the revenue behind it, the next tier and the gap; the
    list filters by that tier and the dashboard counts customers and revenue per tier."""
    do_set_primary(manager, version.ruleset, "test")
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="en"), "Q3")
    client.force_login(manager)

    page = client.get(reverse("customer_detail", args=["C4"]), **EN)
    assert page.status_code == 200
    (current,) = page.context["tiers"]
    assert current.assignment.tier == "C"
    assert html.escape(current.result.reason) in page.text and "revenue" in current.result.reason
    assert "19999.99" in page.text.replace(",", "")
    assert "Why this tier" in page.text and "Next tier" in page.text and "0.01" in page.text
    assert 'id="history"' in page.text

    listed = client.get(reverse("customer_list"), {"tier": "A"})
    assert codes(listed) == ["C1", "C2"]
    assert [c.current_tier for c in listed.context["page"].object_list] == ["A", "A"]

    rows = {r["tier"]: r for r in client.get(reverse("dashboard")).context["rows"]}
    assert {t: r["customers"] for t, r in rows.items()} == {"A": 2, "B": 2, "C": 2}
    assert rows["A"]["revenue"] == Decimal("250000")


def test_scorecard_details_split_into_factors_and_values():
    """Given result details with a scorecard factor's value and points, when splitting
    them for the page, then the factor pairs its value and points and the rest are
    other values."""
    from tiering_web.evaluations.explanations import split_details

    factors, values = split_details(
        {"revenue_value": 150000, "revenue_points": 40.0, "frequency": 3}
    )
    assert [(f.name, f.value, f.points) for f in factors] == [("revenue", 150000, 40.0)]
    assert values == {"frequency": 3}
