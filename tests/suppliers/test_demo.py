"""Demo suppliers: idempotent, deterministic, areas, ledger and read models as the services make them."""

from __future__ import annotations

import pytest
from django.db.models import Count, F, Sum
from django.urls import reverse

from catalog import demo as catalog_demo
from catalog.models import Part
from okto88 import demo as platform_demo
from okto88.models import User
from suppliers import demo
from suppliers.models import Offer, Stock, Supplier, SupplierMember, Warehouse
from tests.catalog.test_services_variant_facet import assert_equals_rebuild as assert_facets_equal_rebuild
from tests.read_models import assert_read_models_exact
from tests.suppliers.test_services_best_offer import assert_equals_rebuild as assert_best_offers_equal_rebuild
from vehicles import demo as vehicles_demo
from vehicles.models import VehicleVariant
from workshops import demo as workshops_demo
from workshops.views import SESSION_VARIANT_KEY

pytestmark = pytest.mark.django_db


def test_demo_loads_suppliers_offers_and_ledger_stock_once():
    vehicles_demo.demo_load()
    catalog_demo.demo_load()
    lines = demo.demo_load()
    first = (Supplier.objects.count(), Warehouse.objects.count(), Offer.objects.count(), Stock.objects.count(),
             sorted(Offer.objects.values_list("sku", "price")))
    assert demo.demo_load() == lines  # idempotent
    assert (Supplier.objects.count(), Warehouse.objects.count(), Offer.objects.count(), Stock.objects.count(),
            sorted(Offer.objects.values_list("sku", "price"))) == first
    assert first[0] == 9 and first[2] > 1000 and "supplier@okto88.id" in lines[0]
    assert SupplierMember.objects.get(user__email="supplier@okto88.id").supplier.legal_name == (
        "PT Sinar Jaya Motor Parts")
    assert set(Warehouse.objects.values_list("region_code", flat=True)) >= {"31.74.07", "35.78.07", "51.71.01"}
    per_part = Offer.objects.values("part").annotate(n=Count("pk")).values_list("n", flat=True)
    assert max(per_part) <= 5
    assert Stock.objects.filter(on_hand=0).exists() and Stock.objects.filter(on_hand__gt=0).exists()
    # on_hand equals the ledger for every row
    mismatched = Stock.objects.annotate(ledger=Sum("movements__on_hand_delta")).exclude(on_hand=0).exclude(
        ledger=F("on_hand"))
    assert not mismatched.exists()
    assert_prices_of_their_category()
    assert_read_models_exact()  # also after the second, idempotent load


def test_after_the_demo_load_the_read_models_are_exact_and_the_avanza_list_shows_offers(client):

    for module in (platform_demo, vehicles_demo, catalog_demo, demo, workshops_demo):
        module.demo_load()
    assert_read_models_exact()  # what `manage.py check_read_models` checks
    assert_best_offers_equal_rebuild()
    assert_facets_equal_rebuild()
    assert not Part.objects.filter(search_text="").exists()

    client.force_login(User.objects.get(email="bengkel@okto88.id"))
    session = client.session
    session[SESSION_VARIANT_KEY] = VehicleVariant.objects.filter(model__name="Avanza").order_by("pk").first().pk
    session.save()
    listed = client.get(reverse("workshops:parts"))
    page, offers = listed.context["page"], listed.context["offers"]
    assert len(page.object_list) == 20 and len(offers) >= 10  # most rows have an offer, not "no offer yet"
    by_price = client.get(reverse("workshops:parts"), {"sort": "price"})
    prices = [by_price.context["offers"][p.pk]["price"] for p in by_price.context["page"].object_list
              if p.pk in by_price.context["offers"]]
    assert len(prices) == 20 and prices == sorted(prices) and prices[0] < prices[-1]



def assert_prices_of_their_category():
    """Every demo offer is priced in its category's range (an oil filter is no Rp 1.3 million)."""
    checked = 0
    for price, category_slug in Offer.objects.values_list("price", "part__category__slug"):
        low, high = demo.PRICE_RANGE_BY_CATEGORY.get(category_slug, demo.DEFAULT_PRICE_RANGE)
        # Suppliers spread ±15 % around the part's base price, rounded to Rp 500.
        assert low * 0.85 - 500 <= price <= high * 1.15 + 500, (category_slug, price)
        checked += category_slug in demo.PRICE_RANGE_BY_CATEGORY
    assert checked > 100
    oil_filters = Offer.objects.filter(part__category__slug="filter-oli").values_list("price", flat=True)
    assert oil_filters and max(oil_filters) < 120_000
