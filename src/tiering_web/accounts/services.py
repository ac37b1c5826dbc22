"""Writes to accounts: each through one function that records who did it."""

import secrets

from django.db import transaction

from tiering_web.accounts.models import ApiToken
from tiering_web.audit.services import record

#: Tokens start with this, so a leaked one is easy to recognise in logs and scanners.
PREFIX = "tt_"


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
