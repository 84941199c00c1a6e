"""OpenAPI: every operation documents its problem+json failure responses."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from okto88.api.problems import PROBLEM_CONTENT_TYPE

DESCRIPTIONS = {
    400: "Invalid input (problem+json; `errors` lists each field)",
    401: "Missing, wrong, revoked or expired credentials",
    403: "Authenticated but lacking a scope or the right to this object",
    404: "No such object, or not visible to the caller",
    405: "Method not allowed",
    409: "Conflicts with the current state",
    415: "Unsupported media type",
    429: "Throttled; see Retry-After",
}


class AutoSchema(SpectacularAutoSchema):
    def problem_statuses(self) -> list[int]:
        statuses = [400, 429]
        if not getattr(self.view, "public", False):
            statuses += [401, 403]
        if "{" in self.path:
            statuses.append(404)
        if self.method in {"POST", "PUT", "PATCH"}:
            statuses.append(415)
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
