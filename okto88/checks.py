"""System checks of the production profile's exposure (docs/security.md, "Transport and exposure").

`manage.py check --deploy` runs them (the deploy tag), so a production environment that switched
the webhook guards off fails the check before it is served. The partner URLs' check is not
deploy-only: every management command that checks (migrate among them, which the compose stack
runs before anything else starts) refuses a production environment that would talk to a partner
over plain http.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

# Settings that name a partner's server or the address partners call us back at.
PARTNER_URL_SETTINGS = ("PAYMENT_GATEWAY_URL", "COURIER_URL", "PAYMENT_NOTIFICATION_URL",
                        "COURIER_NOTIFICATION_URL", "SITE_URL")
METRICS_TOKEN_MIN_LENGTH = 32


@register(Tags.security)
def partner_urls_use_https(app_configs=None, **kwargs) -> list:
    if not settings.PRODUCTION:
        return []
    return [
        Error(f"{name} is {value!r}: in production every partner URL must be https.",
              hint=f"Set {name} to an https:// address (docs/security.md, 'Transport and exposure').",
              id="okto88.E001")
        for name in PARTNER_URL_SETTINGS
        if urlsplit(value := getattr(settings, name) or "").scheme != "https"
    ]


@register(Tags.security, deploy=True)
def webhook_guards_on(app_configs=None, **kwargs) -> list:
    if not settings.PRODUCTION:
        return []
    problems = []
    if not settings.WEBHOOK_REQUIRE_HTTPS:
        problems.append(Warning(
            "WEBHOOK_REQUIRE_HTTPS is off in production: webhooks (signed, but readable) may go out over plain http.",
            hint="Unset WEBHOOK_REQUIRE_HTTPS (production's default is true).", id="okto88.W002"))
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        problems.append(Warning(
            "WEBHOOK_ALLOW_PRIVATE_URLS is on in production: a partner can make okto88 post to internal addresses.",
            hint="Unset WEBHOOK_ALLOW_PRIVATE_URLS (production's default is false).", id="okto88.W003"))
    return problems


@register(Tags.security, deploy=True)
def metrics_token_strong(app_configs=None, **kwargs) -> list:
    token = settings.METRICS_TOKEN
    if settings.PRODUCTION and token and len(token) < METRICS_TOKEN_MIN_LENGTH:
        return [Warning(f"METRICS_TOKEN has {len(token)} characters: anyone who guesses it reads /metrics.",
                        hint=f"Use at least {METRICS_TOKEN_MIN_LENGTH} random characters "
                             "(python -c 'import secrets; print(secrets.token_urlsafe(32))').",
                        id="okto88.W004")]
    return []
