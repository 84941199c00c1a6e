"""OpenAPI: every operation documents its problem+json failure responses, and every input
string says it cannot hold a NUL character (no PostgreSQL text can, so the API refuses it:
okto88.request_guard in URLs, DRF's CharField and the stock rows' service in bodies)."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from okto88.api.pagination import CursorPagination
from okto88.api.problems import PROBLEM_CONTENT_TYPE

DESCRIPTIONS = {
    400: "Invalid input (problem+json; `errors` lists each field)",
    401: "Missing, wrong, revoked or expired credentials",
    403: "Authenticated but lacking a scope or the right to this object",
    404: "No such object, or not visible to the caller; or a cursor that points to no page",
    405: "Method not allowed",
    409: "Conflicts with the current state",
    413: "The body is larger than the API accepts",
    415: "Unsupported media type",
    429: "Throttled; see Retry-After",
}

NO_NUL_PATTERN = "^[^\\x00]*$"


class AutoSchema(SpectacularAutoSchema):
    def problem_statuses(self) -> list[int]:
        statuses = [400, 429]
        if not getattr(self.view, "public", False):
            statuses += [401, 403]
        paginator = getattr(self.view, "pagination_class", None)
        if "{" in self.path or (self.method == "GET" and paginator and issubclass(paginator, CursorPagination)):
            statuses.append(404)
        if self.method in {"POST", "PUT", "PATCH"}:
            statuses += [413, 415]
        statuses += list(getattr(self.view, "problem_statuses", []))
        return sorted(set(statuses))

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code in self.problem_statuses():
            responses.setdefault(
                str(status_code),
                {
                    "description": DESCRIPTIONS.get(status_code, "Error"),
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                },
            )
        return responses


def _no_nul(schema) -> None:
    """Every string of an input schema gets the NUL-free pattern (unless it has its own, or is
    an enum or binary). Properties the API ignores are not described, so not restricted."""
    if isinstance(schema, list):
        for item in schema:
            _no_nul(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"pattern", "enum"} & schema.keys() and schema.get("format") != "binary":
        schema["pattern"] = NO_NUL_PATTERN
    for value in schema.values():
        if isinstance(value, (dict, list)):
            _no_nul(value)


def postprocess_no_nul_in_inputs(result, generator, request, public):
    """drf-spectacular postprocessing hook: parameters and request components (`*Request`)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _no_nul(parameter.get("schema"))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if "$ref" not in media.get("schema", {}):
                    _no_nul(media.get("schema"))
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _no_nul(component)
    return result
