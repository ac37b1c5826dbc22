"""The REST API: OpenAPI, token auth, the role matrix, field-level errors, all-or-nothing
bulk writes and audited publishing."""

import hashlib

import pytest
from django.test import Client

from tiering_web.accounts.api import issue_token
from tiering_web.accounts.models import ApiToken, Role
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Transaction
from tiering_web.customers.services import do_update_customer
from tiering_web.evaluations.models import Evaluation, TierAssignment
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF, EXPECTED, THRESHOLDS

ROLES = (Role.ADMINISTRATOR, Role.MANAGER, Role.ACCOUNT_MANAGER, Role.ANALYST)
CONTACTS = [{"name": "李雷", "phone": "13800000000"}]


def client_for(user) -> Client:
    """A client sending ``user``'s freshly issued bearer token."""
    token = issue_token(user, user, "tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def users(django_user_model, manager):
    """One user per role (the manager from conftest), plus a second account manager."""
    made = {Role.MANAGER: manager}
    for role in (Role.ADMINISTRATOR, Role.ACCOUNT_MANAGER, Role.ANALYST):
        made[role] = django_user_model.objects.create_user(role, password="x-secret-1", role=role)
    made["other_am"] = django_user_model.objects.create_user(
        "other_am", password="x-secret-1", role=Role.ACCOUNT_MANAGER
    )
    return made


@pytest.fixture
def owned(users, customers, manager):
    """C1 and C2 belong to the account manager (C1 with contacts), C3 to the other one."""
    am = users[Role.ACCOUNT_MANAGER]
    do_update_customer(manager, customers["C1"], {"owner": am, "contacts": CONTACTS}, "assign")
    do_update_customer(manager, customers["C2"], {"owner": am}, "assign")
    do_update_customer(manager, customers["C3"], {"owner": users["other_am"]}, "assign")
    return customers


@pytest.mark.django_db
def test_openapi_is_served_and_lists_the_endpoints():
    """Given the API, when /api/openapi.json is fetched without credentials, then it is
    the 'Customer Tiering' schema listing every resource's paths."""
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Customer Tiering"
    for path in (
        "/api/customers/",
        "/api/customers/{code}",
        "/api/customers/{code}/tiers",
        "/api/customers/{code}/deactivate",
        "/api/customers/{code}/reactivate",
        "/api/transactions/bulk",
        "/api/payments/bulk",
        "/api/rulesets/{ruleset_id}/versions",
        "/api/evaluations/",
        "/api/evaluations/{evaluation_id}/results",
        "/api/evaluations/{evaluation_id}/publish",
        "/api/evaluations/{evaluation_id}/withdraw",
        "/api/overrides/",
    ):
        assert path in schema["paths"], path


@pytest.mark.django_db
def test_token_auth(manager):
    """Given a token issued to the manager, when calling without a token, with a wrong one
    and with the right one, then 401, 401 and 200; only the token's SHA-256 is stored,
    its use is stamped, and the issue is audited without the token."""
    token = issue_token(manager, manager, "script")
    assert Client().get("/api/customers/").status_code == 401
    bad = Client(HTTP_AUTHORIZATION="Bearer tt_not-a-token")
    assert bad.get("/api/customers/").json() == {"detail": "unauthorized", "errors": []}
    assert bad.get("/api/customers/").status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/customers/").status_code == 200

    stored = ApiToken.objects.get()
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {stored.key_hash, stored.name}
    assert stored.last_used is not None
    entry = AuditEntry.objects.get(action="token.issue")
    assert entry.actor == manager and token not in str(entry.details)


@pytest.mark.django_db
def test_a_user_issues_their_own_token_through_the_session(manager):
    """Given a logged-in manager, when posting to /api/tokens/, then the token comes back
    once and works as a bearer token."""
    browser = Client()
    browser.force_login(manager)
    response = browser.post("/api/tokens/", {"name": "laptop"}, content_type="application/json")
    assert response.status_code == 201
    token = response.json()["token"]
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/customers/").status_code == 200


# --- the role matrix -------------------------------------------------------------------

A, M, AM, AN = ROLES
MATRIX = {
    # endpoint: expected status per role
    "list customers": {A: 200, M: 200, AM: 200, AN: 200},
    "get someone else's customer": {A: 200, M: 200, AM: 404, AN: 200},
    "get own customer": {A: 200, M: 200, AM: 200, AN: 200},
    "update someone else's customer": {A: 200, M: 200, AM: 404, AN: 403},
    "update own customer": {A: 200, M: 200, AM: 200, AN: 403},
    "create a customer": {A: 201, M: 201, AM: 201, AN: 403},
    "create a rule set version": {A: 201, M: 201, AM: 403, AN: 403},
    "run an evaluation": {A: 201, M: 201, AM: 403, AN: 201},
    "publish": {A: 200, M: 200, AM: 403, AN: 403},
    "discard": {A: 200, M: 200, AM: 403, AN: 403},
    "withdraw": {A: 200, M: 200, AM: 403, AN: 403},
    "set an override": {A: 200, M: 200, AM: 403, AN: 403},
}


def call(client, endpoint, version, draft):
    json = "application/json"
    if endpoint == "list customers":
        return client.get("/api/customers/")
    if endpoint == "get someone else's customer":
        return client.get("/api/customers/C3")
    if endpoint == "get own customer":
        return client.get("/api/customers/C1")
    if endpoint == "update someone else's customer":
        return client.patch("/api/customers/C3", {"notes": "n", "reason": "r"}, content_type=json)
    if endpoint == "update own customer":
        return client.patch("/api/customers/C1", {"notes": "n", "reason": "r"}, content_type=json)
    if endpoint == "create a customer":
        return client.post("/api/customers/", {"code": "N1", "name": "新"}, content_type=json)
    if endpoint == "create a rule set version":
        url = f"/api/rulesets/{version.ruleset_id}/versions"
        return client.post(url, {"definition": THRESHOLDS, "reason": "v2"}, content_type=json)
    if endpoint == "run an evaluation":
        body = {"ruleset_version": version.pk, "as_of": AS_OF.isoformat()}
        return client.post("/api/evaluations/", body, content_type=json)
    if endpoint in ("publish", "discard", "withdraw"):
        url = f"/api/evaluations/{draft.pk}/{endpoint}"
        return client.post(url, {"reason": "r"}, content_type=json)
    if endpoint == "set an override":
        body = {
            "customer": "C4",
            "ruleset": version.ruleset_id,
            "tier": "A",
            "reason": "strategic",
            "expires": "2027-06-30",
        }
        return client.post("/api/overrides/", body, content_type=json)
    raise AssertionError(endpoint)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("endpoint", list(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(role, endpoint, users, owned, version):
    """Given one user per role, C1 owned by the account manager and C3 by another, and a
    draft evaluation, when the role calls the endpoint, then the status is the matrix's
    (an account manager gets 404 for a customer not theirs: its existence is private)."""
    draft = None
    if endpoint in ("publish", "discard", "withdraw"):
        draft = run_evaluation(users[Role.MANAGER], version, AS_OF)
    if endpoint == "withdraw":
        draft = publish_evaluation(users[Role.MANAGER], draft)
    response = call(client_for(users[role]), endpoint, version, draft)
    assert response.status_code == MATRIX[endpoint][role], response.content
    if response.status_code in (403, 404):
        assert set(response.json()) == {"detail", "errors"}


@pytest.mark.django_db
def test_account_managers_list_only_their_own_customers(users, owned):
    """Given C1 and C2 owned by the account manager, when they and the manager list
    customers, then the account manager sees exactly C1 and C2, the manager all six;
    filters by owner and status apply."""
    mine = client_for(users[Role.ACCOUNT_MANAGER]).get("/api/customers/").json()
    assert [c["code"] for c in mine["items"]] == ["C1", "C2"] and mine["count"] == 2
    manager = client_for(users[Role.MANAGER])
    assert manager.get("/api/customers/").json()["count"] == 6
    by_owner = manager.get("/api/customers/", {"owner": "other_am"}).json()
    assert [c["code"] for c in by_owner["items"]] == ["C3"]
    assert manager.get("/api/customers/", {"status": "dormant"}).json()["count"] == 0
    page = manager.get("/api/customers/", {"page": 2, "page_size": 4}).json()
    assert [c["code"] for c in page["items"]] == ["C5", "C6"]


@pytest.mark.django_db
def test_account_managers_cannot_give_their_customer_away(users, owned):
    """Given the account manager's C1, when they set another owner, then 403 and C1 is
    still theirs."""
    am = client_for(users[Role.ACCOUNT_MANAGER])
    response = am.patch(
        "/api/customers/C1", {"owner": "other_am", "reason": "r"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert am.get("/api/customers/C1").json()["owner"] == Role.ACCOUNT_MANAGER


@pytest.mark.django_db
def test_analysts_get_no_contacts(users, owned):
    """Given C1 with a contact, when an analyst and the account manager read it (alone and
    in the list), then the analyst gets null contacts and the account manager the contact."""
    analyst = client_for(users[Role.ANALYST])
    assert analyst.get("/api/customers/C1").json()["contacts"] is None
    assert all(c["contacts"] is None for c in analyst.get("/api/customers/").json()["items"])
    am = client_for(users[Role.ACCOUNT_MANAGER])
    assert am.get("/api/customers/C1").json()["contacts"] == CONTACTS


@pytest.mark.django_db
def test_create_and_update_go_through_the_services(users):
    """Given the account manager, when they create a customer and then send an invalid
    status, then the customer is theirs, audited with them as actor, and the bad status
    is a 422 naming the field."""
    am = client_for(users[Role.ACCOUNT_MANAGER])
    json = "application/json"
    created = am.post("/api/customers/", {"code": "N1", "name": "新客户"}, content_type=json)
    assert created.status_code == 201 and created.json()["owner"] == Role.ACCOUNT_MANAGER
    entry = AuditEntry.objects.get(action="customer.create")
    assert entry.actor == users[Role.ACCOUNT_MANAGER]

    bad = am.patch("/api/customers/N1", {"status": "gone"}, content_type=json)
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["status"]
    duplicate = am.post("/api/customers/", {"code": "N1", "name": "x"}, content_type=json)
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "code"


BROKEN = {
    "name": "按营收分级",
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": "A", "min": 100000}, {"name": "B", "min": "abc"}, {"name": "C"}],
}


@pytest.mark.django_db
def test_an_invalid_rule_set_version_is_a_409_with_the_rule_files_fields(manager, version):
    """Given an approved version, when a manager posts rules with a non-numeric bound,
    then 409 names ``tiers[1].min`` with the engine's message and no version is saved."""
    url = f"/api/rulesets/{version.ruleset_id}/versions"
    response = client_for(manager).post(
        url,
        {"definition": BROKEN, "reason": "try"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 409
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["tiers[1].min"]
    assert "min must be a number" in errors[0]["message"]
    assert version.ruleset.versions.count() == 1


@pytest.mark.django_db
def test_a_malformed_request_body_names_the_field(manager):
    """Given a transactions payload with a negative amount in its third row, when posted,
    then ninja's validation becomes a 422 naming ``rows[2].amount``."""
    rows = [
        {"customer": "C1", "reference": f"R{i}", "date": "2026-09-01", "amount": amount}
        for i, amount in enumerate(["1.00", "2.00", "-3.00"])
    ]
    response = client_for(manager).post(
        "/api/transactions/bulk",
        {"rows": rows},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["rows[2].amount"]


@pytest.mark.django_db
def test_bulk_upsert_is_all_or_nothing(users, owned):
    """Given the account manager's C1 and C2, when they upsert rows of which one names
    C3 (not theirs), then 409 names that row and nothing is written; without it, the
    rows are created, and sending them again updates instead of duplicating."""
    am = client_for(users[Role.ACCOUNT_MANAGER])
    before = Transaction.objects.count()
    rows = [
        {"customer": "C1", "reference": "SO-1", "date": "2026-09-01", "amount": "100.00"},
        {"customer": "C2", "reference": "SO-2", "date": "2026-09-02", "amount": "200.00"},
        {"customer": "C3", "reference": "SO-3", "date": "2026-09-03", "amount": "300.00"},
    ]
    json = "application/json"
    response = am.post("/api/transactions/bulk", {"rows": rows}, content_type=json)
    assert response.status_code == 409
    assert [e["field"] for e in response.json()["errors"]] == ["rows[2].customer"]
    assert Transaction.objects.count() == before

    response = am.post("/api/transactions/bulk", {"rows": rows[:2]}, content_type=json)
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    rows[0]["amount"] = "150.00"
    response = am.post("/api/transactions/bulk", {"rows": rows[:2]}, content_type=json)
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 1}
    assert str(Transaction.objects.get(reference="SO-1").amount) == "150.00"
    assert Transaction.objects.count() == before + 2
    entry = AuditEntry.objects.filter(action="transaction.upsert").first()
    assert entry.actor == users[Role.ACCOUNT_MANAGER]

    analyst = client_for(users[Role.ANALYST])
    assert (
        analyst.post("/api/transactions/bulk", {"rows": rows}, content_type=json).status_code == 403
    )


@pytest.mark.django_db(transaction=True)
def test_run_review_and_publish_through_the_api(users, owned, version):
    """Given the primary thresholds rule set, when a manager runs an evaluation, reads its
    upgrades, and publishes it, then the results are the expected tiers, the publisher is
    the manager in the evaluation and the audit log, and the account manager sees C1's
    current tier with its explanation and can filter customers by tier."""
    do_set_primary(users[Role.MANAGER], version.ruleset, "main")
    manager = client_for(users[Role.MANAGER])
    json = "application/json"
    body = {"ruleset_version": version.pk, "as_of": AS_OF.isoformat()}
    run = manager.post("/api/evaluations/", body, content_type=json)
    assert run.status_code == 201
    evaluation = run.json()
    assert evaluation["status"] == "draft" and evaluation["tiers"] == {"A": 2, "B": 2, "C": 2}
    results = manager.get(f"/api/evaluations/{evaluation['id']}/results").json()
    assert {r["customer"]: r["tier"] for r in results["items"]} == EXPECTED
    ups = manager.get(f"/api/evaluations/{evaluation['id']}/results", {"change": "up"}).json()
    assert ups["count"] == 0  # a first evaluation has no previous tiers

    published = manager.post(
        f"/api/evaluations/{evaluation['id']}/publish", {"reason": "Q3"}, content_type=json
    )
    assert published.status_code == 200
    assert published.json()["published_by"] == users[Role.MANAGER].username
    entry = AuditEntry.objects.get(action="evaluation.publish")
    assert entry.actor == users[Role.MANAGER] and entry.reason == "Q3"
    assert TierAssignment.objects.filter(valid_to__isnull=True).count() == 6

    again = manager.post(f"/api/evaluations/{evaluation['id']}/publish", {}, content_type=json)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"

    am = client_for(users[Role.ACCOUNT_MANAGER])
    tiers = am.get("/api/customers/C1/tiers").json()
    assert [(t["ruleset"], t["tier"], t["primary"]) for t in tiers] == [("按营收分级", "A", True)]
    assert tiers[0]["explanation"]["reason"]
    assert "revenue" in tiers[0]["explanation"]["details"]
    assert am.get("/api/customers/C3/tiers").status_code == 404
    by_tier = am.get("/api/customers/", {"tier": "A"}).json()
    assert [(c["code"], c["tier"]) for c in by_tier["items"]] == [("C1", "A"), ("C2", "A")]
    mine = am.get(f"/api/evaluations/{evaluation['id']}/results").json()
    assert {r["customer"] for r in mine["items"]} == {"C1", "C2"}


@pytest.mark.django_db(transaction=True)
def test_discarding_through_the_api(manager, customers, version):
    """Given a draft, when a manager discards it, then it is discarded and no tiers open."""
    draft = run_evaluation(manager, version, AS_OF)
    response = client_for(manager).post(
        f"/api/evaluations/{draft.pk}/discard",
        {"reason": "wrong date"},
        content_type="application/json",
    )
    assert response.json()["status"] == "discarded"
    assert Evaluation.objects.get().status == Evaluation.Status.DISCARDED
    assert not TierAssignment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/customers/", "/api/evaluations/", "/api/customers/?page_size=10**40"]
)
def test_a_page_number_no_database_can_offset_is_a_422_not_a_500(manager, path):
    """Given a page number of forty digits (schemathesis found it), the answer is a 422
    naming ``page``, not a server error; a page past the end is an empty page."""
    client = client_for(manager)
    huge = "2351694286621568388091400132633403" + "4536"
    url = path.replace("10**40", huge) + ("&" if "?" in path else "?") + f"page={huge}"
    answer = client.get(url)
    assert answer.status_code == 422, answer.content
    assert "page" in answer.content.decode()
    far = client.get(path.split("?")[0] + "?page=1000000")
    assert far.status_code == 200 and far.json()["items"] == []
