"""The approvals inbox (待我审批): what awaits each user's own signature or decision, by
their role and never their own work, with its count in the navigation on every page."""

import datetime as dt

import pytest
from django.urls import reverse

from tiering_web.accounts.models import Role
from tiering_web.dashboard import approvals
from tiering_web.evaluations.models import Evaluation
from tiering_web.policies.services import do_save_policy_version
from tiering_web.rulesets.services import (
    do_create_ruleset,
    do_review_ruleset_version,
    do_save_ruleset_version,
)

from .conftest import THRESHOLDS, approve

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def work(manager, staff, version, django_user_model):
    """What waits, all started by 王 (``manager``): a draft of a second rule set (v1), a
    draft overtaken by an approved later version (v1 of 甲, v2 approved), a version of
    甲 reviewed by 赵 (an analyst; v3), policies of the approved rule set effective in a
    month, and a draft evaluation of it."""
    drafts = do_create_ruleset(manager, "利润ABC", "test")
    do_save_ruleset_version(manager, drafts, {**THRESHOLDS, "name": "利润ABC"}, "v1")
    first = do_create_ruleset(manager, "甲", "test")
    rules = {**THRESHOLDS, "name": "甲"}
    do_save_ruleset_version(manager, first, rules, "v1, never signed")
    approve(do_save_ruleset_version(manager, first, rules, "v2"))
    reviewed = do_save_ruleset_version(manager, first, rules, "v3")
    do_review_ruleset_version(staff[Role.ANALYST], reviewed, "read it")
    rows = [{"tier": t} for t in version.rules().tier_names]
    in_a_month = dt.date.today() + dt.timedelta(days=30)
    do_save_policy_version(manager, version.ruleset, in_a_month, rows, "terms")
    Evaluation.objects.create(
        ruleset_version=version,
        as_of=dt.date(2026, 9, 30),
        status=Evaluation.Status.DRAFT,
        created_by=staff[Role.ANALYST],
    )
    return staff


def titles(sections, name):
    section = next(s for s in sections if s.name == name)
    return [item.title for item in section.items]


@pytest.mark.django_db
def test_each_user_sees_what_awaits_their_own_signature(work, manager, django_user_model):
    """Given the work above, when each user's inbox is read, then the administrator is
    asked to review 利润ABC v1 (not 甲 v1, which a later approved version overtook), to
    approve 甲 v3, to approve the policies and to publish the evaluation; the analyst who
    reviewed 甲 v3 is asked only to review 利润ABC v1; the author 王 is asked to sign none
    of his own versions, only to publish; an account manager has no inbox."""
    admin = work[Role.ADMINISTRATOR]
    sections = approvals.awaiting(admin)
    assert [s.name for s in sections] == [
        "review",
        "approve",
        "policy",
        "publish",
        "proposals",
        "messages",
    ]
    assert titles(sections, "review") == ["利润ABC v1"]
    assert titles(sections, "approve") == ["甲 v3"]
    assert titles(sections, "policy") == ["按营收分级 v1"]
    assert titles(sections, "publish") == ["按营收分级 v1"]
    assert titles(sections, "proposals") == []
    assert approvals.count(admin) == {
        "review": 1,
        "approve": 1,
        "policy": 1,
        "publish": 1,
        "proposals": 0,
        "messages": 0,
        "total": 4,
    }

    analyst = work[Role.ANALYST]
    assert [(s.name, s.total) for s in approvals.awaiting(analyst)] == [("review", 1)]
    assert approvals.count(analyst)["total"] == 1

    mine = {s.name: s.total for s in approvals.awaiting(manager)}
    assert mine == {
        "review": 0,
        "approve": 0,
        "policy": 0,
        "publish": 1,
        "proposals": 0,
        "messages": 0,
    }

    account_manager = work[Role.ACCOUNT_MANAGER]
    assert approvals.awaiting(account_manager) == []
    assert approvals.count(account_manager) == {"total": 0}


@pytest.mark.django_db
def test_the_count_is_one_query(work, django_assert_num_queries):
    """Given a manager with five sections, when the navigation counts what awaits them,
    then it takes one query; for an account manager, none."""
    with django_assert_num_queries(1):
        assert approvals.count(work[Role.ADMINISTRATOR])["total"] == 4
    with django_assert_num_queries(0):
        approvals.count(work[Role.ACCOUNT_MANAGER])


@pytest.mark.django_db
def test_the_inbox_page_and_the_badge_in_the_navigation(client, work):
    """Given the work above, when the administrator opens any page, then the navigation
    links to 待我审批 with the count 4; the inbox lists each item linked to where it is
    signed; an account manager gets no link and a 403 on the inbox."""
    client.force_login(work[Role.ADMINISTRATOR])
    page = client.get(reverse("customer_list")).content.decode()
    assert "待我审批" in page
    assert '<span class="badge count"' in page and ">4</span>" in page
    inbox = client.get(reverse("approvals_inbox"), **EN)
    assert inbox.status_code == 200
    text = inbox.content.decode()
    assert "Rule-set versions to review" in text and "Evaluations to publish" in text
    item = inbox.context["sections"][0].items[0]
    assert item.by == "wang" and item.url in text
    assert "?version=1#version-1" in item.url
    approve_item = inbox.context["sections"][1].items[0]
    assert approve_item.detail == "reviewed by zhao"

    client.force_login(work[Role.ACCOUNT_MANAGER])
    page = client.get(reverse("customer_list")).content.decode()
    assert reverse("approvals_inbox") not in page
    assert client.get(reverse("approvals_inbox")).status_code == 403


@pytest.mark.django_db
def test_signing_empties_the_inbox(client, work):
    """Given the administrator's inbox, when they review 利润ABC v1, then it leaves their
    review section and enters no one's approve section but another's (they reviewed it),
    and the navigation's count follows."""
    from tiering_web.rulesets.models import RuleSetVersion

    admin = work[Role.ADMINISTRATOR]
    draft = RuleSetVersion.objects.get(ruleset__name="利润ABC", number=1)
    client.force_login(admin)
    url = reverse("ruleset_review", args=[draft.ruleset_id, 1])
    assert client.post(url, {"reason": "ok"}).status_code == 302
    counts = approvals.count(admin)
    assert (counts["review"], counts["approve"], counts["total"]) == (0, 1, 3)
    assert titles(approvals.awaiting(admin), "approve") == ["甲 v3"]
    second = type(admin).objects.create_user("chen", role=Role.MANAGER)
    assert titles(approvals.awaiting(second), "approve") == [
        "利润ABC v1",
        "甲 v3",
    ]  # the longest waiting first
