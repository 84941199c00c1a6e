"""Domain errors with stable codes. The API renders them as problem+json, the UI as messages.

Each app keeps its errors in `<app>/errors.py` (which imports nothing of ours but this module).
Every error class has a `code` partners can rely on, declared by exactly one class: a subclass
that keeps its parent's code is the same error to a partner, refined for our own code (its own
title, its own constructor). Errors several apps raise live here, so their code has one home.
`error_message` is how a person reads an error, in the browser and in admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy


class ApplicationError(Exception):
    code = "application_error"
    status = 400
    title = gettext_lazy("The request could not be completed.")

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None):
        self.message = message or self.title
        self.extra = extra or {}
        super().__init__(self.message)


def error_message(error: ApplicationError, *, wording: Mapping[type[ApplicationError], str] | None = None,
                  staff: bool = False) -> str:
    """The message a person reads for `error` (browser pages, admin), in the active language.

    The error's detail when it is a translatable text written for people (a lazy string), else
    its title: a plain str detail is English for logs and partners. A page that words an error
    its own way passes `wording`, keyed by error class (the nearest class in the error's MRO
    wins, so a key cannot name an error that does not exist), formatted with the error's `extra`,
    `title` and `detail`. Staff pages (admin, imports) add a plain detail after the title: it
    names the row, the field or the partner's answer an operator needs to act.
    """
    detail = str(error.message)
    text = detail if isinstance(error.message, Promise) else str(error.title)
    for error_class in type(error).__mro__:
        template = (wording or {}).get(error_class)
        if template is not None:
            try:
                text = str(template) % {**error.extra, "title": str(error.title), "detail": detail}
            except (KeyError, TypeError, ValueError):
                text = str(template)
            break
    if staff and not isinstance(error.message, Promise) and detail not in text:
        text = f"{text} {detail}"
    return text


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


class InvalidField(ApplicationError):
    code = "invalid_field"
    title = gettext_lazy("A field is not valid.")


class InvalidQuantity(ApplicationError):
    code = "invalid_quantity"
    title = gettext_lazy("A quantity is a whole number greater than zero.")


class NotificationSignatureInvalid(ApplicationError):
    """A partner's notification (payment gateway, courier) whose signature does not verify."""

    code = "invalid_signature"
    status = 403
    title = gettext_lazy("The notification signature is not valid.")


class NotificationInvalid(ApplicationError):
    """A partner's notification (payment gateway, courier) that cannot be read."""

    code = "invalid_notification"
    status = 400
    title = gettext_lazy("The notification could not be understood.")


class InvalidApiKey(ApplicationError):
    code = "invalid_api_key"
    status = 401
    title = gettext_lazy("The API key is not valid.")


class RevokedApiKey(InvalidApiKey):
    code = "revoked_api_key"
    title = gettext_lazy("The API key has been revoked or has expired.")


class ApiKeySuspended(ApplicationError):
    """Security monitoring suspended this key for a cool-off (okto88.client_guard): it probed for
    objects that are not its own."""

    code = "api_key_suspended"
    status = 403
    title = gettext_lazy("This API key is suspended for a while because of unusual traffic.")


class ClientThrottled(ApplicationError):
    """Security monitoring tightened this client's throttle for a cool-off (okto88.client_guard)."""

    code = "client_throttled"
    status = 429
    title = gettext_lazy("Too many requests: this client's rate is reduced for a while because of unusual traffic.")

    def __init__(self, message: str | None = None, *, retry_after: int | None = None):
        super().__init__(message, extra={"retry_after": retry_after} if retry_after else None)
        self.retry_after = retry_after


class ApiKeyNotRotatable(Conflict):
    code = "api_key_not_rotatable"
    title = gettext_lazy("A revoked or expired API key cannot be rotated; issue a new one.")


class ApiClientActsElsewhere(Conflict):
    """An API client acts for one supplier or one workshop (suppliers' and workshops' errors say
    which); binding it to another is refused rather than moving it silently."""

    code = "api_client_bound_elsewhere"
    title = gettext_lazy("This API client already acts for another supplier or workshop.")


class UnknownScope(ApplicationError):
    code = "unknown_scope"
    title = gettext_lazy("Unknown API scope.")


class UnknownArea(ApplicationError):
    code = "unknown_area"
    title = gettext_lazy("This is not a known Indonesian administrative area.")

    def __init__(self, message: str, *, field: str, value: str, candidates: list[str] | None = None):
        extra: dict = {"field": field, "value": value}
        if candidates:
            extra["candidates"] = candidates
        super().__init__(message, extra=extra)
        self.field = field


class UploadRefused(ApplicationError):
    code = "upload_refused"
    status = 413
    title = gettext_lazy("The uploaded file exceeds a limit.")


class UploadUnreadable(ApplicationError):
    """An uploaded table that cannot be read (okto88.tabular); each importer raises its own error
    in its place, so the subclasses keep this code."""

    code = "upload_unreadable"
    title = gettext_lazy("The uploaded file cannot be read.")


class UploadEncodingError(UploadUnreadable):
    pass


class UploadEmpty(UploadUnreadable):
    pass


class UploadMalformed(UploadUnreadable):
    pass


class NotificationTooLarge(ApplicationError):
    code = "payload_too_large"
    status = 413
    title = gettext_lazy("The notification is too large.")


class UnknownEventTopic(ApplicationError):
    code = "unknown_event_topic"
    status = 500
    title = gettext_lazy("This event topic is not part of the event contract.")


class InvalidEventPayload(ApplicationError):
    code = "invalid_event_payload"
    status = 500
    title = gettext_lazy("The event's payload does not match its topic's schema.")
