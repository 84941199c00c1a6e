"""The workshop's order pages: part offers and add-to-cart, cart rules, checkout, orders, scoping."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from okto88.models import OutboxEvent
from orders import services, workflow
from orders.models import Notification, Order, OrderStatus
from tests.orders.factories import buyer_make, offer_in_stock, place
from tests.orders.ui_data import shop_make
from tests.platform.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return shop_make()


@pytest.fixture
def member_client(client, shop):
    client.force_login(shop.buyer.user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("name, args", [
    ("orders:cart", []), ("orders:list", []), ("orders:header_badges", []), ("orders:part", [1]),
    ("orders:detail", ["OK-2611-AAAAAA"]), ("orders:notifications", []),
])
def test_anonymous_is_sent_to_log_in_and_non_members_are_refused(client, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    for user in (UserFactory(), OperatorFactory()):
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_another_workshops_order_is_not_found(client, shop):
    other = buyer_make()
    offer, _stock = offer_in_stock()
    services.cart_line_add(workshop=other.workshop, offer_id=offer.pk, quantity=1)
    order = place(buyer=other)
    client.force_login(shop.buyer.user)
    for name in ("orders:detail", "orders:payment"):
        assert client.get(reverse(name, args=[order.number])).status_code == 404
    assert client.post(reverse("orders:cancel", args=[order.number])).status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_the_part_page_shows_every_offer_and_adds_to_the_cart_with_htmx(member_client, shop):
    page = member_client.get(reverse("orders:part", args=[shop.pad.pk]))
    html = page.content.decode()
    assert "PT Sinar Jaya Parts" in html and "PT Maju Motor" in html
    assert "Rp 185.000" in html and "Rp 172.500" in html and "Avanza" in html
    offer = page.context["offers"][0].offer
    response = member_client.post(reverse("orders:cart_add"), {"offer": offer.offer_id, "quantity": 2},
                                  HTTP_HX_REQUEST="true")
    assert response["HX-Trigger"] == "cart-changed"
    badges = member_client.get(reverse("orders:header_badges")).content.decode()
    assert ">1</span>" in badges


def test_cart_rules_become_messages(member_client, shop):
    offer, _stock = offer_in_stock(on_hand=50, min_order_qty=4, pack_size=2)
    add = member_client.post(reverse("orders:cart_add"), {"offer": offer.pk, "quantity": 1}, follow=True)
    assert "Pemasok menjual part ini minimal 4." in messages_of(add)
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=4)
    line = shop.buyer.workshop.cart.lines.get()
    odd = member_client.post(reverse("orders:cart_update"), {"line": line.pk, f"qty_{line.pk}": 5}, follow=True)
    assert "Part ini dijual per kemasan isi 2: pesan kelipatannya." in messages_of(odd)
    many = member_client.post(reverse("orders:cart_update"), {"line": line.pk, f"qty_{line.pk}": 100}, follow=True)
    assert any("stock" in m.lower() or "stok" in m.lower() for m in messages_of(many))
    ok = member_client.post(reverse("orders:cart_update"), {"line": line.pk, f"qty_{line.pk}": 6}, follow=True)
    line.refresh_from_db()
    assert line.quantity == 6 and ok.status_code == 200


def test_the_cart_groups_by_supplier_notes_a_price_change_and_checks_out_once(member_client, shop):
    for offer in shop.pad.offers.all():
        services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=1)
    changed = shop.pad.offers.get(price=185_000)
    changed.price = 190_000
    changed.save(update_fields=["price"])
    cart = member_client.get(reverse("orders:cart"))
    preview = cart.context["preview"]
    assert len(preview.groups) == 2 and preview.has_changes
    html = cart.content.decode()
    assert "Rp 185.000" in html and "Rp 190.000" in html and 'name="accept_changes"' in html
    form = {"address": shop.buyer.address.pk, "payment_method": "terms",
            "idempotency_token": cart.context["idempotency_token"]}
    for group in preview.groups:
        form[f"ship_{group.supplier_id}"] = f"{group.choice.carrier_code}|{group.choice.service_level}"
    refused = member_client.post(reverse("orders:checkout"), form, follow=True)
    assert refused.redirect_chain[-1][0] == reverse("orders:cart") and not Order.objects.exists()
    form["accept_changes"] = "1"
    first = member_client.post(reverse("orders:checkout"), form)
    second = member_client.post(reverse("orders:checkout"), form)  # a double submit
    # Placed once. (One order per key is the unique constraint's to keep: counting orders
    # could not fail.)
    assert OutboxEvent.objects.filter(topic="order.placed").count() == 1
    order = Order.objects.get()
    assert first["Location"] == second["Location"] == reverse("orders:detail", args=[order.number])
    detail = member_client.get(first["Location"]).content.decode()
    assert order.number in detail and "Rp 190.000" in detail


def test_orders_list_filters_by_status_and_keeps_its_queries(member_client, shop):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert member_client.get(reverse("orders:list")).status_code == 200
        return len(ctx.captured_queries)

    def order_one():
        offer, _stock = offer_in_stock()
        services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=1)
        return place(buyer=shop.buyer)

    order_one()
    few = count()
    for _ in range(4):
        order_one()
    assert count() == few
    paid = member_client.get(reverse("orders:list"), {"status": "paid"}).context["page"]
    assert paid.paginator.count == 5
    assert member_client.get(reverse("orders:list"), {"status": "cancelled"}).context["page"].paginator.count == 0


def test_an_order_page_shows_totals_timeline_and_cancels(member_client, shop):
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    order = place(buyer=shop.buyer)
    page = member_client.get(reverse("orders:detail", args=[order.number]))
    html = page.content.decode()
    assert "Pesanan dibuat" in html and "PPN 11%" in html
    assert "1 pesanan pemasok, total Rp" in html  # the event's text, in the reader's language
    assert f'action="{reverse("orders:cancel", args=[order.number])}"' in html
    cancelled = member_client.post(reverse("orders:cancel", args=[order.number]), follow=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and cancelled.status_code == 200
    assert order.failure_reason == "cancelled by the workshop"
    assert "dibatalkan oleh bengkel" in cancelled.content.decode()


def test_a_prepaid_order_shows_its_instructions_and_polls_until_paid(member_client, shop):
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    pending = place(buyer=shop.buyer, payment_method="virtual_account")
    pending.refresh_from_db()
    intent = pending.payment_intent
    assert intent is not None and intent.va_number
    html = member_client.get(reverse("orders:detail", args=[pending.number])).content.decode()
    assert intent.va_number in html and 'hx-trigger="every 5s"' in html
    poll = member_client.get(reverse("orders:payment", args=[pending.number]), HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in poll and intent.va_number in poll.content.decode()

    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.last().pk, quantity=1)
    paid = place(buyer=shop.buyer)  # terms: paid at once
    poll = member_client.get(reverse("orders:payment", args=[paid.number]), HTTP_HX_REQUEST="true")
    assert poll["HX-Refresh"] == "true" and "every" not in poll.content.decode()


def test_the_polled_payment_panel_reads_the_order_and_its_payment_only(member_client, shop):
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    pending = place(buyer=shop.buyer, payment_method="virtual_account")
    with CaptureQueriesContext(connection) as queries:
        poll = member_client.get(reverse("orders:payment", args=[pending.number]), HTTP_HX_REQUEST="true")
    assert poll.status_code == 200
    read = " ".join(query["sql"] for query in queries.captured_queries)
    assert "orders_orderevent" not in read and "orders_orderline" not in read and "orders_supplierorder" not in read


@pytest.mark.parametrize(("topic", "shown"), [
    ("payment.expired", "pembayaran kedaluwarsa"), ("payment.denied", "pembayaran ditolak"),
])
def test_an_unpaid_order_closed_by_the_gateway_says_why_in_the_readers_language(member_client, shop, topic, shown):
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    pending = place(buyer=shop.buyer, payment_method="virtual_account")

    workflow.on_payment_event(topic=topic, payload={"reference": pending.number})

    pending.refresh_from_db()
    assert pending.status == OrderStatus.EXPIRED and pending.failure_reason == topic.replace(".", " ")
    assert shown in member_client.get(reverse("orders:detail", args=[pending.number])).content.decode()


def test_the_order_page_takes_the_same_queries_for_one_supplier_or_three(member_client, shop):
    def count(order) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert member_client.get(reverse("orders:detail", args=[order.number])).status_code == 200
        return len(ctx.captured_queries)

    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    small = place(buyer=shop.buyer)
    for _ in range(3):
        offer, _stock = offer_in_stock()
        services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=1)
    big = place(buyer=shop.buyer)
    assert count(big) == count(small)


def test_notifications_are_counted_in_the_header_and_listed_for_their_reader_only(member_client, shop):
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    order = place(buyer=shop.buyer)
    Notification.objects.create(recipient=shop.buyer.user, order=order, kind="order_confirmed",
                                params={"number": order.number, "lines": 1, "total": "209.235"})
    Notification.objects.create(recipient=UserFactory(), kind="order_confirmed",
                                params={"number": "OK-0000-OTHER1", "lines": 1, "total": "1"})
    badges = member_client.get(reverse("orders:header_badges")).content.decode()
    assert 'badge--hot" aria-label="1 ' in badges
    page = member_client.get(reverse("orders:notifications")).content.decode()
    assert order.number in page and "OK-0000-OTHER1" not in page


def test_notifications_are_marked_read_one_or_all_through_htmx_and_only_the_readers_own(member_client, shop):
    mine = [Notification.objects.create(recipient=shop.buyer.user, kind="order_confirmed",
                                        params={"number": f"OK-0000-MINE0{i}", "lines": 1, "total": "1"})
            for i in range(3)]
    theirs = Notification.objects.create(recipient=UserFactory(), kind="order_confirmed",
                                         params={"number": "OK-0000-OTHER1", "lines": 1, "total": "1"})
    page = member_client.get(reverse("orders:notifications"))
    assert page.context["unread"] == 3 and 'data-testid="mark-all-read"' in page.content.decode()

    one = member_client.post(reverse("orders:notification_read", args=[mine[0].pk]), HTTP_HX_REQUEST="true")
    assert one["HX-Trigger"] == "notifications-changed"
    assert one.context["unread"] == 2 and 'id="notification-list"' in one.content.decode()
    mine[0].refresh_from_db()
    first_read = mine[0].read_at
    assert first_read is not None
    member_client.post(reverse("orders:notification_read", args=[mine[0].pk]))  # again: the first time is kept
    mine[0].refresh_from_db()
    assert mine[0].read_at == first_read

    # Somebody else's notification: nothing happens, exactly like a missing one.
    member_client.post(reverse("orders:notification_read", args=[theirs.pk]))
    theirs.refresh_from_db()
    assert theirs.read_at is None

    everything = member_client.post(reverse("orders:notifications_read_all"))
    assert everything.status_code == 302 and everything["Location"] == reverse("orders:notifications")
    assert not Notification.objects.filter(recipient=shop.buyer.user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    badges = member_client.get(reverse("orders:header_badges")).content.decode()
    assert "badge--hot" not in badges
    assert member_client.get(reverse("orders:notification_read", args=[mine[1].pk])).status_code == 405


def test_the_notifications_page_keeps_its_queries(member_client, shop):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert member_client.get(reverse("orders:notifications")).status_code == 200
        return len(ctx.captured_queries)

    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    order = place(buyer=shop.buyer)
    Notification.objects.create(recipient=shop.buyer.user, order=order, kind="order_confirmed",
                                params={"number": order.number, "lines": 1, "total": "1"})
    few = count()
    for _ in range(10):
        Notification.objects.create(recipient=shop.buyer.user, order=order, kind="order_confirmed",
                                    params={"number": order.number, "lines": 1, "total": "1"})
    assert count() == few


def test_the_cart_keeps_its_queries_for_two_lines_or_five(member_client, shop):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert member_client.get(reverse("orders:cart")).status_code == 200
        return len(ctx.captured_queries)

    for offer in shop.pad.offers.all():  # one line from each of the two suppliers
        services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=1)
    few = count()
    for part in shop.parts[1:]:  # more lines, same suppliers
        services.cart_line_add(workshop=shop.buyer.workshop, offer_id=part.offers.get().pk, quantity=1)
    assert count() == few


def test_orders_list_status_filters_link_to_the_filtered_list(member_client, shop):
    html = member_client.get(reverse("orders:list")).content.decode()
    assert 'href="?status=paid"' in html


def test_qris_instructions_show_the_code_as_an_image_and_va_a_copy_button(member_client, shop):
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    qris = place(buyer=shop.buyer, payment_method="qris")
    qris.refresh_from_db()
    assert qris.payment_intent.qr_string
    html = member_client.get(reverse("orders:detail", args=[qris.number])).content.decode()
    assert '<svg role="img"' in html and 'class="qr-code"' in html and "<title>" in html
    assert "<path" in html  # the modules, drawn on the server

    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.last().pk, quantity=1)
    va = place(buyer=shop.buyer, payment_method="virtual_account")
    va.refresh_from_db()
    html = member_client.get(reverse("orders:payment", args=[va.number]), HTTP_HX_REQUEST="true").content.decode()
    assert f'data-copy="{va.payment_intent.va_number}"' in html and "<svg" not in html
