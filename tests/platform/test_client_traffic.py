"""Per-client traffic on the request path (okto88.client_traffic, okto88.client_watch): each
answered request is counted for its caller, object ids per endpoint, every bound holds, and a
request never fails because Redis is away."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from okto88 import client_guard, client_traffic
from okto88.client_traffic import (
    ALL,
    DENIED,
    IDS_KEY,
    MINUTE_KEY,
    OVERFLOW,
    traffic_count,
    traffic_flush,
    traffic_minutes_read,
)
from okto88.redis_connection import redis_client
from tests.client_traffic import traffic_clean, traffic_keys_delete  # noqa: F401 (traffic_clean: autouse)
from tests.platform.factories import UserFactory, issue_api_key

pytestmark = pytest.mark.django_db
ORDER = "api/v1/orders/<str:number>/"


def this_minute() -> dict:
    traffic_flush()
    minute = int(time.time() // 60)
    read = traffic_minutes_read(minutes=[minute - 1, minute])
    merged: dict = {}
    for idents in read.values():
        for ident, entry in idents.items():
            merged.setdefault(ident, []).append(entry)
    return merged


def key_caller(raw_key: str, address: str = "198.51.100.5") -> APIClient:
    caller = APIClient(REMOTE_ADDR=address)
    caller.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return caller


def test_a_keys_requests_are_counted_for_its_client_with_the_ids_it_asked_for():
    issued = issue_api_key()
    caller = key_caller(issued.raw_key)
    assert caller.get("/api/v1/me/").status_code == 200
    for number in ("OK-2612-AAAAA1", "OK-2612-AAAAA2", "OK-2612-AAAAA3", "OK-2612-AAAAA3"):
        assert caller.get(f"/api/v1/orders/{number}/").status_code in (403, 404)
    seen = this_minute()[f"client:{issued.api_key.client_id}"]
    assert len(seen) == 1
    entry = seen[0]
    assert entry.count("requests") == 5 and entry.count("s2xx") == 1 and entry.count("s4xx") == 4
    assert entry.count("auth_failures") + entry.count("not_found") == 4
    assert entry.distinct_ids[(ALL, ORDER)] == 3 and entry.distinct_ids[(DENIED, ORDER)] == 3
    assert entry.api_key_ids == {issued.api_key.pk}


def test_a_session_user_and_an_anonymous_address_have_their_own_idents(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/accounts/login/").status_code in (200, 302)
    anonymous = APIClient(REMOTE_ADDR="203.0.113.44")
    assert anonymous.get("/api/v1/me/").status_code == 401
    seen = this_minute()
    assert seen[f"user:{user.pk}"][0].count("requests") == 1
    entry = seen["ip:203.0.113.44"][0]
    assert entry.count("requests") == 1 and entry.count("auth_failures") == 1


def test_probes_health_and_metrics_are_not_counted(client):
    for path in ("/healthz", "/readyz", "/metrics"):
        client.get(path)
    assert this_minute() == {}


def test_idents_per_minute_are_bounded_and_the_rest_is_counted_as_overflow(settings):
    settings.SECURITY_TRAFFIC_MAX_IDENTS = 3
    now = time.time()
    for index in range(10):
        traffic_count(ident=f"ip:192.0.2.{index}", status=200, now=now)
    seen = this_minute()
    assert len(seen) == 4 and OVERFLOW in seen
    assert sum(entries[0].count("requests") for entries in seen.values()) == 10
    assert seen[OVERFLOW][0].count("requests") == 7


def test_ids_per_set_and_sets_per_ident_are_bounded(settings):
    settings.SECURITY_TRAFFIC_MAX_IDS = 5
    settings.SECURITY_TRAFFIC_MAX_ENDPOINTS = 2
    now = time.time()
    minute = int(now // 60)
    for index in range(50):
        traffic_count(ident="client:9", status=404, endpoint=ORDER, object_id=f"OK-{index:06d}" + "x" * 100,
                      now=now)
    for endpoint in ("a/<int:id>/", "b/<int:id>/", "c/<int:id>/"):
        traffic_count(ident="client:9", status=200, endpoint=endpoint, object_id="1", now=now)
    traffic_flush()
    entry = traffic_minutes_read(minutes=[minute])[minute]["client:9"]
    assert entry.count("requests") == 53
    assert entry.distinct_ids[(DENIED, ORDER)] == 5 and entry.distinct_ids[(ALL, ORDER)] == 5
    # Two id sets of the order endpoint used up the ident's sets: the other endpoints fold into "other".
    assert set(entry.distinct_ids) == {(ALL, ORDER), (DENIED, ORDER), (ALL, "other")}
    members = redis_client().smembers(IDS_KEY.format(minute=minute, cls=DENIED, ident="client:9", endpoint=ORDER))
    assert len(members) == 5 and all(len(member) <= client_traffic.MAX_ID_CHARS for member in members)


def test_every_key_expires(settings):
    now = time.time()
    traffic_count(ident="client:9", status=404, endpoint=ORDER, object_id="OK-1", api_key_id=3, now=now)
    traffic_flush()
    minute = int(now // 60)
    client = redis_client()
    assert 0 < client.ttl(MINUTE_KEY.format(minute=minute)) <= settings.SECURITY_TRAFFIC_MINUTE_TTL_SECONDS
    for cls in (ALL, DENIED):
        ttl = client.ttl(IDS_KEY.format(minute=minute, cls=cls, ident="client:9", endpoint=ORDER))
        assert 0 < ttl <= settings.SECURITY_TRAFFIC_IDS_TTL_SECONDS


def test_the_buffer_is_bounded_while_redis_is_away(settings, tmp_path, caplog):
    from okto88.redis_connection import redis_client as client_factory

    settings.SECURITY_TRAFFIC_MAX_BUFFER_ENTRIES = 5
    try:
        with override_settings(REDIS_URL=f"unix://{tmp_path}/nothing-listens-here.sock"):
            client_factory.cache_clear()
            for index in range(20):
                traffic_count(ident=f"ip:192.0.2.{index}", status=200)
            with pytest.raises(Exception, match="nothing-listens-here"):
                traffic_flush()
            assert len(client_traffic._counts) == 5  # went back to the buffer, no more
    finally:
        client_factory.cache_clear()
    assert len(this_minute()) == 5


def test_requests_are_served_while_redis_is_away(client, tmp_path, settings):
    from okto88.client_guard import guard_snapshot_replace
    from okto88.redis_connection import redis_client as client_factory

    user = UserFactory()
    client.force_login(user)
    # Something is enforced (on someone else), so the guard is asked on every request.
    guard_snapshot_replace({"tighten|ip:203.0.113.99": time.time() + 60})
    try:
        with override_settings(REDIS_URL=f"unix://{tmp_path}/nothing-listens-here.sock"):
            client_factory.cache_clear()
            assert client.get("/accounts/login/").status_code in (200, 302)
            guard_snapshot_replace({f"tighten|user:{user.pk}": time.time() + 60})
            assert client.get("/accounts/login/").status_code in (200, 302)  # the tightened window is in Redis
            assert APIClient(REMOTE_ADDR="203.0.113.45").get("/api/v1/me/").status_code in (401, 429)
    finally:
        client_factory.cache_clear()
        guard_snapshot_replace({})


def test_a_suspended_keys_refused_requests_count_as_requests_not_as_errors():
    issued = issue_api_key()
    caller = key_caller(issued.raw_key)
    assert caller.get("/api/v1/me/").status_code == 200
    client_guard.api_keys_suspend(api_key_ids=[issued.api_key.pk], seconds=60)
    for number in ("OK-2612-BBBBB1", "OK-2612-BBBBB2", "OK-2612-BBBBB3"):
        response = caller.get(f"/api/v1/orders/{number}/")
        assert response.status_code == 403 and response.json()["code"] == "api_key_suspended"
    entry = this_minute()[f"client:{issued.api_key.client_id}"][0]
    assert entry.count("requests") == 4 and entry.count("s2xx") == 1
    assert entry.count("s4xx") == 0 and entry.count("auth_failures") == 0
    assert (DENIED, ORDER) not in entry.distinct_ids
