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
