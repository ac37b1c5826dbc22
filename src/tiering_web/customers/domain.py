"""The rules of customer data, without the database.

A customer code is how every file, page and message names a customer: it is part of
each customer's web address (``/customers/<code>/``), so a code with a ``/`` broke every
page that links to that customer. One rule, :func:`check_code`, asked by
:mod:`.services` (which every write goes through: pages, API, demo), by the import for
each new code of a file, and translated by the API into a 422 on ``code``. Codes stored
before the rule held stay reachable (:mod:`.converters`).
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: The longest customer code (the model's column).
CODE_MAX_LENGTH = 64


def code_problem(code: str | None) -> ValidationError | None:
    """Why ``code`` cannot be a new customer code, or None when it can: not blank, at most
    :data:`CODE_MAX_LENGTH` characters, no ``/`` or ``\\`` (they would split its web
    address) and no control or invisible format characters (a tab, a line break, a
    zero-width space) that a reader could not see or type back."""
    if code is None or not code.strip():
        return ValidationError(_("a customer code is required"), code="required")
    if len(code) > CODE_MAX_LENGTH:
        return ValidationError(
            _("a customer code has at most %(limit)d characters (this one has %(length)d)"),
            code="max_length",
            params={"limit": CODE_MAX_LENGTH, "length": len(code)},
        )
    if "/" in code or "\\" in code:
        return ValidationError(
            _("a customer code cannot contain / or \\ (they would split its web address)"),
            code="slash",
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in code):
        return ValidationError(
            _("a customer code cannot contain control or invisible characters"),
            code="control",
        )
    return None


def check_code(code: str | None) -> None:
    """:func:`code_problem` raised as a ValidationError on ``code``."""
    problem = code_problem(code)
    if problem is not None:
        raise ValidationError({"code": problem})


def check_deactivation(*, active: bool, reason: str) -> None:
    """A customer is deactivated once, with a reason (why the company no longer serves
    it: closed down, merged into another, entered by mistake)."""
    if not active:
        raise ValidationError(_("this customer is deactivated already"), code="deactivated")
    if not (reason or "").strip():
        raise ValidationError(
            {"reason": ValidationError(_("say why the customer is deactivated"), code="required")}
        )


def check_reactivation(*, active: bool, reason: str) -> None:
    """Only a deactivated customer is reactivated, with a reason."""
    if active:
        raise ValidationError(_("this customer is not deactivated"), code="active")
    if not (reason or "").strip():
        raise ValidationError(
            {"reason": ValidationError(_("say why the customer is reactivated"), code="required")}
        )
