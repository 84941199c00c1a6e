"""Demo suppliers: idempotent, deterministic, areas and ledger as the services make them."""

from __future__ import annotations

import pytest
from django.db.models import Count, F, Sum

from catalog import demo as catalog_demo
from suppliers import demo
from suppliers.models import Offer, Stock, Supplier, SupplierMember, Warehouse
from vehicles import demo as vehicles_demo

pytestmark = pytest.mark.django_db


def test_demo_loads_suppliers_offers_and_ledger_stock_once():
    vehicles_demo.demo_load()
    catalog_demo.demo_load()
    lines = demo.demo_load()
    first = (Supplier.objects.count(), Warehouse.objects.count(), Offer.objects.count(), Stock.objects.count(),
             sorted(Offer.objects.values_list("sku", "price")))
    assert demo.demo_load() == lines  # idempotent
    assert (Supplier.objects.count(), Warehouse.objects.count(), Offer.objects.count(), Stock.objects.count(),
            sorted(Offer.objects.values_list("sku", "price"))) == first
    assert first[0] == 9 and first[2] > 1000 and "supplier@okto88.id" in lines[0]
    assert SupplierMember.objects.get(user__email="supplier@okto88.id").supplier.legal_name == (
        "PT Sinar Jaya Motor Parts")
    assert set(Warehouse.objects.values_list("region_code", flat=True)) >= {"31.74.07", "35.78.07", "51.71.01"}
    per_part = Offer.objects.values("part").annotate(n=Count("pk")).values_list("n", flat=True)
    assert max(per_part) <= 5
    assert Stock.objects.filter(on_hand=0).exists() and Stock.objects.filter(on_hand__gt=0).exists()
    # on_hand equals the ledger for every row
    mismatched = Stock.objects.annotate(ledger=Sum("movements__on_hand_delta")).exclude(on_hand=0).exclude(
        ledger=F("on_hand"))
    assert not mismatched.exists()
