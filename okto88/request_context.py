"""The request being served, for records written deep inside services (the audit log's actor
and address, an API key's last address) without passing the request down every call.

Set by RequestContextMiddleware for the length of one request; None in Celery tasks, management
commands and tests that call services directly, which then record no address."""

from __future__ import annotations

import contextvars
import ipaddress

from rest_framework.throttling import BaseThrottle

current_request_var: contextvars.ContextVar[object | None] = contextvars.ContextVar("current_request", default=None)


def request_client_address(request) -> str | None:
    """The client's address as the API's throttles see it: REMOTE_ADDR, or what a trusted proxy
    forwarded (REST_FRAMEWORK NUM_PROXIES); None when it is not an IP address."""
    if request is None:
        return None
    address = (BaseThrottle().get_ident(request) or "").strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def current_request():
    return current_request_var.get()


def current_client_address() -> str | None:
    return request_client_address(current_request())


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request_var.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request_var.reset(token)
