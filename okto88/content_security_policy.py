"""The Content-Security-Policy header (django-csp), its text built once per settings.

django-csp builds the header's text from the settings on every response (a copy of each
directive, a dedup, a join: ~30 µs, which is a tenth of a cached API answer). The text
depends on the request only through its nonce and a view's own config, update or replace
(csp.decorators); a response with none of them gets the text built for the current settings,
kept until a setting changes (override_settings in tests). Everything else is django-csp's:
the debug-page exemption, `_csp_exempt`, the excluded prefixes, a header already set, and the
error raised when a template asks for a nonce after the header is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from csp import middleware as csp_middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

_SETTINGS = {False: "CONTENT_SECURITY_POLICY", True: "CONTENT_SECURITY_POLICY_REPORT_ONLY"}
_HEADERS = {False: HEADER, True: HEADER_REPORT_ONLY}
# report_only → (policy text for a response without a nonce or its own policy, excluded prefixes)
_built: dict[bool, tuple[str, tuple[str, ...]]] = {}


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs) -> None:
    if setting in _SETTINGS.values():
        _built.clear()


def _prefixes(report_only: bool) -> tuple[str, ...]:
    policy = getattr(settings, _SETTINGS[report_only], None) or {}
    return tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())


def _settings_policy(report_only: bool) -> tuple[str, tuple[str, ...]]:
    built = _built.get(report_only)
    if built is None:
        built = _built[report_only] = (csp_middleware.build_policy(report_only=report_only), _prefixes(report_only))
    return built


class CSPMiddleware(csp_middleware.CSPMiddleware):
    """django-csp's middleware; the header text of the settings is built once, not per response."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if response.status_code in (500, 404) and settings.DEBUG:  # django-csp: the debug pages are exempt
            return response
        for report_only in (False, True):
            parts = self.get_policy_parts(request=request, response=response, report_only=report_only)
            if parts.config is None and parts.update is None and parts.replace is None and parts.nonce is None:
                policy, prefixes = _settings_policy(report_only)
            else:
                policy = csp_middleware.build_policy(config=parts.config, update=parts.update, replace=parts.replace,
                                                     nonce=parts.nonce, report_only=report_only)
                prefixes = _prefixes(report_only) if policy else ()
            if not policy:
                continue
            header = _HEADERS[report_only]
            exempt = getattr(response, "_csp_exempt_ro" if report_only else "_csp_exempt", False) is not False
            if not exempt and header not in response and not request.path_info.startswith(prefixes):
                response[header] = policy
        # As django-csp: a nonce asked for after the header is written is an error, not a silent gap.
        if getattr(request, "_csp_nonce", None) is None:
            request.csp_nonce = csp_middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response
