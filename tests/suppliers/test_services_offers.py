"""Suppliers, warehouses and offers: NPWP, areas, prices and their events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from okto88.errors import UnknownArea
from okto88.models import OutboxEvent
from suppliers import services
from suppliers.errors import DuplicateSku, InvalidNpwp, InvalidPercent, InvalidPrice
from tests.catalog.factories import PartFactory
from tests.suppliers.factories import OfferFactory, SupplierFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("npwp", ["02.345.678.9-012.000", "023456789012000", "0023456789012000",
                                  " 02 345 678 9 012 000 "])
def test_supplier_create_accepts_15_and_16_digit_npwp_and_stores_16_digits(npwp):
    supplier = services.supplier_create(legal_name="PT Contoh", npwp=npwp)
    assert supplier.npwp == "0023456789012000"


@pytest.mark.parametrize("npwp", ["12345", "02.345.678.9-012.00X", "3171012345678901", ""])
def test_supplier_create_refuses_an_invalid_npwp(npwp):
    with pytest.raises(InvalidNpwp) as exc:
        services.supplier_create(legal_name="PT Contoh", npwp=npwp)
    assert exc.value.code == "invalid_npwp"


def test_warehouse_create_stores_the_official_area_and_code():
    warehouse = services.warehouse_create(
        supplier=SupplierFactory(), code="sby1", name="Gudang", province="Jawa Timur", city="Surabaya",
        district="genteng", postal_code="60275")
    assert (warehouse.code, warehouse.province, warehouse.city, warehouse.district, warehouse.region_code) == (
        "SBY1", "Jawa Timur", "Kota Surabaya", "Genteng", "35.78.07")


@pytest.mark.parametrize(("field", "area"), [
    ("province", {"province": "Atlantis"}),
    ("city", {"city": "Kota Bandung"}),  # not in Jawa Timur
    ("district", {"district": "Coblong"}),
    ("postal_code", {"postal_code": "12110"}),
    ("postal_code", {"postal_code": "6027"}),
])
def test_warehouse_area_errors_name_the_field(field, area):
    data = {"province": "Jawa Timur", "city": "Kota Surabaya", "district": "Genteng", "postal_code": "60275", **area}
    with pytest.raises(UnknownArea) as exc:
        services.warehouse_create(supplier=SupplierFactory(), code="X", name="X", **data)
    assert exc.value.code == "unknown_area" and exc.value.extra["field"] == field


def test_warehouse_update_revalidates_the_area():
    warehouse = WarehouseFactory()
    with pytest.raises(UnknownArea):
        services.warehouse_update(warehouse=warehouse, data={"postal_code": "60275"})
    services.warehouse_update(warehouse=warehouse, data={"city": "Jakarta Pusat", "district": "Gambir",
                                                         "postal_code": "10110"})
    warehouse.refresh_from_db()
    assert warehouse.region_code == "31.71.01"


@pytest.mark.parametrize("price", [0, -5, 10.5, "100", True, None])
def test_offer_price_is_a_positive_integer(price):
    with pytest.raises(InvalidPrice):
        services.offer_create(supplier=SupplierFactory(), part=PartFactory(), sku="A", price=price)


def test_offer_create_refuses_a_duplicate_sku():
    offer = OfferFactory()
    with pytest.raises(DuplicateSku):
        services.offer_create(supplier=offer.supplier, part=PartFactory(), sku=offer.sku, price=1000)


def test_offer_update_writes_price_changed_only_when_the_price_changes():
    offer = OfferFactory(price=10_000)
    services.offer_update(offer=offer, data={"price": 10_000, "lead_time_days": 5})
    assert not OutboxEvent.objects.filter(topic="offer.price_changed").exists()
    services.offer_update(offer=offer, data={"price": 12_500})
    event = OutboxEvent.objects.get(topic="offer.price_changed")
    assert event.payload["old_price"] == 10_000 and event.payload["price"] == 12_500


@pytest.mark.parametrize(("price", "percent", "expected"), [
    (12_345, 10, 13_580),  # 13,579.5 → half up
    (10_000, "-2.5", 9_750),
    (999, Decimal("-33.35"), 666),  # 665.8335
    (1, -50, 1),  # 0.5 → 1, never below Rp 1
    (3, "-90", 1),  # 0.3 → 0 → floor of Rp 1
    (15, "10", 17),  # 16.5 → 17 (not banker's 16)
])
def test_price_change_by_percent_rounds_half_up_and_never_below_1(price, percent, expected):
    assert services.price_change_by_percent(price=price, percent=percent) == expected


def test_bulk_price_change_is_scoped_and_writes_one_event_per_changed_offer():
    a = OfferFactory(price=12_345)
    same = OfferFactory(supplier=a.supplier, price=1)  # 1 − 10 % stays Rp 1: unchanged
    foreign = OfferFactory(price=50_000)
    changed = services.offer_bulk_change_price(supplier=a.supplier, offer_ids=[a.pk, same.pk, foreign.pk],
                                               percent=-10)
    assert changed == 1
    a.refresh_from_db(), foreign.refresh_from_db(), same.refresh_from_db()
    assert (a.price, same.price, foreign.price) == (11_111, 1, 50_000)  # 11,110.5 → 11,111
    assert list(OutboxEvent.objects.filter(topic="offer.price_changed").values_list("aggregate_id", flat=True)) == [
        str(a.pk)]


@pytest.mark.parametrize("percent", ["-100", "abc", "1001", "NaN"])
def test_bulk_price_change_refuses_a_bad_percentage(percent):
    offer = OfferFactory()
    with pytest.raises(InvalidPercent):
        services.offer_bulk_change_price(supplier=offer.supplier, offer_ids=[offer.pk], percent=percent)


def test_bulk_set_active_is_scoped():
    a = OfferFactory()
    foreign = OfferFactory()
    assert services.offer_bulk_set_active(supplier=a.supplier, offer_ids=[a.pk, foreign.pk], active=False) == 1
    a.refresh_from_db(), foreign.refresh_from_db()
    assert (a.is_active, foreign.is_active) == (False, True)
