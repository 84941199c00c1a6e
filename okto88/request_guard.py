"""Refuse, before any view runs, requests no view could handle safely, with the reason.

- A NUL character (%00) in the path or the query string would reach PostgreSQL as text,
  which cannot hold it (psycopg raises: a 500). No URL of ours has a use for it: 400.
- A body declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE is 413 unread. Multipart bodies
  are left to Django (only their non-file fields count), which raises RequestDataTooBig when
  they are read: okto88.views.bad_request and the API's exception handler answer that 413.

Problem+json under /api/, the 400 or 413 page in the browser; with DEBUG on too.

And on the way out, an error under /api/ that is not problem+json (an HTML page Django made
for an exception outside DRF's handler, with DEBUG on its technical page) becomes one: every
answer of the API is problem+json.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _

from okto88.api.parsers import payload_too_large
from okto88.api.problems import TITLES, is_api_request, problem_response


def _has_nul(request) -> bool:
    if "\x00" in request.path_info:
        return True
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in query or b"\x00" in unquote_to_bytes(query)


def _declared_too_large(request) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or request.content_type.startswith("multipart/"):
        return False
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return False


def too_large_response(request):
    if is_api_request(request):
        return problem_response(request, status_code=413, code="payload_too_large",
                                detail=str(payload_too_large().detail))
    return render(request, "errors/413.html", status=413)


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            if is_api_request(request):
                return problem_response(request, status_code=400, code="nul_character",
                                        detail="The URL contains a NUL character (%00), which no field accepts.")
            return render(request, "errors/400.html",
                          {"message": _("The address contains a NUL character (%00); remove it and try again.")},
                          status=400)
        if _declared_too_large(request):
            return too_large_response(request)
        response = self.get_response(request)
        if response.status_code >= 400 and is_api_request(request) and not _is_json(response):
            return _as_problem(request, response)
        return response


def _is_json(response) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.startswith(("application/problem+json", "application/json"))


def _as_problem(request, response):
    status_code = response.status_code
    if status_code >= 500:
        code, detail = "server_error", "Something went wrong on our side; the request id helps us find it."
    else:
        code = TITLES.get(status_code, "error").lower().replace(" ", "_")
        detail = TITLES.get(status_code, "The request could not be completed.") + "."
    problem = problem_response(request, status_code=status_code, code=code, detail=detail)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            problem[header] = response[header]
    return problem
