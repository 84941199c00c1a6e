"""RFC 9457 problem details for every API error, with a stable `code`.

{"type", "title", "status", "detail", "code", "instance", "request_id", "errors"?}
Validation errors list each field: errors = [{"field": "quantity", "code": "min_value",
"detail": "..."}]; nested fields are dotted ("lines.0.quantity").
"""

from __future__ import annotations

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from okto88.api.parsers import PayloadTooLarge, payload_too_large
from okto88.database_unavailable import database_unavailable
from okto88.errors import ApplicationError
from okto88.request_id import request_id_var

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://okto88.id/problems/"

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

# DRF's own default codes mapped to ours where the default is vague.
CODE_BY_EXCEPTION = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
    PayloadTooLarge: "payload_too_large",
    exceptions.ValidationError: "validation_error",
}


# RFC 9457's members and ours. An error's `extra` adds members and never replaces one of these:
# `status` is the HTTP status, whatever an order's or a shipment's status is (name those
# `order_status`, `shipment_status`).
PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code", "request_id"})


def problem_body(*, status_code: int, code: str, detail: str, instance: str = "", title: str | None = None,
                 **extra) -> dict:
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
        "instance": instance,
        "request_id": request_id_var.get() or "",
    }
    clashing = PROBLEM_MEMBERS.intersection(extra)
    if clashing:
        logger.error("problem extra members %s would replace standard members; left out", sorted(clashing),
                     extra={"code": code})
    body.update({key: value for key, value in extra.items() if key not in PROBLEM_MEMBERS})
    return body


def _flatten_errors(detail, prefix: str = "") -> list[dict]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = "non_field_errors" if key in ("non_field_errors", "__all__") and not prefix else key
            out += _flatten_errors(value, f"{prefix}.{name}" if prefix else str(name))
        return out
    if isinstance(detail, list):
        if all(isinstance(item, (exceptions.ErrorDetail, str)) for item in detail):
            return [
                {"field": prefix or "non_field_errors", "code": getattr(item, "code", "invalid"), "detail": str(item)}
                for item in detail
            ]
        out = []
        for index, item in enumerate(detail):
            out += _flatten_errors(item, f"{prefix}.{index}" if prefix else str(index))
        return out
    return [{"field": prefix or "non_field_errors", "code": getattr(detail, "code", "invalid"), "detail": str(detail)}]


def _problem_code(exc: exceptions.APIException) -> str:
    detail_code = exc.get_codes() if not isinstance(exc.detail, (dict, list)) else None
    if isinstance(detail_code, str) and detail_code not in {"error", "invalid", "permission_denied"}:
        return detail_code
    for exc_class in type(exc).__mro__:
        if exc_class in CODE_BY_EXCEPTION:
            return CODE_BY_EXCEPTION[exc_class]
    return "error"


def problem_exception_handler(exc, context):
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""

    if isinstance(exc, ApplicationError):
        body = problem_body(status_code=exc.status, code=exc.code, detail=exc.message, instance=instance,
                            title=str(exc.title), **exc.extra)
        response = Response(body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # a view read request.body past DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = payload_too_large()
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = exceptions.ParseError(str(exc) or "Too many fields or files in the request.", code="too_many_fields")

    response = exception_handler(exc, context)  # sets WWW-Authenticate and Retry-After headers
    if response is None and request is not None and database_unavailable(exc):
        # Not a 500: DRF raises it on, and okto88.unavailable's middleware answers 503 with
        # Retry-After, as for every view.
        return None
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        body = problem_body(status_code=500, code="server_error",
                            detail="Something went wrong on our side; the request id helps us find it.",
                            instance=instance)
        return Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE)

    code = _problem_code(exc)
    extra = {}
    if isinstance(exc, exceptions.ValidationError):
        extra["errors"] = _flatten_errors(exc.detail)
        detail = "The request has invalid fields; see errors."
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else str(exc.default_detail)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        extra["retry_after"] = math.ceil(exc.wait)
        response["Retry-After"] = str(math.ceil(exc.wait))
    response.data = problem_body(status_code=response.status_code, code=code, detail=detail, instance=instance,
                                 **extra)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_response(request, *, status_code: int, code: str, detail: str) -> JsonResponse:
    body = problem_body(status_code=status_code, code=code, detail=detail, instance=request.get_full_path())
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def is_api_request(request) -> bool:
    return request.path.startswith("/api/")

