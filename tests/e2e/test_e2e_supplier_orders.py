"""A supplier member answers a pending supplier order in the supplier admin, in the browser, on
a phone (375 px) and on a desktop (1280 px): the list shows the time left, the order page takes
an answer with one line partly rejected, and the page then offers "ready to ship". No page-wide
sideways scroll (a table may scroll inside its own box)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services
from orders.models import Order, OrderStatus, SupplierOrder, SupplierOrderStatus
from tests.e2e.test_e2e_ops import WIDER
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place
from tests.suppliers.factories import StockFactory, SupplierFactory, SupplierMemberFactory, WarehouseFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-Passw0rd"  # tests.platform.factories.UserFactory's


@pytest.fixture
def pending(settings, fake_courier, fake_gateway):
    """A paid order in fulfilment whose supplier order (two lines) waits for its supplier's answer."""
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{fake_gateway.url}/_sink"
    carriers_ensure()
    buyer = buyer_make()
    supplier = SupplierFactory(legal_name="PT Sparepart Nusantara")
    warehouse = WarehouseFactory(supplier=supplier)
    for quantity, price, name in ((4, 1_250_000, "Kampas rem depan"), (2, 87_500, "Filter oli")):
        offer, _ = offer_in_stock(on_hand=20, price=price, supplier=supplier, warehouse=warehouse)
        offer.part.name_id = name
        offer.part.save(update_fields=["name_id"])
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
    order = place(buyer=buyer)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.IN_FULFILMENT)
    supplier_order = SupplierOrder.objects.get(order=order)
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(
        status=SupplierOrderStatus.PENDING, accept_by=timezone.now() + timedelta(hours=3, minutes=20, seconds=30))
    return supplier_order, SupplierMemberFactory(supplier=supplier).user


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, (width, page.evaluate(WIDER))


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_a_member_accepts_a_supplier_order_with_one_line_partly_rejected(new_page, live_server, screenshot,
                                                                         pending, device):
    supplier_order, member = pending
    page = new_page(device)
    page.goto(f"{live_server.url}/supplier-admin/login/")
    page.fill("input[name=username]", member.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/supplier-admin/orders/supplierorder/")
    page.get_by_text("3 jam 20 menit lagi").wait_for()
    assert page.get_by_text("Rp 5.175.000").first.is_visible() or device == "phone"  # 4 × 1.250.000 + 2 × 87.500
    screenshot(page, f"supplier-orders-list-{device}")
    no_sideways_scroll(page)

    page.get_by_role("link", name=supplier_order.number).click()
    page.get_by_role("heading", name="Jawab pesanan pemasok ini").wait_for()
    first, second = supplier_order.lines.order_by("pk")
    assert page.input_value(f"#id_accept_{first.pk}") == "4" and page.input_value(f"#id_accept_{second.pk}") == "2"
    no_sideways_scroll(page)
    page.fill(f"#id_accept_{first.pk}", "3")
    page.select_option(f"#id_reason_{first.pk}", "out_of_stock")
    screenshot(page, f"supplier-order-answer-{device}")
    page.get_by_role("button", name="Kirim jawaban").click()

    page.get_by_text(f"Pesanan pemasok {supplier_order.number} diterima; 1 unit tidak diterima.").wait_for()
    page.get_by_role("heading", name="Siap dikirim").wait_for()
    no_sideways_scroll(page)
    screenshot(page, f"supplier-order-accepted-{device}")
    supplier_order.refresh_from_db()
    first.refresh_from_db()
    assert supplier_order.status == SupplierOrderStatus.ACCEPTED
    assert (first.rejected_quantity, first.rejection_reason) == (1, "out_of_stock")
    assert page.input_value("#id_weight_g") == str(supplier_order.weight_g)


@pytest.fixture
def offers():
    """A member's offers with stock in two warehouses."""
    supplier = SupplierFactory()
    north = WarehouseFactory(supplier=supplier, code="UTARA")
    south = WarehouseFactory(supplier=supplier, code="SELATAN")
    offer, _ = offer_in_stock(on_hand=1_200, price=1_250_000, supplier=supplier, warehouse=north)
    StockFactory(offer=offer, warehouse=south, on_hand=30)
    offer_in_stock(on_hand=8, price=87_500, supplier=supplier, warehouse=south)
    return offer, SupplierMemberFactory(supplier=supplier).user


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_a_member_reads_stock_and_previews_a_price_change(new_page, live_server, screenshot, offers, device):
    offer, member = offers
    page = new_page(device)
    page.goto(f"{live_server.url}/supplier-admin/login/")
    page.fill("input[name=username]", member.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/supplier-admin/suppliers/offer/")
    page.get_by_text("1.230").first.wait_for()  # available over both warehouses
    screenshot(page, f"supplier-offers-{device}")
    no_sideways_scroll(page)
    page.goto(f"{live_server.url}/supplier-admin/suppliers/offer/{offer.pk}/change/")
    page.get_by_text("UTARA").first.wait_for()
    screenshot(page, f"supplier-offer-{device}")
    no_sideways_scroll(page)

    page.goto(f"{live_server.url}/supplier-admin/suppliers/offer/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "change_prices")
    page.click("button[name=index]")  # the admin's "Go"
    page.fill("input[name=percent]", "10")
    page.get_by_role("button", name="Pratinjau harga baru").click()
    page.get_by_text("Rp 1.375.000").wait_for()
    no_sideways_scroll(page)
    screenshot(page, f"supplier-price-preview-{device}")
    offer.refresh_from_db()
    assert offer.price == 1_250_000  # a preview changes nothing
    page.get_by_role("button", name="Terapkan harga baru").click()
    page.get_by_text("Harga").first.wait_for()
    offer.refresh_from_db()
    assert offer.price == 1_375_000
