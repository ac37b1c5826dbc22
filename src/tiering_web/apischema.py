"""What the API's schema promises, in one place, so that it says what the server does.

- :class:`ErrorOut`: every error's body, ``{"detail": ..., "errors": [{"field", "message"}]}``.
- :class:`InSchema` / :class:`QuerySchema`: the base of every request body / query: no text
  may hold a NUL character (PostgreSQL cannot store or compare one: it was a 500) and a
  body's unknown property is refused (``additionalProperties: false``), the schema saying
  both.
- :data:`Money` / :data:`PositiveMoney` / :data:`Coefficient`: decimals as JSON numbers or
  texts, the text's pattern in the schema the one the server checks.
- :func:`refusals`: the error responses an operation declares beyond those every operation
  of its shape answers (see :func:`document_errors`, which adds 400, 401, 404, 413 and 422
  where they apply).

Statuses: 400 a body that is not JSON in UTF-8; 401 no or a bad token; 403 the caller's
role may not; 404 no such object (or one the caller may not see); 409 the request is
well formed but the rules refuse it in the current state (a draft already published, a
version in effect no longer editable...), its ``errors`` naming the field and why; 413 a
body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``; 422 the request does not match the schema.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from ninja import Path, Schema
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from tiering_web.nul import has_nul

#: JSON Schema of a text without NUL characters (what :class:`InSchema` enforces).
NO_NUL = "^[^\\u0000]*$"


class ErrorOut(Schema):
    detail: str = Field(description="what went wrong, in a few words")
    errors: list[dict[str, str]] = Field(
        description='each problem as {"field": "rows[2].amount", "message": "..."}'
    )


def _no_nul(value: Any) -> Any:
    if has_nul(value):
        raise ValueError("text must not contain NUL (\\u0000) characters")
    return value


def _checked_elsewhere(annotation: Any) -> bool:
    """Whether ``annotation`` holds request schemas, which check their own texts, or
    free-form JSON (``Any``: a rule file), whose NUL characters no schema can describe:
    the service refuses those (a 409 naming the field)."""
    if annotation is Any:
        return True
    if isinstance(annotation, type) and issubclass(annotation, Schema):
        return True
    return any(_checked_elsewhere(arg) for arg in get_args(annotation))


def _whole(annotation: Any, value: Any) -> Any:
    """``value`` with the whole floats where ``annotation`` wants an integer made ints
    (``3.0`` is an integer to JSON Schema; strict validation alone would refuse it), inside
    optional values, lists and dicts too; ``true`` stays a boolean, which an integer
    refuses."""
    if isinstance(value, float) and value.is_integer() and _wants_int(annotation):
        return int(value)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _whole(args[0], value)
    if origin in (Union, UnionType):
        present = [a for a in args if a is not type(None)]
        if len(present) == 1:
            return _whole(present[0], value)
        return value
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return {k: _whole(args[1], v) for k, v in value.items()}
    if origin is list and isinstance(value, list) and args:
        return [_whole(args[0], v) for v in value]
    return value


def _wants_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _wants_int(args[0])
    if origin in (Union, UnionType):
        return float not in args and any(_wants_int(a) for a in args)
    return False


class QuerySchema(Schema):
    """Query parameters: no NUL character in any text (:func:`tiering_web.api.document_errors`
    writes :data:`NO_NUL` into the schema of its strings), each error naming the field.
    Unknown parameters are ignored, as web clients add their own (cache busters)."""

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        value = _whole(field.annotation, value)
        if _checked_elsewhere(field.annotation):
            return value
        return _no_nul(value)


class InSchema(QuerySchema):
    """A request body: as :class:`QuerySchema`, an unknown property is refused
    (``additionalProperties: false``), and JSON types are taken as the schema names them
    (strict): ``true`` is no integer, ``1`` no boolean, ``"3"`` no number. (Enumerations
    are therefore written as ``Literal`` values, not enum classes, which strict validation
    of parsed JSON would refuse.)"""

    model_config = ConfigDict(extra="forbid", strict=True)


def _decimal(digits: int, places: int, *, positive: bool, what: str):
    """A decimal of ``digits`` digits, ``places`` after the point, ≥ 0 (> 0 with
    ``positive``): a text must match the schema's pattern exactly (e.g. ``"1234.50"``); a
    JSON number, binary by nature, is rounded half up to ``places`` decimals, within the
    schema's ``minimum``/``maximum``. The schema and the check are made from the same
    figures, so that what the schema allows the server takes, and nothing else."""
    whole = digits - places
    step = Decimal(1).scaleb(-places)
    # the largest whole number that fits, if a binary float holds it exactly
    top = Decimal(10**whole - 1 if 10**whole - 1 < 2**53 else 10 ** (whole - 1))
    lowest = step if positive else Decimal(0)
    nonzero = "(?=[0-9.]*[1-9])" if positive else ""
    pattern = f"^{nonzero}[0-9]{{1,{whole}}}(\\.[0-9]{{1,{places}}})?$"
    matches = re.compile(pattern).match

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            if not matches(value):
                raise ValueError(
                    f"{what}: at most {whole} digits and {places} decimals, e.g. "
                    f"{'1234.50' if places == 2 else '1.050'}" + (", above 0" if positive else "")
                )
            return Decimal(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = Decimal(str(value))
            if not number.is_finite() or not lowest <= number <= top:
                raise ValueError(f"{what}: from {lowest} to {top}")
            return number.quantize(step, rounding=ROUND_HALF_UP)
        raise ValueError(f'{what}: a number or a text such as "12.50"')

    number: dict[str, Any] = {"type": "number", "minimum": float(lowest), "maximum": int(top)}
    schema = {
        "anyOf": [number, {"type": "string", "pattern": pattern}],
        "description": f"{what}: a text with at most {places} decimals (exact), or a "
        f"number (rounded to {places} decimals)",
    }
    return Annotated[Decimal, BeforeValidator(parse), WithJsonSchema(schema)]


#: An amount in yuan ≥ 0 (transactions, costs), ``decimal(18, 2)``.
Money = _decimal(18, 2, positive=False, what="an amount")
#: An amount in yuan > 0 (payments received).
PositiveMoney = _decimal(18, 2, positive=True, what="an amount")
#: A customer's price coefficient ≥ 0, ``decimal(6, 3)``.
Coefficient = _decimal(6, 3, positive=False, what="a coefficient")


def refusals(*codes: int) -> dict[int, type[ErrorOut]]:
    """``{403: ErrorOut, 409: ErrorOut}`` for ``refusals(403, 409)``: merged into an
    operation's ``response=``."""
    return dict.fromkeys(codes, ErrorOut)


#: The largest primary key (a signed 64-bit integer, PostgreSQL's ``bigint`` and SQLite's
#: ``INTEGER``): a larger id could only fail in the database, as a 500.
ID_MAX = 2**63 - 1
#: An object's id in a request body.
Id = Annotated[int, Field(ge=1, le=ID_MAX, description="an id")]
#: An object's id in the path.
PathId = Annotated[int, Path(ge=1, le=ID_MAX)]
#: A positive count in the path (a version number).
PathNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("a date is written YYYY-MM-DD, e.g. 2026-09-30")


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            return dt.datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        except ValueError:
            pass
    raise ValueError(
        "a time is written as RFC 3339 with its offset, e.g. 2026-10-01T09:30:00+08:00"
    )


#: A date as JSON Schema's ``format: date`` (RFC 3339 ``YYYY-MM-DD``) and nothing else:
#: pydantic alone would also take ``0`` (1970-01-01) or ``20260930``.
Date = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "description": "YYYY-MM-DD"}),
]
#: A moment as ``format: date-time`` (RFC 3339, with its offset), and nothing else.
DateTime = Annotated[
    dt.datetime,
    BeforeValidator(_iso_datetime),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 with the offset, e.g. 2026-10-01T09:30:00+08:00",
        }
    ),
]
