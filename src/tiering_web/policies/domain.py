"""The rules of approving a tier-policy version, without the database.

The terms a tier gets (prices, credit, service) are approved by a second person like the
rules themselves: this is :func:`tiering_web.rulesets.domain.approval_errors` (one rule
for both), with what policies add: a reason, and, where asked, an effective date that has
not passed yet. :func:`.services.do_approve_policy_version` asks it on every path.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from tiering_web.rulesets.domain import approval_errors


def check_approval(
    *,
    status: str,
    author: int | None,
    approver: int | None,
    effective_date: dt.date | None,
    reason: str,
    not_before: dt.date | None = None,
) -> None:
    """A policy version is approved once, by someone other than its author (no reviewer
    field: the approver is the second pair of eyes), with a reason. With ``not_before``
    (today, from the pages and the API), a version whose effective date has passed is
    refused, so that approving today never rewrites the terms in force on an earlier day.
    Raises ValidationError keyed by ``status``, ``approver``, ``effective_date``,
    ``reason``; every problem at once."""
    errors = approval_errors(
        status=status,
        author=author,
        approver=approver,
        effective_date=effective_date,
        reviewer_required=False,
    )
    if not (reason or "").strip():
        errors.setdefault("reason", []).append(
            ValidationError(_("a reason is required"), code="required")
        )
    if not_before is not None and effective_date is not None and effective_date < not_before:
        errors.setdefault("effective_date", []).append(
            ValidationError(
                _(
                    "its effective date %(date)s has passed: save a new version that takes "
                    "effect today or later"
                ),
                code="past",
                params={"date": date_format(effective_date, "DATE_FORMAT")},
            )
        )
    if errors:
        raise ValidationError(errors)
