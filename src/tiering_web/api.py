"""The REST API at ``/api/`` (OpenAPI at ``/api/openapi.json``).

Each app's ``api.py`` is a thin adapter: validate the input, load the objects the caller
may see, call the app's ``do_*`` service with the caller as actor, map the result. Errors
are JSON, always ``{"detail": ..., "errors": [{"field": ..., "message": ...}]}``, with the
statuses of :mod:`tiering_web.apischema`; the schema names, for each operation, every
status it can answer (:func:`document_errors`).
Authentication: ``Authorization: Bearer <token>`` (see :mod:`tiering_web.accounts.api`)
or the browser's session (with its CSRF check).
"""

import json

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import django_auth

from tiering_web.accounts.api import TokenAuth
from tiering_web.accounts.api import router as tokens_router
from tiering_web.apischema import NO_NUL
from tiering_web.customers.api import payments_router, transactions_router
from tiering_web.customers.api import router as customers_router
from tiering_web.evaluations.api import overrides_router
from tiering_web.evaluations.api import router as evaluations_router
from tiering_web.rulesets.api import router as rulesets_router

#: The error responses every operation of a shape answers, whatever its view does.
_SHAPE_ERRORS = {
    400: "the body is not JSON in UTF-8",
    401: "no token, or one that is unknown, revoked or of an inactive user",
    404: "no such object, or one the caller may not see",
    413: "the body is larger than the server accepts",
    422: "the request does not match this schema; errors name each field",
}
#: What the statuses an operation declares itself (``apischema.refusals``) mean.
_DECLARED_ERRORS = {
    403: "the caller's role may not do this",
    409: "well formed, but the rules refuse it in the current state; errors name why",
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def _request_components(schema: dict) -> set[str]:
    """The components a request body refers to, directly or through others."""
    components = schema.get("components", {}).get("schemas", {})
    todo = [
        body
        for path in schema["paths"].values()
        for operation in path.values()
        if (body := operation.get("requestBody"))
    ]
    found: set[str] = set()
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            name = ref.rsplit("/", 1)[-1] if ref.startswith("#/components/schemas/") else ""
            if name and name not in found:
                found.add(name)
                todo.append(components.get(name, {}))
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def _no_nul_strings(node) -> None:
    """Give every free text of a request schema the pattern the server enforces."""
    if isinstance(node, dict):
        if (
            node.get("type") == "string"
            and not {"pattern", "format", "enum", "const"} & node.keys()
        ):
            node["pattern"] = NO_NUL
        if node.get("type") == "object" and node.get("additionalProperties", True) is not False:
            node.setdefault("propertyNames", {"pattern": NO_NUL})
        for value in node.values():
            _no_nul_strings(value)
    elif isinstance(node, list):
        for value in node:
            _no_nul_strings(value)


def document_errors(schema: dict) -> dict:
    """Write into ``schema`` the errors each operation can answer by its shape: 400 and
    413 with a body, 401 behind authentication, 404 with a path parameter, 422 with any
    input; the codes an operation declares itself (403, 409) get their description. Every
    error refers to ``ErrorOut``. Free texts of the requests get the NUL-free pattern."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(
        "ErrorOut",
        {
            "type": "object",
            "properties": {
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "required": ["detail", "errors"],
        },
    )
    for path in schema["paths"].values():
        for operation in path.values():
            parameters = operation.get("parameters", [])
            body = "requestBody" in operation
            wanted = {
                400: body,
                401: bool(operation.get("security")),
                404: any(p.get("in") == "path" for p in parameters),
                413: body,
                422: body or bool(parameters),
            }
            responses = operation.setdefault("responses", {})
            for code, applies in wanted.items():
                if applies:
                    responses.setdefault(
                        str(code),
                        {
                            "description": _SHAPE_ERRORS[code],
                            "content": {"application/json": {"schema": _ERROR_REF}},
                        },
                    )
            for code, text in _DECLARED_ERRORS.items():
                if str(code) in responses:
                    responses[str(code)]["description"] = text
            for parameter in parameters:
                _no_nul_strings(parameter.get("schema"))
    for name in _request_components(schema):
        _no_nul_strings(components[name])
    return schema


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


class StrictJSON(Parser):
    """JSON as RFC 8259 writes it: Python's parser also takes ``NaN`` and ``Infinity``,
    which no JSON column can store (PostgreSQL refused them: a 500)."""

    def parse_body(self, request):
        return json.loads(request.body, parse_constant=_not_json)


class TieringAPI(NinjaAPI):
    """django-ninja's API whose schema names every error an operation answers."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_errors(schema)


api = TieringAPI(
    parser=StrictJSON(),
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


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    # django-ninja's own: e.g. 400 "Cannot parse request body"
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return _error(request, 413, "request body too large")


@api.exception_handler(DjangoValidationError)
def _invalid_data(request, exc: DjangoValidationError):
    """A service's rules refused a well-formed request: 409, each error named."""
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": "" if field == "__all__" else field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": "", "message": message} for message in exc.messages]
    return _error(request, 409, "invalid data", errors)


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
api.add_router("/tasks/", "tiering_web.accountwork.api.tasks_router")
api.add_router("/proposals/", "tiering_web.accountwork.api.proposals_router")
api.add_router("/plans/", "tiering_web.accountwork.api.plans_router")
api.add_router("/capacities/", "tiering_web.accountwork.api.capacities_router")
api.add_router("/publications/", "tiering_web.notifications.api.router")
