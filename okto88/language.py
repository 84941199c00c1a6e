"""Indonesian first: the language is the one the visitor chose with the switch (a cookie),
else Indonesian. Browser Accept-Language is ignored on purpose: many workshop phones run
English system settings while their users work in Indonesian."""

from __future__ import annotations

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class LanguageMiddleware(LocaleMiddleware):
    def process_request(self, request) -> None:
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if code not in dict(settings.LANGUAGES):
            code = settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = code

    def process_response(self, request, response):
        response = super().process_response(request, response)
        # The language was activated for this thread: put the default back, so work the thread
        # does next outside a request (a server thread's next job, a test) is not in the
        # previous visitor's language.
        translation.activate(settings.LANGUAGE_CODE)
        return response
