"""The messages a person reads for domain errors come from the error classes themselves: one
home for code → message (issue 11 item 14)."""

from __future__ import annotations

import importlib

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from okto88.errors import ApplicationError
from orders import services, views
from orders.models import Order, OrderStatus
from tests.orders.factories import place
from tests.orders.ui_data import shop_make

APPS = ("okto88", "vehicles", "catalog", "suppliers", "workshops", "orders", "payments", "logistics")
# Every module that defines domain errors, so that walking the subclasses finds them all.
ERROR_MODULES = ("errors", "services", "selectors", "state", "workflow", "feeds", "imports", "vin", "areas")


def all_errors() -> list[type[ApplicationError]]:
    for app in APPS:
        for module in ERROR_MODULES:
            try:
                importlib.import_module(f"{app}.{module}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.{module}":
                    raise
    found, todo = [], [ApplicationError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_browser_message_names_a_code_some_error_has():
    codes = {cls.code for cls in all_errors()}
    unknown = sorted(set(views.ERROR_MESSAGES) - codes)
    assert not unknown, unknown


@pytest.mark.parametrize("error", all_errors(), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_error_title_is_translatable_and_has_an_indonesian_text(error):
    assert isinstance(error.title, Promise), "mark the title with gettext_lazy"
    with translation.override("en"):
        english = str(error.title)
    with translation.override("id"):
        indonesian = str(error.title)
    assert indonesian != english, f"no Indonesian entry for {english!r}"


def test_an_error_without_a_browser_wording_shows_its_own_title_in_the_readers_language():
    class Refused(ApplicationError):
        code = "refused_for_the_test"
        title = translation.gettext_lazy("This order can no longer be cancelled.")

    with translation.override("id"):
        assert views.error_message(Refused()) == "Pesanan ini tidak dapat dibatalkan lagi."
    with translation.override("en"):
        assert views.error_message(Refused()) == "This order can no longer be cancelled."


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
