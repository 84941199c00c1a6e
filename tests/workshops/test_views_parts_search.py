"""The workshop's parts page and the catalog API are one search (catalog.selectors.part_search):
for the same search they list the same parts in the same order."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import Fitment
from tests.catalog.factories import BrandFactory, FitmentFactory, PartFactory
from tests.orders.ui_data import shop_make
from workshops.views import SESSION_VARIANT_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    shop = shop_make()
    # An OE pad that carries no cross reference; the shop's Bendix pad names its number.
    toyota = BrandFactory(name="Toyota Genuine Parts", slug="toyota-genuine-parts")
    shop.oe_pad = PartFactory(brand=toyota, category=shop.brake_pads, number="04465-0K240",
                              name_id="Kampas Rem Depan OE", name_en="Front Brake Pad OE")
    FitmentFactory(part=shop.oe_pad, variant=shop.variant, position="front")  # fits, but has no offer
    catalog_services.cross_reference_add(part=shop.pad, brand_name="Toyota", number="04465 0K240", is_oe=True)
    return shop


@pytest.fixture
def member_client(client, shop):
    client.force_login(shop.buyer.user)
    session = client.session
    session[SESSION_VARIANT_KEY] = shop.variant.pk
    session.save()
    return client


def page_ids(client, params: dict) -> list[int]:
    response = client.get(reverse("workshops:parts"), params)
    assert response.status_code == 200
    if response.context["number_matches"] is not None:
        return [m.part.pk for m in response.context["number_matches"]]
    return [part.pk for part in response.context["page"].object_list]


def api_ids(client, params: dict) -> list[int]:
    response = client.get("/api/v1/parts/", params)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_words_are_listed_alike(member_client, shop):
    params = {"q": "kampas rem"}
    listed = page_ids(member_client, params)
    assert shop.pad.pk in listed and len(listed) > 1
    assert api_ids(member_client, {**params, "vehicle": shop.variant.pk}) == listed


@pytest.mark.parametrize("typed", ["0446 50K240", "04465-0K240"])
def test_a_number_typed_with_spaces_is_a_number_on_both(member_client, shop, typed):
    listed = page_ids(member_client, {"q": typed})
    assert listed == [shop.oe_pad.pk, shop.pad.pk]  # exact first, then what names it
    response = member_client.get("/api/v1/parts/", {"q": typed, "vehicle": shop.variant.pk})
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == listed
    assert [row["match"] for row in rows] == ["exact", "interchangeable"]
    assert "facets" not in response.json()


def test_vehicle_and_category_are_listed_alike(member_client, shop):
    listed = page_ids(member_client, {"category": shop.brake_pads.pk})
    assert set(listed) == {p.pk for p in shop.parts if p.category_id == shop.brake_pads.pk} | {shop.oe_pad.pk}
    assert listed == sorted(listed)
    assert api_ids(member_client, {"vehicle": shop.variant.pk, "category": shop.brake_pads.pk}) == listed


@pytest.mark.parametrize("params", [{"sort": "price"}, {"sort": "price", "q": "kampas rem"},
                                    {"sort": "lead_time", "category": "pads"}, {"sort": "available"}])
def test_sorted_by_best_offer_alike(member_client, shop, params):
    params = {k: (shop.brake_pads.pk if v == "pads" else v) for k, v in params.items()}
    response = member_client.get(reverse("workshops:parts"), params)
    listed = [part.pk for part in response.context["page"].object_list]
    offers = response.context["offers"]
    field = {"price": "price", "lead_time": "lead_time_days", "available": "total_available"}[params["sort"]]
    keys = [offers[pk][field] for pk in listed if pk in offers]
    assert keys == sorted(keys, reverse=params["sort"] == "available") and len(keys) > 1
    assert shop.oe_pad.pk in listed and listed[-1] == shop.oe_pad.pk  # no offer: last
    assert api_ids(member_client, {**params, "vehicle": shop.variant.pk}) == listed


def test_the_price_order_is_not_the_id_order(member_client, shop):
    by_price = page_ids(member_client, {"sort": "price"})
    assert by_price != page_ids(member_client, {})
    assert by_price[:3] == [p.pk for p in shop.parts[1:]]  # 50,000, 100,000, 150,000 before the pad's 172,500


def test_a_position_narrows_both_alike(member_client, shop):
    listed = page_ids(member_client, {"position": "front"})
    assert set(listed) == {shop.pad.pk, shop.oe_pad.pk}
    assert api_ids(member_client, {"vehicle": shop.variant.pk, "position": "front"}) == listed


def test_a_number_with_a_vehicle_chosen_marks_which_parts_fit_it(member_client, shop):
    """The page and the API say the same: the OE pad fits the chosen vehicle; a pad of another
    vehicle that the number also names is listed, marked as not fitting (issue 18)."""
    other = PartFactory(brand=shop.oe_pad.brand, category=shop.brake_pads, number="04465-0K240X",
                        name_id="Kampas Rem Lain", name_en="Other Pad")
    catalog_services.cross_reference_add(part=other, brand_name="Toyota", number="04465-0K240", is_oe=True)
    response = member_client.get(reverse("workshops:parts"), {"q": "04465-0K240"}, HTTP_ACCEPT_LANGUAGE="id")
    fits = {m.part.pk: m.fits_vehicle for m in response.context["number_matches"]}
    fitted = Fitment.objects.filter(variant=shop.variant, part=shop.pad).exists()
    assert fits == {shop.oe_pad.pk: True, shop.pad.pk: fitted, other.pk: False}
    html = response.content.decode()
    assert html.count('data-testid="fits-vehicle"') == 3
    assert "tidak cocok untuk kendaraan ini" in html and "cocok untuk kendaraan ini" in html
    rows = member_client.get("/api/v1/parts/", {"q": "04465-0K240", "vehicle": shop.variant.pk}).json()["results"]
    assert {row["id"]: row["fits_vehicle"] for row in rows} == fits
