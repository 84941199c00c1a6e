"""Operator admin for payments: read-only pages, operators only, refresh through the service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.errors import InvalidSignature
from payments.models import PaymentEvent, PaymentIntent, PaymentMethod, PaymentStatus
from tests.platform.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def intent(reference) -> PaymentIntent:
    return services.payment_intent_create(reference=reference, amount=50_000, method=PaymentMethod.VIRTUAL_ACCOUNT,
                                          customer={}, expires_at=timezone.now() + timedelta(minutes=5))


@pytest.mark.parametrize("model", ["paymentintent", "paymentevent", "refund"])
def test_operators_see_the_pages_and_cannot_add(client, intent, model):
    client.force_login(OperatorFactory())
    assert client.get(reverse(f"admin:payments_{model}_changelist"), {"q": intent.reference}).status_code == 200
    assert client.get(reverse(f"admin:payments_{model}_add")).status_code == 403


def test_an_intent_page_shows_its_notifications_read_only(client, intent, fake_gateway):
    fake_gateway.wait_idle()
    with pytest.raises(InvalidSignature):
        services.payment_notification_receive(
            raw_body=b'{"order_id": "%s", "status_code": "200", "gross_amount": "50000.00", "signature_key": "x",'
                     b' "transaction_status": "settlement", "transaction_id": "t"}' % intent.reference.encode())
    client.force_login(OperatorFactory())
    page = client.get(reverse("admin:payments_paymentintent_change", args=[intent.pk]))
    assert page.status_code == 200 and intent.va_number.encode() in page.content
    event = PaymentEvent.objects.get(reference=intent.reference)
    assert client.get(reverse("admin:payments_paymentevent_change", args=[event.pk])).status_code == 200
    response = client.post(reverse("admin:payments_paymentintent_change", args=[intent.pk]), {"status": "settled"})
    assert response.status_code in (302, 403, 200)
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING


def test_people_who_are_not_operators_are_sent_to_the_login(client, intent):
    client.force_login(UserFactory())
    response = client.get(reverse("admin:payments_paymentintent_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_refresh_action_takes_over_the_gateway_status(client, intent, fake_gateway):
    fake_gateway.simulate(intent.reference, "settlement")
    client.force_login(OperatorFactory())
    response = client.post(reverse("admin:payments_paymentintent_changelist"),
                           {"action": "refresh_from_gateway", "_selected_action": [intent.pk]}, follow=True)
    assert response.status_code == 200
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED
