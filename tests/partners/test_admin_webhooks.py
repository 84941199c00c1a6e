"""Operators' admin of webhook endpoints and deliveries: pages render for an operator, secrets are
never shown (a rotated one once, in the message), actions go through the services, and supplier
members reach none of it."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from okto88.models import Scope
from partners import services
from partners.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret
from tests.platform.factories import OperatorFactory, issue_api_key
from tests.suppliers.factories import SupplierApiClientFactory, SupplierMemberFactory

pytestmark = pytest.mark.django_db
ENDPOINTS = "/admin/partners/webhookendpoint/"
DELIVERIES = "/admin/partners/webhookdelivery/"


@pytest.fixture
def created():
    issued = issue_api_key(scopes=[Scope.STOCK_WRITE, Scope.WEBHOOKS_MANAGE])
    SupplierApiClientFactory(api_client=issued.api_key.client)
    return services.endpoint_create(api_client=issued.api_key.client, url="http://127.0.0.1:9/erp",
                                    event_types=["offer.price_changed"])


@pytest.fixture
def operator(client):
    client.force_login(OperatorFactory())
    return client


@pytest.fixture
def failed(created) -> WebhookDelivery:
    delivery = services.endpoint_test_send(endpoint=created.endpoint)
    WebhookAttempt.objects.create(delivery=delivery, number=1, started_at=timezone.now(), duration_ms=3001,
                                  outcome="timeout", error="read timed out", response_excerpt="")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=1)
    return delivery


def test_the_endpoint_pages_render_without_the_secret(operator, created):
    listing = operator.get(ENDPOINTS)
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "http://127.0.0.1:9/erp" in page and created.endpoint.api_client.name in page
    detail = operator.get(f"{ENDPOINTS}{created.endpoint.pk}/change/")
    assert detail.status_code == 200
    assert created.secret not in detail.content.decode()


def test_the_delivery_pages_show_the_attempts(operator, failed):
    assert failed.message_id in operator.get(DELIVERIES).content.decode()
    page = operator.get(f"{DELIVERIES}{failed.pk}/change/").content.decode()
    assert "read timed out" in page and "3001" in page


def test_operators_disable_and_enable_endpoints(operator, created):
    endpoint = created.endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    operator.post(ENDPOINTS, {"action": "disable_selected", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None and endpoint.disabled_reason == "operator"
    operator.post(ENDPOINTS, {"action": "enable_selected", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is None and endpoint.failing_since is None


def test_a_rotated_secret_is_shown_once_in_the_message(operator, created):
    response = operator.post(ENDPOINTS, {"action": "rotate_secret", "_selected_action": [created.endpoint.pk]},
                             follow=True)
    shown = " ".join(str(m) for m in response.context["messages"])
    secret = re.search(r"(whsec_[A-Za-z0-9+/=]+)", shown).group(1)
    assert secret != created.secret
    assert WebhookSecret.objects.filter(endpoint=created.endpoint, secret=secret, expires_at=None).exists()
    assert secret not in operator.get(f"{ENDPOINTS}{created.endpoint.pk}/change/").content.decode()


def test_a_test_message_from_admin_and_a_refusal_for_a_disabled_endpoint(operator, created):
    response = operator.post(ENDPOINTS, {"action": "send_test", "_selected_action": [created.endpoint.pk]},
                             follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["success"]
    assert WebhookDelivery.objects.filter(endpoint=created.endpoint, topic="webhook.test").count() == 1
    services.endpoint_disable(endpoint_id=created.endpoint.pk, reason="operator")
    response = operator.post(ENDPOINTS, {"action": "send_test", "_selected_action": [created.endpoint.pk]},
                             follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert WebhookDelivery.objects.filter(endpoint=created.endpoint).count() == 1


def test_operators_replay_deliveries(operator, failed):
    operator.post(DELIVERIES, {"action": "replay_selected", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING and failed.attempt_log.count() == 1


def test_the_pages_speak_indonesian(operator, created):
    page = operator.get(ENDPOINTS, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "Nonaktifkan endpoint yang dipilih" in page


def test_supplier_members_reach_none_of_it(client, created, failed):
    member = SupplierMemberFactory()
    client.force_login(member.user)
    for url in (ENDPOINTS, f"{ENDPOINTS}{created.endpoint.pk}/change/", DELIVERIES,
                f"{DELIVERIES}{failed.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    for url in ("/supplier-admin/partners/webhookendpoint/", "/supplier-admin/partners/webhookdelivery/"):
        assert client.get(url).status_code == 404, url
    client.post(ENDPOINTS, {"action": "disable_selected", "_selected_action": [created.endpoint.pk]})
    created.endpoint.refresh_from_db()
    assert created.endpoint.disabled_at is None


def test_every_string_of_the_webhook_admin_models_and_errors_has_an_indonesian_translation():
    from babel.messages.pofile import read_po
    from django.conf import settings

    from tests.analytics.test_translations import ROOT, _messages

    with open(ROOT / "locale" / "id" / "LC_MESSAGES" / "django.po", "rb") as po:
        catalog = read_po(po)
    messages = set()
    for name in ("admin.py", "models.py", "apps.py", "errors.py"):
        path = ROOT / "partners" / name
        messages |= _messages(path.read_text(encoding="utf-8"), f"partners/{name}")
    assert len(messages) > 40 and settings.LANGUAGE_CODE == "id"
    missing = [f"{where}: {msgid!r}" for context, msgid, where in sorted(messages, key=lambda m: (m[2], m[1]))
               if not ((entry := catalog.get(msgid, context=context)) and entry.string and not entry.fuzzy)]
    assert not missing, "\n".join(missing)
