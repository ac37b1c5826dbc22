"""The rules of approving a version (four eyes), without the database.

Rules that decide tiers, prices and service levels are checked by a second person: the
company policies in ``seeds/`` have the author (制定人), the reviewer (审核人) and the
approver (批准人) sign separately. A rule-set version and a tier-policy version follow the
same rule (:mod:`tiering_web.policies.domain` builds on :func:`approval_errors`), asked by
:mod:`.services` on every path (pages, API, demo, scripts): no caller can skip it.

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
    (not by the system) who did not write it; reviewed, when ``reviewer_required``, by
    someone else than its author; and with the date it takes effect."""
    errors: dict[str, list[ValidationError]] = {}

    def add(field: str, message, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if status == APPROVED:
        add("status", _("already approved"), "approved")
    if approver is None:
        add("approver", _("an approver is required"), "required")
    elif author is not None and approver == author:
        add("approver", _("the author of a version cannot approve it"), "own_version")
    if reviewer is None:
        if reviewer_required:
            add("reviewer", _("a reviewer is required"), "required")
    elif author is not None and reviewer == author:
        add("reviewer", _("the author of a version cannot review it"), "own_version")
    if effective_date is None:
        add("effective_date", _("an approved version needs an effective date"), "required")
    return errors


def check_approval(**facts) -> None:
    """:func:`approval_errors` raised as one ValidationError (nothing when there are none)."""
    errors = approval_errors(**facts)
    if errors:
        raise ValidationError(errors)
