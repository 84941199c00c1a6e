"""API keys: rotation with an overlap (both keys work during it, the old one gets 401 after),
the rotation in admin showing the new key once, and the last-used time and address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from okto88 import services
from okto88.errors import ApiKeyNotRotatable
from okto88.models import ApiKey, AuditEntry
from tests.platform.factories import OperatorFactory, issue_api_key

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def me(raw_key: str, address: str = "203.0.113.5"):
    return APIClient(REMOTE_ADDR=address).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}")


def assert_refused(response) -> None:
    assert response.status_code == 401, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "revoked_api_key"


def test_both_keys_work_during_the_overlap_and_only_the_new_one_after():
    issued = issue_api_key(scopes=["catalog:read", "orders:read"])
    assert me(issued.raw_key).status_code == 200  # cached as live before the rotation
    rotated = services.api_key_rotate(api_key=issued.api_key, overlap_hours=24, actor=OperatorFactory())
    new_key = rotated.issued.api_key
    assert (new_key.client_id, new_key.name, new_key.scopes) == (issued.api_key.client_id, issued.api_key.name,
                                                                 ["catalog:read", "orders:read"])
    assert rotated.issued.raw_key != issued.raw_key
    assert me(issued.raw_key).status_code == 200 and me(rotated.issued.raw_key).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59), tick=False):
        assert me(issued.raw_key).status_code == 200 and me(rotated.issued.raw_key).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1), tick=False):
        assert_refused(me(issued.raw_key))
        assert me(rotated.issued.raw_key).status_code == 200


def test_a_rotation_without_overlap_ends_the_old_key_at_once():
    issued = issue_api_key()
    assert me(issued.raw_key).status_code == 200
    rotated = services.api_key_rotate(api_key=issued.api_key, overlap_hours=0)
    assert_refused(me(issued.raw_key))
    assert me(rotated.issued.raw_key).status_code == 200


def test_a_revoked_or_expired_key_cannot_be_rotated():
    revoked = issue_api_key()
    services.api_key_revoke(api_key=revoked.api_key)
    expired = issue_api_key(expires_at=timezone.now() - timedelta(minutes=1))
    for issued in (revoked, expired):
        with pytest.raises(ApiKeyNotRotatable):
            services.api_key_rotate(api_key=issued.api_key, overlap_hours=1)
    assert ApiKey.objects.count() == 2


def test_an_operator_rotates_in_admin_and_sees_the_new_key_once(client, settings):
    settings.API_KEY_ROTATION_OVERLAP_HOURS = 6
    issued = issue_api_key()
    client.force_login(OperatorFactory())
    response = client.post("/admin/platform/apikey/", {"action": "rotate_selected",
                                                       "_selected_action": [issued.api_key.pk]}, follow=True)
    shown = " ".join(str(m) for m in response.context["messages"])
    new_raw = re.search(r"(okto_[0-9a-f]{8}_\S+)", shown).group(1)
    assert new_raw != issued.raw_key
    issued.api_key.refresh_from_db()
    assert timedelta(hours=5, minutes=59) < issued.api_key.expires_at - timezone.now() <= timedelta(hours=6)
    successor = ApiKey.objects.exclude(pk=issued.api_key.pk).get()
    page = client.get(f"/admin/platform/apikey/{successor.pk}/change/").content.decode()
    assert new_raw not in page
    assert AuditEntry.objects.get(action="api_key.rotated").changes["overlap_hours"] == 6
    client.logout()
    assert me(new_raw).status_code == 200


def test_the_last_use_is_recorded_with_the_callers_address_at_most_once_a_minute():
    issued = issue_api_key()
    assert me(issued.raw_key, address="203.0.113.77").status_code == 200
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_ip == "203.0.113.77" and issued.api_key.last_used_at is not None
    first_use = issued.api_key.last_used_at
    assert me(issued.raw_key, address="198.51.100.1").status_code == 200  # within the minute: not written
    issued.api_key.refresh_from_db()
    assert (issued.api_key.last_used_at, issued.api_key.last_used_ip) == (first_use, "203.0.113.77")
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        assert me(issued.raw_key, address="2001:db8::5").status_code == 200
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_ip == "2001:db8::5" and issued.api_key.last_used_at > first_use


def test_a_key_used_outside_a_request_records_no_address():
    issued = issue_api_key()
    services.api_key_authenticate(raw_key=issued.raw_key)
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_at is not None and issued.api_key.last_used_ip is None
