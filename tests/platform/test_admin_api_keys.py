"""Operators issue API keys in admin; the key is shown once and only its digest is kept."""

from __future__ import annotations

import re

import pytest

from okto88.models import ApiKey
from tests.platform.factories import ApiClientFactory, OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_operator_issues_a_key_that_is_shown_once_and_works(client):
    client.force_login(OperatorFactory())
    partner = ApiClientFactory(name="Bengkel Fleet ERP")
    response = client.post(
        "/admin/platform/apikey/add/",
        {"client": partner.pk, "name": "production", "scopes": ["catalog:read", "orders:read"]},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    raw_key = re.search(r"(okto_[0-9a-f]{8}_\S+)", " ".join(shown)).group(1)
    api_key = ApiKey.objects.get(client=partner)
    assert api_key.scopes == ["catalog:read", "orders:read"]
    assert raw_key not in str(ApiKey.objects.values().get(pk=api_key.pk))

    page = client.get(f"/admin/platform/apikey/{api_key.pk}/change/").content.decode()
    assert raw_key not in page

    client.logout()
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}").status_code == 200


def test_an_operator_revokes_keys_with_the_admin_action(client):
    from tests.platform.factories import issue_api_key

    issued = issue_api_key()
    client.force_login(OperatorFactory())
    client.post("/admin/platform/apikey/", {"action": "revoke_selected", "_selected_action": [issued.api_key.pk]})
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is not None
    client.logout()
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}").status_code == 401


def test_non_operators_cannot_reach_api_key_admin(client):
    client.force_login(UserFactory())
    response = client.get("/admin/platform/apikey/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
