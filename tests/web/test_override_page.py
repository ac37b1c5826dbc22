"""Setting a tier by hand from the customer page: who may, what is checked, what the
next evaluation does with it."""

import datetime as dt

import pytest
from django.urls import reverse

from tiering_web.accounts.models import Role
from tiering_web.audit.models import AuditEntry
from tiering_web.evaluations.models import Override
from tiering_web.evaluations.services import run_evaluation
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
NEXT_YEAR = dt.date.today() + dt.timedelta(days=365)


def url(code="C4"):
    return reverse("customer_override", args=[code])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [("administrator", 200), ("manager", 200), ("account_manager", 403), ("analyst", 403)],
)
def test_who_may_set_a_tier_by_hand(client, django_user_model, customers, version, who, status):
    """Given C4 owned by the account manager, when each role opens its override page,
    then administrators and managers get the form and the others are refused; the
    customer page links to it only for those allowed."""
    user = django_user_model.objects.create_user(who, password="x", role=who)
    customers["C4"].owner = user
    customers["C4"].save()
    client.force_login(user)
    assert client.get(url(), **EN).status_code == status
    page = client.get(reverse("customer_detail", args=["C4"]), **EN).text
    assert ('id="set-override"' in page) == (status == 200)
    assert client.post(url(), {}, **EN).status_code == status


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(client, customers):
    response = client.get(url())
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.django_db
def test_account_manager_cannot_reach_another_owners_customer(client, django_user_model, customers):
    sales = django_user_model.objects.create_user("li", password="x", role=Role.ACCOUNT_MANAGER)
    client.force_login(sales)
    assert client.get(url(), **EN).status_code == 404


@pytest.mark.django_db
def test_bad_input_is_refused_on_its_field(client, manager, customers, version):
    """Given the form, when the tier is not one of the rule set's, the reason is blank or
    the expiry has passed, then each error is on its field and nothing is stored."""
    client.force_login(manager)
    response = client.post(
        url(),
        {"ruleset": version.ruleset.pk, "tier": "Z", "reason": "  ", "expires": "2020-01-01"},
        **EN,
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"reason", "expires"}
    response = client.post(
        url(),
        {"ruleset": version.ruleset.pk, "tier": "Z", "reason": "big deal", "expires": NEXT_YEAR},
        **EN,
    )
    assert "not a tier of this rule set (A, B, C)" in response.context["form"].errors["tier"][0]
    assert not Override.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_override_is_recorded_and_applied_by_the_next_evaluation(
    client, manager, customers, version
):
    """Given a manager sets C4 to A with a reason until next year, when the rule set is
    evaluated, then C4 gets A with the override flag and its reason, and the audit log
    holds who set it and why."""
    do_set_primary(manager, version.ruleset, "test")
    client.force_login(manager)
    response = client.post(
        url(),
        {
            "ruleset": version.ruleset.pk,
            "tier": "A",
            "reason": "strategic account",
            "expires": NEXT_YEAR,
        },
        **EN,
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customer_detail", args=["C4"])
    override = Override.objects.get()
    assert (override.tier, override.reason) == ("A", "strategic account")
    assert override.created_by == manager
    entry = AuditEntry.objects.get(action="override.set")
    assert entry.actor == manager and entry.reason == "strategic account"
    page = client.get(reverse("customer_detail", args=["C4"]), **EN).text
    assert "Override saved" in page and "strategic account" in page

    evaluation = run_evaluation(manager, version, AS_OF, lang="en")
    result = evaluation.results.get(customer__code="C4")
    assert result.tier == "A" and "override" in result.flags
    assert "strategic account" in result.reason
