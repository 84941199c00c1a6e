"""Failed authentication is throttled by client address: bad keys and missing keys get 429
past the address's rate, while genuine keys, and other addresses, carry on."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.platform.factories import issue_api_key

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
LIMIT = 5


@pytest.fixture(autouse=True)
def _auth_failure_rate(settings):
    rest = dict(settings.REST_FRAMEWORK)
    # An hour's window: the test never straddles two windows.
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "auth_failure": f"{LIMIT}/hour"}
    settings.REST_FRAMEWORK = rest


def caller(address: str, raw_key: str | None = None, **headers) -> APIClient:
    client = APIClient(REMOTE_ADDR=address, **headers)
    if raw_key:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert body["retry_after"] == int(response["Retry-After"])


def test_bad_keys_from_one_address_get_429_past_the_limit_and_a_good_key_still_works():
    good = issue_api_key()
    attacker = caller("203.0.113.7", "okto_deadbeef_notarealsecret")
    statuses = [attacker.get("/api/v1/me/").status_code for _ in range(LIMIT)]
    assert statuses == [401] * LIMIT
    assert_throttled(attacker.get("/api/v1/me/"))
    assert_throttled(caller("203.0.113.7", "okto_other_guess").get("/api/v1/me/"))  # any key from there

    # A genuine key from another address is not slowed by the first address's failures.
    assert caller("198.51.100.20", good.raw_key).get("/api/v1/me/").status_code == 200
    # Another address's bad key still gets its own 401.
    assert caller("198.51.100.21", "okto_deadbeef_wrong").get("/api/v1/me/").status_code == 401


def test_a_known_good_key_is_not_refused_by_its_own_address_failures():
    good = issue_api_key()
    assert caller("203.0.113.8", good.raw_key).get("/api/v1/me/").status_code == 200
    for _ in range(LIMIT + 1):
        caller("203.0.113.8", "okto_deadbeef_wrong").get("/api/v1/me/")
    assert caller("203.0.113.8", good.raw_key).get("/api/v1/me/").status_code == 200


def test_past_the_limit_an_unknown_key_is_refused_before_the_database_is_asked():
    attacker = caller("203.0.113.9", "okto_deadbeef_notarealsecret")
    for _ in range(LIMIT):
        attacker.get("/api/v1/me/")
    with CaptureQueriesContext(connection) as queries:
        assert_throttled(caller("203.0.113.9", "okto_cafebabe_another").get("/api/v1/me/"))
    assert [q["sql"] for q in queries.captured_queries if "api_key" in q["sql"].lower()] == []


def test_anonymous_requests_to_endpoints_that_need_a_key_are_throttled_by_address():
    anonymous = caller("203.0.113.10")
    statuses = [anonymous.get("/api/v1/me/").status_code for _ in range(LIMIT)]
    assert statuses == [401] * LIMIT
    assert_throttled(anonymous.get("/api/v1/me/"))
    assert caller("203.0.113.11").get("/api/v1/me/").status_code == 401


def test_a_made_up_forwarded_address_does_not_escape_the_throttle():
    """No proxy is trusted by default: X-Forwarded-For is the client's own word."""
    for index in range(LIMIT + 1):
        response = caller("203.0.113.12", "okto_deadbeef_wrong",
                          HTTP_X_FORWARDED_FOR=f"10.0.0.{index}").get("/api/v1/me/")
    assert_throttled(response)
