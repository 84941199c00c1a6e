"""Domain errors with stable codes. The API renders them as problem+json, the UI as messages."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    code = "application_error"
    status = 400
    title = "The request could not be completed."

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None):
        self.message = message or self.title
        self.extra = extra or {}
        super().__init__(self.message)


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    title = "Not found."


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403
    title = "You do not have permission to do this."


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    title = "The request conflicts with the current state."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "This status change is not allowed."


class ServiceUnavailable(ApplicationError):
    code = "service_unavailable"
    status = 503
    title = "A service this request needs is unavailable."
