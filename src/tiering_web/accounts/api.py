"""API tokens: issuing them, and the bearer authentication that checks them."""

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.security import HttpBearer

from tiering_web.accounts.models import ApiToken
from tiering_web.accounts.permissions import can_issue_token
from tiering_web.accounts.services import issue_token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``: the token's user, if the token exists and the
    user is active. Stamps ``last_used``."""

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
        ApiToken.objects.filter(pk=found.pk).update(last_used=timezone.now())
        request.user = found.user
        return found.user


router = Router(tags=["tokens"])


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    name: str
    token: str


@router.post("/", response={201: TokenOut})
def create_token(request, payload: TokenIn):
    """Issue a token for yourself; it is shown in this response only."""
    user = request.auth
    if not can_issue_token(user, user):
        raise PermissionDenied("you may not issue tokens")
    return Status(201, {"name": payload.name, "token": issue_token(user, user, payload.name)})
