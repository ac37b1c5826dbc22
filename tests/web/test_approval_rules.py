"""Four eyes: the approval rules of ``rulesets/domain.py`` and ``policies/domain.py``
without a database, then through the API, which has no form in front of it: a manager
alone can neither approve their own version nor publish a draft."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from tiering_web.policies import domain as policy_domain
from tiering_web.rulesets import domain

from .conftest import THRESHOLDS, approve, signatories

AUTHOR, REVIEWER, APPROVER = 1, 2, 3
JSON = "application/json"

APPROVABLE = {
    "status": "reviewed",
    "author": AUTHOR,
    "approver": APPROVER,
    "reviewer": REVIEWER,
    "effective_date": dt.date(2026, 10, 1),
}


def codes(error: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


# --- rule-set versions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, {}),
        ({"reviewer": APPROVER}, {"approver": ["own_review"]}),  # three people, not two
        ({"author": None}, {}),  # the author's account was deleted: the others still sign
        ({"status": "approved"}, {"status": ["approved"]}),
        ({"status": "draft"}, {"status": ["not_reviewed"]}),  # the reviewer signs first
        ({"approver": AUTHOR}, {"approver": ["own_version"]}),
        ({"approver": None}, {"approver": ["required"]}),
        ({"reviewer": AUTHOR}, {"reviewer": ["own_version"]}),
        ({"reviewer": None}, {"status": ["not_reviewed"]}),
        ({"effective_date": None}, {"effective_date": ["required"]}),
    ],
)
def test_who_may_approve_a_rule_set_version(change, expected):
    """Given a version written by one person and reviewed by a second, approved by a third
    with an effective date, when one fact changes, then approving is refused on the field
    at fault with its code, or allowed."""
    facts = {**APPROVABLE, **change}
    assert {f: [e.code for e in es] for f, es in domain.approval_errors(**facts).items()} == (
        expected
    )
    if expected:
        with pytest.raises(ValidationError) as e:
            domain.check_approval(**facts)
        assert codes(e.value) == expected
    else:
        domain.check_approval(**facts)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, {}),
        ({"author": None}, {}),
        ({"reviewer": AUTHOR}, {"reviewer": ["own_version"]}),
        ({"reviewer": None}, {"reviewer": ["required"]}),
        ({"status": "reviewed"}, {"status": ["reviewed"]}),
        ({"status": "approved"}, {"status": ["approved"]}),
    ],
)
def test_who_may_review_a_rule_set_version(change, expected):
    """Given a draft written by one person, when a second signs it as reviewer, then it
    is allowed; when one fact changes (the author signs, nobody signs, it was signed
    before), then it is refused on the field at fault."""
    facts = {"status": "draft", "author": AUTHOR, "reviewer": REVIEWER, **change}
    assert {f: [e.code for e in es] for f, es in domain.review_errors(**facts).items()} == (
        expected
    )
    if expected:
        with pytest.raises(ValidationError) as e:
            domain.check_review(**facts)
        assert codes(e.value) == expected
    else:
        domain.check_review(**facts)


def test_the_author_alone_gets_every_problem_at_once():
    """Given the author approving their own unreviewed version, as if they had reviewed
    it, without an effective date, when it is checked, then each problem is on its field."""
    with pytest.raises(ValidationError) as e:
        domain.check_approval(
            status="draft", author=AUTHOR, approver=AUTHOR, reviewer=AUTHOR, effective_date=None
        )
    assert codes(e.value) == {
        "status": ["not_reviewed"],
        "approver": ["own_version"],
        "reviewer": ["own_version"],
        "effective_date": ["required"],
    }


def test_the_refusal_is_worded_in_the_reader_language():
    """Given the author approving, when it is refused, then the message is Chinese for a
    Chinese reader and English otherwise."""
    facts = {**APPROVABLE, "approver": AUTHOR}
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as e:
            domain.check_approval(**facts)
        assert e.value.message_dict["approver"] == ["版本的制定人不能批准该版本"]
    with translation.override("en"):
        with pytest.raises(ValidationError) as e:
            domain.check_approval(**facts)
        assert e.value.message_dict["approver"] == ["the author of a version cannot approve it"]


# --- policy versions ---------------------------------------------------------------------

POLICY = {
    "status": "draft",
    "author": AUTHOR,
    "approver": APPROVER,
    "effective_date": dt.date(2026, 12, 1),
    "reason": "checked",
}


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, {}),
        ({"not_before": dt.date(2026, 12, 1)}, {}),  # takes effect today
        ({"status": "approved"}, {"status": ["approved"]}),
        ({"approver": AUTHOR}, {"approver": ["own_version"]}),
        ({"approver": None}, {"approver": ["required"]}),
        ({"reason": "  "}, {"reason": ["required"]}),
        ({"not_before": dt.date(2026, 12, 2)}, {"effective_date": ["past"]}),
        (
            {"approver": AUTHOR, "reason": "", "not_before": dt.date(2027, 1, 1)},
            {"approver": ["own_version"], "reason": ["required"], "effective_date": ["past"]},
        ),
    ],
)
def test_who_may_approve_a_policy_version(change, expected):
    """Given a policy draft and a second person approving it with a reason, when one fact
    changes, then approving is refused on the field at fault, or allowed; no reviewer is
    asked (policies have none: the approver is the second pair of eyes)."""
    facts = {**POLICY, **change}
    if not expected:
        policy_domain.check_approval(**facts)
        return
    with pytest.raises(ValidationError) as e:
        policy_domain.check_approval(**facts)
    assert codes(e.value) == expected


# --- through the API ---------------------------------------------------------------------


def api(user) -> Client:
    from tiering_web.accounts.api import issue_token

    token = issue_token(user, user, "tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


def errors(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for e in response.json()["errors"]:
        found.setdefault(e["field"], []).append(e["message"])
    return found


@pytest.fixture
def draft(manager):
    """A rule set whose only version, every customer A, is a draft written by ``manager``."""
    from tiering_web.rulesets.services import do_create_ruleset, do_save_ruleset_version

    ruleset = do_create_ruleset(manager, "人人A级", "test")
    rules = {**THRESHOLDS, "name": "人人A级", "tiers": [{"name": "A", "min": 0}, {"name": "C"}]}
    return do_save_ruleset_version(
        manager, ruleset, rules, "not reviewed", effective_date=dt.date(2026, 1, 1)
    )


@pytest.mark.django_db
def test_each_signs_in_person_through_the_api(manager, draft):
    """Given a draft written by a manager, when that manager reviews or approves it through
    the API, then 409 names the field at fault and it stays a draft; naming someone else
    as reviewer is no part of the API (422). When 李 (an analyst) reviews it, it awaits
    its approver; 李 may not approve (403), and a third person, 赵, approves it; the
    answers say who signed and when."""
    from tiering_web.audit.models import AuditEntry
    from tiering_web.rulesets.models import RuleSetVersion

    base = f"/api/rulesets/{draft.ruleset_id}/versions/1"
    client = api(manager)
    response = client.post(f"{base}/review", {"reason": "mine"}, content_type=JSON)
    assert response.status_code == 409, response.content
    assert errors(response) == {"reviewer": ["the author of a version cannot review it"]}
    response = client.post(f"{base}/approve", {}, content_type=JSON)
    assert response.status_code == 409
    assert errors(response) == {
        "status": ["it has not been reviewed yet: its reviewer signs first"],
        "approver": ["the author of a version cannot approve it"],
    }
    reviewer, approver = signatories()
    named = api(approver).post(
        f"{base}/approve", {"reviewer": reviewer.username}, content_type=JSON
    )
    assert named.status_code == 422, named.content
    draft.refresh_from_db()
    assert draft.status == RuleSetVersion.Status.DRAFT and draft.reviewer is None
    assert (
        not AuditEntry.objects.filter(action__startswith="ruleset.version.")
        .exclude(action="ruleset.version.save")
        .exists()
    )

    response = api(reviewer).post(f"{base}/review", {"reason": "read it"}, content_type=JSON)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["reviewer"], body["approver"]) == (
        "reviewed",
        reviewer.username,
        None,
    )
    assert body["reviewed_at"] is not None and body["approved_at"] is None
    again = api(reviewer).post(f"{base}/review", {}, content_type=JSON)
    assert again.status_code == 409 and set(errors(again)) == {"status"}
    assert api(reviewer).post(f"{base}/approve", {}, content_type=JSON).status_code == 403

    response = api(approver).post(f"{base}/approve", {"reason": "checked"}, content_type=JSON)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["author"], body["reviewer"], body["approver"]) == (
        "approved",
        manager.username,
        reviewer.username,
        approver.username,
    )
    assert body["effective_date"] == "2026-01-01" and body["approved_at"] is not None
    again = api(approver).post(f"{base}/approve", {}, content_type=JSON)
    assert again.status_code == 409 and set(errors(again)) == {"status"}
    signed = AuditEntry.objects.filter(
        action__in=["ruleset.version.review", "ruleset.version.approve"]
    )
    assert [(e.action, e.actor, e.reason) for e in signed.order_by("pk")] == [
        ("ruleset.version.review", reviewer, "read it"),
        ("ruleset.version.approve", approver, "checked"),
    ]


@pytest.mark.django_db
def test_the_reviewer_cannot_also_approve(manager, draft):
    """Given a draft reviewed by a second manager, when that manager approves it too, then
    409 on approver: three people sign a rule set, not two."""
    from tiering_web.accounts.models import Role, User

    second = User.objects.create_user("chen", role=Role.MANAGER)
    base = f"/api/rulesets/{draft.ruleset_id}/versions/1"
    assert api(second).post(f"{base}/review", {}, content_type=JSON).status_code == 200
    response = api(second).post(f"{base}/approve", {}, content_type=JSON)
    assert response.status_code == 409
    assert errors(response) == {"approver": ["the reviewer of a version cannot also approve it"]}


@pytest.mark.django_db
def test_an_analyst_cannot_approve_through_the_api(manager, draft):
    """Given an analyst (who may run evaluations and review rules), when they approve,
    then 403."""
    reviewer, _ = signatories()
    url = f"/api/rulesets/{draft.ruleset_id}/versions/1/approve"
    assert api(reviewer).post(url, {}, content_type=JSON).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_manager_alone_cannot_publish_their_own_draft_through_the_api(manager, customers, draft):
    """Given a manager's draft version (every customer A) they could not approve, when they
    run it through the API, then it is refused naming the version, nothing is evaluated
    and no customer has a tier; once a second manager approves it, the run and the
    publication go through."""
    from tiering_web.evaluations.models import Evaluation, TierAssignment

    client = api(manager)
    body = {"ruleset_version": draft.pk, "as_of": "2026-09-30"}
    refused = client.post("/api/evaluations/", body, content_type=JSON)
    assert refused.status_code == 409, refused.content
    assert set(errors(refused)) == {"ruleset_version"}
    assert not Evaluation.objects.exists() and not TierAssignment.objects.exists()

    approve(draft)  # reviewed by 李, approved by 赵
    ran = client.post("/api/evaluations/", body, content_type=JSON)
    assert ran.status_code == 201, ran.content
    published = client.post(
        f"/api/evaluations/{ran.json()['id']}/publish", {"reason": "r"}, content_type=JSON
    )
    assert published.status_code == 200, published.content
    assert TierAssignment.objects.filter(ruleset=draft.ruleset).count() == len(customers)


@pytest.mark.django_db(transaction=True)
def test_an_approved_version_runs_only_from_its_effective_date(manager, customers, draft):
    """Given an approved version effective from 2026-10-01, when it is run through the
    API as of 2026-09-30, then 409 on as_of; as of 2026-12-31 it runs."""
    from tiering_web.rulesets.services import do_save_ruleset_version

    later = approve(
        do_save_ruleset_version(
            manager,
            draft.ruleset,
            draft.definition,
            "from Q4",
            effective_date=dt.date(2026, 10, 1),
        )
    )
    client = api(manager)
    body = {"ruleset_version": later.pk, "as_of": "2026-09-30"}
    refused = client.post("/api/evaluations/", body, content_type=JSON)
    assert refused.status_code == 409 and set(errors(refused)) == {"as_of"}
    body["as_of"] = "2026-12-31"
    assert client.post("/api/evaluations/", body, content_type=JSON).status_code == 201


@pytest.mark.django_db
def test_a_manager_alone_cannot_approve_their_own_policies_through_the_api(manager, version):
    """Given policies written by a manager for the tiers of an approved rule set, when that
    manager approves them through the API, then 409 on approver (and on reason without
    one) and they stay a draft; a second manager approves them."""
    from tiering_web.policies.models import PolicyVersion
    from tiering_web.policies.services import do_save_policy_version

    rows = [{"tier": t} for t in version.rules().tier_names]
    effective = dt.date.today() + dt.timedelta(days=30)
    saved = do_save_policy_version(manager, version.ruleset, effective, rows, "terms")
    url = f"/api/policies/{version.ruleset_id}/versions/{saved.number}/approve"
    response = api(manager).post(url, {"reason": ""}, content_type=JSON)
    assert response.status_code == 409, response.content
    assert errors(response) == {
        "approver": ["the author of a version cannot approve it"],
        "reason": ["a reason is required"],
    }
    saved.refresh_from_db()
    assert saved.status == PolicyVersion.Status.DRAFT

    _, approver = signatories()
    response = api(approver).post(url, {"reason": "checked"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["approver"]) == (
        "approved",
        approver.username,
    )
