"""Enforcement of security monitoring (okto88.client_guard): a suspended API key gets 403
api_key_suspended, a tightened client, user or address gets 429 client_throttled with
Retry-After past SECURITY_TIGHTENED_RATE, for the cool-off only; everybody else carries on."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from okto88 import client_guard
from okto88.client_guard import SUSPEND, TIGHTEN, api_keys_suspend, client_throttle_tighten, guard_lift
from tests.platform.factories import UserFactory, issue_api_key
from tests.problems import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _tight_rate(settings):
    settings.SECURITY_TIGHTENED_RATE = "3/hour"  # an hour's window: the test never straddles two


def key_caller(raw_key: str) -> APIClient:
    caller = APIClient(REMOTE_ADDR="198.51.100.7")
    caller.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return caller



def test_a_suspended_key_is_refused_and_another_clients_key_is_not():
    suspect, other = issue_api_key(), issue_api_key()
    assert key_caller(suspect.raw_key).get("/api/v1/me/").status_code == 200
    api_keys_suspend(api_key_ids=[suspect.api_key.pk], seconds=60)
    body = assert_problem(key_caller(suspect.raw_key).get("/api/v1/me/"), 403, "api_key_suspended")
    assert body["title"]  # the error class's own title
    assert key_caller(other.raw_key).get("/api/v1/me/").status_code == 200
    guard_lift(action=SUSPEND, target=f"key:{suspect.api_key.pk}")
    assert key_caller(suspect.raw_key).get("/api/v1/me/").status_code == 200


def test_a_suspension_ends_with_its_cool_off():
    suspect = issue_api_key()
    api_keys_suspend(api_key_ids=[suspect.api_key.pk], seconds=1)
    assert_problem(key_caller(suspect.raw_key).get("/api/v1/me/"), 403, "api_key_suspended")
    time.sleep(1.1)
    assert key_caller(suspect.raw_key).get("/api/v1/me/").status_code == 200


def test_a_tightened_client_gets_429_client_throttled_past_the_tightened_rate():
    suspect, other = issue_api_key(), issue_api_key()
    client_throttle_tighten(ident=f"client:{suspect.api_key.client_id}", seconds=60)
    caller = key_caller(suspect.raw_key)
    assert [caller.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
    refused = caller.get("/api/v1/me/")
    body = assert_problem(refused, 429, "client_throttled")
    assert 1 <= int(refused["Retry-After"]) <= 3600 and body["retry_after"] == int(refused["Retry-After"])
    assert [key_caller(other.raw_key).get("/api/v1/me/").status_code for _ in range(5)] == [200] * 5


def test_a_tightened_user_gets_the_429_page_in_the_browser_and_others_do_not(client):
    suspect, other = UserFactory(), UserFactory()
    client_throttle_tighten(ident=f"user:{suspect.pk}", seconds=60)
    client.force_login(suspect)
    statuses = [client.get("/").status_code for _ in range(4)]
    assert statuses[:3] == [200] * 3 and statuses[3] == 429
    page = client.get("/")
    assert page.status_code == 429 and int(page["Retry-After"]) >= 1 and "429" in page.content.decode()
    client.force_login(other)
    assert [client.get("/").status_code for _ in range(5)] == [200] * 5


def test_a_tightened_address_gets_problem_json_under_the_api():
    client_throttle_tighten(ident="ip:203.0.113.50", seconds=60)
    caller = APIClient(REMOTE_ADDR="203.0.113.50")
    for _ in range(3):
        caller.get("/api/v1/me/")
    assert_problem(caller.get("/api/v1/me/"), 429, "client_throttled")
    assert APIClient(REMOTE_ADDR="203.0.113.51").get("/api/v1/me/").status_code == 401


def test_the_guard_holds_a_bounded_number_of_actions(settings):
    settings.SECURITY_GUARD_MAX_ENTRIES = 3
    for index in range(5):
        client_throttle_tighten(ident=f"ip:192.0.2.{index}", seconds=60)
    entries = client_guard.guard_entries()
    assert len(entries) == 3
    # An action on an ident already held still extends it.
    later = client_throttle_tighten(ident="ip:192.0.2.0", seconds=600)
    assert client_guard.guard_entries()[f"{TIGHTEN}|ip:192.0.2.0"] == pytest.approx(later, abs=1)
