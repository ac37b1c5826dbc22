"""The API's evaluation summaries count only the customers the caller may see."""

import pytest
from django.test import Client

from tiering_web.accounts.api import issue_token
from tiering_web.accounts.models import Role
from tiering_web.evaluations.services import run_evaluation

from .conftest import AS_OF


@pytest.mark.django_db(transaction=True)
def test_account_manager_counts_cover_own_customers(django_user_model, manager, customers, version):
    """Given an evaluation of the six LEDGER customers and an account manager owning C1
    and C4, when each asks the API for the evaluation, then the manager's counts cover all
    six and the account manager's only C1 (A) and C4 (C)."""
    sales = django_user_model.objects.create_user("li", password="x", role=Role.ACCOUNT_MANAGER)
    for code in ("C1", "C4"):
        customers[code].owner = sales
        customers[code].save()
    evaluation = run_evaluation(manager, version, AS_OF, lang="en")

    def get(user):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, user, 'tests')}")
        response = client.get(f"/api/evaluations/{evaluation.pk}")
        assert response.status_code == 200
        return response.json()

    assert get(manager)["tiers"] == {"A": 2, "B": 2, "C": 2}
    assert get(sales)["tiers"] == {"A": 1, "C": 1}
    assert get(sales)["changes"] == {"new": 2}


@pytest.mark.django_db(transaction=True)
def test_explanation_follows_accept_language(manager, customers, version):
    """Given a published evaluation run in Chinese, when a client asks for C4's tiers in
    English and in Chinese, then the reason comes in each language."""
    from tiering_web.evaluations.services import publish_evaluation

    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="zh-hans"), "Q3")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(manager, manager, 'tests')}")

    def reason(language):
        response = client.get("/api/customers/C4/tiers", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        return response.json()[0]["explanation"]["reason"]

    assert "revenue" in reason("en") and "营收" in reason("zh-hans")
