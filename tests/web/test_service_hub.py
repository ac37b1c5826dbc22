"""The navigation bar and the service page list the pages each role may open."""

import pytest
from django.urls import reverse

from tiering_web.accounts.models import Role

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SERVICE_PAGES = {
    Role.ADMINISTRATOR: {
        "work_proposals",
        "work_managers",
        "work_stale",
        "notification_outbox",
        "notification_templates",
        "notification_endpoints",
        "callcentre_sla",
    },
    Role.MANAGER: {
        "work_proposals",
        "work_managers",
        "work_stale",
        "notification_outbox",
        "notification_templates",
        "callcentre_sla",
    },
    Role.ACCOUNT_MANAGER: {"work_stale"},
    Role.ANALYST: {"work_stale", "callcentre_sla"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("who", list(SERVICE_PAGES))
def test_service_page_and_navigation_by_role(client, django_user_model, who):
    """Given a user of each role, when they open the service page, then it links exactly
    the pages their role may open, and each of those answers 200; the navigation shows
    the task list to those who have one."""
    user = django_user_model.objects.create_user(who, password="x", role=who)
    client.force_login(user)
    page = client.get(reverse("service_hub"), **EN)
    assert page.status_code == 200
    urls = {url for url, _, _ in page.context["links"]}
    assert urls == {reverse(name) for name in SERVICE_PAGES[who]}
    for url in urls:
        assert client.get(url, **EN).status_code == 200, url
    nav = {link["url"] for link in page.context["nav"]}
    assert (reverse("work_tasks") in nav) == (who != Role.ANALYST)
    assert reverse("policy_list") in nav and reverse("service_hub") in nav
