"""What a log line may not carry: a key, secret, password or signature (docs/security.md,
"Transport and exposure"; tests/platform/test_no_secrets_in_logs.py).

Our own log calls name ids, never credentials. Two things would still print one: a URL's query
string (a partner that puts its API key in `?api_key=` by mistake), which Django's request
loggers print through the request's repr, and a secret in a URL's path (the password reset
link's token), which the access log prints.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest

# URL parameters (of a route's kwargs) that are credentials: the password reset link's token.
SECRET_PATH_KWARGS = frozenset({"token"})
REDACTED = "[redacted]"


def loggable_path(request) -> str:
    """The request's path (never its query string), each credential in it replaced."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    for name, value in (match.kwargs.items() if match else ()):
        if name in SECRET_PATH_KWARGS and value:
            path = path.replace(str(value), REDACTED)
    return path


class RequestRedactingLogFilter(logging.Filter):
    """Django's request loggers attach the request (`extra={"request": …}`), whose repr carries the
    query string; the formatters would print it. It becomes "METHOD path" (loggable_path). On the
    root's handler: the `django` logger's own handlers (mail_admins) have seen the request by then."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            record.request = f"{request.method} {loggable_path(request)}"
        return True
