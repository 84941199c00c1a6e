"""The messages a person reads for domain errors come from the error classes themselves: one
home for code → message (issue 11 item 14)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse
from django.utils import translation

from okto88.errors import ApplicationError, error_message
from orders import services, views
from orders.errors import ShipmentAlreadyBooked
from orders.models import Order, OrderStatus
from tests.orders.factories import place
from tests.orders.ui_data import shop_make
from tests.platform.test_errors import all_errors


@pytest.mark.parametrize("wording", [views.ERROR_WORDING, views.CANCEL_WORDING], ids=["browser", "cancel"])
def test_every_browser_wording_names_an_error_class(wording):
    # Keyed by class, a wording cannot name a code no error has (last round's table did).
    not_errors = [key for key in wording if not (isinstance(key, type) and issubclass(key, ApplicationError))]
    assert not not_errors, not_errors
    codes = {cls.code for cls in all_errors()}
    unknown = sorted({cls.code for cls in wording} - codes)
    assert not unknown, unknown


def test_an_error_without_a_browser_wording_shows_its_own_title_in_the_readers_language():
    class Refused(ApplicationError):
        code = "refused_for_the_test"
        title = translation.gettext_lazy("This order can no longer be cancelled.")

    with translation.override("id"):
        assert error_message(Refused(), wording=views.ERROR_WORDING) == "Pesanan ini tidak dapat dibatalkan lagi."
    with translation.override("en"):
        assert error_message(Refused(), wording=views.ERROR_WORDING) == "This order can no longer be cancelled."


@pytest.mark.django_db
def test_a_refused_cancel_says_why_in_indonesian(client):
    shop = shop_make()
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    order = place(buyer=shop.buyer)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.SHIPPED)
    client.force_login(shop.buyer.user)
    response = client.post(reverse("orders:cancel", args=[order.number]), follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["Pesanan ini tidak dapat dibatalkan lagi."], shown
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED


@pytest.mark.django_db
def test_a_cancel_refused_because_a_shipment_is_booked_shows_that_errors_own_indonesian_title(client):
    shop = shop_make()
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    order = place(buyer=shop.buyer)
    client.force_login(shop.buyer.user)
    with translation.override("id"):
        expected = str(ShipmentAlreadyBooked.title)
    with mock.patch.object(services, "order_cancel", side_effect=ShipmentAlreadyBooked("booked at the courier")):
        response = client.post(reverse("orders:cancel", args=[order.number]), follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [expected] == ["Pengiriman sudah dipesan; pesanan tidak dapat dibatalkan lagi."], shown
