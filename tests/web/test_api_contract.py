"""The API against its own OpenAPI schema, as a client no one here wrote would see it.

Schemathesis (pinned in the lock) reads ``/api/openapi.json`` from the app served on
loopback (pytest-django's live server, on this run's database: SQLite, or PostgreSQL
with ``DATABASE_URL``) and sends every operation generated requests, valid and invalid,
as a manager and as an account manager, with a fixed seed and a bounded number of
examples. It fails on any failure class: a server error, a status code or a response the
schema does not document, a schema-valid request refused (422), a schema-violating one
accepted. The data are a small company with a published evaluation, so that the
operations on customers, evaluations, rule sets and policies meet real objects too.

And hostile bodies, one by one: a NUL byte, NUL characters in texts, malformed JSON,
``NaN``, deep nesting, a body over the size limit, the wrong content type: each a 4xx with
the JSON error body, never a 500.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tiering_web.accounts.models import Role
from tiering_web.accounts.services import issue_token
from tiering_web.customers.services import do_update_customer
from tiering_web.evaluations.services import publish_evaluation, run_evaluation

from .conftest import AS_OF

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
#: Examples per operation and phase: enough to cover each operation's shapes, little
#: enough for the suite (each role's run is well under a minute here).
EXAMPLES = 6


@pytest.fixture
def company(django_user_model, staff, customers, version):
    """The six customers (two owned by the account manager li, one with a contact), the
    rule set graded and published as of AS_OF, and a bearer token per role."""
    manager, am = staff[Role.MANAGER], staff[Role.ACCOUNT_MANAGER]
    do_update_customer(
        manager, customers["C1"], {"owner": am, "contacts": [{"phone": "13800000000"}]}, "own"
    )
    do_update_customer(manager, customers["C2"], {"owner": am}, "own")
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF), "contract test")
    return {role: issue_token(user, user, "contract") for role, user in staff.items()}


def _schemathesis(
    url: str, token: str, seed: int, phases: str, tmp_path: Path
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            str(seed),
            "--phases",
            phases,
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("role", "seed", "phases"),
    [
        # every phase, the coverage one (each parameter's boundaries and wrong types,
        # every undeclared method) included: about a minute and a half here
        (Role.MANAGER, 1, "examples,coverage,fuzzing,stateful"),
        # what differs by role is who may do what: random and chained requests
        (Role.ACCOUNT_MANAGER, 2, "examples,fuzzing,stateful"),
    ],
)
def test_the_api_keeps_its_schema(role, seed, phases, company, live_server, tmp_path):
    """Given the app on loopback, when schemathesis runs every operation as ``role``,
    then no check fails: no 500, no undocumented status, no schema-valid request
    refused, no invalid one accepted, every response as its schema says."""
    run = _schemathesis(live_server.url, company[role], seed, phases, tmp_path)
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout, report


def _post(client: Client, path: str, body: bytes, content_type="application/json"):
    return client.generic("POST", path, body, content_type=content_type)


HOSTILE = {
    "one NUL byte": b"\x00",
    "a NUL character in a text": json.dumps({"code": "N1", "name": "a\x00b"}).encode(),
    "a NUL character in a key": json.dumps(
        {"code": "N2", "name": "n", "dimensions": {"a\x00": 1}}
    ).encode(),
    "malformed JSON": b'{"code": "N3", "name": ',
    "not UTF-8": b'{"code": "\xc4\x15"}',
    "NaN": b'{"code": "N4", "name": "n", "dimensions": {"x": NaN}}',
    "Infinity": b'{"code": "N5", "name": "n", "price_coefficient": Infinity}',
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "deep nesting in a value": b'{"code": "N6", "name": "n", "dimensions": {"x": '
    + b"[" * 5000
    + b"]" * 5000
    + b"}}",
    "a huge number": b'{"code": "N7", "name": "n", "price_coefficient": 1e400}',
    "an unknown property": b'{"code": "N8", "name": "n", "colour": "red"}',
    "a number as a date": b'{"code": "N9", "name": "n", "expected_close": 0}',
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_bodies_get_a_json_4xx(case, manager):
    """Given a manager's token, when ``POST /api/customers/`` gets a hostile body, then
    the answer is a 4xx with the JSON error body and no customer is created."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(manager, manager, 't')}")
    response = _post(client, "/api/customers/", HOSTILE[case])
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"detail", "errors"}, body
    from tiering_web.customers.models import Customer

    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_a_body_over_the_limit_is_a_413(manager, settings):
    """Given the upload limit, when a body of 10 MB is posted, then the answer is a 413
    with the JSON error body."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(manager, manager, 't')}")
    body = b'{"rows": [' + b'{"customer": "C1"},' * 550_000 + b'{"customer": "C1"}]}'
    assert len(body) > 10_000_000 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = _post(client, "/api/transactions/bulk", body)
    assert response.status_code == 413
    assert response.json()["detail"] == "request body too large"


@pytest.mark.django_db
def test_the_wrong_content_type_is_read_as_json_or_refused(manager):
    """A form-encoded body is not JSON: 400 with the JSON error body, nothing written."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(manager, manager, 't')}")
    response = _post(
        client,
        "/api/customers/",
        b"code=X&name=Y",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"detail", "errors"}


@pytest.mark.django_db
def test_the_schema_documents_each_operations_errors():
    """Every operation documents 422 when it has input, 401 behind authentication, 404
    with a path parameter, 400 and 413 with a body, each with the error schema; request
    bodies refuse unknown properties."""
    schema = Client().get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert "401" in responses, where
            if operation.get("parameters") or "requestBody" in operation:
                assert "422" in responses, where
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                assert "404" in responses, where
            if "requestBody" in operation:
                assert {"400", "413"} <= responses.keys(), where
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                body = components[ref.rsplit("/", 1)[-1]]
                assert body.get("additionalProperties") is False, where
            for code, response in responses.items():
                if code.startswith("4"):
                    content = response["content"]["application/json"]["schema"]
                    assert content == {"$ref": "#/components/schemas/ErrorOut"}, where


def test_no_two_api_schemas_share_a_name():
    """OpenAPI components are keyed by name: two request or response schemas of the same
    name (or two enums) would silently overwrite each other in /api/openapi.json, as the
    rule sets' and the policies' VersionOut once did."""
    import enum

    from ninja import Schema

    import tiering_web.api  # noqa: F401  (imports every router)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [c for c in subclasses(Schema) if c.__module__.startswith("tiering_web.")]
    names = [c.__name__ for c in ours]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    used = set()
    for schema in ours:
        for field in schema.model_fields.values():
            kind = field.annotation
            if isinstance(kind, type) and issubclass(kind, enum.Enum):
                used.add(kind)
    enum_names = [e.__name__ for e in used]
    assert len(enum_names) == len(set(enum_names)), enum_names
