"""Domain errors with stable codes. The API renders them as problem+json, the UI as messages."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy


class ApplicationError(Exception):
    code = "application_error"
    status = 400
    title = gettext_lazy("The request could not be completed.")

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None):
        self.message = message or self.title
        self.extra = extra or {}
        super().__init__(self.message)


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    title = gettext_lazy("Not found.")


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403
    title = gettext_lazy("You do not have permission to do this.")


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    title = gettext_lazy("The request conflicts with the current state.")


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = gettext_lazy("This status change is not allowed.")


class ServiceUnavailable(ApplicationError):
    code = "service_unavailable"
    status = 503
    title = gettext_lazy("A service this request needs is unavailable.")
