"""The bearer-token check of the priority lookup, without a database write per request.

:class:`tiering_web.accounts.api.TokenAuth` reads the token and stamps ``last_used`` on
every request; an IVR asking hundreds of times a second would make that a write per call.
Here a token's user is kept in process memory for :data:`TTL` seconds and ``last_used`` is
stamped at most once every :data:`STAMP_EVERY` seconds per process. A revoked token or a
deactivated user is therefore refused at most :data:`TTL` seconds later (in every process);
an unknown token is looked up every time."""

from __future__ import annotations

import threading
import time

from django.utils import timezone
from ninja.security import HttpBearer

from tiering_web.accounts.models import ApiToken

TTL = 30.0
STAMP_EVERY = 60.0

#: token hash → (token pk, user, cached until, last stamped)
_cache: dict[str, tuple[int, object, float, float]] = {}
_lock = threading.Lock()


def clear() -> None:
    _cache.clear()


def user_for_token(token: str):
    """The active user owning ``token``, or None."""
    if not token:
        return None
    key = ApiToken.hash(token)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is None or hit[2] <= now:
        found = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=key, user__is_active=True)
            .first()
        )
        if found is None:
            _cache.pop(key, None)
            return None
        hit = (found.pk, found.user, now + TTL, hit[3] if hit else 0.0)
        _cache[key] = hit
    pk, user, until, stamped = hit
    if now - stamped >= STAMP_EVERY:
        with _lock:
            current = _cache.get(key)
            if current is not None and now - current[3] >= STAMP_EVERY:
                _cache[key] = (pk, user, until, now)
                ApiToken.objects.filter(pk=pk).update(last_used=timezone.now())
    return user


class CachedTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` with the cache above."""

    def authenticate(self, request, token: str):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user
