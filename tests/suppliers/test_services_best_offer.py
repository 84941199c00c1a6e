"""The PartBestOffer read model: every service that changes offers, stock, warehouses or
suppliers leaves each part's row equal to a from-scratch rebuild, also under concurrency."""

from __future__ import annotations

import threading

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection, transaction
from django.test import Client

from suppliers import selectors, services
from suppliers.models import Offer, PartBestOffer, Supplier, SupplierStatus
from tests.catalog.factories import PartFactory
from tests.platform.factories import OperatorFactory
from tests.suppliers.factories import OfferFactory, StockFactory, WarehouseFactory

FIELDS = ("part_id", "offer_id", "supplier_id", "price", "lead_time_days", "available", "total_available",
          "supplier_count")


def rows() -> set[tuple]:
    return {row for row in PartBestOffer.objects.values_list(*FIELDS) if row[-1] > 0}


def assert_equals_rebuild() -> None:
    maintained = rows()
    with transaction.atomic():
        services.part_best_offer_rebuild()
        rebuilt = rows()
        transaction.set_rollback(True)
    assert maintained == rebuilt


@pytest.mark.django_db
def test_every_kind_of_change_keeps_the_best_offer_current():
    part = PartFactory()
    cheap = OfferFactory(part=part, price=90_000, lead_time_days=3)
    cheap_stock = StockFactory(offer=cheap, on_hand=2)
    dear = OfferFactory(part=part, price=120_000)
    dear_stock = StockFactory(offer=dear, on_hand=5)
    best = selectors.part_best_offers(part_ids=[part.pk])[part.pk]
    assert (best["offer_id"], best["available"], best["total_available"], best["supplier_count"]) == (
        cheap.pk, 2, 7, 2)

    # The last units of the cheap offer are reserved: the dearer one in stock comes first.
    services.stock_reserve(lines=[(cheap_stock.pk, 2)], reference="order")
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["offer_id"] == dear.pk
    assert_equals_rebuild()
    services.stock_release(lines=[(cheap_stock.pk, 2)], reference="order")
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["offer_id"] == cheap.pk

    services.offer_update(offer=dear, data={"price": 80_000})
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["price"] == 80_000
    services.offer_bulk_set_active(supplier=None, offer_ids=[dear.pk], active=False)
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["offer_id"] == cheap.pk
    services.offer_bulk_change_price(supplier=None, offer_ids=[cheap.pk], percent=10)
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["price"] == 99_000
    services.warehouse_update(warehouse=cheap_stock.warehouse, data={"is_active": False})
    best = selectors.part_best_offers(part_ids=[part.pk])[part.pk]
    assert (best["offer_id"], best["available"], best["total_available"]) == (cheap.pk, 0, 0)
    services.stock_adjust(stock=dear_stock, delta=-5)
    services.offer_bulk_set_active(supplier=None, offer_ids=[dear.pk], active=True)
    assert_equals_rebuild()

    # An offer moved to another part leaves the old part's row and counts on the new one.
    other = PartFactory()
    services.offer_update(offer=cheap, data={"part": other})
    assert selectors.part_best_offers(part_ids=[other.pk])[other.pk]["offer_id"] == cheap.pk
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["supplier_count"] == 1
    services.supplier_update(supplier=dear.supplier, data={"status": SupplierStatus.SUSPENDED})
    assert part.pk not in selectors.part_best_offers(part_ids=[part.pk])
    assert_equals_rebuild()


@pytest.mark.django_db
def test_bulk_stock_and_new_offers_refresh_their_parts():
    warehouse = WarehouseFactory()
    offers = [services.offer_create(supplier=warehouse.supplier, part=PartFactory(), sku=f"S{i}", price=1000 + i)
              for i in range(3)]
    for offer in offers:
        services.stock_ensure(offer=offer, warehouse=warehouse)
    services.stock_bulk_set(supplier=warehouse.supplier,
                            rows=[{"sku": o.sku, "warehouse": warehouse.code, "on_hand": 4} for o in offers])
    best = selectors.part_best_offers(part_ids=[o.part_id for o in offers])
    assert {b["total_available"] for b in best.values()} == {4} and len(best) == 3
    assert_equals_rebuild()


@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_of_one_parts_offers_leave_it_current():
    """Reservations on two suppliers' offers of one part, at the same time: whichever commits
    last computed after the other's commit, so the row equals a rebuild."""
    part = PartFactory()
    stocks = [StockFactory(offer=OfferFactory(part=part, price=100_000 + i), on_hand=20) for i in range(2)]
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def reserve(stock_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(3):
                services.stock_reserve(lines=[(stock_id, 1)], reference="race")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve, args=(stocks[i % 2].pk,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    best = selectors.part_best_offers(part_ids=[part.pk])[part.pk]
    assert best["total_available"] == 40 - 24 and best["supplier_count"] == 2
    assert_equals_rebuild()


@pytest.mark.django_db
def test_an_admin_form_that_already_set_the_status_still_refreshes():
    """Django admin sets the form's values on the object before save_model calls the service:
    the change is detected against the row, not the object."""
    stock = StockFactory(on_hand=3)
    part_id, supplier, warehouse = stock.offer.part_id, stock.offer.supplier, stock.warehouse
    warehouse.is_active = False
    services.warehouse_update(warehouse=warehouse, data={"is_active": False})
    assert selectors.part_best_offers(part_ids=[part_id])[part_id]["available"] == 0
    supplier.status = SupplierStatus.SUSPENDED
    services.supplier_update(supplier=supplier, data={"status": SupplierStatus.SUSPENDED})
    assert selectors.part_best_offers(part_ids=[part_id]) == {}
    assert_equals_rebuild()


@pytest.mark.django_db
def test_deleting_offers_and_suppliers_in_admin_refreshes_the_best_offer():
    part = PartFactory()
    cheap, dear, third = (OfferFactory(part=part, price=price) for price in (50_000, 70_000, 90_000))
    StockFactory(offer=third, on_hand=1)  # its ledger protects it from deletion
    operator = Client()
    operator.force_login(OperatorFactory())
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["offer_id"] == third.pk  # in stock first

    response = operator.post(f"/admin/suppliers/offer/{cheap.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Offer.objects.filter(pk=cheap.pk).exists()
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["supplier_count"] == 2
    assert_equals_rebuild()

    response = operator.post("/admin/suppliers/offer/", {"action": "delete_selected", "post": "yes",
                                                          ACTION_CHECKBOX_NAME: [dear.pk]})
    assert response.status_code == 302 and not Offer.objects.filter(pk=dear.pk).exists()
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["supplier_count"] == 1
    assert_equals_rebuild()

    other = OfferFactory(part=part, price=10_000)
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["supplier_count"] == 2
    response = operator.post(f"/admin/suppliers/supplier/{other.supplier_id}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Supplier.objects.filter(pk=other.supplier_id).exists()
    best = selectors.part_best_offers(part_ids=[part.pk])[part.pk]
    assert (best["offer_id"], best["supplier_count"]) == (third.pk, 1)
    assert_equals_rebuild()


@pytest.mark.django_db
def test_the_migration_to_one_ranking_rebuilds_what_the_services_keep():
    import importlib

    rebuild_sql = importlib.import_module("suppliers.migrations.0007_best_offer_one_ranking").REBUILD_SQL
    part = PartFactory()
    for lead_time_days, on_hand in ((3, 9), (1, 2), (1, 5)):  # ties on price: lead time, then stock decide
        StockFactory(offer=OfferFactory(part=part, price=50_000, lead_time_days=lead_time_days), on_hand=on_hand)
    maintained = rows()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE suppliers_partbestoffer SET offer_id = NULL")  # as a stale database might be
        cursor.execute(rebuild_sql)
    assert rows() == maintained
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["offer_id"] == selectors.part_offers(
        part_id=part.pk)[0].offer_id
