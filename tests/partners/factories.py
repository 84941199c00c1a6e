"""Webhook endpoints for the delivery tests, written directly through the models (the endpoint
services of partners.services.endpoints are another change); the secrets are real `whsec_` ones."""

from __future__ import annotations

import base64
import secrets

from partners.models import WebhookEndpoint, WebhookSecret
from suppliers.models import Supplier
from tests.platform.factories import issue_api_key
from tests.suppliers.factories import SupplierApiClientFactory


def whsec_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def supplier_endpoint(*, url: str, supplier: Supplier | None = None, event_types=("offer.price_changed",),
                      contact_email: str = "erp@supplier.example", scopes=("stock:write",)):
    """An endpoint of an API client bound to `supplier` (a new one if None) with a live key of
    `scopes`; returns (endpoint, secret)."""
    binding = SupplierApiClientFactory(**({"supplier": supplier} if supplier is not None else {}))
    binding.api_client.contact_email = contact_email
    binding.api_client.save(update_fields=["contact_email"])
    issue_api_key(client=binding.api_client, scopes=list(scopes))
    endpoint = WebhookEndpoint.objects.create(api_client=binding.api_client, url=url, event_types=list(event_types))
    secret = WebhookSecret.objects.create(endpoint=endpoint, secret=whsec_new())
    return endpoint, secret.secret
