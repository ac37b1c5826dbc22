"""The customer list's search: code or name containing the query, any case; on
PostgreSQL two-character queries go through the index of two-character name pieces."""

import pytest
from django.urls import reverse

from tiering_web.customers.models import Customer

NAMES = {
    "K001": "华泰证券股份有限公司",
    "K002": "江苏机械华泰有限公司",
    "K003": "泰华贸易公司",
    "K004": "Acme Machinery Ltd",
    "K005": "华东泰山物流",
}


@pytest.fixture
def book(db):
    for code, name in NAMES.items():
        Customer.objects.create(code=code, name=name)


def found(client, q):
    response = client.get(reverse("customer_list"), {"q": q})
    assert response.status_code == 200
    return sorted(c.code for c in response.context["page"].object_list)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("q", "codes"),
    [
        ("华泰", ["K001", "K002"]),  # two characters, in order, anywhere in the name
        ("泰华", ["K003"]),
        ("机械", ["K002"]),
        ("ac", ["K004"]),  # any case
        ("MACHINERY", ["K004"]),
        ("泰", ["K001", "K002", "K003", "K005"]),
        ("华泰证券", ["K001"]),
        ("K00", ["K001", "K002", "K003", "K004", "K005"]),
        ("k003", ["K003"]),
        ("泰山物", ["K005"]),
        ("无此", []),
    ],
)
def test_search(client, manager, book, q, codes):
    """Given five customers, when searching, then exactly those whose name or code holds
    the query are listed, on SQLite and on PostgreSQL alike."""
    client.force_login(manager)
    assert found(client, q) == codes
