"""The evaluation rules of ``evaluations/domain.py`` without a database, then each one
through the API, which has no form in front of it: the rule holds there too."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from tiering_web.evaluations import domain

TODAY = dt.date(2026, 12, 3)


def code_of(error: ValidationError, field: str) -> str:
    return error.error_dict[field][0].code


# --- as-of dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_of, horizon, ok",
    [
        (TODAY, 0, True),
        (dt.date(2020, 1, 1), 0, True),
        (TODAY + dt.timedelta(days=1), 0, False),
        (dt.date(2207, 3, 31), 0, False),  # the typo that blocked every later publication
        (TODAY + dt.timedelta(days=31), 31, True),
        (TODAY + dt.timedelta(days=32), 31, False),
        (TODAY + dt.timedelta(days=1), -5, False),  # a negative horizon counts as none
    ],
)
def test_an_as_of_date_must_have_come_or_be_within_the_horizon(as_of, horizon, ok):
    """Given today and a horizon, when an as-of date is checked, then dates up to today
    plus the horizon pass and later ones are refused on ``as_of`` with code 'future'."""
    if ok:
        domain.check_as_of(as_of, TODAY, horizon)
        return
    with pytest.raises(ValidationError) as e:
        domain.check_as_of(as_of, TODAY, horizon)
    assert code_of(e.value, "as_of") == "future"


def test_the_as_of_message_names_the_latest_date_in_the_reader_language():
    """Given a horizon of 31 days, when a later date is refused, then the message names
    the latest allowed date, in Chinese for a Chinese reader."""
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as e:
            domain.check_as_of(dt.date(2027, 6, 30), TODAY, 31)
        (message,) = e.value.messages
        assert message == "评估基准日不能晚于 2027年1月3日：等级不能在该日期到来之前生效。"
    with translation.override("en"):
        with pytest.raises(ValidationError) as e:
            domain.check_as_of(dt.date(2027, 6, 30), TODAY)
        assert "cannot be in the future" in e.value.messages[0]


# --- publishing --------------------------------------------------------------------------

PUBLISHABLE = {
    "status": "draft",
    "as_of": dt.date(2026, 9, 30),
    "version_status": "approved",
    "version_effective": dt.date(2026, 1, 1),
    "in_force_as_of": dt.date(2026, 6, 30),
}


@pytest.mark.parametrize(
    "change, field, code",
    [
        ({}, None, None),
        ({"in_force_as_of": None}, None, None),  # the first publication
        ({"version_effective": dt.date(2026, 9, 30)}, None, None),  # effective that day
        ({"version_effective": None}, "ruleset_version", "no_effective_date"),
        ({"in_force_as_of": dt.date(2026, 9, 30)}, None, None),  # the same date again
        ({"status": "published"}, "status", "status"),
        ({"status": "withdrawn"}, "status", "status"),
        ({"status": "running"}, "status", "status"),
        ({"version_status": "draft"}, "ruleset_version", "not_approved"),
        ({"version_effective": dt.date(2026, 10, 1)}, "as_of", "not_in_effect"),
        ({"in_force_as_of": dt.date(2026, 12, 31)}, "as_of", "not_latest"),
        ({"later_tiers": True}, "as_of", "not_latest"),
    ],
)
def test_what_may_be_published(change, field, code):
    """Given a draft of an approved version in effect, after the publication in force,
    when one fact changes, then publishing is refused on the field at fault, or allowed."""
    facts = {**PUBLISHABLE, **change}
    if field is None:
        domain.check_publishable(**facts)
        return
    with pytest.raises(ValidationError) as e:
        domain.check_publishable(**facts)
    assert code_of(e.value, field) == code


@pytest.mark.parametrize(
    "status, effective, field, code",
    [
        ("approved", dt.date(2026, 1, 1), None, None),
        ("approved", dt.date(2026, 9, 30), None, None),  # in effect from that very day
        ("approved", dt.date(2026, 10, 1), "as_of", "not_in_effect"),
        ("approved", None, "ruleset_version", "no_effective_date"),
        ("draft", dt.date(2026, 1, 1), "ruleset_version", "not_approved"),
        ("draft", None, "ruleset_version", "not_approved"),
    ],
)
def test_what_may_be_run(status, effective, field, code):
    """Given a rule-set version, when it is to be run as of 2026-09-30, then only an
    approved version in effect on that date runs; a draft is refused on the version (its
    preview is the what-if), a later one on the as-of date."""
    facts = {
        "as_of": dt.date(2026, 9, 30),
        "version_status": status,
        "version_effective": effective,
    }
    if field is None:
        domain.check_runnable(**facts)
        return
    with pytest.raises(ValidationError) as e:
        domain.check_runnable(**facts)
    assert code_of(e.value, field) == code


@pytest.mark.parametrize(
    "status, in_force, reason, field, code",
    [
        ("published", True, "wrong date", None, None),
        ("published", True, "  ", "reason", "required"),
        ("draft", True, "x", "status", "status"),
        ("withdrawn", False, "x", "status", "status"),
        ("published", False, "x", "status", "not_latest"),
    ],
)
def test_what_may_be_withdrawn(status, in_force, reason, field, code):
    """Only the publication in force, and only with a reason."""
    if field is None:
        domain.check_withdrawable(status=status, in_force=in_force, reason=reason)
        return
    with pytest.raises(ValidationError) as e:
        domain.check_withdrawable(status=status, in_force=in_force, reason=reason)
    assert code_of(e.value, field) == code


# --- overrides ---------------------------------------------------------------------------


def test_an_override_names_a_tier_a_reason_and_a_future_expiry():
    """Given the tiers A, B, C, when an override is checked, then a valid one passes and
    a wrong tier, a blank reason and an expiry today are all reported at once."""
    domain.check_override(
        tier="A",
        tier_names=["A", "B", "C"],
        reason="战略客户",
        expires=TODAY.replace(day=4),
        today=TODAY,
    )
    with pytest.raises(ValidationError) as e:
        domain.check_override(
            tier="Z", tier_names=["A", "B", "C"], reason=" ", expires=TODAY, today=TODAY
        )
    assert {f: code_of(e.value, f) for f in e.value.error_dict} == {
        "tier": "tier",
        "reason": "required",
        "expires": "past",
    }
    assert "A, B, C" in e.value.error_dict["tier"][0].messages[0]


# --- each rule through the API -----------------------------------------------------------

JSON = "application/json"


def api(user) -> Client:
    from tiering_web.accounts.api import issue_token

    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, user, 'tests')}")


@pytest.mark.django_db(transaction=True)
def test_the_api_refuses_a_future_as_of_date(manager, customers, version, settings):
    """Given the production horizon (none), when an evaluation as of 2207-03-31 is asked
    through the API, then 409 naming as_of, and no evaluation exists."""
    from tiering_web.evaluations.models import Evaluation

    settings.TIERING_AS_OF_HORIZON_DAYS = 0
    body = {"ruleset_version": version.pk, "as_of": "2207-03-31"}
    response = api(manager).post("/api/evaluations/", body, content_type=JSON)
    assert response.status_code == 409, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["as_of"]
    assert not Evaluation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_api_refuses_to_run_or_publish_a_draft_version(manager, customers):
    """Given a rule-set version saved but not approved (every customer A), when a manager
    alone runs it through the API, then the run is refused naming the version and nothing
    is made; and when a draft evaluation of it exists (made before the rule held), then
    publishing it is refused naming the version, and no tier exists."""
    from tiering_web.evaluations.models import Evaluation, TierAssignment
    from tiering_web.rulesets.services import do_create_ruleset, do_save_ruleset_version

    from .conftest import THRESHOLDS

    ruleset = do_create_ruleset(manager, "人人A级", "test")
    rules = {**THRESHOLDS, "tiers": [{"name": "A", "min": 0}, {"name": "C"}]}
    draft_version = do_save_ruleset_version(manager, ruleset, rules, "not reviewed")
    client = api(manager)
    for background in (False, True):
        body = {
            "ruleset_version": draft_version.pk,
            "as_of": "2026-09-30",
            "background": background,
        }
        run = client.post("/api/evaluations/", body, content_type=JSON)
        assert run.status_code == 409, run.content
        assert [e["field"] for e in run.json()["errors"]] == ["ruleset_version"]
    assert not Evaluation.objects.exists()

    old = Evaluation.objects.create(
        ruleset_version=draft_version, as_of=dt.date(2026, 9, 30), created_by=manager
    )
    published = client.post(
        f"/api/evaluations/{old.pk}/publish", {"reason": "r"}, content_type=JSON
    )
    assert published.status_code == 409, published.content
    assert [e["field"] for e in published.json()["errors"]] == ["ruleset_version"]
    assert not TierAssignment.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_an_override_that_is_already_over(manager, customers, version):
    """Given the API, when an override expiring today is set, then 409 naming expires,
    and no override exists; one expiring tomorrow is set."""
    from tiering_web.evaluations import services
    from tiering_web.evaluations.models import Override

    today = services.today()
    body = {
        "customer": "C4",
        "ruleset": version.ruleset_id,
        "tier": "A",
        "reason": "strategic",
        "expires": today.isoformat(),
    }
    client = api(manager)
    refused = client.post("/api/overrides/", body, content_type=JSON)
    assert refused.status_code == 409, refused.content
    assert [e["field"] for e in refused.json()["errors"]] == ["expires"]
    assert not Override.objects.exists()
    body["expires"] = (today + dt.timedelta(days=1)).isoformat()
    assert client.post("/api/overrides/", body, content_type=JSON).status_code == 200
