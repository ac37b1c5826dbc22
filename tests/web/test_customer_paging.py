"""The customer list's paging: the same order whether the list is short (sorted by the
database in one query) or past the count cap (read group by group, see
``tiering_web.customers.pagination``), every page in that order, and no row twice."""

import datetime as dt

import pytest
from django.urls import reverse

from tiering_web.accounts.models import Role
from tiering_web.customers import views
from tiering_web.customers.models import Customer
from tiering_web.customers.pagination import CappedPaginator
from tiering_web.evaluations.models import Evaluation, TierAssignment
from tiering_web.rulesets.services import do_set_primary

pytestmark = pytest.mark.django_db

TIERS = ("A", "B", "C", None)  # customer i gets TIERS[i % 4]; None: no tier


@pytest.fixture
def book(manager, version, django_user_model):
    """40 customers K00..K39 of two account managers (every fifth unowned), with a
    published tier under the primary rule set for three in four of them, the tiers
    interleaved in code order."""
    do_set_primary(manager, version.ruleset, "test")
    other = django_user_model.objects.create_user("zhou", role=Role.ACCOUNT_MANAGER)
    owners = [manager, other]
    customers = Customer.objects.bulk_create(
        Customer(
            code=f"K{i:02d}",
            name=f"客户{39 - i:02d}",
            industry=("制造业", "软件")[i % 2],
            owner=None if i % 5 == 0 else owners[i % 2],
        )
        for i in range(40)
    )
    evaluation = Evaluation.objects.create(
        ruleset_version=version, as_of=dt.date(2026, 9, 30), status=Evaluation.Status.PUBLISHED
    )
    TierAssignment.objects.bulk_create(
        TierAssignment(
            customer=c,
            ruleset=version.ruleset,
            tier=TIERS[i % 4],
            valid_from=evaluation.as_of,
            evaluation=evaluation,
        )
        for i, c in enumerate(customers)
        if TIERS[i % 4]
    )
    return {c.code: (TIERS[i % 4], c.owner) for i, c in enumerate(customers)}


def all_pages(client, params):
    """The codes of every page of the list, in order, and the number of pages."""
    url = reverse("customer_list")
    first = client.get(url, params)
    pages = first.context["paginator"].num_pages
    codes = []
    for number in range(1, pages + 1):
        response = client.get(url, {**params, "page": number})
        assert response.status_code == 200
        codes += [c.code for c in response.context["page"].object_list]
    return codes, pages


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", 7)


@pytest.mark.parametrize("cap", [1000, 30], ids=["short list", "past the cap"])
def test_sort_by_tier_best_first_and_untiered_last(
    client, manager, book, small_pages, monkeypatch, cap
):
    """Given 40 customers with tiers A, B, C or none, when sorting by tier (either way)
    with pages of 7, then each tier's customers come together in code order, the tiers
    best first (worst first when descending), the untiered last either way; past the cap
    the pages stop at the cap."""
    monkeypatch.setattr(CappedPaginator, "cap", cap)
    client.force_login(manager)
    for sort, order in (("tier", "ABC"), ("-tier", "CBA")):
        expected = [
            code for tier in [*order, None] for code in sorted(book) if book[code][0] == tier
        ][:cap]
        codes, pages = all_pages(client, {"sort": sort})
        assert codes == expected
        assert pages == -(-min(cap, 40) // 7)


@pytest.mark.parametrize("cap", [1000, 30], ids=["short list", "past the cap"])
def test_sort_by_owner_unowned_last(client, manager, book, small_pages, monkeypatch, cap):
    """Given customers of two account managers and unowned ones, when sorting by account
    manager, then they come by username (reversed when descending), each one's in code
    order, the unowned last either way."""
    monkeypatch.setattr(CappedPaginator, "cap", cap)
    client.force_login(manager)
    for sort, names in (("owner", ["wang", "zhou"]), ("-owner", ["zhou", "wang"])):
        expected = [
            code
            for name in [*names, None]
            for code in sorted(book)
            if (book[code][1].username if book[code][1] else None) == name
        ][:cap]
        assert all_pages(client, {"sort": sort})[0] == expected


@pytest.mark.parametrize("cap", [1000, 30], ids=["short list", "past the cap"])
def test_pages_of_a_filtered_search_have_each_row_once(
    client, manager, book, small_pages, monkeypatch, cap
):
    """Given a filter and a search, when paging through the list sorted by name, then the
    pages hold exactly the matching customers, in name order, each once."""
    monkeypatch.setattr(CappedPaginator, "cap", cap)
    client.force_login(manager)
    codes, _ = all_pages(client, {"industry": "软件", "q": "客户", "sort": "-name"})
    expected = [f"K{i:02d}" for i in range(1, 40, 2)]  # names fall as codes rise
    assert codes == expected
    assert len(set(codes)) == len(codes)


def test_a_page_past_the_cap_is_the_last_page(client, manager, book, small_pages, monkeypatch):
    """Given more customers than the cap, when asking for a page beyond it, then the last
    page within the cap comes back."""
    monkeypatch.setattr(CappedPaginator, "cap", 30)
    client.force_login(manager)
    response = client.get(reverse("customer_list"), {"page": 99})
    assert response.context["page"].number == 5
    assert [c.code for c in response.context["page"].object_list] == ["K28", "K29"]
