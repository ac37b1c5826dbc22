"""The REST API at ``/api/`` (OpenAPI at ``/api/openapi.json``).

Each app's ``api.py`` is a thin adapter: validate the input, load the objects the caller
may see, call the app's ``do_*`` service with the caller as actor, map the result. Errors
are JSON, always ``{"detail": ..., "errors": [{"field": ..., "message": ...}]}``.
Authentication: ``Authorization: Bearer <token>`` (see :mod:`tiering_web.accounts.api`)
or the browser's session (with its CSRF check).
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import django_auth

from tiering_web.accounts.api import TokenAuth
from tiering_web.accounts.api import router as tokens_router
from tiering_web.customers.api import payments_router, transactions_router
from tiering_web.customers.api import router as customers_router
from tiering_web.evaluations.api import overrides_router
from tiering_web.evaluations.api import router as evaluations_router
from tiering_web.rulesets.api import router as rulesets_router

api = NinjaAPI(
    title="Customer Tiering",
    version="1",
    urls_namespace="api",
    auth=[TokenAuth(), django_auth],
)


def _error(request, status: int, detail: str, errors: list[dict] | None = None):
    return api.create_response(request, {"detail": detail, "errors": errors or []}, status=status)


def _field(loc) -> str:
    """A pydantic location as a rule-file style path: ``rows[2].amount``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        source = parts.pop(0)
        if source == "body" and len(parts) > 1:
            parts.pop(0)  # the view's parameter name
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@api.exception_handler(NinjaValidationError)
def _invalid_request(request, exc: NinjaValidationError):
    errors = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors]
    return _error(request, 422, "invalid request", errors)


@api.exception_handler(DjangoValidationError)
def _invalid_data(request, exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": "" if field == "__all__" else field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": "", "message": message} for message in exc.messages]
    return _error(request, 422, "invalid data", errors)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc: PermissionDenied):
    return _error(request, 403, str(exc) or "forbidden")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not found")


@api.exception_handler(ObjectDoesNotExist)
def _missing(request, exc):
    return _error(request, 404, "not found")


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return _error(request, 401, "unauthorized")


api.add_router("/tokens/", tokens_router)
api.add_router("/customers/", customers_router)
api.add_router("/transactions/", transactions_router)
api.add_router("/payments/", payments_router)
api.add_router("/rulesets/", rulesets_router)
api.add_router("/evaluations/", evaluations_router)
api.add_router("/overrides/", overrides_router)
api.add_router("", "tiering_web.callcentre.api.router")  # /priority, /calls
api.add_router("/policies", "tiering_web.policies.api.router")
