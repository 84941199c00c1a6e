"""A prepaid order and the gateway's notifications: a relabelled one does not pay the order."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from okto88.models import OutboxEvent
from orders import services
from orders.models import OrderStatus
from payments.fake_gateway import notification_body
from payments.models import PaymentEvent, PaymentStatus
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/notifications/"


def test_a_pending_notification_relabelled_settlement_does_not_pay_the_order(fake_gateway):
    carriers_ensure()
    buyer = buyer_make()
    offer, _ = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    order = place(buyer=buyer, payment_method="virtual_account")
    transaction = fake_gateway.state()["transactions"][order.number]
    # The gateway's own pending notification for this order, as it signs it...
    genuine = json.loads(notification_body(
        order_id=order.number, transaction_status="pending", gross_amount=order.grand_total,
        server_key=settings.PAYMENT_GATEWAY_SERVER_KEY, transaction_id=transaction["transaction_id"]))
    # ...relabelled: the signature does not cover transaction_status or transaction_id.
    forged = {**genuine, "transaction_status": "settlement", "transaction_id": "f0f0f0f0-new-id"}

    response = APIClient().post(URL, data=json.dumps(forged).encode(), content_type="application/json")

    assert response.status_code == 400 and response.json()["code"] == "notification_status_mismatch"
    order.refresh_from_db()
    order.payment_intent.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.payment_intent.status == PaymentStatus.PENDING
    assert not OutboxEvent.objects.filter(topic="payment.settled").exists()
    assert PaymentEvent.objects.get(reference=order.number).outcome.startswith("refused:")
