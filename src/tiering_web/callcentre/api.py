"""The call centre over the API: the caller's priority for an IVR, and call logs.

``GET /api/priority?phone=…`` or ``?customer=CODE`` (any active user's bearer token, no
session; an account manager hears only of their own customers) answers::

    {"known": true, "phone": "8613800138000", "customer": "C1", "name": "…", "tier": "A",
     "queue_priority": 1, "answer_seconds": 20, "answer_share": 0.9,
     "callback_hours": null, "blacklisted": false}

An unknown caller is not an error: 200 with ``known`` false and the default priority
(``settings.CALLCENTRE_UNKNOWN_PRIORITY``, 5), and neither is a withheld number (no
``phone`` and no ``customer``: an unknown caller); a blacklisted customer gets 9. The rules are
in :mod:`tiering_web.callcentre.services`. The bearer token is checked through a
per-process cache (:mod:`tiering_web.callcentre.tokens`) rather than the API's
:class:`~tiering_web.accounts.api.TokenAuth`, which writes ``last_used`` on every request.
Measured with bench/priority.py: p99 under 6 ms at 500 requests per second on the 2-core
development machine (bench/README.md).

``POST /api/calls`` (administrators and managers) records a batch of calls, all or none.
"""

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja import Status as Response

from tiering_web.accounts.permissions import can_query_priority, can_record_calls
from tiering_web.apischema import DateTime, InSchema, QuerySchema, refusals
from tiering_web.callcentre.services import (
    CallsRejected,
    do_record_calls,
    priority_for_customer,
    priority_for_phone,
)
from tiering_web.callcentre.tokens import CachedTokenAuth

router = Router(tags=["call centre"])


class PriorityQuery(QuerySchema):
    phone: str | None = Field(
        None, description="the caller's number, in any usual form; none when withheld"
    )
    customer: str | None = Field(None, description="a customer code, instead of a phone")


class PriorityOut(Schema):
    known: bool = Field(description="false for a number or code that matches no customer")
    phone: str = Field(description="the number as normalised for the lookup")
    customer: str | None
    name: str | None
    tier: str | None = Field(description="current tier under the primary rule set")
    queue_priority: int = Field(description="1 is answered first, 9 last")
    answer_seconds: int | None
    answer_share: float | None = Field(description='e.g. 0.9 for "90% within 20 s"')
    callback_hours: int | None
    blacklisted: bool


@router.get(
    "/priority",
    response={200: PriorityOut, **refusals(403)},
    auth=CachedTokenAuth(),
    summary="Queue priority of a caller",
)
def priority(request, query: Query[PriorityQuery]):
    """The tier, queue priority and answer-time target of a caller (by phone) or a
    customer (by code); see the module documentation."""
    if not can_query_priority(request.auth):
        raise PermissionDenied("you may not query priorities")
    if query.customer:
        return priority_for_customer(request.auth, query.customer)
    return priority_for_phone(request.auth, query.phone or "")


class CallIn(InSchema):
    caller: str = Field(max_length=64, description="the caller's number as the switch gave it")
    queued_at: DateTime = Field(description="when the call entered the queue")
    wait_seconds: int = Field(ge=0, le=2**31 - 1, description="seconds until answered or abandoned")
    answered: bool = Field(description="false when the caller hung up first")
    callback_at: DateTime | None = Field(None, description="when we called back")
    reference: str = Field(
        "", max_length=100, description="the call centre's id; a repeat is refused"
    )


class CallsIn(InSchema):
    calls: list[CallIn]
    reason: str = ""


class CallsOut(Schema):
    recorded: int
    matched: int = Field(description="calls whose number matched a customer")


def _aware(value):
    return value if value is None or timezone.is_aware(value) else timezone.make_aware(value)


@router.post("/calls", response={201: CallsOut, **refusals(403, 409)}, summary="Record calls")
def record_calls(request, payload: CallsIn):
    """Record a batch of calls, all or none: a call the rules refuse (no number, a repeated
    reference...) is named as ``calls[i].field``, 409."""
    if not can_record_calls(request.auth):
        raise PermissionDenied("you may not record calls")
    calls = [
        {
            **c.dict(),
            "queued_at": _aware(c.queued_at),
            "callback_at": _aware(c.callback_at),
        }
        for c in payload.calls
    ]
    try:
        made = do_record_calls(request.auth, calls, payload.reason or "API")
    except CallsRejected as e:
        errors = [{"field": f"calls[{i.row}].{i.field}", "message": i.message} for i in e.issues]
        return Response(409, {"detail": "invalid data", "errors": errors})
    return Response(201, {"recorded": len(made), "matched": sum(1 for c in made if c.customer_id)})
