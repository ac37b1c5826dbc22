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
``GET /api/callcentre/sla?start=…&end=…`` (administrators, managers, analysts) is the SLA
report of the page: per tier, the calls of the period against the targets in force.
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja import Status as Response

from tiering_web.accounts.permissions import (
    can_query_priority,
    can_record_calls,
    can_view_sla,
)
from tiering_web.apischema import Date, DateTime, InSchema, QuerySchema, refusals
from tiering_web.callcentre.forms import SlaPeriodForm
from tiering_web.callcentre.services import (
    CallsRejected,
    do_record_calls,
    priority_for_customer,
    priority_for_phone,
    sla_report,
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


class SlaRowOut(Schema):
    tier: str = Field(description='"" for calls of no tier (unknown callers)')
    calls: int
    answered: int
    within: int = Field(description="answered within the tier's answer target")
    within_share: float | None = Field(description="of all calls; null without a target")
    abandoned: int
    callbacks_due: int
    callbacks_in_time: int
    callback_share: float | None
    answer_seconds: int | None
    answer_share: Decimal | None = Field(description="the target share, e.g. 0.800")
    callback_hours: int | None
    met: bool | None = Field(description="the answer target reached; null without one")


class SlaOut(Schema):
    start: dt.date
    end: dt.date
    rows: list[SlaRowOut]


class SlaQuery(QuerySchema):
    start: Date | None = Field(None, description="first day (default 29 days before end)")
    end: Date | None = Field(None, description="last day, included (default today)")


@router.get("/callcentre/sla", response={200: SlaOut, **refusals(403, 409)}, summary="SLA report")
def sla(request, query: Query[SlaQuery]):
    """Per tier of the primary rule set, the calls of a period (at most a year) against
    the answer and callback targets in force, as the SLA page shows them (administrators,
    managers, analysts). 409 when the start is after the end or the period too long."""
    if not can_view_sla(request.auth):
        raise PermissionDenied("you may not read the SLA report")
    data = {k: v.isoformat() for k, v in (("start", query.start), ("end", query.end)) if v}
    form = SlaPeriodForm(data)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    start, end = form.period()
    rows = [
        {
            **{f: getattr(r, f) for f in SlaRowOut.model_fields if f != "met"},
            "met": r.met,
        }
        for r in sla_report(start, end)
    ]
    return {"start": start, "end": end, "rows": rows}
