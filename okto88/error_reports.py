"""What Django's error reports (the DEBUG technical page, the admins' error mail) may show.

Django's SafeExceptionReporterFilter hides settings and request.META entries whose NAME
looks secret (API, TOKEN, KEY, SECRET, PASS, SIGNATURE). Our credentials also travel in
connection URLs (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, a cache LOCATION, and in
request.META too when the server copies the environment into it), whose names say nothing:
names with URL, DSN, BROKER or CREDENTIAL are hidden as well, and the password of any
`scheme://user:password@host` value is masked wherever it appears, frame variables included.
"""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?=@)", re.IGNORECASE)


class CredentialMaskingFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|CREDENTIAL|URL|DSN|BROKER", flags=re.IGNORECASE)

    def url_passwords_masked(self, value):
        if isinstance(value, str):
            return _URL_PASSWORD.sub(lambda m: m.group("head") + self.cleansed_substitute, value)
        if isinstance(value, dict):
            return {k: self.url_passwords_masked(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.url_passwords_masked(v) for v in value)
        return value

    def cleanse_setting(self, key, value):
        return self.url_passwords_masked(super().cleanse_setting(key, value))

    def get_traceback_frame_variables(self, request, tb_frame):
        return [(name, self.url_passwords_masked(value))
                for name, value in super().get_traceback_frame_variables(request, tb_frame)]
