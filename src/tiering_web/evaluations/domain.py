"""The rules of evaluations and overrides, without the database.

Every path that runs, publishes or withdraws an evaluation or sets an override (the
pages, the API, schedules, the demo, scripts) goes through :mod:`.services`, and the
services ask these functions first: so a rule holds on every path, not only where a form
checks it. Forms and the API only translate the errors.

Each function takes plain values (dates, statuses, names) and raises a
:class:`~django.core.exceptions.ValidationError` keyed by the field at fault, with a
``code`` a caller can test, and nothing else: no queries, no clock (``today`` is passed
in), so the rules are tested without a database (``tests/web/test_domain_rules.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

#: The statuses of a rule-set version whose rules may become customers' tiers.
PUBLISHABLE_VERSION = "approved"


def _error(field: str, message, code: str, **params) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params or None)})


def latest_as_of(today: dt.date, horizon_days: int) -> dt.date:
    """The latest as-of date an evaluation may have: ``horizon_days`` after today."""
    return today + dt.timedelta(days=max(0, horizon_days))


def check_as_of(as_of: dt.date, today: dt.date, horizon_days: int = 0) -> None:
    """An evaluation is as of a date that has come (or, with a horizon, comes within
    ``horizon_days``): tiers cannot start before their date, and a typo such as
    2207-03-31 would otherwise block every later publication of the rule set."""
    latest = latest_as_of(today, horizon_days)
    if as_of <= latest:
        return
    if latest == today:
        raise _error(
            "as_of",
            _("The as-of date cannot be in the future: tiers cannot start before it comes."),
            "future",
        )
    raise _error(
        "as_of",
        _("The as-of date cannot be after %(latest)s: tiers cannot start before it comes."),
        "future",
        latest=date_format(latest, "DATE_FORMAT"),
    )


def check_draft(status: str) -> None:
    """Only a draft is published or discarded (not one queued, running, failed, already
    published, discarded or withdrawn)."""
    if status != "draft":
        raise _error(
            "status", _("Only a draft evaluation can be published or discarded."), "status"
        )


def check_runnable(
    *, as_of: dt.date, version_status: str, version_effective: dt.date | None
) -> None:
    """Only rules that may become customers' tiers are run into an evaluation: an
    approved version (a draft is previewed with the rule set's what-if, which never
    makes an evaluation), in effect on the as-of date (an approved version effective
    from 2027-01-01 cannot give tiers as of 2026-12-31; one without an effective date
    is in effect on no date)."""
    if version_status != PUBLISHABLE_VERSION:
        raise _error(
            "ruleset_version",
            _(
                "The rule set version is not approved: only approved rules can become "
                "customers' tiers (try a draft with the what-if instead)."
            ),
            "not_approved",
        )
    if version_effective is None:
        raise _error(
            "ruleset_version",
            _("The rule set version has no effective date, so it is in effect on no date."),
            "no_effective_date",
        )
    if as_of < version_effective:
        raise _error(
            "as_of",
            _("The rule set version takes effect on %(effective)s, after the as-of date."),
            "not_in_effect",
            effective=date_format(version_effective, "DATE_FORMAT"),
        )


def check_publishable(
    *,
    status: str,
    as_of: dt.date,
    version_status: str,
    version_effective: dt.date | None,
    in_force_as_of: dt.date | None,
    later_tiers: bool = False,
) -> None:
    """A draft becomes customers' tiers only when:

    - it is a draft (:func:`check_draft`);
    - its rule-set version is approved, and in effect on its date (:func:`check_runnable`,
      asked again: a draft run before these rules held must not slip through);
    - no publication of a later date is in force (``in_force_as_of``; ``later_tiers``: an
      open tier starts after ``as_of``), since history is not rewritten backwards: withdraw
      the later one first.
    """
    check_draft(status)
    check_runnable(as_of=as_of, version_status=version_status, version_effective=version_effective)
    if (in_force_as_of is not None and in_force_as_of > as_of) or later_tiers:
        raise _error(
            "as_of",
            _("Tiers as of a later date are already published."),
            "not_latest",
        )


def check_withdrawable(*, status: str, in_force: bool, reason: str) -> None:
    """Only the publication in force of a rule set can be withdrawn (an earlier one's
    tiers were since replaced), and only with a reason."""
    if not (reason or "").strip():
        raise _error("reason", _("A reason is required."), "required")
    if status != "published":
        raise _error("status", _("Only a published evaluation can be withdrawn."), "status")
    if not in_force:
        raise _error(
            "status",
            _(
                "Only the latest publication of a rule set can be withdrawn: withdraw the "
                "later ones first."
            ),
            "not_latest",
        )


def check_expiry(expires: dt.date | None, today: dt.date) -> None:
    """An override ends after today: one already over would never apply."""
    if expires is None:
        raise ValidationError(_("an expiry date is required"), code="required")
    if expires <= today:
        raise ValidationError(_("The expiry must be after today."), code="past")


def check_override(
    *,
    tier: str,
    tier_names: Sequence[str],
    reason: str,
    expires: dt.date | None,
    today: dt.date,
) -> None:
    """A tier set by hand names a tier of the rule set, says why, and ends after today
    (an override that is already over would never apply); every problem at once."""
    errors: dict[str, ValidationError] = {}
    if tier not in tier_names:
        errors["tier"] = ValidationError(
            _("not a tier of this rule set (%(names)s)"),
            code="tier",
            params={"names": ", ".join(tier_names)},
        )
    if not (reason or "").strip():
        errors["reason"] = ValidationError(_("a reason is required"), code="required")
    try:
        check_expiry(expires, today)
    except ValidationError as error:
        errors["expires"] = error
    if errors:
        raise ValidationError(errors)
