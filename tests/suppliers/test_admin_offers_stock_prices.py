"""The supplier admin's offers with their stock and prices: the list's "Stok" column (available
over the member's warehouses), the offer page's stock per warehouse, prices with thousands
separators, and the bulk price change that shows old and new prices before it applies them."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from okto88.models import OutboxEvent
from suppliers.models import Offer
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierMemberFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

URL = "/supplier-admin/suppliers/offer/"


@pytest.fixture
def world():
    a_offer = OfferFactory(sku="A-SKU", price=1_250_000)
    cheap = OfferFactory(sku="A-CHEAP", price=999, supplier=a_offer.supplier)
    b_offer = OfferFactory(sku="B-SKU", price=20_000)
    north, south = WarehouseFactory(supplier=a_offer.supplier, code="NORTH"), WarehouseFactory(
        supplier=a_offer.supplier, code="SOUTH")
    StockFactory(offer=a_offer, warehouse=north, on_hand=1_200, reserved=3)
    StockFactory(offer=a_offer, warehouse=south, on_hand=5, reserved=5)
    StockFactory(offer=b_offer, on_hand=77)
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(SupplierMemberFactory(supplier=a_offer.supplier).user)
    return {"a": a_offer, "cheap": cheap, "b": b_offer, "client": client}


def test_the_offer_list_shows_the_available_stock_and_prices_with_separators(world):
    response = world["client"].get(URL)
    assert response.status_code == 200
    model_admin = response.context["cl"].model_admin
    rows = {offer.sku: (model_admin.stock_available(offer), model_admin.price_display(offer))
            for offer in response.context["cl"].result_list}
    assert rows == {"A-SKU": ("1.197", "Rp 1.250.000"), "A-CHEAP": ("0", "Rp 999")}
    page = response.content.decode()
    assert ">Stock<" in page or "Stock</a>" in page
    ordered = world["client"].get(URL, {"o": "4"})  # by the stock column, ascending
    assert [o.sku for o in ordered.context["cl"].result_list] == ["A-CHEAP", "A-SKU"]


def test_the_offer_page_shows_stock_per_warehouse(world):
    page = world["client"].get(f"{URL}{world['a'].pk}/change/").content.decode()
    assert "NORTH" in page and "SOUTH" in page and "1.200" in page and "1.197" in page
    assert "Rp 1.250.000" in page
    assert world["client"].get(f"{URL}{world['b'].pk}/change/").status_code == 404


def test_the_bulk_price_change_is_previewed_before_it_is_applied(world):
    client, a, cheap = world["client"], world["a"], world["cheap"]
    selected = {"action": "change_prices", "_selected_action": [a.pk, cheap.pk, world["b"].pk]}
    ask = client.post(URL, selected)
    assert ask.status_code == 200 and 'name="preview"' in ask.content.decode()
    events = OutboxEvent.objects.filter(topic="offer.price_changed").count()
    preview = client.post(URL, {**selected, "preview": "1", "percent": "10"})
    page = preview.content.decode()
    assert preview.status_code == 200 and 'id="price-preview"' in page
    rows = [(row["offer"].sku, row["old"], row["new"], row["change"]) for row in preview.context["preview"]]
    assert rows == [("A-CHEAP", "Rp 999", "Rp 1.099", "+10.0 %"), ("A-SKU", "Rp 1.250.000", "Rp 1.375.000", "+10.0 %")]
    assert "B-SKU" not in page  # another supplier's offer is not in the member's queryset
    assert list(Offer.objects.order_by("sku").values_list("sku", "price")) == [
        ("A-CHEAP", 999), ("A-SKU", 1_250_000), ("B-SKU", 20_000)]  # nothing changed yet
    assert OutboxEvent.objects.filter(topic="offer.price_changed").count() == events
    back = client.post(URL, {**selected, "back": "1", "percent": "10"})
    assert 'name="percent"' in back.content.decode() and 'value="10"' in back.content.decode()
    client.post(URL, {**selected, "apply": "1", "percent": "10"})
    assert list(Offer.objects.order_by("sku").values_list("sku", "price")) == [
        ("A-CHEAP", 1_099), ("A-SKU", 1_375_000), ("B-SKU", 20_000)]
    assert OutboxEvent.objects.filter(topic="offer.price_changed").count() == events + 2


def test_a_bad_percentage_is_asked_again_and_changes_nothing(world):
    client, a = world["client"], world["a"]
    response = client.post(URL, {"action": "change_prices", "_selected_action": [a.pk], "preview": "1",
                                 "percent": "-100"})
    assert response.status_code == 200 and "preview" not in response.context
    assert response.context["form"].errors
    a.refresh_from_db()
    assert a.price == 1_250_000
