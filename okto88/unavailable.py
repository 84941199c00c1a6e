"""503 with Retry-After, never 500, when the database has no connection for a request.

Either this process's pool had none free within DATABASE_POOL_TIMEOUT_SECONDS (PoolTimeout),
or PostgreSQL refused a new one (too many clients). Both pass once the load does, so the
caller is told to come back instead of being shown an error.

Caught in one place for the whole site: `process_exception` for views, a
`got_request_exception` receiver for what fails outside a view (another middleware, a
session saved after the view). The DRF exception handler (okto88.api.problems) leaves such an
error to `process_exception` here instead of answering it 500 (DRF answers its views'
exceptions itself).
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.template.loader import get_template
from django.utils import translation
from django.utils.translation import gettext

from okto88.api.problems import PROBLEM_CONTENT_TYPE, is_api_request, problem_body
from okto88.database_unavailable import database_unavailable

logger = logging.getLogger(__name__)

_FLAG = "_okto88_database_unavailable"


def retry_after_seconds() -> int:
    return max(1, int(settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS))


def unavailable_detail() -> str:
    return gettext("The service is busy right now. Please try again in a few seconds.")


def unavailable_response(request) -> HttpResponse:
    """A problem+json for the API, a plain page (no template context, no database) otherwise."""
    retry_after = retry_after_seconds()
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    language = code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    with translation.override(language):
        if is_api_request(request):
            body = problem_body(status_code=503, code="service_unavailable", detail=unavailable_detail(),
                                instance=request.get_full_path(), retry_after=retry_after)
            response = JsonResponse(body, status=503, content_type=PROBLEM_CONTENT_TYPE)
        else:
            response = HttpResponse(get_template("errors/503.html").render(), status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, _FLAG, False) and response.status_code >= 500:
            return unavailable_response(request)
        return response

    def process_exception(self, request, exception):
        if database_unavailable(exception):
            logger.warning("no database connection for the request; answered 503", exc_info=exception)
            return unavailable_response(request)
        return None


@receiver(got_request_exception)
def _note_database_unavailable(sender, request=None, **kwargs) -> None:
    if request is not None and database_unavailable(sys.exc_info()[1]):
        setattr(request, _FLAG, True)
