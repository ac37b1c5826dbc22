"""Login throttling: too many failed logins for one username, or from one address, within
a window lock further attempts out until the window has passed, right password or not.

The attempts live in the database (:class:`~tiering_web.accounts.models.LoginAttempt`), so
the limit holds across worker processes and servers. The lock is a sliding window: it ends
when the oldest of the counted failures is older than the window, so five failures in a
row lock the username for about fifteen minutes. A successful login clears the username's
count (not the address's: one valid account must not reset the count for guessing at
others). Refused attempts are stored but never counted, so knocking on a locked door does
not keep it locked. The address is ``REMOTE_ADDR``; behind a reverse proxy, the proxy must
set it (``X-Forwarded-For`` is not trusted here, since a client can write it).

The limits are settings, with these defaults:

``TIERING_LOGIN_FAILURES_PER_USERNAME = 5``
``TIERING_LOGIN_FAILURES_PER_IP = 20`` (an office behind one address shares it)
``TIERING_LOGIN_WINDOW_MINUTES = 15``
``TIERING_LOGIN_ATTEMPTS_KEPT_DAYS = 30`` (older attempts are purged as new ones come)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tiering_web.accounts.models import LoginAttempt, User
from tiering_web.audit.services import record


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def username_limit() -> int:
    return _setting("TIERING_LOGIN_FAILURES_PER_USERNAME", 5)


def ip_limit() -> int:
    return _setting("TIERING_LOGIN_FAILURES_PER_IP", 20)


def window() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("TIERING_LOGIN_WINDOW_MINUTES", 15))


def kept() -> dt.timedelta:
    return dt.timedelta(days=_setting("TIERING_LOGIN_ATTEMPTS_KEPT_DAYS", 30))


def key(username: str) -> str:
    """The username as throttled: case-folded, so 'Wang' and 'wang' share one count."""
    return (username or "").casefold()[:150]


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class Lock:
    """Why and until when logins are refused."""

    scope: str  # "username" or "ip"
    until: dt.datetime
    failures: int


def _lock(failures: QuerySet, limit: int, scope: str, now: dt.datetime) -> Lock | None:
    """The lock that ``failures`` (already narrowed to one username or address) put on,
    if the latest ``limit`` of them all fall inside the window."""
    if limit <= 0:
        return None
    times = list(
        failures.filter(at__gt=now - window())
        .order_by("-at", "-id")
        .values_list("at", flat=True)[:limit]
    )
    if len(times) < limit:
        return None
    return Lock(scope=scope, until=times[-1] + window(), failures=len(times))


def _username_failures(username: str) -> QuerySet:
    name = key(username)
    failures = LoginAttempt.objects.filter(username=name, outcome=LoginAttempt.Outcome.FAILURE)
    last_success = (
        LoginAttempt.objects.filter(username=name, outcome=LoginAttempt.Outcome.SUCCESS)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last_success is not None:
        failures = failures.filter(at__gt=last_success)
    return failures


def _ip_failures(ip: str | None) -> QuerySet:
    if not ip:
        return LoginAttempt.objects.none()
    return LoginAttempt.objects.filter(ip=ip, outcome=LoginAttempt.Outcome.FAILURE)


def current_lock(username: str, ip: str | None) -> Lock | None:
    """The lock on ``username`` or ``ip`` now, the one that lasts longer if both are."""
    now = timezone.now()
    locks = [
        lock
        for lock in (
            _lock(_username_failures(username), username_limit(), "username", now),
            _lock(_ip_failures(ip), ip_limit(), "ip", now),
        )
        if lock is not None
    ]
    return max(locks, key=lambda lock: lock.until, default=None)


def note_refused(username: str, ip: str | None) -> None:
    LoginAttempt.objects.create(username=key(username), ip=ip, outcome=LoginAttempt.Outcome.REFUSED)


def note_success(username: str, ip: str | None) -> None:
    now = timezone.now()
    LoginAttempt.objects.create(
        username=key(username), ip=ip, at=now, outcome=LoginAttempt.Outcome.SUCCESS
    )
    LoginAttempt.objects.filter(at__lt=now - kept()).delete()


def note_failure(username: str, ip: str | None) -> Lock | None:
    """Store a failed login; if it is the one that reaches a limit, record the lockout in
    the audit log (once per lock: later failures while locked are refused, not counted)
    and return the new lock."""
    now = timezone.now()
    with transaction.atomic():
        LoginAttempt.objects.create(
            username=key(username), ip=ip, at=now, outcome=LoginAttempt.Outcome.FAILURE
        )
        started = []
        for lock in (
            _lock(_username_failures(username), username_limit(), "username", now),
            _lock(_ip_failures(ip), ip_limit(), "ip", now),
        ):
            if lock is not None:
                started.append(lock)
                user = None
                if lock.scope == "username":
                    user = User.objects.filter(username=username).first()
                record(
                    None,
                    "login.lockout",
                    user,
                    "",
                    scope=lock.scope,
                    username=username,
                    ip=ip,
                    failures=lock.failures,
                    until=lock.until,
                )
    return max(started, key=lambda lock: lock.until, default=None)
