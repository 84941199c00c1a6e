"""The workshop's browser pages: vehicle selector, VIN, parts by vehicle and by search, garage."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import services as catalog_services
from tests.catalog.factories import BrandFactory, FitmentFactory, PartFactory
from tests.orders.ui_data import shop_make
from tests.platform.factories import OperatorFactory, UserFactory
from tests.suppliers.factories import OfferFactory, StockFactory
from tests.workshops.factories import CustomerVehicleFactory
from workshops.models import CustomerVehicle
from workshops.views import SESSION_VARIANT_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return shop_make()


@pytest.fixture
def member_client(client, shop):
    client.force_login(shop.buyer.user)
    return client


def choose(client, variant) -> None:
    session = client.session
    session[SESSION_VARIANT_KEY] = variant.pk
    session.save()


@pytest.mark.parametrize("value, expected", [
    (1_250_000, "Rp 1.250.000"), (0, "Rp 0"), (999, "Rp 999"), (-5000, "-Rp 5.000"), (None, ""), ("x", ""),
])
def test_rupiah_is_written_the_indonesian_way(value, expected):
    rendered = Template("{% load okto88_ui %}{{ v|rupiah }}").render(Context({"v": value}))
    assert rendered == expected


@pytest.mark.parametrize("name", ["workshops:parts", "workshops:garage", "workshops:vehicle_selector"])
def test_anonymous_is_sent_to_log_in_and_non_members_are_refused(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    for user in (UserFactory(), OperatorFactory()):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 403


def test_each_step_of_the_selector_narrows_the_next(member_client, shop):
    make = shop.variant.model.make
    html = member_client.get(reverse("workshops:vehicle_selector"), {"make": make.pk},
                             HTTP_HX_REQUEST="true").content.decode()
    assert ">Avanza<" in html and 'id="id_year"' in html and "2019" not in html
    html = member_client.get(reverse("workshops:vehicle_selector"),
                             {"make": make.pk, "model": shop.variant.model_id}).content.decode()
    assert "2019" in html and "2015" in html and "1.3 G M/T" not in html
    html = member_client.get(reverse("workshops:vehicle_selector"),
                             {"make": make.pk, "model": shop.variant.model_id, "year": 2019}).content.decode()
    assert "1.3 G M/T" in html and "1.5 Veloz" not in html


def test_the_chosen_variant_stays_in_the_session(member_client, shop):
    response = member_client.post(reverse("workshops:vehicle_select"), {"variant": shop.variant.pk})
    assert response.status_code == 302
    assert member_client.session[SESSION_VARIANT_KEY] == shop.variant.pk
    page = member_client.get(reverse("workshops:parts")).content.decode()
    assert "Toyota Avanza 1.3 G M/T" in page and "Kampas Rem Depan" in page
    member_client.post(reverse("workshops:vehicle_select"), {"clear": "1"})
    assert SESSION_VARIANT_KEY not in member_client.session


def test_a_vin_proposes_variants_and_a_bad_one_says_why(member_client, shop):
    bad = member_client.get(reverse("workshops:vin_lookup"), {"vin": "123"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode()
    good = member_client.get(reverse("workshops:vin_lookup"), {"vin": "MHFM1BA3JK1234567"}, HTTP_HX_REQUEST="true")
    assert good.context["candidates"] == [shop.variant]  # Toyota, model year 2019 (K)
    assert "<html" not in good.content.decode()  # a fragment for htmx
    page = member_client.get(reverse("workshops:vin_lookup"), {"vin": "MHFM1BA3JK1234567"})
    assert "<html" in page.content.decode()


def test_parts_by_vehicle_with_facets_best_offer_and_sorting(member_client, shop):
    choose(member_client, shop.variant)
    page = member_client.get(reverse("workshops:parts")).content.decode()
    assert "Kampas Rem" in page and "Bendix" in page
    assert "Rp 172.500" in page  # the cheaper of the two offers of the pad
    assert "2 pemasok" in page or "2 suppliers" in page
    by_category = member_client.get(reverse("workshops:parts"), {"category": shop.brake_pads.pk})
    assert {p.category_id for p in by_category.context["page"].object_list} == {shop.brake_pads.pk}
    cheapest = member_client.get(reverse("workshops:parts"), {"sort": "price"}).context["page"].object_list
    prices = [member_client.get(reverse("workshops:parts"), {"sort": "price"}).context["offers"][p.pk]["price"]
              for p in cheapest]
    assert prices == sorted(prices)


def test_search_by_words_and_by_number(member_client, shop):
    choose(member_client, shop.variant)
    words = member_client.get(reverse("workshops:parts"), {"q": "kampas rem"})
    assert shop.pad in list(words.context["page"].object_list)
    number = member_client.get(reverse("workshops:parts"), {"q": "db-1234"})
    assert next(m.part for m in number.context["number_matches"]) == shop.pad


@pytest.mark.parametrize("sort", ["", "price"])
def test_the_parts_list_takes_the_same_queries_for_3_parts_or_30(member_client, shop, sort):
    choose(member_client, shop.variant)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert member_client.get(reverse("workshops:parts"), {"sort": sort}).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for index in range(27):
        part = PartFactory(category=shop.brake_pads, number=f"N1-{index}")
        FitmentFactory(part=part, variant=shop.variant)
        StockFactory(offer=OfferFactory(part=part), on_hand=3)
    assert count() == few
    # The list's own, and 5 for the best offers' delivery: the workshop and its default address, the
    # offers with their parts, their stock rows, the active carriers of the quotes.
    assert few <= 17


def test_the_garage_lists_adds_and_shops_for_a_vehicle(member_client, shop):
    CustomerVehicleFactory(workshop=shop.buyer.workshop, plate_number="B 1 AB", variant=shop.variant)
    CustomerVehicleFactory(plate_number="D 9 ZZ")  # another workshop's
    page = member_client.get(reverse("workshops:garage")).content.decode()
    assert "B 1 AB" in page and "D 9 ZZ" not in page
    response = member_client.post(reverse("workshops:garage"), {"plate_number": "b 1234 xyz", "owner_name": "Siti"})
    assert response.status_code == 302
    assert CustomerVehicle.objects.filter(workshop=shop.buyer.workshop, plate_number="B 1234 XYZ").exists()
    again = member_client.post(reverse("workshops:garage"), {"plate_number": "B 1234 XYZ"}, follow=True)
    assert any(m.level_tag == "error" for m in again.context["messages"])


def test_the_position_facet_counts_and_narrows_and_keeps_the_search(member_client, shop):
    choose(member_client, shop.variant)
    rear = PartFactory(brand=shop.pad.brand, category=shop.brake_pads, number="DB9999", name_id="Kampas Rem Belakang",
                       name_en="Rear Brake Pad")
    FitmentFactory(part=rear, variant=shop.variant, position="rear")
    FitmentFactory(part=shop.pad, variant=shop.other_variant, position="rear")  # another vehicle: not counted

    listed = member_client.get(reverse("workshops:parts"), {"q": "kampas rem"})
    counts = {p.position: p.count for p in listed.context["positions"]}
    assert counts == {"front": 1, "rear": 1}
    html = listed.content.decode()
    assert "Posisi" in html and "Depan" in html and "Belakang" in html
    assert 'href="?q=kampas+rem&amp;position=rear"' in html  # the facet link keeps the search

    front = member_client.get(reverse("workshops:parts"), {"q": "kampas rem", "position": "front"})
    assert list(front.context["page"].object_list) == [shop.pad]
    # The position counts ignore the chosen position, so the other choice still shows its count.
    assert {p.position: p.count for p in front.context["positions"]} == {"front": 1, "rear": 1}
    by_vehicle = member_client.get(reverse("workshops:parts"), {"position": "rear"}).context["page"]
    assert list(by_vehicle.object_list) == [rear]
    unknown = member_client.get(reverse("workshops:parts"), {"position": "roof"})
    assert unknown.context["sel_position"] == "" and unknown.context["page"].paginator.count == 5


def test_a_chosen_position_narrows_the_brand_and_category_counts(member_client, shop):
    choose(member_client, shop.variant)
    rear = PartFactory(brand=BrandFactory(name="Bendix"), category=shop.brake_pads, number="DB8888",
                       name_id="Kampas Rem Belakang", name_en="Rear Brake Pad")
    FitmentFactory(part=rear, variant=shop.variant, position="rear")

    for params in ({}, {"q": "kampas rem"}):
        every = member_client.get(reverse("workshops:parts"), params).context["facets"]
        assert {"Bendix", shop.pad.brand.name} <= {b.name for b in every.brands}
        at_rear = member_client.get(reverse("workshops:parts"), {**params, "position": "rear"}).context["facets"]
        assert [(b.name, b.count) for b in at_rear.brands] == [("Bendix", 1)]
        assert [(c.id, c.count) for c in at_rear.categories] == [(shop.brake_pads.pk, 1)]


# --- a part number typed with spaces, and what interchanges on the part page ----------------

@pytest.fixture
def oe_pad(shop):
    """A Toyota OE pad that carries no cross reference; the shop's Bendix pad names its number."""
    toyota = BrandFactory(name="Toyota Genuine Parts", slug="toyota-genuine-parts")
    pad = PartFactory(brand=toyota, category=shop.brake_pads, number="04465-0K240", name_id="Kampas Rem Depan OE",
                      name_en="Front Brake Pad OE")
    catalog_services.cross_reference_add(part=shop.pad, brand_name="Toyota", number="04465 0K240", is_oe=True)
    return pad


@pytest.mark.parametrize("typed", ["0446 50K240", "04465 0K240", "04465-0K240", "04465.0K240"])
def test_a_part_number_typed_with_spaces_is_looked_up_as_a_number(member_client, shop, oe_pad, typed):
    response = member_client.get(reverse("workshops:parts"), {"q": typed})
    matches = response.context["number_matches"]
    assert matches and matches[0].part == oe_pad and matches[0].kind == "exact"
    assert shop.pad in {m.part for m in matches}  # Bendix names the OE number
    assert "Kampas Rem Depan OE" in response.content.decode()


def test_mixed_text_with_a_digit_is_a_number_only_when_the_number_exists(member_client, shop):
    spaced = member_client.get(reverse("workshops:parts"), {"q": "DB 1234"})
    assert [m.part for m in spaced.context["number_matches"]][:1] == [shop.pad]
    words = member_client.get(reverse("workshops:parts"), {"q": "kampas rem 2019"})
    assert words.context["number_matches"] is None  # words, not close part numbers


def test_the_part_page_lists_what_the_number_search_finds_with_it(member_client, shop, oe_pad):
    for part, other in ((oe_pad, shop.pad), (shop.pad, oe_pad)):
        page = member_client.get(reverse("orders:part", args=[part.pk]))
        html = page.content.decode()
        searched = {m.part for m in member_client.get(reverse("workshops:parts"), {"q": part.number})
                    .context["number_matches"] if m.kind in ("exact", "interchangeable")} - {part}
        assert set(page.context["part"].interchangeable_parts) == searched == {other}
        assert reverse("orders:part", args=[other.pk]) in html
        assert "Tidak ada yang diketahui." not in html and "None known." not in html
