"""Production settings: no start without a secret key, `check --deploy` clean under the
HTTPS flags, security headers and a Content-Security-Policy on pages, no caching of API
answers, and unhandled errors logged with their traceback."""

import logging
import os
import re
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import path, reverse

from tiering_web.accounts.api import issue_token

#: The settings this file's subprocesses must not inherit from the test run.
KEY_SETTINGS = ("TIERING_SECRET_KEY", "TIERING_SECRET_KEY_FILE", "TIERING_DEBUG", "PYTEST_VERSION")


def tiering_web(*args, var_dir, **env) -> subprocess.CompletedProcess:
    """``tiering-web ARGS`` in a fresh process with its own var dir, outside pytest (no
    ``PYTEST_VERSION``, no key but those in ``env``, and not the browser tests'
    ``DJANGO_ALLOW_ASYNC_UNSAFE``, which a worker running both would pass on)."""
    drop = {*KEY_SETTINGS, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, "-m", "tiering_web", *args],
        env={**base, "TIERING_VAR_DIR": str(var_dir), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_debug_or_a_key_the_app_refuses_to_start(tmp_path):
    """Given no TIERING_SECRET_KEY, no key file and no DEBUG, when any command starts,
    then it fails with an ImproperlyConfigured error naming TIERING_SECRET_KEY."""
    done = tiering_web("check", var_dir=tmp_path)
    assert done.returncode != 0
    assert "ImproperlyConfigured: TIERING_SECRET_KEY is not set" in done.stderr
    assert str(tmp_path / "secret_key") in done.stderr


def test_the_key_file_in_the_var_dir_is_used_and_the_log_level_is_read(tmp_path):
    """Given a key file in the var dir (as `make web` writes it) and TIERING_LOG_LEVEL,
    when a command starts, then it runs with that key and that level."""
    key = secrets.token_urlsafe(50)
    (tmp_path / "secret_key").write_text(key + "\n")
    code = (
        "import logging; from django.conf import settings; "
        "print(settings.SECRET_KEY == " + repr(key) + ", "
        "logging.getLevelName(logging.getLogger().level))"
    )
    done = tiering_web("shell", "-c", code, var_dir=tmp_path, TIERING_LOG_LEVEL="warning")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == ["True", "WARNING"]


def test_debug_runs_with_the_development_key(tmp_path):
    """Given TIERING_DEBUG=1 and no key, when a command starts, then it runs."""
    done = tiering_web("check", var_dir=tmp_path, TIERING_DEBUG="1")
    assert done.returncode == 0, done.stderr


def test_check_deploy_reports_nothing_under_the_https_flags(tmp_path):
    """Given the production flags (a random key, TIERING_HTTPS=1 behind a proxy, a host
    name), when `check --deploy` runs with warnings as failures, then it finds nothing."""
    done = tiering_web(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        var_dir=tmp_path,
        TIERING_SECRET_KEY=secrets.token_urlsafe(50),
        TIERING_HTTPS="1",
        TIERING_BEHIND_PROXY="1",
        TIERING_ALLOWED_HOSTS="tiering.example.com",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_without_the_https_flag_check_deploy_names_what_is_missing(tmp_path):
    """Given the same but without TIERING_HTTPS, then `check --deploy` warns about HSTS,
    the HTTPS redirect and both cookies: the flag is what turns them on."""
    done = tiering_web(
        "check",
        "--deploy",
        var_dir=tmp_path,
        TIERING_SECRET_KEY=secrets.token_urlsafe(50),
        TIERING_ALLOWED_HOSTS="tiering.example.com",
    )
    for check in ("W004", "W008", "W012", "W016"):
        assert f"security.{check}" in done.stderr + done.stdout


@pytest.mark.django_db
def test_pages_carry_the_security_headers_and_a_policy_with_the_pages_nonce(client, manager):
    """Given a logged-in manager, when the dashboard and the login page are fetched, then
    each carries nosniff, same-origin referrers, DENY framing and a Content-Security-Policy
    whose script nonce is the one on the page's inline scripts (a new one per request)."""
    nonces = []
    for url, user in ((reverse("login"), None), (reverse("dashboard"), manager)):
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "object-src 'none'" in policy and "'unsafe-eval'" not in policy
        [nonce] = re.findall(r"script-src 'self' 'nonce-([^']+)'", policy)
        body = response.content.decode()
        scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", body)
        inline = [attrs for attrs in scripts if "application/json" not in attrs]
        assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
        assert not re.search(r"\son[a-z]+=", body)  # no inline event handlers
        nonces.append(nonce)
    assert len(set(nonces)) == 2


@pytest.mark.django_db
def test_every_api_answer_says_no_store(manager, customers):
    """Given the API, when customers are listed with a token, without one, and a missing
    customer is asked for, then every answer (200, 401, 404) says Cache-Control: no-store;
    a file outside the API keeps its own caching."""
    token = issue_token(manager, manager, "tests")
    authorised = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    answers = [
        authorised.get("/api/customers/"),
        Client().get("/api/customers/"),
        authorised.get("/api/customers/NO-SUCH/"),
        Client().get("/api/openapi.json"),
    ]
    assert [a.status_code for a in answers] == [200, 401, 404, 200]
    assert all(a["Cache-Control"] == "no-store" for a in answers)
    plotly = Client().get(reverse("plotly_js"))
    plotly.close()
    assert plotly["Cache-Control"].startswith("public, max-age=")


def _boom(request):
    raise RuntimeError(request.GET["marker"])


urlpatterns = [path("boom/", _boom)]


@pytest.mark.urls(__name__)
def test_an_unhandled_error_is_logged_with_its_traceback_to_the_file_and_console():
    """Given a view that raises, when it is requested, then the 500 is in the log file
    under the var dir with the request path and the traceback, and the root logger also
    writes to the console."""
    marker = f"boom-{uuid.uuid4()}"
    response = Client(raise_request_exception=False).get("/boom/", {"marker": marker})
    assert response.status_code == 500
    root = logging.getLogger()
    for handler in root.handlers:
        handler.flush()
    assert any(type(h) is logging.StreamHandler for h in root.handlers)
    log_file = django_settings.LOG_FILE
    assert log_file.startswith(str(django_settings.VAR_DIR))
    text = Path(log_file).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )", text)
    [entry] = [e for e in entries if marker in e]
    assert "ERROR django.request [pid " in entry.splitlines()[0]
    assert "Internal Server Error: /boom/" in entry.splitlines()[0]
    assert "Traceback (most recent call last)" in entry and f"RuntimeError: {marker}" in entry
