"""Login throttling: failures counted per username from one address, per username from
all addresses and (as a high ceiling) per address, in the database; lockouts that refuse
even the right password, are recorded, grow with further failures and end; made-up
usernames from an office's shared address lock no real user out."""

import datetime as dt

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse

from tiering_web.accounts import login_throttle
from tiering_web.accounts.models import LoginAttempt, Role
from tiering_web.audit.models import AuditEntry

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PASSWORD = "x-secret-1"
LOCKED = "Too many failed logins. Logging in is locked; try again in"
MISMATCH = "Your username and password did not match. Please try again."


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """A quick hasher: these tests log in often; how passwords are hashed is Django's."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def wang(django_user_model):
    return django_user_model.objects.create_user("wang", password=PASSWORD, role=Role.MANAGER)


@pytest.fixture
def li(django_user_model):
    return django_user_model.objects.create_user("li", password=PASSWORD, role=Role.ACCOUNT_MANAGER)


def log_in(client, username, password, ip="10.0.0.1", **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **extra
    )


def logged_in(client) -> bool:
    return client.get(reverse("dashboard")).status_code == 200


def lockouts():
    return list(AuditEntry.objects.filter(action="login.lockout").order_by("id"))


def fail(username, times, ip="10.0.0.1"):
    """``times`` wrong passwords for ``username`` from ``ip``; the last response."""
    for _ in range(times):
        response = log_in(Client(), username, "wrong-password", ip, **EN)
    return response


def age_attempts(minutes):
    LoginAttempt.objects.update(at=F("at") - dt.timedelta(minutes=minutes))


@pytest.mark.django_db
def test_five_failures_lock_the_username_even_for_the_right_password(wang):
    """Given four wrong passwords for wang, when the fifth fails too, then the page says
    logging in is locked; when the sixth attempt has the right password, then it is
    refused with the same message and no session starts. The lockout is in the audit log
    once, the attempts in the database."""
    response = fail("wang", 4)
    assert MISMATCH in response.content.decode()
    response = fail("wang", 1)
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    client = Client()
    response = log_in(client, "wang", PASSWORD, **EN)
    assert response.status_code == 200
    body = response.content.decode()
    assert LOCKED in body and "try again in 15 minutes." in body
    assert not logged_in(client)
    [entry] = AuditEntry.objects.filter(action="login.lockout")
    assert entry.actor is None and entry.object_id == str(wang.pk)
    assert entry.details["scope"] == "username_ip" and entry.details["username"] == "wang"
    assert entry.details["failures"] == 5 and entry.details["ip"] == "10.0.0.1"
    outcomes = list(LoginAttempt.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["failure"] * 5 + ["refused"]


@pytest.mark.django_db
def test_the_lock_message_is_in_chinese_by_default(wang):
    """Given wang locked out, when he tries with the default language, then the refusal
    is in Chinese."""
    fail("wang", 5)
    body = log_in(Client(), "wang", PASSWORD).content.decode()
    assert "登录失败次数过多" in body


@pytest.mark.django_db
def test_the_username_lock_ignores_case(wang):
    """Given five failures typed as 'WANG' and 'Wang', when wang logs in, then he is locked
    out too: the count is per name, whatever the case."""
    fail("WANG", 3)
    fail("Wang", 2)
    assert LOCKED in log_in(Client(), "wang", PASSWORD, **EN).content.decode()


@pytest.mark.django_db
def test_another_username_from_another_address_is_unaffected(wang, li):
    """Given wang locked out from 10.0.0.1, when li logs in from 10.0.0.2, then he gets in."""
    fail("wang", 5, ip="10.0.0.1")
    client = Client()
    response = log_in(client, "li", PASSWORD, ip="10.0.0.2")
    assert response.status_code == 302 and logged_in(client)


@pytest.mark.django_db
def test_the_lock_ends_after_the_window(wang):
    """Given wang locked out, when the failures are 14 minutes old he is still refused;
    when they are older than the 15-minute window, then the right password logs him in
    and the count starts again."""
    fail("wang", 5)
    age_attempts(14)
    assert LOCKED in log_in(Client(), "wang", PASSWORD, **EN).content.decode()
    age_attempts(2)
    client = Client()
    assert log_in(client, "wang", PASSWORD).status_code == 302
    assert logged_in(client)
    assert MISMATCH in fail("wang", 1).content.decode()


@pytest.mark.django_db
def test_refused_attempts_do_not_prolong_the_lock(wang):
    """Given wang locked out, when someone keeps trying during the lock, then the lock
    still ends fifteen minutes after the failures."""
    fail("wang", 5)
    age_attempts(10)
    fail("wang", 3)  # refused, not counted
    age_attempts(6)
    assert log_in(Client(), "wang", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_successful_login_clears_the_usernames_count(wang):
    """Given four failures then a successful login, when wang mistypes four more times,
    then he is not locked out."""
    fail("wang", 4)
    assert log_in(Client(), "wang", PASSWORD).status_code == 302
    assert MISMATCH in fail("wang", 4).content.decode()
    assert log_in(Client(), "wang", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_failures_from_one_address_lock_that_address(settings, wang, li):
    """Given a limit of three failures per address, when three different names fail from
    10.0.0.9, then even li with his right password is refused from there, while from
    another address he gets in; the address lockout is recorded."""
    settings.TIERING_LOGIN_FAILURES_PER_IP = 3
    for name in ("a", "b", "c"):
        fail(name, 1, ip="10.0.0.9")
    assert LOCKED in log_in(Client(), "li", PASSWORD, ip="10.0.0.9", **EN).content.decode()
    assert log_in(Client(), "li", PASSWORD, ip="10.0.0.10").status_code == 302
    [entry] = AuditEntry.objects.filter(action="login.lockout")
    assert entry.details["scope"] == "ip" and entry.details["ip"] == "10.0.0.9"
    assert entry.object_id == ""


@pytest.mark.django_db
def test_the_admin_login_is_throttled_too(django_user_model):
    """Given a staff user, when five wrong passwords are tried on the Django admin's login,
    then the right one is refused there as well."""
    django_user_model.objects.create_user(
        "root", password=PASSWORD, role=Role.ADMINISTRATOR, is_staff=True
    )
    url = reverse("admin:login")
    for _ in range(5):
        Client().post(url, {"username": "root", "password": "nope"}, **EN)
    client = Client()
    response = client.post(url, {"username": "root", "password": PASSWORD}, **EN)
    assert response.status_code == 200 and LOCKED in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


@pytest.mark.django_db
def test_missing_fields_are_not_counted(wang):
    """Given a login form sent without a password, when it is refused as incomplete, then
    no failure is counted."""
    response = log_in(Client(), "wang", "", **EN)
    assert "This field is required." in response.content.decode()
    assert not LoginAttempt.objects.exists()


@pytest.mark.django_db
def test_made_up_usernames_from_an_office_address_lock_no_real_user_out(wang, li):
    """Given an office behind one address (NAT) from which twenty made-up usernames fail
    once each, when wang, who never logged in from there, and li, who did, log in from
    that address, then both get in, and no lockout was recorded."""
    assert log_in(Client(), "li", PASSWORD, ip="10.0.0.50").status_code == 302
    for n in range(20):
        fail(f"made-up-{n}", 1, ip="10.0.0.50")
    for name in ("wang", "li"):
        client = Client()
        assert log_in(client, name, PASSWORD, ip="10.0.0.50").status_code == 302
        assert logged_in(client)
    assert lockouts() == []


@pytest.mark.django_db
def test_the_address_ceiling_spares_users_known_at_that_address(settings, wang, li):
    """Given a ceiling of three failures per address and li having logged in from
    10.0.0.9 before, when three names fail from there, then wang (new there) is refused
    from that address but li, known there, gets in."""
    settings.TIERING_LOGIN_FAILURES_PER_IP = 3
    assert log_in(Client(), "li", PASSWORD, ip="10.0.0.9").status_code == 302
    for name in ("a", "b", "c"):
        fail(name, 1, ip="10.0.0.9")
    assert LOCKED in log_in(Client(), "wang", PASSWORD, ip="10.0.0.9", **EN).content.decode()
    assert log_in(Client(), "li", PASSWORD, ip="10.0.0.9").status_code == 302


@pytest.mark.django_db
def test_a_username_failing_from_one_address_may_still_log_in_from_another(wang):
    """Given wang's five failures from 10.0.0.1 (that address now waits), when wang logs in
    from 10.0.0.2, then he gets in: five failures lock the pair, not the username."""
    fail("wang", 5, ip="10.0.0.1")
    assert LOCKED in log_in(Client(), "wang", PASSWORD, ip="10.0.0.1", **EN).content.decode()
    assert log_in(Client(), "wang", PASSWORD, ip="10.0.0.2").status_code == 302


@pytest.mark.django_db
def test_a_username_guessed_from_many_addresses_waits_except_where_its_user_works(wang):
    """Given wang known at the office (10.0.0.1) and ten failures for 'wang' from ten
    other addresses, when he logs in with the right password from an eleventh address,
    then he is told to wait 15 minutes (one lockout of scope 'username' recorded), while
    from the office he gets in; once the wait is over, the new address works too."""
    assert log_in(Client(), "wang", PASSWORD, ip="10.0.0.1").status_code == 302
    for n in range(10):
        fail("wang", 1, ip=f"10.1.0.{n + 1}")
    body = log_in(Client(), "wang", PASSWORD, ip="10.2.0.1", **EN).content.decode()
    assert LOCKED in body and "try again in 15 minutes." in body
    [entry] = lockouts()
    assert entry.details["scope"] == "username" and entry.details["failures"] == 10
    assert entry.object_id == str(wang.pk) and entry.details["ip"] == "10.1.0.10"
    assert log_in(Client(), "wang", PASSWORD, ip="10.0.0.1").status_code == 302
    assert LOCKED in log_in(Client(), "wang", PASSWORD, ip="10.2.0.2", **EN).content.decode()
    age_attempts(16)
    assert log_in(Client(), "wang", PASSWORD, ip="10.2.0.1").status_code == 302


@pytest.mark.django_db
def test_the_wait_doubles_with_each_failure_after_it_and_ends(wang):
    """Given wang waiting 15 minutes after five failures from one address, with refused
    tries during the wait, when one more password fails after the wait, then he waits 30
    minutes; after that one more, 60 minutes; when that wait is over, the right password
    logs him in, and the count starts again."""
    body = fail("wang", 5).content.decode()
    assert "try again in 15 minutes." in body
    fail("wang", 3)  # refused: they neither prolong nor grow the wait
    age_attempts(16)
    assert "try again in 30 minutes." in fail("wang", 1).content.decode()
    age_attempts(31)
    assert "try again in 60 minutes." in fail("wang", 1).content.decode()
    age_attempts(59)
    assert LOCKED in log_in(Client(), "wang", PASSWORD, **EN).content.decode()
    age_attempts(2)
    client = Client()
    assert log_in(client, "wang", PASSWORD).status_code == 302 and logged_in(client)
    assert MISMATCH in fail("wang", 1).content.decode()
    assert [e.details["failures"] for e in lockouts()] == [5, 6, 7]


@pytest.mark.django_db
def test_failures_older_than_a_day_are_forgotten(wang):
    """Given four failures a day and an hour ago, when wang mistypes once more, then he is
    not locked out: only the last 24 hours count."""
    fail("wang", 4)
    age_attempts(25 * 60)
    assert MISMATCH in fail("wang", 1).content.decode()


def test_the_wait_is_capped(settings):
    """Given the defaults, the waits after the limit are 15, 30, 60, 120 minutes, then
    never more than the 240-minute cap."""
    waits = [login_throttle.backoff(n, 5) for n in (5, 6, 7, 8, 9, 10, 500)]
    assert [w.total_seconds() / 60 for w in waits] == [15, 30, 60, 120, 240, 240, 240]
