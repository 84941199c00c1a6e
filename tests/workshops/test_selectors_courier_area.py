"""The courier's area of an address, a warehouse and an order's address snapshot is one function
(okto88.areas.courier_area), so a checkout quote and the booking after it name the same area."""

from __future__ import annotations

import pytest

from okto88.areas import COURIER_AREA_FIELDS, courier_area
from orders.selectors import offer_stock_rows
from tests.suppliers.factories import StockFactory
from tests.workshops.factories import AddressFactory
from workshops.selectors import address_snapshot

pytestmark = pytest.mark.django_db


def test_an_address_and_its_snapshot_have_one_courier_area():
    address = AddressFactory()
    area = courier_area(place=address)
    assert area == {"province": "Jawa Barat", "city": "Kota Bekasi", "district": "Bekasi Selatan",
                    "postal_code": "17148"}
    snapshot = address_snapshot(address=address)
    assert courier_area(place=snapshot) == area
    assert courier_area(place={"city": "Kota Bekasi"}) == {"province": "", "city": "Kota Bekasi", "district": "",
                                                            "postal_code": ""}


def test_a_warehouse_quotes_from_the_area_it_books_from():
    stock = StockFactory(on_hand=3)
    (row,) = offer_stock_rows(offer_ids=[stock.offer_id])[stock.offer_id]
    assert row.warehouse_area == courier_area(place=stock.warehouse)
    assert tuple(row.warehouse_area) == COURIER_AREA_FIELDS
    assert row.warehouse_area["district"] == "Kebayoran Baru"
