"""The workshop follows its order after payment: the order page shows each supplier's part of it
(status, answer deadline, rejected lines, parcels, waybill, refund) and a timeline without
internal names, and keeps itself current by polling; rejected parts are ordered again from
another supplier in one tap, a whole order again in one; the orders list searches and filters.

Statuses are set straight on the rows: these tests are about the pages, not the workflow."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from logistics.models import Carrier, Shipment
from orders import services
from orders.models import CartLine, Order, OrderLine, OrderStatus, StepRun, SupplierOrder, SupplierOrderStatus
from suppliers.models import Offer, Stock
from tests.orders.factories import buyer_make, offer_in_stock, order_event_add, order_row_make, place
from tests.orders.ui_data import shop_make

pytestmark = pytest.mark.django_db
JAKARTA = ZoneInfo("Asia/Jakarta")
SO = SupplierOrderStatus


@pytest.fixture
def shop():
    return shop_make()


@pytest.fixture
def member_client(client, shop):
    client.force_login(shop.buyer.user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def pad_offer(shop, supplier_name: str) -> Offer:
    return shop.pad.offers.get(supplier__legal_name=supplier_name)


def order_two_suppliers(shop) -> Order:
    """Two brake pads and a filter from PT Sinar Jaya Parts, one part from another supplier."""
    workshop = shop.buyer.workshop
    services.cart_line_add(workshop=workshop, offer_id=pad_offer(shop, "PT Sinar Jaya Parts").pk, quantity=2)
    services.cart_line_add(workshop=workshop, offer_id=shop.parts[1].offers.get().pk, quantity=1)
    other, _stock = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=workshop, offer_id=other.pk, quantity=1)
    order = place(buyer=shop.buyer)
    workshop.cart.lines.all().delete()
    return order


def sinar_and_other(order) -> tuple[SupplierOrder, SupplierOrder]:
    sinar = order.supplier_orders.get(supplier__legal_name="PT Sinar Jaya Parts")
    return sinar, order.supplier_orders.exclude(pk=sinar.pk).get()


def reject_pads(order, sinar: SupplierOrder, quantity: int = 2) -> OrderLine:
    pads = sinar.lines.get(part_number="DB1234")
    OrderLine.objects.filter(pk=pads.pk).update(rejected_quantity=quantity, rejection_reason="out_of_stock")
    SupplierOrder.objects.filter(pk=sinar.pk).update(status=SO.ACCEPTED, decided_at=timezone.now())
    order_event_add(order=order, kind="supplier_order_partly_accepted", step="answer", data={
        "supplier_order": sinar.number, "supplier": "PT Sinar Jaya Parts", "refund": 370_000,
        "rejected": [{"sku": pads.sku, "name": pads.name, "quantity": quantity, "reason": "out_of_stock",
                      "offer": pads.offer_id}]})
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.IN_FULFILMENT, refunded_total=410_700)
    pads.refresh_from_db()
    return pads


def live_version(html: str) -> str:
    match = re.search(r'hx-get="[^"]*/live/\?v=([0-9a-f]+)"', html)
    assert match, "the order page does not poll"
    return match.group(1)


def test_the_order_page_shows_each_supplier_its_rejected_lines_and_refund_and_no_internal_names(member_client, shop):
    order = order_two_suppliers(shop)
    sinar, other = sinar_and_other(order)
    reject_pads(order, sinar)
    accept_by = dt.datetime(2026, 12, 8, 10, 0, tzinfo=JAKARTA)
    SupplierOrder.objects.filter(pk=other.pk).update(accept_by=accept_by)
    # The workflow's own names must not reach the workshop: a titled step, an untitled one, an unknown event.
    now = timezone.now()
    StepRun.objects.create(order=order, supplier_order=sinar, step="commit_stock", attempt=1, status="succeeded",
                           started_at=now, finished_at=now, error="psycopg.OperationalError: boom")
    StepRun.objects.create(order=order, supplier_order=other, step="secret_internal_step", attempt=2,
                           status="failed", started_at=now, finished_at=now)
    order_event_add(order=order, kind="some_new_internal_kind", step="answer", data={"supplier_order": other.number})
    order_event_add(order=order, kind="shipment_booked", step="book_courier",
                    data={"supplier_order": sinar.number, "waybill": "JNE000123"})

    page = member_client.get(reverse("orders:detail", args=[order.number]))

    html = page.content.decode()
    assert "PT Sinar Jaya Parts" in html and other.supplier.legal_name in html
    assert "Pemasok menerima sebagian pesanan" in html  # the event's title, in Indonesian
    assert "Tidak dipenuhi: 2 × " in html and "(Stok habis)" in html and "dana kembali Rp 370.000" in html
    assert "2 tidak dipenuhi: Stok habis" in html  # the rejected line, with quantity and reason
    assert "Pesan lagi dari pemasok lain" in html
    assert "menunggu konfirmasi pemasok sampai 8 Des 2026, 10:00 WIB" in html
    assert "Dikembalikan Rp 410.700" in html
    assert "Ditolak pemasok" not in html  # accepted in part, not rejected
    timeline = html[html.index('data-testid="timeline"'):]
    timeline = timeline[:timeline.index("</ol>")]
    # Every supplier-order entry names its supplier, from the event or from its supplier order.
    assert timeline.count("PT Sinar Jaya Parts") >= 3 and other.supplier.legal_name in timeline
    assert "Ambil part dari stok" in timeline and "Diproses" in timeline and "Pesanan diperbarui" in timeline
    for internal in ("answer", "book_courier", "commit_stock", "secret_internal_step", "some_new_internal_kind",
                     "supplier_order_partly_accepted", "OperationalError"):
        assert internal not in html, internal
    assert 'hx-trigger="every 5s"' in html and live_version(html)


def test_the_order_page_in_english(member_client, shop):
    order = order_two_suppliers(shop)
    sinar, _other = sinar_and_other(order)
    reject_pads(order, sinar)
    member_client.cookies["django_language"] = "en"
    html = member_client.get(reverse("orders:detail", args=[order.number]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Supplier accepted part of the order" in html and "Refunded Rp 410.700" in html
    assert "Order again from another supplier" in html and "Re-order" in html


def test_the_page_polls_answers_204_while_nothing_changed_and_stops_when_the_order_ends(member_client, shop):
    order = order_two_suppliers(shop)
    sinar, _other = sinar_and_other(order)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.IN_FULFILMENT)
    live_url = reverse("orders:live", args=[order.number])
    version = live_version(member_client.get(reverse("orders:detail", args=[order.number])).content.decode())

    assert member_client.get(live_url, {"v": version}, HTTP_HX_REQUEST="true").status_code == 204

    # The supplier accepts and packs two parcels; the courier is booked.
    carrier = Carrier.objects.get(code="jne")
    shipment = Shipment.objects.create(reference=sinar.number, carrier=carrier, service_level="REG", origin={},
                                       destination={}, weight_g=1000, waybill="JNE4242", status="booked")
    SupplierOrder.objects.filter(pk=sinar.pk).update(status=SO.CONFIRMED, ready_at=timezone.now(), parcel_count=2,
                                                     shipment=shipment)
    order_event_add(order=order, kind="supplier_order_accepted", step="answer",
                    data={"supplier_order": sinar.number, "supplier": "PT Sinar Jaya Parts", "refund": 0,
                          "rejected": []})
    changed = member_client.get(live_url, {"v": version}, HTTP_HX_REQUEST="true")
    html = changed.content.decode()
    assert changed.status_code == 200 and 'id="order-live"' in html
    assert "Pemasok menerima pesanan" in html and "Kurir dipesan" in html and "2 koli" in html
    assert "JNE4242" in html and live_version(html) != version

    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)
    ended = member_client.get(live_url, {"v": live_version(html)}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="order-live"' in ended and "hx-trigger" not in ended


def test_another_workshop_gets_404_on_the_order_its_poll_reorder_and_order_again(client, shop):
    order = order_two_suppliers(shop)
    sinar, _other = sinar_and_other(order)
    pads = reject_pads(order, sinar)
    stranger = buyer_make()
    client.force_login(stranger.user)
    assert client.get(reverse("orders:detail", args=[order.number])).status_code == 404
    assert client.get(reverse("orders:live", args=[order.number])).status_code == 404
    assert client.post(reverse("orders:reorder", args=[order.number])).status_code == 404
    assert client.post(reverse("orders:line_order_again", args=[order.number, pads.pk])).status_code == 404
    # Their own order's number with this line's id is no way in either.
    services.cart_line_add(workshop=stranger.workshop, offer_id=offer_in_stock()[0].pk, quantity=1)
    own = place(buyer=stranger)
    assert client.post(reverse("orders:line_order_again", args=[own.number, pads.pk])).status_code == 404
    assert not CartLine.objects.filter(cart__workshop=stranger.workshop).exists()
    # Writes need the CSRF token, as every form of the workshop pages.
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(shop.buyer.user)
    assert guarded.post(reverse("orders:reorder", args=[order.number])).status_code == 403
    assert guarded.post(reverse("orders:line_order_again", args=[order.number, pads.pk])).status_code == 403
    assert not CartLine.objects.filter(cart__workshop=shop.buyer.workshop).exists()


def test_a_rejected_line_is_ordered_again_from_the_next_best_other_supplier(member_client, shop):
    order = order_two_suppliers(shop)
    sinar, _other = sinar_and_other(order)
    pads = reject_pads(order, sinar)

    response = member_client.post(reverse("orders:line_order_again", args=[order.number, pads.pk]), follow=True)

    line = CartLine.objects.get(cart__workshop=shop.buyer.workshop)
    assert line.offer == pad_offer(shop, "PT Maju Motor") and line.quantity == 2
    assert f"Ditambahkan ke keranjang: 2 × {pads.name} dari PT Maju Motor." in messages_of(response)


def test_order_again_says_so_when_no_other_supplier_has_stock(member_client, shop):
    order = order_two_suppliers(shop)
    sinar, _other = sinar_and_other(order)
    reject_pads(order, sinar)
    Stock.objects.filter(offer=pad_offer(shop, "PT Maju Motor")).update(on_hand=1)  # 1 < the 2 rejected
    filter_line = sinar.lines.exclude(part_number="DB1234").get()
    OrderLine.objects.filter(pk=filter_line.pk).update(rejected_quantity=1, rejection_reason="discontinued")
    pads = sinar.lines.get(part_number="DB1234")

    for line in (pads, filter_line):
        response = member_client.post(reverse("orders:line_order_again", args=[order.number, line.pk]), follow=True)
        assert f"Saat ini tidak ada pemasok lain yang punya stok {line.name}." in messages_of(response)
    accepted = order.supplier_orders.exclude(pk=sinar.pk).get().lines.get()
    response = member_client.post(reverse("orders:line_order_again", args=[order.number, accepted.pk]), follow=True)
    assert "Pemasok tidak menolak baris ini: tidak ada yang perlu dipesan lagi." in messages_of(response)
    assert not CartLine.objects.filter(cart__workshop=shop.buyer.workshop).exists()


def test_reorder_puts_every_line_back_from_the_same_offer_or_the_next_best_and_names_the_rest(member_client, shop):
    order = order_two_suppliers(shop)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)
    sinar_pad = pad_offer(shop, "PT Sinar Jaya Parts")
    Offer.objects.filter(pk=sinar_pad.pk).update(is_active=False)  # no longer sold: the other supplier's pad
    filter_offer = shop.parts[1].offers.get()
    Stock.objects.filter(offer=filter_offer).update(on_hand=0, reserved=0)  # no offer anywhere
    other_line = order.supplier_orders.exclude(supplier__legal_name="PT Sinar Jaya Parts").get().lines.get()
    filter_line = OrderLine.objects.get(supplier_order__order=order, offer=filter_offer)

    response = member_client.post(reverse("orders:reorder", args=[order.number]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("orders:cart")
    in_cart = {line.offer_id: line.quantity for line in CartLine.objects.filter(cart__workshop=shop.buyer.workshop)}
    assert in_cart == {pad_offer(shop, "PT Maju Motor").pk: 2, other_line.offer_id: 1}
    shown = messages_of(response)
    assert f"2 baris pesanan {order.number} sudah di keranjang." in shown
    assert any("dari penawaran lain" in m and "PT Maju Motor" in m for m in shown)
    assert f"Saat ini tidak ada stoknya di mana pun, tidak ditambahkan: {filter_line.name}." in shown


def test_the_orders_list_searches_by_number_and_part_and_filters_by_jakarta_days(member_client, shop):
    order = order_two_suppliers(shop)
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.parts[2].offers.get().pk, quantity=1)
    second = place(buyer=shop.buyer)
    pads = OrderLine.objects.get(supplier_order__order=order, part_number="DB1234")

    def found(**params) -> set[str]:
        response = member_client.get(reverse("orders:list"), params)
        assert response.status_code == 200
        return {o.number for o in response.context["page"].object_list}

    assert found(q=order.number) == {order.number}
    assert found(q="db1234") == {order.number}  # a line's part number, any case
    assert found(q=pads.sku) == {order.number}
    assert found(q=pads.name[3:12]) == {order.number}
    assert found(q=shop.parts[2].number) == {second.number}
    assert found(q="no such part") == set()
    # Days in Asia/Jakarta: 1 March 23:30 WIB is 16:30 UTC on 1 March, 2 March 00:30 WIB is 17:30 UTC on 1 March.
    Order.objects.filter(pk=order.pk).update(created_at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=JAKARTA))
    Order.objects.filter(pk=second.pk).update(created_at=dt.datetime(2026, 3, 2, 0, 30, tzinfo=JAKARTA))
    assert found(**{"from": "2026-03-01", "to": "2026-03-01"}) == {order.number}
    assert found(**{"from": "2026-03-02"}) == {second.number}
    assert found(to="2026-03-02", q="DB1234") == {order.number}


def test_bad_dates_are_a_message_and_pages_keep_the_search(member_client, shop):
    for _ in range(23):
        order_row_make(workshop_member=shop.buyer)
    bad = member_client.get(reverse("orders:list"), {"from": "2026-13-45", "q": "OKT-"})
    assert bad.status_code == 200
    assert any("bukan tanggal" in m for m in messages_of(bad))
    assert bad.context["page"].paginator.count == 23  # the search still applies, the bad date does not
    html = bad.content.decode()
    assert "q=OKT-" in html and "page=2" in html
    swapped = member_client.get(reverse("orders:list"), {"from": "2026-03-02", "to": "2026-03-01"})
    assert "Tanggal awal setelah tanggal akhir: filter tanggal tidak dipakai." in messages_of(swapped)
    second = member_client.get(reverse("orders:list"), {"q": "OKT-", "page": 2})
    assert len(second.context["page"].object_list) == 3


def test_the_tracking_link_shows_the_couriers_reports_and_only_to_the_orders_workshop(member_client, client, shop):
    from logistics.models import TrackingEvent

    order = order_two_suppliers(shop)
    sinar, _other = sinar_and_other(order)
    shipment = Shipment.objects.create(reference=sinar.number, carrier=Carrier.objects.get(code="jne"),
                                       service_level="REG", origin={}, destination={}, weight_g=500,
                                       waybill="JNE777", status="picked_up")
    SupplierOrder.objects.filter(pk=sinar.pk).update(status=SO.CONFIRMED, shipment=shipment)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.IN_FULFILMENT)
    TrackingEvent.objects.create(shipment=shipment, event_id="e1", waybill="JNE777", status="picked_up",
                                 occurred_at=timezone.now(), location="Gudang Jakarta", signature_valid=True,
                                 applied=True, raw_body="{}")
    TrackingEvent.objects.create(shipment=shipment, event_id="e2", waybill="JNE777", status="delivered",
                                 occurred_at=timezone.now(), location="forged", raw_body="{}")
    url = reverse("orders:tracking", args=[order.number, sinar.number])

    page = member_client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert url in page  # the order page links to it
    tracking = member_client.get(url)

    assert tracking.status_code == 200
    text = tracking.content.decode()
    assert "JNE777" in text and "Gudang Jakarta" in text
    assert "forged" not in text  # an unverified report is not shown
    stranger = buyer_make()
    client.force_login(stranger.user)
    assert client.get(url).status_code == 404
