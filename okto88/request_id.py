"""X-Request-ID: taken from the request or made, returned, logged, and carried into Celery.
Log records also carry the trace id of the span they were written in (okto88.tracing)."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from okto88.tracing import current_trace_id

REQUEST_ID_HEADER = "X-Request-ID"
# Accept what proxies and clients commonly send; anything else is replaced, never echoed.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_from_header(value: str | None) -> str:
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return request_id_new()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Stamps `request_id` and `trace_id` ("-" when there is none) on every record the handler
    formats; both formatters of settings.LOGGING name them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get() or "-"
        if not getattr(record, "trace_id", None) or record.trace_id == "-":
            record.trace_id = current_trace_id() or "-"
        return True


_factory_installed = False


def install_log_record_factory() -> None:
    """Stamp every log record with the current request id and trace id, whichever handler formats it."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = request_id_var.get() or "-"
        record.trace_id = current_trace_id() or "-"
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True
