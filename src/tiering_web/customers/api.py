"""Customers and their transactions over the API, scoped by role (see
:mod:`tiering_web.accounts.permissions`)."""

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from ninja import Field, Query, Router, Schema
from ninja import Status as Response
from ninja.pagination import paginate

from tiering_web.accounts.models import User
from tiering_web.accounts.permissions import (
    can_deactivate_customers,
    can_edit_customer,
    can_reassign_owner,
    sees_contacts,
    visible_customers,
)
from tiering_web.apischema import (
    Coefficient,
    Date,
    InSchema,
    Money,
    PositiveMoney,
    QuerySchema,
    refusals,
)
from tiering_web.customers import ledger
from tiering_web.customers.domain import CODE_MAX_LENGTH
from tiering_web.customers.models import (
    Closeness,
    Complexity,
    Customer,
    Influence,
    Nature,
    NeedsType,
    Size,
    Status,
)
from tiering_web.customers.services import (
    do_create_customer,
    do_deactivate_customer,
    do_reactivate_customer,
    do_update_customer,
)
from tiering_web.evaluations.explanations import explaining_results, reason_in
from tiering_web.evaluations.models import TierAssignment
from tiering_web.paging import Paging

router = Router(tags=["customers"])
transactions_router = Router(tags=["transactions"])
payments_router = Router(tags=["payments"])


def _customers(user):
    """The customers ``user`` may see, each with its current tier in the primary rule set
    (``primary_tier``) and its owner's username."""
    current = TierAssignment.objects.filter(
        customer=OuterRef("pk"), ruleset__is_primary=True, valid_to__isnull=True
    ).values("tier")[:1]
    return (
        visible_customers(user)
        .select_related("owner")
        .annotate(primary_tier=Subquery(current))
        .order_by("code")
    )


def _customer(request, code: str) -> Customer:
    """A customer the caller may see; 404 for one they may not (its existence is private)
    and for a code no customer can have (a NUL character, which PostgreSQL cannot even
    compare)."""
    if "\x00" in code:
        raise Http404
    return get_object_or_404(_customers(request.auth), code=code)


class CustomerOut(Schema):
    id: int
    code: str
    name: str
    industry: str
    size: str
    nature: str
    business_mode: str
    needs_type: str
    complexity: str
    influence: str
    closeness: str
    dimensions: dict[str, Any]
    owner: str | None = Field(None, description="the account manager's username")
    contacts: list[dict[str, Any]] | None = Field(None, description="null for analysts")
    credit_rating: str
    price_coefficient: Decimal
    status: str
    expected_close: dt.date | None
    notes: str
    tier: str | None = Field(None, description="current tier in the primary rule set")
    updated_at: dt.datetime
    active: bool = Field(description="false once deactivated: no tier, skipped by evaluations")
    deactivated_at: dt.datetime | None
    deactivation_reason: str

    @staticmethod
    def resolve_active(obj):
        return obj.deactivated_at is None

    @staticmethod
    def resolve_owner(obj):
        return obj.owner.username if obj.owner_id else None

    @staticmethod
    def resolve_contacts(obj, context):
        return obj.contacts if sees_contacts(context["request"].auth) else None

    @staticmethod
    def resolve_tier(obj):
        return getattr(obj, "primary_tier", None)


class ContactIn(InSchema):
    """One contact person; the phones are what the call centre recognises a caller by."""

    name: str = Field("", max_length=100)
    title: str = Field("", max_length=100)
    phone: str = Field("", max_length=50)
    email: str = Field("", max_length=254)


#: A custom dimension's value (所属区域, 年营收(万元)...): a text, a number, yes/no or none.
DimensionValue = str | int | float | bool | None


def _choice(choices):
    """One of a model field's choices, or "" (not known)."""
    return Literal[(*choices.values, "")]


class CustomerIn(InSchema):
    """The writable fields; on update only those sent change. ``owner`` is a username
    (null: no account manager); send ``""`` to clear a text (null is refused where the
    field cannot be empty)."""

    code: str = Field(None, min_length=1, max_length=CODE_MAX_LENGTH)
    name: str = Field(None, min_length=1, max_length=200)
    industry: str = Field(None, max_length=100)
    size: _choice(Size) = None
    nature: _choice(Nature) = None
    business_mode: str = Field(None, max_length=100)
    needs_type: _choice(NeedsType) = None
    complexity: _choice(Complexity) = None
    influence: _choice(Influence) = None
    closeness: _choice(Closeness) = None
    dimensions: dict[str, DimensionValue] = None
    owner: str | None = None
    contacts: list[ContactIn] = None
    credit_rating: str = Field(None, max_length=20)
    price_coefficient: Coefficient = None
    status: Literal[tuple(Status.values)] = None  # type: ignore[valid-type]
    expected_close: Date | None = None
    notes: str = None
    reason: str = ""


class CustomerCreateIn(CustomerIn):
    """A new customer: a code and a name at least."""

    code: str = Field(min_length=1, max_length=CODE_MAX_LENGTH)
    name: str = Field(min_length=1, max_length=200)


class CustomerFilter(QuerySchema):
    tier: str | None = Field(None, description="current tier in the primary rule set")
    status: Status | None = None
    industry: str | None = None
    owner: str | None = Field(None, description="the account manager's username")
    deactivated: Literal["false", "true", "all"] = Field(
        "false", description="the active customers (default), the deactivated ones, or all"
    )


def _fields(request, payload: CustomerIn) -> dict[str, Any]:
    fields = {
        name: value.value if isinstance(value, Enum) else value
        for name, value in payload.dict(exclude_unset=True, exclude={"reason"}).items()
    }
    if "owner" in fields:
        username = fields.pop("owner")
        owner = None
        if username:
            owner = User.objects.filter(username=username).first()
            if owner is None:
                raise ValidationError({"owner": ValidationError("no such user", code="owner")})
        fields["owner"] = owner
    return fields


@router.get("/", response=list[CustomerOut])
@paginate(Paging, page_size=50)
def list_customers(request, filters: Query[CustomerFilter]):
    customers = _customers(request.auth)
    if filters.tier:
        customers = customers.filter(primary_tier=filters.tier)
    if filters.status:
        customers = customers.filter(status=filters.status)
    if filters.industry:
        customers = customers.filter(industry=filters.industry)
    if filters.owner:
        customers = customers.filter(owner__username=filters.owner)
    if filters.deactivated == "false":
        customers = customers.active()
    elif filters.deactivated == "true":
        customers = customers.deactivated()
    return customers


@router.get("/{customer_code:code}", response=CustomerOut)
def get_customer(request, code: str):
    return _customer(request, code)


@router.post("/", response={201: CustomerOut, **refusals(403, 409)})
def create_customer(request, payload: CustomerCreateIn):
    """Create a customer; an account manager's new customer is their own."""
    user = request.auth
    fields = _fields(request, payload)
    if "owner" not in fields and not can_reassign_owner(user):
        fields["owner"] = user
    if not can_edit_customer(user, Customer(owner=fields.get("owner"))):
        raise PermissionDenied("you may not create this customer")
    customer = do_create_customer(user, fields, payload.reason)
    return Response(201, _customer(request, customer.code))


@router.patch("/{customer_code:code}", response={200: CustomerOut, **refusals(403, 409)})
def update_customer(request, code: str, payload: CustomerIn):
    user = request.auth
    customer = _customer(request, code)
    if not can_edit_customer(user, customer):
        raise PermissionDenied("you may not edit this customer")
    fields = _fields(request, payload)
    if "owner" in fields and fields["owner"] != customer.owner and not can_reassign_owner(user):
        raise PermissionDenied("you may not hand this customer to another owner")
    do_update_customer(user, customer, fields, payload.reason)
    return _customer(request, customer.code)


class ActivationIn(InSchema):
    reason: str = Field(min_length=1, max_length=2000)


def _activation(request, code: str, change) -> Customer:
    user = request.auth
    customer = _customer(request, code)
    if not can_deactivate_customers(user):
        raise PermissionDenied("only managers deactivate or reactivate customers")
    return change(user, customer)


@router.post("/{customer_code:code}/deactivate", response={200: CustomerOut, **refusals(403, 409)})
def deactivate_customer(request, code: str, payload: ActivationIn):
    """Deactivate the customer (managers): its history stays, its tiers end, open
    revisit tasks and unsent messages are cancelled, evaluations skip it. 409 when it is
    deactivated already, 422 when the reason is blank."""
    _activation(request, code, lambda u, c: do_deactivate_customer(u, c, payload.reason))
    return _customer(request, code)


@router.post("/{customer_code:code}/reactivate", response={200: CustomerOut, **refusals(403, 409)})
def reactivate_customer(request, code: str, payload: ActivationIn):
    """Reactivate a deactivated customer (managers): the tiers its deactivation ended
    open again from today; the next evaluation grades it."""
    _activation(request, code, lambda u, c: do_reactivate_customer(u, c, payload.reason))
    return _customer(request, code)


class FactorOut(Schema):
    tier: str
    score: Decimal | None
    reason: str
    next_tier: str
    gap: Decimal | None
    gap_unit: str
    flags: str
    change: str
    details: dict[str, Any] = Field(description="every value the engine computed")

    @staticmethod
    def resolve_reason(obj) -> str:
        """In the request's language (Accept-Language), from the two kept per result."""
        return reason_in(obj, get_language())


class CurrentTierOut(Schema):
    ruleset_id: int
    ruleset: str
    primary: bool
    tier: str
    valid_from: dt.date = Field(description="the day the customer came into this tier")
    evaluation_id: int = Field(description="the published evaluation that gave the tier")
    explanation: FactorOut | None = Field(
        description="the result of the publication in force, which kept or gave the tier"
    )


@router.get("/{customer_code:code}/tiers", response=list[CurrentTierOut])
def current_tiers(request, code: str):
    """The customer's current tier under each rule set, since when, and the why from the
    rule set's publication in force."""
    customer = _customer(request, code)
    assignments = list(
        TierAssignment.objects.filter(customer=customer, valid_to__isnull=True).select_related(
            "ruleset"
        )
    )
    results = explaining_results(customer, assignments)
    return [
        {
            "ruleset_id": a.ruleset_id,
            "ruleset": a.ruleset.name,
            "primary": a.ruleset.is_primary,
            "tier": a.tier,
            "valid_from": a.valid_from,
            "evaluation_id": a.evaluation_id,
            "explanation": results.get(a.pk),
        }
        for a in sorted(assignments, key=lambda a: (not a.ruleset.is_primary, a.ruleset.name))
    ]


class TransactionIn(InSchema):
    customer: str = Field(description="customer code")
    reference: str = Field(
        min_length=1, max_length=100, description="with the customer, identifies the row"
    )
    date: Date
    amount: Money
    cost: Money = Decimal("0")
    kind: Literal["order", "return"] = "order"


class TransactionsIn(InSchema):
    rows: list[TransactionIn] = Field(min_length=1)
    reason: str = ""


class UpsertOut(Schema):
    created: int
    updated: int = Field(description="rows whose stored transaction had other values")
    unchanged: int = Field(description="rows whose stored transaction was already so")


def _checked_customers(user, rows: list, what: str) -> list[Customer]:
    """The customer of each row, once every row is checked: the customer exists, the
    caller may edit it, no (customer, reference) repeats an earlier row. Raises one
    ValidationError naming every bad row (``rows[3].customer``)."""
    if not can_edit_customer(user, Customer(owner=user)):
        raise PermissionDenied(f"you may not write {what}")
    found = {c.code: c for c in visible_customers(user).filter(code__in={r.customer for r in rows})}
    errors: dict[str, ValidationError] = {}
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        customer = found.get(row.customer)
        if customer is None:
            errors[f"rows[{i}].customer"] = ValidationError(f"no such customer: {row.customer}")
        elif not can_edit_customer(user, customer):
            errors[f"rows[{i}].customer"] = ValidationError(
                f"you may not edit customer {row.customer}"
            )
        key = (row.customer, row.reference)
        if key in seen:
            errors[f"rows[{i}].reference"] = ValidationError(f"repeats rows[{seen[key]}]")
        seen.setdefault(key, i)
    if errors:
        raise ValidationError(errors)
    return [found[row.customer] for row in rows]


def _counts(rows: list, created: int, updated: int) -> dict[str, int]:
    return {"created": created, "updated": updated, "unchanged": len(rows) - created - updated}


@transactions_router.post("/bulk", response={200: UpsertOut, **refusals(403, 409)})
def upsert_transactions(request, payload: TransactionsIn):
    """Create or update transactions by customer code + reference (through the ledger: a
    reference updates its transaction in place). Every row is checked first (the customer
    exists, the caller may edit it, no row repeats another); one bad row and nothing is
    written, the errors naming each bad row (``rows[3].customer``)."""
    customers = _checked_customers(request.auth, payload.rows, "transactions")
    rows = [
        ledger.transaction_row(c.pk, row.reference, row.date, row.amount, row.cost, row.kind)
        for c, row in zip(customers, payload.rows, strict=True)
    ]
    created, updated = ledger.do_upsert_transactions(request.auth, rows, payload.reason)
    return _counts(rows, created, updated)


class PaymentIn(InSchema):
    customer: str = Field(description="customer code")
    reference: str = Field(
        min_length=1, max_length=100, description="with the customer, identifies the row"
    )
    date: Date
    amount: PositiveMoney


class PaymentsIn(InSchema):
    rows: list[PaymentIn] = Field(min_length=1)
    reason: str = ""


@payments_router.post("/bulk", response={200: UpsertOut, **refusals(403, 409)})
def upsert_payments(request, payload: PaymentsIn):
    """Create or update payments received (回款) by customer code + reference, checked and
    written as ``/api/transactions/bulk`` writes transactions."""
    customers = _checked_customers(request.auth, payload.rows, "payments")
    rows = [
        ledger.PaymentRow(c.pk, row.reference, row.date, row.amount)
        for c, row in zip(customers, payload.rows, strict=True)
    ]
    created, updated = ledger.do_upsert_payments(request.auth, rows, payload.reason)
    return _counts(rows, created, updated)
