"""API tokens: issuing them, and the bearer authentication that checks them."""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from tiering_web.accounts.models import ApiToken
from tiering_web.accounts.permissions import can_issue_token
from tiering_web.accounts.services import issue_token
from tiering_web.apischema import InSchema, refusals

LAST_USED_EVERY = dt.timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``: the token's user, if the token exists and the
    user is active. Stamps ``last_used``, at most once a minute per token (a write per
    request would cost an IVR's every lookup a database write)."""

    def authenticate(self, request, token: str):
        if not token:
            return None
        found = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash(token), user__is_active=True)
            .first()
        )
        if found is None:
            return None
        now = timezone.now()
        if found.last_used is None or now - found.last_used >= LAST_USED_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used=now)
        request.user = found.user
        return found.user


router = Router(tags=["tokens"])


class TokenIn(InSchema):
    name: str = Field(min_length=1, max_length=100)


class TokenOut(Schema):
    name: str
    token: str


@router.post("/", response={201: TokenOut, **refusals(403)})
def create_token(request, payload: TokenIn):
    """Issue a token for yourself; it is shown in this response only."""
    user = request.auth
    if not can_issue_token(user, user):
        raise PermissionDenied("you may not issue tokens")
    return Status(201, {"name": payload.name, "token": issue_token(user, user, payload.name)})
