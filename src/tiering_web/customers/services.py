"""Writes to customers (and one read: a customer's account balance). Each write goes
through one ``do_*`` function that validates, saves and records who did it and why,
whether called from a view, the API, an import or the CLI."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from tiering_web.audit.services import record
from tiering_web.customers import domain
from tiering_web.customers.models import Customer, Transaction
from tiering_web.customers.signals import (
    customer_deactivated,
    customer_reactivated,
    customer_updated,
)

#: Fields a caller may not set through the services.
_PROTECTED = frozenset({"id", "created_at", "updated_at"})


def _value(customer: Customer, name: str) -> Any:
    field = customer._meta.get_field(name)
    return getattr(customer, field.attname)


def _check_fields(names) -> None:
    known = {f.name for f in Customer._meta.concrete_fields} - _PROTECTED
    unknown = sorted(set(names) - known)
    if unknown:
        raise TypeError(f"unknown customer fields: {', '.join(unknown)}")


def _validate(customer: Customer, *, new_code: bool) -> None:
    """The model's own rules, and :func:`.domain.code_problem` for a code that is new
    (a code stored before that rule held stays editable: its other fields can change).
    Every problem at once, keyed by field."""
    errors: dict[str, list[ValidationError]] = {}
    problem = domain.code_problem(customer.code) if new_code else None
    if problem is not None:
        errors["code"] = [problem]
    try:
        customer.full_clean(exclude=["code"] if problem is not None else None)
    except ValidationError as e:
        for field, problems in e.error_dict.items():
            errors.setdefault(field, []).extend(problems)
    if errors:
        raise ValidationError(errors)


def do_create_customer(actor, fields: dict[str, Any], reason: str = "") -> Customer:
    """Create a customer from ``fields`` (validated with the model's own rules and the
    code's, :func:`.domain.check_code`) and record it in the audit log with the initial
    values."""
    _check_fields(fields)
    customer = Customer(**fields)
    _validate(customer, new_code=True)
    with transaction.atomic():
        customer.save()
        values = {name: _value(customer, name) for name in fields}
        record(actor, "customer.create", customer, reason, fields=values)
    return customer


def do_update_customer(actor, customer: Customer, changes: dict[str, Any], reason: str) -> Customer:
    """Apply ``changes`` to ``customer``, validate, save only the changed fields and record
    each change as ``{field: [old, new]}``. Nothing is written when nothing changes."""
    _check_fields(changes)
    before_owner = customer.owner_id
    before = {name: _value(customer, name) for name in changes}
    for name, value in changes.items():
        setattr(customer, name, value)
    _validate(customer, new_code="code" in changes and customer.code != before["code"])
    after = {name: _value(customer, name) for name in changes}
    changed = {n: [before[n], after[n]] for n in changes if before[n] != after[n]}
    if not changed:
        return customer
    with transaction.atomic():
        customer.save(update_fields=[*changed, "updated_at"])
        record(actor, "customer.update", customer, reason, changes=changed)
        customer_updated.send(sender=Customer, customer=customer, actor=actor, fields=list(changed))
        if "owner" in changed:
            # the ownership history (and the open tasks) follow, whoever changed it
            from tiering_web.accountwork.models import OwnershipChange
            from tiering_web.accountwork.services import record_ownership_changes

            record_ownership_changes(
                actor,
                [(customer.pk, before_owner, customer.owner_id)],
                reason,
                OwnershipChange.Source.TRANSFER,
            )
    return customer


def _effects(signal, customer: Customer, actor, reason: str) -> dict[str, Any]:
    """What the receivers of ``signal`` did, merged (``{"tasks_cancelled": 3, ...}``)."""
    done: dict[str, Any] = {}
    for _receiver, answer in signal.send(
        sender=Customer, customer=customer, actor=actor, reason=reason
    ):
        done.update(answer or {})
    return done


def _locked(customer: Customer) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer.pk)


def do_deactivate_customer(actor, customer: Customer, reason: str) -> Customer:
    """Deactivate ``customer`` (it is never deleted: its history stays): from now on the
    lists hide it (unless asked for), evaluations, messages and revisit tasks skip it,
    its open tiers end today (:func:`tiering_web.evaluations.storage.end_tiers`), its
    open tasks and waiting proposals are cancelled and its messages not sent yet held
    back. A reason is required (:func:`.domain.check_deactivation`); all of it in one
    transaction with one audit entry saying what ended. Its transactions, payments and
    profile can still be written (a late invoice, a correction)."""
    with transaction.atomic():
        locked = _locked(customer)
        domain.check_deactivation(active=locked.is_active, reason=reason)
        locked.deactivated_at = timezone.now()
        locked.deactivated_by = actor if getattr(actor, "pk", None) else None
        locked.deactivation_reason = reason.strip()
        locked.save(
            update_fields=["deactivated_at", "deactivated_by", "deactivation_reason", "updated_at"]
        )
        done = _effects(customer_deactivated, locked, actor, reason)
        record(actor, "customer.deactivate", locked, reason, **done)
    return locked


def do_reactivate_customer(actor, customer: Customer, reason: str) -> Customer:
    """Serve a deactivated customer again: it is back in the lists and the next
    evaluation grades it; the tiers its deactivation ended open again from today (as new
    periods: the history shows the gap) unless a publication since gave it another.
    Cancelled tasks are not reopened (the daily task run makes the tier's tasks anew).
    A reason is required (:func:`.domain.check_reactivation`); audited."""
    with transaction.atomic():
        locked = _locked(customer)
        domain.check_reactivation(active=locked.is_active, reason=reason)
        since = locked.deactivated_at
        locked.deactivated_at = None
        locked.deactivated_by = None
        locked.deactivation_reason = ""
        locked.save(
            update_fields=["deactivated_at", "deactivated_by", "deactivation_reason", "updated_at"]
        )
        done = _effects(customer_reactivated, locked, actor, reason)
        record(actor, "customer.reactivate", locked, reason, deactivated_at=since, **done)
    return locked


def account_balance(customer: Customer, on: dt.date | None = None) -> dict[str, Decimal]:
    """The customer's account on ``on`` (today by default), as the engine counts it as of
    that date: net sales (orders less returns) and payments received dated up to it, and
    what is still owed (``receivables``; negative: paid ahead): the engine's
    ``receivables`` metric. Entries dated later count nowhere. Two aggregate queries."""
    on = on or timezone.localdate()
    sales = customer.transactions.filter(date__lte=on).aggregate(
        orders=Sum("amount", filter=Q(kind=Transaction.Kind.ORDER), default=Decimal(0)),
        returns=Sum("amount", filter=Q(kind=Transaction.Kind.RETURN), default=Decimal(0)),
    )
    paid = customer.payments.filter(date__lte=on).aggregate(
        total=Sum("amount", default=Decimal(0))
    )["total"]
    net = sales["orders"] - sales["returns"]
    return {"sales": net, "payments": paid, "receivables": net - paid}
