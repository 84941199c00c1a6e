"""A workshop member watches a paid order: the order page follows its supplier orders by itself.
With the page open, the supplier's answer lands in the database (a supplier order accepted and
its timeline event) and the page shows it without a reload. At phone width (375 px) and on a
desktop. Statuses are set straight on the rows: this is about the page, not the workflow."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from logistics.models import Carrier, Shipment
from orders import services
from orders.models import Order, OrderLine, OrderStatus, SupplierOrder, SupplierOrderStatus
from tests.e2e.test_e2e_accounts import log_in
from tests.orders.factories import order_event_add, place
from tests.orders.ui_data import shop_make

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def paid_order(settings, fake_courier, fake_gateway):
    """A paid order of brake pads from PT Sinar Jaya Parts, waiting for the supplier's answer."""
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    fake_courier.set_faults()
    shop = shop_make()
    offer = shop.pad.offers.get(supplier__legal_name="PT Sinar Jaya Parts")
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=2)
    order = place(buyer=shop.buyer)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.IN_FULFILMENT)
    order.supplier_orders.update(status=SupplierOrderStatus.PENDING,
                                 accept_by=dt.datetime(2026, 12, 8, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta")))
    return shop, order


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_order_page_shows_the_suppliers_answer_without_a_reload(new_page, device, live_server, paid_order,
                                                                   screenshot):
    shop, order = paid_order
    page = new_page(device)
    log_in(page, live_server, shop.buyer.user.email)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/bengkel/orders/{order.number}/")
    row = page.get_by_test_id("supplier-order")
    assert "PT Sinar Jaya Parts" in row.inner_text()
    assert row.get_by_test_id("supplier-order-status").inner_text() == "Menunggu pemasok"
    assert "menunggu konfirmasi pemasok sampai 8 Des 2026, 10:00 WIB" in row.inner_text()
    assert page.evaluate(NO_SIDEWAYS), "the order page scrolls sideways"
    screenshot(page, f"order-follow-pending-{device}")
    page.evaluate("window.__notReloaded = true")

    # The supplier answers: its supplier order is accepted and the timeline says so.
    supplier_order = SupplierOrder.objects.get(order=order)
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SupplierOrderStatus.ACCEPTED)
    order_event = {"supplier_order": supplier_order.number, "supplier": "PT Sinar Jaya Parts", "refund": 0,
                   "rejected": []}
    order_event_add(order=order, kind="supplier_order_accepted", step="answer", data=order_event)

    page.get_by_test_id("supplier-order-status").filter(has_text="Diterima").wait_for(timeout=15_000)
    page.get_by_test_id("timeline").get_by_text("Pemasok menerima pesanan").wait_for(timeout=5_000)
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "PT Sinar Jaya Parts" in timeline and "answer" not in timeline
    assert "menunggu konfirmasi" not in page.get_by_test_id("supplier-order").inner_text()
    assert page.evaluate(NO_SIDEWAYS), "the order page scrolls sideways"
    screenshot(page, f"order-follow-accepted-{device}")

    # Packed in two parcels, the courier booked, one pad refunded: all of it shows up too.
    line = supplier_order.lines.get()
    OrderLine.objects.filter(pk=line.pk).update(rejected_quantity=1, rejection_reason="out_of_stock")
    shipment = Shipment.objects.create(reference=supplier_order.number, carrier=Carrier.objects.get(code="anteraja"),
                                       service_level="REG", origin={}, destination={}, weight_g=1000,
                                       waybill="ANT0000424242", status="booked")
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SupplierOrderStatus.CONFIRMED, parcel_count=2,
                                                              ready_at=timezone.now(), shipment=shipment)
    Order.objects.filter(pk=order.pk).update(refunded_total=205_350)
    page.get_by_test_id("refunded").filter(has_text="Dikembalikan Rp 205.350").wait_for(timeout=15_000)
    row = page.get_by_test_id("supplier-order")
    assert "ANT0000424242" in row.get_by_test_id("waybill").inner_text()
    assert "2 koli" in row.inner_text() and "Kurir dipesan" in row.inner_text()
    assert "1 tidak dipenuhi: Stok habis" in row.get_by_test_id("rejected-line").inner_text()
    assert row.get_by_test_id("order-again").is_visible()
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    assert page.evaluate(NO_SIDEWAYS), "the order page scrolls sideways"
    screenshot(page, f"order-follow-shipped-{device}")

    # The orders list finds it by a part's number.
    page.goto(f"{live_server.url}/bengkel/orders/")
    page.get_by_label("Nomor pesanan atau part (nomor, nama, SKU)").fill("db1234")
    page.get_by_role("button", name="Cari").click()
    page.wait_for_url(re.compile(r"q=db1234"))
    assert page.locator(".results .result").count() == 1 and order.number in page.locator(".results").inner_text()
    assert page.evaluate(NO_SIDEWAYS), "the orders list scrolls sideways"
    screenshot(page, f"order-list-search-{device}")
