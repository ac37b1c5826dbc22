"""Login throttling: failed logins slow down the username being guessed, with a wait that
grows with every further failure, instead of locking out everyone behind one address.

Three counts, all of them over the attempts in the database
(:class:`~tiering_web.accounts.models.LoginAttempt`), so they hold across worker processes
and servers:

- **one username from one address**: after ``TIERING_LOGIN_FAILURES_PER_USERNAME_AND_IP``
  failures, that username may not log in from that address until
  ``TIERING_LOGIN_BACKOFF_MINUTES`` after the last failure. Each failure after a wait has
  ended doubles the next wait, up to ``TIERING_LOGIN_BACKOFF_MAX_MINUTES``.
- **one username from all addresses together**: after ``TIERING_LOGIN_FAILURES_PER_USERNAME``
  failures, the same growing wait for that username from every address, except from the
  addresses where this user logged in successfully within the attempts kept (someone
  guessing from elsewhere does not keep the real user out at their desk, where the count
  above still applies).
- **one address, all usernames** (a ceiling against one address trying a few passwords on
  many names): ``TIERING_LOGIN_FAILURES_PER_IP`` failures within
  ``TIERING_LOGIN_WINDOW_MINUTES`` refuse further logins from that address until the
  oldest of them leaves the window, again except for the users known at that address. The
  ceiling is far above what an office behind one address (NAT, a reverse proxy) mistypes:
  twenty made-up usernames lock nobody out.

A failure counts while it is younger than ``TIERING_LOGIN_FORGET_HOURS``: a day without
failures starts afresh. For the first count, logging in from that address starts afresh
too; the second counts only the failures from addresses where the user has not logged in
(the user's own mistypes at their desk never lock their name elsewhere, and their logging
in does not give someone guessing elsewhere a fresh count). Refused attempts are
stored but never counted, so knocking on a locked door neither prolongs nor grows the wait.
The address is ``REMOTE_ADDR``; behind a reverse proxy, the proxy must set it
(``X-Forwarded-For`` is not trusted here, since a client can write it).

The limits are settings, with these defaults:

``TIERING_LOGIN_FAILURES_PER_USERNAME_AND_IP = 5``
``TIERING_LOGIN_FAILURES_PER_USERNAME = 10``
``TIERING_LOGIN_BACKOFF_MINUTES = 15`` (the first wait; then 30, 60, ...)
``TIERING_LOGIN_BACKOFF_MAX_MINUTES = 240``
``TIERING_LOGIN_FORGET_HOURS = 24``
``TIERING_LOGIN_FAILURES_PER_IP = 100`` (0 turns the ceiling off)
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

FAILURE = LoginAttempt.Outcome.FAILURE
SUCCESS = LoginAttempt.Outcome.SUCCESS


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def pair_limit() -> int:
    return _setting("TIERING_LOGIN_FAILURES_PER_USERNAME_AND_IP", 5)


def username_limit() -> int:
    return _setting("TIERING_LOGIN_FAILURES_PER_USERNAME", 10)


def ip_limit() -> int:
    return _setting("TIERING_LOGIN_FAILURES_PER_IP", 100)


def window() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("TIERING_LOGIN_WINDOW_MINUTES", 15))


def forget() -> dt.timedelta:
    return dt.timedelta(hours=_setting("TIERING_LOGIN_FORGET_HOURS", 24))


def kept() -> dt.timedelta:
    return dt.timedelta(days=_setting("TIERING_LOGIN_ATTEMPTS_KEPT_DAYS", 30))


def backoff(failures: int, limit: int) -> dt.timedelta:
    """The wait after the ``failures``-th counted failure, once ``limit`` is reached: the
    first wait, doubled for each failure beyond the limit, capped."""
    first = _setting("TIERING_LOGIN_BACKOFF_MINUTES", 15)
    most = _setting("TIERING_LOGIN_BACKOFF_MAX_MINUTES", 240)
    doublings = min(failures - limit, 16)  # 2**16 × the first wait is past any cap
    return dt.timedelta(minutes=min(first * 2**doublings, most))


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

    scope: str  # "username_ip", "username" or "ip"
    until: dt.datetime
    failures: int


def _since_last_success(failures: QuerySet, successes: QuerySet, now: dt.datetime) -> QuerySet:
    """``failures`` younger than the forgetting time and later than the last of
    ``successes``."""
    failures = failures.filter(at__gt=now - forget())
    last = successes.order_by("-at").values_list("at", flat=True).first()
    return failures if last is None else failures.filter(at__gt=last)


def _backoff_lock(failures: QuerySet, limit: int, scope: str, now: dt.datetime) -> Lock | None:
    """The growing wait that the counted ``failures`` (of one username, or one username
    from one address) put on, if it has not ended yet."""
    if limit <= 0:
        return None
    count = failures.count()
    if count < limit:
        return None
    last = failures.order_by("-at").values_list("at", flat=True).first()
    until = last + backoff(count, limit)
    return Lock(scope=scope, until=until, failures=count) if until > now else None


def _ceiling_lock(ip: str, now: dt.datetime) -> Lock | None:
    """The address's lock, if the latest ``ip_limit()`` failures from it all fall inside
    the window."""
    limit = ip_limit()
    if limit <= 0:
        return None
    times = list(
        LoginAttempt.objects.filter(ip=ip, outcome=FAILURE, at__gt=now - window())
        .order_by("-at", "-id")
        .values_list("at", flat=True)[:limit]
    )
    if len(times) < limit:
        return None
    return Lock(scope="ip", until=times[-1] + window(), failures=len(times))


def _known_at(name: str, ip: str | None, now: dt.datetime) -> bool:
    """Whether ``name`` logged in successfully from ``ip`` within the attempts kept."""
    return bool(ip) and (
        LoginAttempt.objects.filter(
            username=name, ip=ip, outcome=SUCCESS, at__gt=now - kept()
        ).exists()
    )


def _known_ips(name: str, now: dt.datetime) -> QuerySet:
    """The addresses ``name`` logged in from successfully within the attempts kept."""
    return LoginAttempt.objects.filter(
        username=name, outcome=SUCCESS, at__gt=now - kept(), ip__isnull=False
    ).values("ip")


def _locks(username: str, ip: str | None, now: dt.datetime) -> list[Lock]:
    """Every lock that refuses ``username`` from ``ip`` now."""
    name = key(username)
    attempts = LoginAttempt.objects.filter(username=name)
    locks = []
    if ip:
        pair = attempts.filter(ip=ip)
        failures = _since_last_success(
            pair.filter(outcome=FAILURE), pair.filter(outcome=SUCCESS), now
        )
        locks.append(_backoff_lock(failures, pair_limit(), "username_ip", now))
    if not (ip and _known_ips(name, now).filter(ip=ip).exists()):
        failures = attempts.filter(outcome=FAILURE, at__gt=now - forget()).exclude(
            ip__in=_known_ips(name, now)
        )
        locks.append(_backoff_lock(failures, username_limit(), "username", now))
        if ip:
            locks.append(_ceiling_lock(ip, now))
    return [lock for lock in locks if lock is not None]


def current_lock(username: str, ip: str | None) -> Lock | None:
    """The lock on ``username`` from ``ip`` now, the one that lasts longest if several."""
    return max(_locks(username, ip, timezone.now()), key=lambda lock: lock.until, default=None)


def note_refused(username: str, ip: str | None) -> None:
    LoginAttempt.objects.create(username=key(username), ip=ip, outcome=LoginAttempt.Outcome.REFUSED)


def note_success(username: str, ip: str | None) -> None:
    now = timezone.now()
    LoginAttempt.objects.create(username=key(username), ip=ip, at=now, outcome=SUCCESS)
    LoginAttempt.objects.filter(at__lt=now - kept()).delete()


def note_failure(username: str, ip: str | None) -> Lock | None:
    """Store a failed login; record in the audit log each lock that it starts (once per
    lock: while locked, attempts are refused, not counted) and return the longest."""
    now = timezone.now()
    with transaction.atomic():
        LoginAttempt.objects.create(username=key(username), ip=ip, at=now, outcome=FAILURE)
        started = _locks(username, ip, now)
        for lock in started:
            user = None
            if lock.scope != "ip":
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
