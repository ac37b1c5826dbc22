"""The users pages: the role matrix, creating, editing and deactivating users with audit
entries, passwords checked by Django's validators, "my account" and API tokens."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tiering_web.accounts.models import ApiToken, Role, User
from tiering_web.accounts.services import do_create_user, issue_token
from tiering_web.audit.models import AuditEntry

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PASSWORD = "x-secret-1"
STRONG = "Lantern-Harbour-42"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """A quick hasher: these tests log in often; how passwords are hashed is Django's."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(django_user_model):
    """One user per role, and a second account manager."""
    made = {
        role: django_user_model.objects.create_user(str(role), password=PASSWORD, role=role)
        for role in (Role.ADMINISTRATOR, Role.MANAGER, Role.ACCOUNT_MANAGER, Role.ANALYST)
    }
    made["other_am"] = django_user_model.objects.create_user(
        "other_am", password=PASSWORD, role=Role.ACCOUNT_MANAGER, email="other@example.com"
    )
    return made


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


PAGES = {
    "user_list": lambda people: reverse("user_list"),
    "user_create": lambda people: reverse("user_create"),
    "user_edit": lambda people: reverse("user_edit", args=[people["other_am"].pk]),
    "account_profile": lambda people: reverse("account_profile"),
}

#: Who gets the page (200) and who is refused (403).
MATRIX = {
    "user_list": {Role.ADMINISTRATOR, Role.MANAGER},
    "user_create": {Role.ADMINISTRATOR},
    "user_edit": {Role.ADMINISTRATOR},
    "account_profile": {Role.ADMINISTRATOR, Role.MANAGER, Role.ACCOUNT_MANAGER, Role.ANALYST},
}


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize(
    "role", [Role.ADMINISTRATOR, Role.MANAGER, Role.ACCOUNT_MANAGER, Role.ANALYST]
)
def test_role_matrix(people, page, role):
    """Given a user of each role, when they open each users page, then the allowed roles
    get it and the others are refused with 403."""
    response = client_as(people[role]).get(PAGES[page](people))
    assert response.status_code == (200 if role in MATRIX[page] else 403)


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(PAGES))
def test_anonymous_and_deactivated_users_are_sent_to_log_in(people, page):
    """Given an anonymous visitor, and a user deactivated while logged in, when they open
    a users page, then both are sent to the login page."""
    response = Client().get(PAGES[page](people))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    admin = people[Role.ADMINISTRATOR]
    client = client_as(admin)
    User.objects.filter(pk=admin.pk).update(is_active=False)
    response = client.get(PAGES[page](people))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.MANAGER, Role.ACCOUNT_MANAGER, Role.ANALYST])
def test_only_administrators_write_users(people, role):
    """Given a non-administrator, when they post a new user, an edit and a password reset,
    then each is refused with 403 and nothing changes."""
    client = client_as(people[role])
    target = people["other_am"]
    new = {"username": "intruder", "role": Role.ADMINISTRATOR, "reason": "x"}
    new |= {"password": STRONG, "password2": STRONG}
    assert client.post(reverse("user_create"), new).status_code == 403
    edit = {"role": Role.ADMINISTRATOR, "is_active": "on", "reason": "x"}
    assert client.post(reverse("user_edit", args=[target.pk]), edit).status_code == 403
    reset = {"password": STRONG, "password2": STRONG, "reason": "x"}
    assert client.post(reverse("user_password", args=[target.pk]), reset).status_code == 403
    target.refresh_from_db()
    assert target.role == Role.ACCOUNT_MANAGER and target.check_password(PASSWORD)
    assert not User.objects.filter(username="intruder").exists()
    assert not AuditEntry.objects.filter(action__startswith="user.").exists()


@pytest.mark.django_db
def test_manager_sees_the_list_without_edit_links_and_filters_it(people):
    """Given the manager, when they open the user list and filter it by role, then they
    see the account managers, with no link to edit or create anyone."""
    client = client_as(people[Role.MANAGER])
    response = client.get(reverse("user_list"), {"role": Role.ACCOUNT_MANAGER}, **EN)
    names = [u.username for u in response.context["page"].object_list]
    assert names == ["account_manager", "other_am"]
    body = response.content.decode()
    assert reverse("user_create") not in body
    assert reverse("user_edit", args=[people["other_am"].pk]) not in body
    response = client.get(reverse("user_list"), {"q": "other@example"})
    assert [u.username for u in response.context["page"].object_list] == ["other_am"]


@pytest.mark.django_db
def test_user_list_query_count_does_not_grow_with_users(people, django_user_model):
    """Given the list's query count with five users, when ten more exist, then the same
    number of queries renders it."""
    client = client_as(people[Role.ADMINISTRATOR])

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("user_list")).status_code == 200
        return len(queries)

    before = count()
    for n in range(10):
        django_user_model.objects.create_user(f"extra{n}", role=Role.ACCOUNT_MANAGER)
    assert count() == before


@pytest.mark.django_db
def test_administrator_creates_a_user_with_an_audit_entry(people):
    """Given the administrator, when they create an account manager with a strong password
    and a reason, then the user exists with a hashed password, can log in, and the audit
    log records who, the values and the reason, never the password."""
    client = client_as(people[Role.ADMINISTRATOR])
    form = {
        "username": "zhangsan",
        "first_name": "三",
        "last_name": "张",
        "email": "ZS@Example.COM",
        "role": Role.ACCOUNT_MANAGER,
        "password": STRONG,
        "password2": STRONG,
        "reason": "new hire in the east region",
    }
    response = client.post(reverse("user_create"), form)
    user = User.objects.get(username="zhangsan")
    assert response.status_code == 302 and response["Location"] == reverse(
        "user_edit", args=[user.pk]
    )
    assert user.role == Role.ACCOUNT_MANAGER and user.is_active and not user.is_staff
    assert user.email == "ZS@example.com"
    assert user.password != STRONG and user.check_password(STRONG)
    [entry] = entries("user.create")
    assert entry.actor == people[Role.ADMINISTRATOR] and entry.object_id == str(user.pk)
    assert entry.reason == "new hire in the east region"
    assert entry.details["fields"]["role"] == Role.ACCOUNT_MANAGER
    assert STRONG not in str(entry.details) and user.password not in str(entry.details)
    assert Client().login(username="zhangsan", password=STRONG)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("12345678", "This password is entirely numeric."),
        ("short1", "This password is too short. It must contain at least 8 characters."),
        ("password", "This password is too common."),
        ("zhangsan-1", "The password is too similar to the username."),
    ],
)
def test_weak_password_is_refused_with_the_validators_message(people, password, message):
    """Given a new user's password that one of Django's validators rejects, when the
    administrator submits it, then the form shows that validator's message on the
    password field and no user or audit entry is made."""
    client = client_as(people[Role.ADMINISTRATOR])
    form = {"username": "zhangsan", "role": Role.ANALYST, "reason": "hire"}
    form |= {"password": password, "password2": password}
    response = client.post(reverse("user_create"), form, **EN)
    assert response.status_code == 200
    assert message in response.context["form"].errors["password"]
    assert message in response.content.decode()
    assert not User.objects.filter(username="zhangsan").exists()
    assert not entries("user.create")


@pytest.mark.django_db
def test_create_errors_name_the_field(people):
    """Given a taken username, mismatched passwords and no reason, when submitted, then
    each error is on its field, in Chinese by default."""
    client = client_as(people[Role.ADMINISTRATOR])
    form = {"username": "other_am", "role": Role.ANALYST, "password": STRONG}
    form |= {"password2": STRONG + "x", "reason": ""}
    errors = client.post(reverse("user_create"), form, **EN).context["form"].errors
    assert errors["username"] == ["A user with that username already exists."]
    assert errors["password2"] == ["The two passwords do not match."]
    assert errors["reason"] == ["This field is required."]
    body = client.post(reverse("user_create"), form).content.decode()
    assert "两次输入的密码不一致。" in body


@pytest.mark.django_db
def test_administrator_edits_a_user_and_the_change_is_audited(people):
    """Given an account manager, when the administrator makes them a manager with a new
    e-mail and a reason, then both change and the audit entry holds old and new values;
    saving again without changes writes nothing."""
    admin, target = people[Role.ADMINISTRATOR], people["other_am"]
    client = client_as(admin)
    form = {"first_name": "", "last_name": "", "email": "boss@example.com"}
    form |= {"role": Role.MANAGER, "is_active": "on", "reason": "promoted"}
    response = client.post(reverse("user_edit", args=[target.pk]), form)
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == Role.MANAGER and target.email == "boss@example.com"
    [entry] = entries("user.update")
    assert entry.actor == admin and entry.reason == "promoted"
    assert entry.details["changes"] == {
        "email": ["other@example.com", "boss@example.com"],
        "role": [Role.ACCOUNT_MANAGER, Role.MANAGER],
    }
    client.post(reverse("user_edit", args=[target.pk]), form)
    assert len(entries("user.update")) == 1


@pytest.mark.django_db
def test_deactivated_user_cannot_log_in_nor_use_tokens(people):
    """Given an account manager with a session and an API token, when the administrator
    unticks 'active' with a reason, then the user is kept (never deleted), the audit log
    says 'user.deactivate', their session ends, the login page refuses the right
    password and the API refuses the token."""
    target = people["other_am"]
    token = issue_token(target, target, "script")
    session = client_as(target)
    assert session.get(reverse("account_profile")).status_code == 200
    form = {"first_name": "", "last_name": "", "email": target.email}
    form |= {"role": target.role, "reason": "left the company"}  # 'is_active' unticked
    client_as(people[Role.ADMINISTRATOR]).post(reverse("user_edit", args=[target.pk]), form)
    target.refresh_from_db()
    assert not target.is_active
    [entry] = entries("user.deactivate")
    assert entry.reason == "left the company" and entry.details["changes"]["is_active"] == [
        True,
        False,
    ]
    assert session.get(reverse("account_profile")).status_code == 302
    response = Client().post(reverse("login"), {"username": "other_am", "password": PASSWORD}, **EN)
    assert response.status_code == 200
    assert "Your username and password did not match." in response.content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/customers/").status_code == 401


@pytest.mark.django_db
def test_administrator_cannot_demote_or_deactivate_themselves(people):
    """Given the administrator on their own page, when they untick 'active' or pick
    another role, then the form says why and nothing changes."""
    admin = people[Role.ADMINISTRATOR]
    client = client_as(admin)
    url = reverse("user_edit", args=[admin.pk])
    form = {"first_name": "", "last_name": "", "email": "", "reason": "oops"}
    response = client.post(url, form | {"role": Role.ADMINISTRATOR}, **EN)
    assert response.context["form"].errors["is_active"] == [
        "You cannot deactivate your own account."
    ]
    response = client.post(url, form | {"role": Role.ANALYST, "is_active": "on"}, **EN)
    assert response.context["form"].errors["role"] == ["You cannot change your own role."]
    admin.refresh_from_db()
    assert admin.is_active and admin.role == Role.ADMINISTRATOR
    assert not AuditEntry.objects.filter(action__startswith="user.").exists()


@pytest.mark.django_db
def test_administrator_resets_a_password(people):
    """Given the administrator, when they set a too-common password, then it is refused
    with the validator's message; when they set a strong one with a reason, then the user
    logs in with it, not with the old one, and the audit log has the reset (no password)."""
    target = people["other_am"]
    client = client_as(people[Role.ADMINISTRATOR])
    url = reverse("user_password", args=[target.pk])
    weak = {"password": "password", "password2": "password", "reason": "forgot"}
    response = client.post(url, weak, **EN)
    assert response.status_code == 200
    assert "This password is too common." in response.context["password_form"].errors["password"]
    assert not entries("user.set_password")
    response = client.post(url, {"password": STRONG, "password2": STRONG, "reason": "forgot"})
    assert response.status_code == 302
    assert Client().login(username="other_am", password=STRONG)
    assert not Client().login(username="other_am", password=PASSWORD)
    [entry] = entries("user.set_password")
    assert entry.reason == "forgot" and entry.object_id == str(target.pk)
    assert STRONG not in str(entry.details)


@pytest.mark.django_db
def test_everyone_changes_their_own_password(people):
    """Given an analyst on "my account", when they give a wrong current password, then it
    is refused; with the right one and a strong new one, then they stay logged in, the
    new password works, and the change is audited as theirs."""
    analyst = people[Role.ANALYST]
    client = client_as(analyst)
    url = reverse("account_password")
    form = {"old_password": "wrong", "password": STRONG, "password2": STRONG}
    response = client.post(url, form, **EN)
    assert response.context["password_form"].errors["old_password"] == [
        "Your current password is not correct."
    ]
    response = client.post(url, form | {"old_password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("account_profile")
    assert client.get(reverse("account_profile")).status_code == 200
    assert Client().login(username="analyst", password=STRONG)
    [entry] = entries("user.set_password")
    assert entry.actor == analyst and entry.details == {"own": True}


@pytest.mark.django_db
def test_tokens_issued_shown_once_and_revoked(people):
    """Given an account manager on "my account", when they issue a token, then it is shown
    in that response only, stored hashed, and works on the API; when they revoke it, then
    the API refuses it and both are audited."""
    am = people[Role.ACCOUNT_MANAGER]
    client = client_as(am)
    response = client.post(reverse("account_token_issue"), {"name": "ERP sync"})
    key = response.context["new_token"]["key"]
    assert key.startswith("tt_") and key in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=am)
    assert token.name == "ERP sync" and token.key_hash == ApiToken.hash(key)
    assert key not in client.get(reverse("account_profile")).content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/customers/").status_code == 200
    response = client.post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("account_profile")
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert api.get("/api/customers/").status_code == 401
    [issued] = entries("token.issue")
    [revoked] = entries("token.revoke")
    assert revoked.actor == am and revoked.details == {
        "user": "account_manager",
        "name": "ERP sync",
    }
    assert key not in str(issued.details) + str(revoked.details)


@pytest.mark.django_db
def test_token_name_is_required(people):
    """Given "my account", when a token is asked for without a name, then the name field
    says so and no token is made."""
    response = client_as(people[Role.ANALYST]).post(
        reverse("account_token_issue"), {"name": ""}, **EN
    )
    assert response.context["token_form"].errors["name"] == ["This field is required."]
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.MANAGER, Role.ACCOUNT_MANAGER, Role.ANALYST])
def test_only_administrators_revoke_someone_elses_token(people, role):
    """Given another user's token, when a non-administrator tries to revoke it, then 403
    and it stays; when the administrator revokes it from the user's page with a reason,
    then it is gone and the reason is in the audit log."""
    owner = people["other_am"]
    issue_token(owner, owner, "phone")
    token = ApiToken.objects.get(user=owner)
    url = reverse("token_revoke", args=[token.pk])
    assert client_as(people[role]).post(url).status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()
    admin_client = client_as(people[Role.ADMINISTRATOR])
    page = admin_client.get(reverse("user_edit", args=[owner.pk])).content.decode()
    assert url in page
    response = admin_client.post(url, {"reason": "phone lost"})
    assert response["Location"] == reverse("user_edit", args=[owner.pk])
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    [entry] = entries("token.revoke")
    assert entry.actor == people[Role.ADMINISTRATOR] and entry.reason == "phone lost"


@pytest.mark.django_db
def test_user_pages_speak_chinese_by_default(people):
    """Given the default language, when the administrator opens the list and a new-user
    form, then their headings are in Chinese."""
    client = client_as(people[Role.ADMINISTRATOR])
    assert "用户" in client.get(reverse("user_list")).content.decode()
    assert "新建用户" in client.get(reverse("user_create")).content.decode()
    assert "我的账户" in client.get(reverse("account_profile")).content.decode()


@pytest.mark.django_db
def test_services_refuse_unknown_fields_and_weak_passwords(people):
    """Given the service called directly (as a script would), when it is asked to make a
    superuser or given a numeric password, then it refuses before writing."""
    admin = people[Role.ADMINISTRATOR]
    with pytest.raises(TypeError, match="is_superuser"):
        do_create_user(admin, {"username": "root", "is_superuser": True}, STRONG, "x")
    with pytest.raises(ValidationError) as raised:
        do_create_user(admin, {"username": "num"}, "98765432123", "x")
    assert list(raised.value.message_dict) == ["password"]
    assert not User.objects.filter(username__in=["root", "num"]).exists()
