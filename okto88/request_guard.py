"""Refuse, before any view runs, requests whose URL no view could handle safely.

A NUL character (%00) in the path or the query string reaches PostgreSQL as text, which
cannot hold it (psycopg raises, a 500). No URL of ours has a use for it, so one check here
answers 400 for every path and parameter: problem+json under /api/, the 400 page in the
browser. JSON bodies are checked by the API's parser (okto88.api.parsers).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.shortcuts import render
from django.utils.translation import gettext as _

from okto88.api.problems import is_api_request, problem_response


def _has_nul(request) -> bool:
    if "\x00" in request.path_info:
        return True
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in query or b"\x00" in unquote_to_bytes(query)


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
        return self.get_response(request)
