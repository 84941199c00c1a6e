"""Vehicle domain errors.

Codes are stable; see okto88.errors for the rules every error follows.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from okto88.errors import ApplicationError


class InvalidVin(ApplicationError):
    code = "invalid_vin"
    status = 400
    title = gettext_lazy("This is not a valid VIN.")
