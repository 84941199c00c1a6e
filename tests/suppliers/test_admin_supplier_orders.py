"""The supplier's work place in the supplier admin, from the outside (Django's test client): the
list puts what waits for an answer first, the answer and ready-to-ship forms call the services,
a bad answer changes nothing, and another supplier's supplier order is a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from orders import services
from orders.models import Order, OrderStatus, SupplierOrder, SupplierOrderStatus
from suppliers.models import Stock
from tests.orders.conftest import _partners, buyer  # noqa: F401 (the order's partners, a buyer)
from tests.orders.factories import offer_in_stock, place
from tests.platform.factories import OperatorFactory
from tests.suppliers.factories import SupplierFactory, SupplierMemberFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

SITE = "/supplier-admin/orders/supplierorder"


def order_of(buyer, supplier, quantities=(2, 3)) -> SupplierOrder:  # noqa: F811
    """A placed order with one line per quantity from `supplier` (one warehouse), its supplier order."""
    warehouse = WarehouseFactory(supplier=supplier)
    for quantity in quantities:
        offer, _ = offer_in_stock(on_hand=10, price=1_250_000, supplier=supplier, warehouse=warehouse)
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
    order = place(buyer=buyer)
    return SupplierOrder.objects.get(order=order, supplier=supplier)


def waiting(supplier_order: SupplierOrder, *, hours: float = 3) -> SupplierOrder:
    """Paid and opened, as the workflow leaves it: the order in fulfilment, the supplier order
    pending with its answer deadline."""
    Order.objects.filter(pk=supplier_order.order_id).update(status=OrderStatus.IN_FULFILMENT)
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(
        status=SupplierOrderStatus.PENDING, accept_by=timezone.now() + timedelta(hours=hours))
    supplier_order.refresh_from_db()
    return supplier_order


def client_of(user, language: str = "en") -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language  # the language switch's cookie
    client.force_login(user)
    return client


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def snapshot(supplier_order: SupplierOrder):
    lines = list(supplier_order.lines.order_by("pk").values_list("rejected_quantity", "rejection_reason"))
    stock = list(Stock.objects.filter(pk__in=supplier_order.lines.values("stock")).order_by("pk")
                 .values_list("on_hand", "reserved"))
    fresh = SupplierOrder.objects.get(pk=supplier_order.pk)
    return fresh.status, fresh.decided_at, lines, stock


@pytest.fixture
def world(buyer):  # noqa: F811
    a, b = SupplierFactory(), SupplierFactory()
    mine = waiting(order_of(buyer, a), hours=3.34)
    theirs = waiting(order_of(buyer, b))
    return {"a": a, "b": b, "mine": mine, "theirs": theirs, "buyer": buyer,
            "a_member": SupplierMemberFactory(supplier=a).user, "b_member": SupplierMemberFactory(supplier=b).user}


def answer(client, supplier_order, data):
    return client.post(f"{SITE}/{supplier_order.pk}/answer/", data, follow=True)


def test_the_list_puts_pending_with_a_deadline_first_soonest_first_then_the_rest_newest_first(world):
    a, shop = world["a"], world["buyer"]
    later = world["mine"]  # 3 h 20 min left
    older_done = order_of(shop, a, quantities=(1,))  # pending, no deadline yet (not paid)
    soon = waiting(order_of(shop, a, quantities=(1,)), hours=1)
    overdue = waiting(order_of(shop, a, quantities=(1,)), hours=-2)
    newest = order_of(shop, a, quantities=(1,))
    SupplierOrder.objects.filter(pk=newest.pk).update(status=SupplierOrderStatus.ACCEPTED,
                                                      accept_by=timezone.now() - timedelta(hours=5))
    response = client_of(world["a_member"]).get(f"{SITE}/")
    assert response.status_code == 200
    rows = [so.number for so in response.context["cl"].result_list]
    assert rows == [overdue.number, soon.number, later.number, newest.number, older_done.number]
    assert world["theirs"].number not in response.content.decode()
    page = response.content.decode()
    assert "3 h 20 min left" in page and "59 min left" in page and "overdue" in page
    assert "Rp 6.250.000" in page and "Rp 1.250.000" in page  # with thousands separators
    # The status filter keeps the order and the scope.
    accepted = client_of(world["a_member"]).get(f"{SITE}/?status__exact=accepted")
    assert [so.number for so in accepted.context["cl"].result_list] == [newest.number]


def test_the_list_and_deadline_read_in_indonesian(world):
    client = client_of(world["a_member"], "id")
    page = client.get(f"{SITE}/").content.decode()
    assert "3 jam 20 menit lagi" in page
    change = client.get(f"{SITE}/{world['mine'].pk}/change/").content.decode()
    assert "Terima semua" in change and "Tolak semua" in change


def test_another_supplier_gets_404_for_the_page_and_the_work_views_and_changes_nothing(world):
    mine, client = world["mine"], client_of(world["b_member"])
    before = snapshot(mine)
    assert client.get(f"{SITE}/{mine.pk}/change/").status_code == 404
    assert client.post(f"{SITE}/{mine.pk}/answer/", {"answer": "accept_all"}).status_code == 404
    assert client.post(f"{SITE}/{mine.pk}/answer/", {"answer": "reject_all", "reason": "out_of_stock"}
                       ).status_code == 404
    services.supplier_order_accept(supplier_order=mine)
    accepted = snapshot(mine)
    assert client.post(f"{SITE}/{mine.pk}/ready/", {"parcel_count": 1, "weight_g": 900}).status_code == 404
    assert snapshot(mine) == accepted and before[0] == SupplierOrderStatus.PENDING
    assert mine.number not in client.get(f"{SITE}/").content.decode()


def test_accept_all_calls_the_service_and_the_row_moves_to_accepted(world):
    mine, client = world["mine"], client_of(world["a_member"])
    page = client.get(f"{SITE}/{mine.pk}/change/")
    assert page.status_code == 200 and 'id="so-answer"' in page.content.decode()
    response = answer(client, mine, {"answer": "accept_all"})
    assert response.status_code == 200
    assert texts(response) == [f"Supplier order {mine.number} accepted. Pack it and mark it ready to ship."]
    mine.refresh_from_db()
    assert mine.status == SupplierOrderStatus.ACCEPTED and mine.decided_at is not None
    # Now the page offers "ready to ship", prefilled from the row.
    page = client.get(f"{SITE}/{mine.pk}/change/").content.decode()
    assert 'id="so-ready"' in page and 'id="so-answer"' not in page
    assert f'name="weight_g" value="{mine.weight_g}"' in page


def test_a_line_partly_rejected_releases_its_units_and_accepts_the_rest(world):
    mine, client = world["mine"], client_of(world["a_member"])
    first, second = mine.lines.order_by("pk")
    reserved_before = Stock.objects.get(pk=first.stock_id).reserved
    response = answer(client, mine, {"answer": "lines", f"accept_{first.pk}": 1, f"reason_{first.pk}": "out_of_stock",
                                     f"accept_{second.pk}": 3, f"reason_{second.pk}": ""})
    assert texts(response) == [f"Supplier order {mine.number} accepted; 1 unit not accepted."]
    mine.refresh_from_db()
    first.refresh_from_db()
    assert mine.status == SupplierOrderStatus.ACCEPTED
    assert (first.rejected_quantity, first.rejection_reason) == (1, "out_of_stock")
    assert Stock.objects.get(pk=first.stock_id).reserved == reserved_before - 1


@pytest.mark.parametrize("accepted, reason, message", [
    ("3", "out_of_stock", "Ensure this value is less than or equal to 2."),
    ("-1", "out_of_stock", "Ensure this value is greater than or equal to 0."),
    ("dua", "out_of_stock", "Enter a whole number."),
    ("1", "", "Choose why the other units are not accepted."),
    ("1", "no_answer", "Select a valid choice."),  # the platform's reason, not the supplier's
])
def test_a_bad_answer_shows_a_message_and_changes_nothing(world, accepted, reason, message):
    mine, client = world["mine"], client_of(world["a_member"])
    first, second = mine.lines.order_by("pk")
    before = snapshot(mine)
    response = answer(client, mine, {"answer": "lines", f"accept_{first.pk}": accepted, f"reason_{first.pk}": reason,
                                     f"accept_{second.pk}": 3})
    assert response.status_code == 200
    (text,) = texts(response)
    assert text.startswith(f"{first.sku} · {first.name}: ") and message in text, text
    assert snapshot(mine) == before


def test_reject_all_needs_a_reason_and_then_rejects(world):
    mine, client = world["mine"], client_of(world["a_member"])
    before = snapshot(mine)
    response = answer(client, mine, {"answer": "reject_all", "reason": ""})
    assert texts(response) == ["Choose why the supplier order is rejected."] and snapshot(mine) == before
    response = answer(client, mine, {"answer": "reject_all", "reason": "discontinued"})
    assert texts(response) == [f"Supplier order {mine.number} rejected; the workshop gets its money back."]
    mine.refresh_from_db()
    assert (mine.status, mine.rejection_reason) == (SupplierOrderStatus.REJECTED, "discontinued")


def test_answering_twice_is_a_message_from_the_service(world):
    mine, client = world["mine"], client_of(world["a_member"])
    answer(client, mine, {"answer": "accept_all"})
    response = answer(client, mine, {"answer": "accept_all"})
    assert texts(response) == ["This supplier order is not waiting for an answer."]


def test_ready_to_ship_with_parcels_and_weight(world):
    mine, client = world["mine"], client_of(world["a_member"])
    response = client.post(f"{SITE}/{mine.pk}/ready/", {"parcel_count": 2, "weight_g": 4200}, follow=True)
    assert texts(response) == ["Only an accepted supplier order can be marked ready to ship."]
    services.supplier_order_accept(supplier_order=mine)
    response = client.post(f"{SITE}/{mine.pk}/ready/", {"parcel_count": 0, "weight_g": 4200}, follow=True)
    assert texts(response) == ["Parcels: Ensure this value is greater than or equal to 1."]
    assert SupplierOrder.objects.get(pk=mine.pk).status == SupplierOrderStatus.ACCEPTED
    response = client.post(f"{SITE}/{mine.pk}/ready/", {"parcel_count": 2, "weight_g": 4200}, follow=True)
    assert texts(response) == [f"Supplier order {mine.number} is ready to ship; the courier is being booked."]
    mine.refresh_from_db()
    assert (mine.status, mine.parcel_count, mine.weight_g) == (SupplierOrderStatus.READY_TO_SHIP, 2, 4200)


def test_the_work_views_take_only_posts_with_a_csrf_token(world):
    mine = world["mine"]
    client = client_of(world["a_member"])
    assert client.get(f"{SITE}/{mine.pk}/answer/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world["a_member"])
    assert strict.post(f"{SITE}/{mine.pk}/answer/", {"answer": "accept_all"}).status_code == 403
    assert SupplierOrder.objects.get(pk=mine.pk).status == SupplierOrderStatus.PENDING


def test_an_operator_sees_the_page_read_only_and_cannot_answer(world):
    mine, client = world["mine"], client_of(OperatorFactory())
    page = client.get(f"{SITE}/{mine.pk}/change/")
    assert page.status_code == 200
    assert 'id="so-answer"' not in page.content.decode() and "3 h 20 min left" in page.content.decode()
    assert client.post(f"{SITE}/{mine.pk}/answer/", {"answer": "accept_all"}).status_code == 403
    assert SupplierOrder.objects.get(pk=mine.pk).status == SupplierOrderStatus.PENDING
