"""The demo supplier's ERP gets a webhook endpoint at the fake receiver, once, and a price change
of that supplier is fanned out to it (what a newcomer sees after `make run`)."""

from __future__ import annotations

import pytest
from django.db import transaction

from catalog import demo as catalog_demo
from okto88 import demo as platform_demo
from okto88.models import OutboxEvent
from partners import demo
from partners.models import WebhookDelivery, WebhookEndpoint
from partners.services import deliveries
from suppliers import demo as suppliers_demo
from suppliers import services as supplier_services
from suppliers.models import Offer, SupplierMember
from tests.partners.deliveries_support import webhook_settings_apply
from vehicles import demo as vehicles_demo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    webhook_settings_apply(settings)  # no endpoints cached from another test


def test_the_demo_endpoint_is_made_once_and_receives_its_suppliers_price_changes(settings):
    settings.WEBHOOK_FAKE_RECEIVER_URL = "http://127.0.0.1:8403"
    platform_demo.demo_load()
    vehicles_demo.demo_load()
    catalog_demo.demo_load()
    suppliers_demo.demo_load()
    (line,) = demo.demo_load()
    assert "http://127.0.0.1:8403/_received/demo-erp" in line
    demo.demo_load()
    (endpoint,) = WebhookEndpoint.objects.all()
    assert endpoint.url == "http://127.0.0.1:8403/hooks/demo-erp" and endpoint.secrets.count() == 1
    supplier_id = SupplierMember.objects.get(user__email=platform_demo.DEMO_LOGINS["supplier"]).supplier_id
    own = Offer.objects.filter(supplier_id=supplier_id).order_by("pk").first()
    other = Offer.objects.exclude(supplier_id=supplier_id).order_by("pk").first()
    with transaction.atomic():
        for offer in (own, other):
            supplier_services.offer_update(offer=offer, data={"price": offer.price + 500})
    ids = list(OutboxEvent.objects.filter(topic="offer.price_changed").values_list("pk", flat=True))
    assert deliveries.webhooks_fanout(event_ids=ids) == 1
    assert WebhookDelivery.objects.get().event.payload["offer"] == own.pk
