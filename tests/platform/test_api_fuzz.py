"""Every API endpoint, fed generated good and bad input from its own OpenAPI schema, passes
every schemathesis check: it answers with a documented status and shape, accepts what the
schema allows and refuses what it does not, enforces its authentication, and its errors are
problem+json, never a 500. OKTO88_FUZZ_EXAMPLES (default 25) sets how hard it looks,
OKTO88_FUZZ_RANDOM=1 draws new examples each run."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.conf import settings as settings_
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import CSRF_SECRET_LENGTH
from django.test import Client
from django.utils.crypto import get_random_string
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from okto88.api.rate_windows import AUTH_FAILURE_SCOPE
from okto88.models import Scope
from okto88.redis_connection import redis_client
from okto88.wsgi import application
from partners import services as partner_services
from tests.platform.factories import issue_api_key
from tests.suppliers.factories import OfferFactory, SupplierApiClientFactory, WarehouseFactory
from tests.workshops.factories import AddressFactory, WorkshopMemberFactory
from workshops.services import workshop_api_client_bind

# Built from the code, not over HTTP, so collecting the tests needs no running services.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Like Django's test client: a request must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _failed_authentications_forget() -> None:
    """Each example's ignored_auth check sends wrong credentials from one address; past 60 a
    minute the failed-auth throttle (its own tests: test_api_auth_throttling.py) answers 429."""
    client = redis_client()
    keys = list(client.scan_iter(match=f"throttle:*{AUTH_FAILURE_SCOPE}*", count=1000))
    if keys:
        client.delete(*keys)


WORKSHOP_PATHS = ("/api/v1/cart/", "/api/v1/orders/")
WEBHOOK_ENDPOINT_WRITES = ("POST /api/v1/webhooks/endpoints/", "PATCH /api/v1/webhooks/endpoints/{endpoint_id}/")
WEBHOOK_ENDPOINT_REFUSALS = ("webhook_url_not_allowed", "webhook_event_type_unknown", "webhook_event_type_not_visible")


def _workshop_session() -> tuple[dict[str, str], dict[str, str]]:
    """Headers and cookies of a workshop member's browser session."""
    member = WorkshopMemberFactory()
    AddressFactory(workshop=member.workshop)
    browser = Client()
    browser.force_login(member.user)
    token = get_random_string(CSRF_SECRET_LENGTH)
    cookies = {settings_.SESSION_COOKIE_NAME: browser.cookies[settings_.SESSION_COOKIE_NAME].value,
               settings_.CSRF_COOKIE_NAME: token}
    return {"X-CSRFToken": token}, cookies


@pytest.mark.django_db
@schema.parametrize()
# Derandomized unless OKTO88_FUZZ_RANDOM=1: the same examples every run, so a red CI names a
# real regression rather than a new draw; a developer looks further with random draws.
@settings(max_examples=int(os.environ.get("OKTO88_FUZZ_EXAMPLES", "25")), deadline=None,
          derandomize=os.environ.get("OKTO88_FUZZ_RANDOM") != "1", suppress_health_check=list(HealthCheck))
def test_api_answers_generated_input_without_server_errors(case):
    _failed_authentications_forget()
    issued = issue_api_key(scopes=list(Scope.values))
    if case.path.startswith("/api/v1/suppliers/me/"):
        # The supplier's own endpoints, called as a supplier's ERP would: a key bound to a
        # supplier with an offer and a warehouse, not the 403 that an unbound key gets.
        offer = OfferFactory(sku="FUZZ-1")
        WarehouseFactory(supplier=offer.supplier, code="FUZZ")
        SupplierApiClientFactory(api_client=issued.api_key.client, supplier=offer.supplier)
    if case.path.startswith("/api/v1/webhooks/endpoints/{endpoint_id}/"):
        _own_webhook_endpoint(case, api_client=issued.api_key.client)
    headers, cookies = {"Authorization": f"Api-Key {issued.raw_key}"}, None
    excluded = []
    if case.path.startswith(WORKSHOP_PATHS):
        # The cart and orders, first as a fleet system calls them: a key bound to a workshop
        # (every check, ignored_auth too, which holds the schema's ApiKeyAuth to its word)...
        address = AddressFactory()
        workshop_api_client_bind(workshop_id=address.workshop_id, api_client=issued.api_key.client)
        _answers_as_documented(case, case.call(headers=headers), headers=headers, excluded=[])
        _failed_authentications_forget()
        # ...then with a member's session and CSRF token as the browser sends them. The
        # ignored_auth check resends without the Authorization header, which a session does not
        # use; these endpoints' authentication is tested in tests/orders/test_api_orders.py.
        headers, cookies = _workshop_session()
        excluded.append(schemathesis.checks.ignored_auth)
    response = case.call(headers=headers, cookies=cookies)
    _answers_as_documented(case, response, headers=headers, excluded=excluded)


def _own_webhook_endpoint(case, *, api_client) -> None:
    """An endpoint (and a delivery) of the caller's client in place of a generated whole-number
    id, so that the operations on one endpoint are fuzzed past their 404."""
    endpoint = partner_services.endpoint_create(api_client=api_client, url="http://127.0.0.1:9/fuzz",
                                                event_types=["part.updated"]).endpoint
    if isinstance(case.path_parameters.get("endpoint_id"), int):
        case.path_parameters["endpoint_id"] = endpoint.pk
    if isinstance(case.path_parameters.get("delivery_id"), int):
        case.path_parameters["delivery_id"] = partner_services.endpoint_test_send(endpoint=endpoint).pk


def _answers_as_documented(case, response, *, headers: dict[str, str], excluded: list) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/problem+json"), response.text[:300]
        body = response.json()
        assert body["status"] == response.status_code and body["code"]
    # Every check schemathesis has. The headers tell it the key was sent on purpose, so its
    # ignored_auth check repeats the call without it and with a wrong one, and expects 401s.
    if (case.operation.label == "POST /api/v1/orders/" and response.status_code == 400
            and [e["code"] for e in response.json().get("errors", [])] == ["duplicate_supplier"]):
        # JSON Schema cannot say "one shipping choice per supplier" (uniqueItems compares whole
        # items); two choices for one supplier are refused with this error, and only it.
        excluded.append(schemathesis.checks.positive_data_acceptance)
    if (case.operation.label == "POST /api/v1/suppliers/me/feeds/" and isinstance(case.body, dict)
            and not case.body.get("file") and response.status_code == 400):
        # An empty generated file goes out as a part that Django does not see as a file
        # (schemathesis' encoding of b""); the API then says the file is missing, and only that.
        assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("file", "required")]
        excluded.append(schemathesis.checks.positive_data_acceptance)
    if (case.operation.label == "GET /api/v1/ops/{section}/" and response.status_code == 400
            and response.json().get("code") == "invalid_period" and {"start", "end"} & set(case.query or {})):
        # JSON Schema cannot say "start and end together, end not before start, at most 92 days
        # apart"; a range that breaks one of these is refused with this error, and only it.
        excluded.append(schemathesis.checks.positive_data_acceptance)
    if (case.operation.label in WEBHOOK_ENDPOINT_WRITES and response.status_code == 400
            and response.json().get("code") in WEBHOOK_ENDPOINT_REFUSALS):
        # JSON Schema cannot say "a host that resolves to public addresses" nor "a topic this client
        # may see"; such a URL or event type is refused with these errors, and only them.
        excluded.append(schemathesis.checks.positive_data_acceptance)
    if (case.operation.label == "POST /api/v1/suppliers/me/orders/{number}/accept/" and response.status_code == 400
            and [(e["field"], e["code"]) for e in response.json().get("errors", [])]
            == [("rejected_lines", "duplicate_line")]):
        # JSON Schema cannot say "each line at most once" (uniqueItems compares whole items); a line
        # named twice is refused with this error, and only it.
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.validate_response(response, headers=headers, excluded_checks=excluded)
