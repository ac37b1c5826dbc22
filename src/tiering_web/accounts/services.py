"""Writes to accounts: users, their passwords and API tokens. Each goes through one
``do_*`` function that validates, saves and records who did it and why, whether called
from a page, the API, the admin or a script."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tiering_web.accounts.models import ApiToken, User
from tiering_web.audit.services import record

#: Tokens start with this, so a leaked one is easy to recognise in logs and scanners.
PREFIX = "tt_"

#: The fields of a user that :func:`do_create_user` and :func:`do_update_user` set. The
#: username is fixed once made (the audit log and history name people by it); passwords
#: have their own function, and nothing here makes a superuser or staff member.
USER_FIELDS = ("first_name", "last_name", "email", "role", "is_active")


def _check_fields(names, allowed) -> None:
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise TypeError(f"unknown or protected user fields: {', '.join(unknown)}")


def _check_password(password: str, user: User) -> None:
    """Django's password validators (length, common, numeric, like the user's names),
    their messages under the ``password`` field."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.error_list}) from None


def do_create_user(actor, fields: dict[str, Any], password: str, reason: str = "") -> User:
    """Create a user with a validated password, and record it with the initial values
    (never the password)."""
    _check_fields(fields, ("username", *USER_FIELDS))
    values = dict(fields)
    values["username"] = User.normalize_username(values.get("username", ""))
    if "email" in values:
        values["email"] = User.objects.normalize_email(values["email"])
    user = User(**values)
    user.full_clean(exclude=["password"])
    _check_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        shown = {name: getattr(user, name) for name in ("username", *USER_FIELDS)}
        record(actor, "user.create", user, reason, fields=shown)
    return user


def do_update_user(actor, user: User, changes: dict[str, Any], reason: str) -> User:
    """Apply ``changes`` to ``user``, validate, save the changed fields and record them as
    ``{field: [old, new]}``. Deactivating is ``is_active=False`` (recorded as
    ``user.deactivate``); users are never deleted, since history points at them. Nobody
    may take away their own administrator role or deactivate themselves, so the last
    administrator cannot lock everyone out by mistake."""
    _check_fields(changes, USER_FIELDS)
    if actor is not None and actor.pk == user.pk:
        if changes.get("is_active", user.is_active) is False:
            raise ValidationError({"is_active": _("You cannot deactivate your own account.")})
        if changes.get("role", user.role) != user.role and not user.is_superuser:
            raise ValidationError({"role": _("You cannot change your own role.")})
    before = {name: getattr(user, name) for name in changes}
    for name, value in changes.items():
        setattr(user, name, value)
    if "email" in changes:
        user.email = User.objects.normalize_email(user.email)
    user.full_clean(exclude=["password"])
    changed = {n: [before[n], getattr(user, n)] for n in changes if before[n] != getattr(user, n)}
    if not changed:
        return user
    action = "user.update"
    if "is_active" in changed:
        action = "user.activate" if user.is_active else "user.deactivate"
    with transaction.atomic():
        user.save(update_fields=list(changed))
        record(actor, action, user, reason, changes=changed)
    return user


def do_deactivate_user(actor, user: User, reason: str) -> User:
    """Stop ``user`` logging in or using their API tokens; their history stays."""
    return do_update_user(actor, user, {"is_active": False}, reason)


def do_set_password(actor, user: User, password: str, reason: str) -> User:
    """Give ``user`` a new password, checked by Django's validators, and record that it
    changed (never the password itself). Their other sessions end, since Django ties a
    session to the password hash."""
    _check_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save(update_fields=["password"])
        record(
            actor, "user.set_password", user, reason, own=actor is not None and actor.pk == user.pk
        )
    return user


def issue_token(actor, user, name: str) -> str:
    """Make an API token for ``user`` and return it; this is the only time it is seen,
    since only its SHA-256 is stored. The audit entry names the token, never its value."""
    key = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, key_hash=ApiToken.hash(key))
    token.full_clean()
    with transaction.atomic():
        token.save()
        record(actor, "token.issue", token, "", user=user.username, name=name)
    return key


def do_revoke_token(actor, token: ApiToken, reason: str = "") -> None:
    """Delete an API token, so requests bearing it are refused from now on, and record
    whose token it was and its name."""
    with transaction.atomic():
        record(actor, "token.revoke", token, reason, user=token.user.username, name=token.name)
        token.delete()
