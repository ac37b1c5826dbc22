"""The rules of approving a version (four eyes), without the database.

Rules that decide tiers, prices and service levels are checked by a second person: the
company policies in ``seeds/`` have the author (制定人), the reviewer (审核人) and the
approver (批准人) sign separately. Each signs in person, with their own click: a draft is
reviewed (:func:`review_errors`) by someone other than its author, then approved
(:func:`approval_errors`) by a third person; nobody signs for someone else. A rule-set
version and a tier-policy version follow the same rule (:mod:`tiering_web.policies.domain`
builds on :func:`approval_errors`), asked by :mod:`.services` on every path (pages, API,
demo, scripts): no caller can skip it.

Functions take plain values (user ids, statuses, dates) and report problems keyed by the
field at fault, each a :class:`~django.core.exceptions.ValidationError` with a ``code``
(tested without a database in ``tests/web/test_approval_rules.py``).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: The status of a version whose approval is done.
APPROVED = "approved"
#: The status of a version signed by its reviewer, awaiting its approver.
REVIEWED = "reviewed"
#: The status of a version that nobody has signed yet.
DRAFT = "draft"


def review_errors(*, status: str, author: int | None, reviewer: int | None) -> dict:
    """Every problem with ``reviewer`` signing a version as its reviewer (审核人), by
    field (empty when they may). A draft is reviewed once, by a person who did not
    write it."""
    errors: dict[str, list[ValidationError]] = {}
    if status != DRAFT:
        message = _("already approved") if status == APPROVED else _("already reviewed")
        errors["status"] = [ValidationError(message, code=status)]
    if reviewer is None:
        errors["reviewer"] = [ValidationError(_("a reviewer is required"), code="required")]
    elif author is not None and reviewer == author:
        errors["reviewer"] = [
            ValidationError(_("the author of a version cannot review it"), code="own_version")
        ]
    return errors


def check_review(**facts) -> None:
    """:func:`review_errors` raised as one ValidationError (nothing when there are none)."""
    errors = review_errors(**facts)
    if errors:
        raise ValidationError(errors)


def approval_errors(
    *,
    status: str,
    author: int | None,
    approver: int | None,
    reviewer: int | None = None,
    effective_date: dt.date | None,
    reviewer_required: bool = True,
) -> dict[str, list[ValidationError]]:
    """Every problem with approving a version, by field (empty when it may be approved).

    ``author``, ``approver`` and ``reviewer`` are user ids (``None``: nobody; an author
    whose account was deleted is ``None`` too). A version is approved once; by a person
    (not by the system) who did not write it; and with the date it takes effect. When
    ``reviewer_required`` (rule sets), it must have been reviewed first (status
    ``reviewed``, signed by ``reviewer``, not its author) and the approver is a third
    person, not its reviewer; without (tier policies), the approver is the second pair of
    eyes on a draft."""
    errors: dict[str, list[ValidationError]] = {}

    def add(field: str, message, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if status == APPROVED:
        add("status", _("already approved"), "approved")
    elif reviewer_required and (status != REVIEWED or reviewer is None):
        add("status", _("it has not been reviewed yet: its reviewer signs first"), "not_reviewed")
    if approver is None:
        add("approver", _("an approver is required"), "required")
    elif author is not None and approver == author:
        add("approver", _("the author of a version cannot approve it"), "own_version")
    elif reviewer is not None and approver == reviewer:
        add("approver", _("the reviewer of a version cannot also approve it"), "own_review")
    if reviewer is not None and author is not None and reviewer == author:
        add("reviewer", _("the author of a version cannot review it"), "own_version")
    if effective_date is None:
        add("effective_date", _("an approved version needs an effective date"), "required")
    return errors


def check_approval(**facts) -> None:
    """:func:`approval_errors` raised as one ValidationError (nothing when there are none)."""
    errors = approval_errors(**facts)
    if errors:
        raise ValidationError(errors)
