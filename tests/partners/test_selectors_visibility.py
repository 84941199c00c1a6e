"""The one rule of what a partner sees of the event stream (partners.selectors), in Python and
in SQL: a key's scope, then the supplier or workshop the client is bound to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from okto88 import services as platform_services
from okto88.events import event_topic
from okto88.models import OutboxEvent
from partners.selectors import event_visible, outbox_events_visible_q, partner_view, topics_visible
from tests.platform.factories import ApiClientFactory, issue_api_key
from tests.suppliers.factories import SupplierApiClientFactory, SupplierFactory
from tests.workshops.factories import WorkshopFactory
from workshops.models import WorkshopApiClient

pytestmark = pytest.mark.django_db

PRICE = {"offer": 1, "part": 2, "sku": "S", "old_price": 10, "price": 12}
ORDER = {"order_id": 1, "number": "OK-1", "status": "paid", "payment_method": "terms", "grand_total": 100}
PART = {"id": 1, "brand_id": 1, "number": "P1", "number_key": "P1", "category_id": 1, "name_id": "a",
        "name_en": "a", "status": "active", "superseded_by_id": None, "version": 1, "source": "service",
        "actor_id": None}


def supplier_view(scopes):
    binding = SupplierApiClientFactory()
    issue_api_key(client=binding.api_client, scopes=scopes)
    return partner_view(api_client=binding.api_client), binding.supplier_id


def workshop_view(scopes):
    client, workshop = ApiClientFactory(), WorkshopFactory()
    WorkshopApiClient.objects.create(api_client=client, workshop=workshop)
    issue_api_key(client=client, scopes=scopes)
    return partner_view(api_client=client), workshop.pk


def test_a_supplier_sees_its_own_offers_and_not_another_suppliers():
    view, supplier = supplier_view(["stock:write"])
    other = SupplierFactory().pk
    topic = event_topic("offer.price_changed")
    assert event_visible(view=view, topic=topic, payload={**PRICE, "supplier": supplier})
    assert not event_visible(view=view, topic=topic, payload={**PRICE, "supplier": other})
    assert "order.placed" not in topics_visible(view=view)  # a workshop's topic
    assert "part.created" not in topics_visible(view=view)  # no catalog:read
    assert not any(name.startswith(("payment.", "shipment.")) for name in topics_visible(view=view))


def test_a_workshop_sees_its_own_orders_only_with_orders_read():
    view, workshop = workshop_view(["orders:read"])
    topic = event_topic("order.placed")
    assert event_visible(view=view, topic=topic, payload={**ORDER, "workshop": workshop})
    assert not event_visible(view=view, topic=topic, payload={**ORDER, "workshop": workshop + 1})
    blind, workshop = workshop_view(["catalog:read"])
    assert not event_visible(view=blind, topic=topic, payload={**ORDER, "workshop": workshop})


def test_catalog_changes_go_to_every_client_with_catalog_read_and_revoked_or_expired_keys_count_for_nothing():
    client = ApiClientFactory()
    issued = issue_api_key(client=client, scopes=["catalog:read"])
    assert "part.created" in topics_visible(view=partner_view(api_client=client))
    platform_services.api_key_revoke(api_key=issued.api_key)
    issue_api_key(client=client, scopes=["catalog:read"], expires_at=timezone.now() - timedelta(minutes=1))
    assert topics_visible(view=partner_view(api_client=client)) == []


@pytest.mark.django_db(transaction=True)
def test_the_sql_filter_selects_exactly_what_the_python_rule_allows():
    view, supplier = supplier_view(["stock:write", "catalog:read"])
    other = SupplierFactory().pk
    with transaction.atomic():
        written = platform_services.outbox_events_write(events=[
            platform_services.NewOutboxEvent(topic="offer.price_changed", aggregate_type="offer", aggregate_id=1,
                                             payload={**PRICE, "supplier": supplier}),
            platform_services.NewOutboxEvent(topic="offer.price_changed", aggregate_type="offer", aggregate_id=2,
                                             payload={**PRICE, "supplier": other}),
            platform_services.NewOutboxEvent(topic="part.created", aggregate_type="part", aggregate_id=1,
                                             payload=PART),
            platform_services.NewOutboxEvent(topic="order.placed", aggregate_type="order", aggregate_id=1,
                                             payload={**ORDER, "workshop": 1}),
        ])
    by_sql = set(OutboxEvent.objects.filter(outbox_events_visible_q(view=view)).values_list("pk", flat=True))
    by_rule = {e.pk for e in written if event_visible(view=view, topic=event_topic(e.topic), payload=e.payload)}
    assert by_sql == by_rule == {written[0].pk, written[2].pk}
    only_prices = OutboxEvent.objects.filter(outbox_events_visible_q(view=view, topics=["offer.price_changed"]))
    assert set(only_prices.values_list("pk", flat=True)) == {written[0].pk}
