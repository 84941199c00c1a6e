"""The endpoint services behind the webhooks API and admin: secret rotation and its overlap, an
operator's disable and enable, deletion, and replays in bounded batches."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from okto88.models import Scope
from partners import selectors, services
from partners.errors import WebhookDeliveryNotReplayable, WebhookEndpointNotLive, WebhookEventTypesRequired
from partners.models import DeliveryStatus, EndpointDisabledReason, WebhookDelivery, WebhookEndpoint, WebhookSecret
from tests.platform.factories import issue_api_key
from tests.suppliers.factories import SupplierApiClientFactory

pytestmark = pytest.mark.django_db
HOOK = "http://127.0.0.1:9/hooks"


@pytest.fixture
def endpoint() -> WebhookEndpoint:
    issued = issue_api_key(scopes=[Scope.STOCK_WRITE, Scope.WEBHOOKS_MANAGE])
    SupplierApiClientFactory(api_client=issued.api_key.client)
    return services.endpoint_create(api_client=issued.api_key.client, url=HOOK,
                                    event_types=["offer.price_changed"], description="").endpoint


def live_secrets(endpoint) -> list[str]:
    return list(selectors.webhook_secrets_live(endpoint=endpoint).values_list("secret", flat=True))


def test_a_secret_is_whsec_and_base64_of_24_random_bytes():
    secrets = {services.webhook_secret_generate() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) == 24


def test_rotation_gives_two_live_secrets_during_the_overlap_and_one_after(endpoint, settings):
    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 24
    (first,) = live_secrets(endpoint)
    rotated = services.endpoint_secret_rotate(endpoint=endpoint)
    assert rotated.secret != first
    assert live_secrets(endpoint) == [rotated.secret, first]  # newest first: the signer signs with both
    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        assert live_secrets(endpoint) == [rotated.secret, first]
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1), tick=False):
        assert live_secrets(endpoint) == [rotated.secret]


def test_a_second_rotation_inside_the_overlap_ends_the_oldest_at_once(endpoint):
    (first,) = live_secrets(endpoint)
    second = services.endpoint_secret_rotate(endpoint=endpoint, overlap=timedelta(hours=24)).secret
    third = services.endpoint_secret_rotate(endpoint=endpoint, overlap=timedelta(hours=24)).secret
    assert live_secrets(endpoint) == [third, second]
    assert first not in live_secrets(endpoint)
    # Later rotations delete the expired secrets: their values are kept no longer than needed.
    services.endpoint_secret_rotate(endpoint=endpoint, overlap=timedelta(0))
    assert not WebhookSecret.objects.filter(secret=first).exists()
    assert len(live_secrets(endpoint)) == 1


def test_an_overlap_of_zero_ends_the_old_secret_now(endpoint):
    rotated = services.endpoint_secret_rotate(endpoint=endpoint, overlap=timedelta(0))
    assert live_secrets(endpoint) == [rotated.secret]


def test_an_operator_disables_and_enables_with_a_clean_failure_record(endpoint):
    services.endpoint_disable(endpoint_id=endpoint.pk, reason=EndpointDisabledReason.OPERATOR)
    endpoint.refresh_from_db()
    assert endpoint.disabled_at and endpoint.disabled_reason == EndpointDisabledReason.OPERATOR
    assert selectors.webhook_endpoint_state(endpoint=endpoint) == "disabled"
    with pytest.raises(WebhookEndpointNotLive):
        services.endpoint_test_send(endpoint=endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=6))
    services.endpoint_enable(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert (endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since) == (None, "", None)
    assert endpoint.is_live


def test_an_endpoint_the_platform_disabled_stays_disabled_when_its_owner_resumes(endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_at=timezone.now(),
                                                          disabled_reason=EndpointDisabledReason.GONE)
    services.endpoint_pause(endpoint=endpoint)
    services.endpoint_resume(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_at is not None and not endpoint.is_live


def test_deleting_an_endpoint_removes_its_secrets_and_deliveries(endpoint):
    delivery = services.endpoint_test_send(endpoint=endpoint)
    services.endpoint_delete(endpoint=endpoint)
    assert not WebhookDelivery.objects.filter(pk=delivery.pk).exists()
    assert not WebhookSecret.objects.filter(endpoint_id=endpoint.pk).exists()


def test_an_update_that_empties_the_event_types_is_refused(endpoint):
    with pytest.raises(WebhookEventTypesRequired):
        services.endpoint_update(endpoint=endpoint, event_types=[])
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["offer.price_changed"]


def test_no_replay_for_an_endpoint_that_is_not_live_nor_of_a_discarded_delivery(endpoint):
    delivery = services.endpoint_test_send(endpoint=endpoint, message="halo")
    assert delivery.test_payload == {"endpoint": endpoint.pk, "message": "halo"}
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.DISCARDED)
    with pytest.raises(WebhookDeliveryNotReplayable):
        services.endpoint_delivery_replay(delivery=delivery)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    services.endpoint_pause(endpoint=endpoint)
    with pytest.raises(WebhookEndpointNotLive):
        services.endpoint_delivery_replay(delivery=delivery)
    with pytest.raises(WebhookEndpointNotLive):
        services.endpoint_deliveries_replay_failed(endpoint=endpoint, since=timezone.now() - timedelta(days=1))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
