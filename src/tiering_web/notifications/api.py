"""A publication's messages to customers over the API, as on its page: before
publishing, ``GET /publications/{evaluation_id}/preview`` says who would be told what;
after, the messages wait "to send" (``held``) until ``POST .../release`` sends them or
``POST .../cancel`` (with a reason) drops them. Administrators and managers, like the
outbox; each write through the audited services of :mod:`.services`."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema

from tiering_web.accounts.permissions import can_view_outbox
from tiering_web.apischema import Id, InSchema, PathId, refusals
from tiering_web.evaluations.models import Evaluation
from tiering_web.notifications.services import (
    do_cancel_messages,
    do_release_messages,
    held_messages,
    publication_preview,
)

router = Router(tags=["notifications"])


def _publication(user, evaluation_id: int) -> Evaluation:
    if not can_view_outbox(user):
        raise PermissionDenied("you may not handle customer messages")
    return get_object_or_404(
        Evaluation.objects.select_related("ruleset_version__ruleset"), pk=evaluation_id
    )


class SampleOut(Schema):
    kind: str = Field(description="tier_up or tier_down")
    language: str
    channel: str
    customer: str = Field(description="the code of the customer it is rendered for")
    subject: str
    body: str


class PreviewOut(Schema):
    primary: bool = Field(description="only the primary rule set's publications message customers")
    held: bool = Field(description="whether the messages wait for a release")
    customers: dict[str, int] = Field(description="customers to be messaged, per kind")
    samples: list[SampleOut]
    waiting: int = Field(description="messages of this publication waiting to be released")


@router.get("/{evaluation_id}/preview", response={200: PreviewOut, **refusals(403)})
def preview(request, evaluation_id: PathId):
    """What publishing (or having published) this evaluation tells its customers."""
    evaluation = _publication(request.auth, evaluation_id)
    found = publication_preview(evaluation)
    samples = [
        {"kind": k, "language": lang, "channel": ch, "customer": c, "subject": s, "body": b}
        for k, lang, ch, c, s, b in found.samples
    ]
    return {
        "primary": found.primary,
        "held": found.held,
        "customers": found.customers,
        "samples": samples,
        "waiting": held_messages(evaluation).count(),
    }


class ReleaseIn(InSchema):
    reason: str = ""


class CancelIn(InSchema):
    reason: str = Field(description="why they are not sent (required)")
    messages: list[Id] | None = Field(
        None,
        max_length=1000,
        description="the ids of the messages to cancel (all of them when left out)",
    )


class CountOut(Schema):
    messages: int


@router.post("/{evaluation_id}/release", response={200: CountOut, **refusals(403, 409)})
def release(request, evaluation_id: PathId, payload: ReleaseIn):
    """Send the publication's held messages now."""
    evaluation = _publication(request.auth, evaluation_id)
    return {"messages": do_release_messages(request.auth, evaluation, payload.reason)}


@router.post("/{evaluation_id}/cancel", response={200: CountOut, **refusals(403, 409)})
def cancel(request, evaluation_id: PathId, payload: CancelIn):
    """Never send the publication's held messages (all, or those listed)."""
    evaluation = _publication(request.auth, evaluation_id)
    count = do_cancel_messages(request.auth, evaluation, payload.reason, ids=payload.messages)
    return {"messages": count}
