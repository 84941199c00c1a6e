"""Delivery cost and arrival day on every offer (orders.services.delivery): the figures, the
quote cache, a courier that is down, the part offers API's sort and filters, and who sees
which address. Quotes come from the session's fake courier over real HTTP (tests/fakes.py).

The routes: a warehouse in Kebayoran Baru, Jakarta Selatan (tests/suppliers/factories.py) to a
workshop in Bekasi Selatan, Kota Bekasi (tests/workshops/factories.py): another province on Java,
so the fake courier doubles its rates and adds a day (logistics/fake_courier.py). For 1 kg the
cheapest service is AnterAja REG, Rp 16.000 in 4 days; the fastest SiCepat BEST, Rp 32.000 in 2.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from logistics.services import shipping_quotes
from okto88.areas import courier_area
from okto88.models import Scope
from okto88.working_hours import arrival_date
from orders import services
from tests.logistics.factories import MAKASSAR
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock
from tests.platform.factories import ApiClientFactory, issue_api_key
from tests.problems import assert_problem
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierMemberFactory, WarehouseFactory
from tests.workshops.factories import AddressFactory, WorkshopMemberFactory
from workshops.services import workshop_api_client_bind

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
# Thursday 24 December 2026, 09:00 in Jakarta: Friday the 25th is Christmas, the 27th a Sunday.
CHRISTMAS_EVE = dt.datetime(2026, 12, 24, 9, 0, tzinfo=JAKARTA)
MAKASSAR_AREA = {**MAKASSAR, "region_code": "73.71.01"}  # off Java: 3.5 × the base rate, 3 more days


@pytest.fixture
def buyer():
    carriers_ensure()
    return buyer_make()


def offers_url(part_id: int) -> str:
    return f"/api/v1/parts/{part_id}/offers/"


def key_client(*, workshop=None, scopes=(Scope.CATALOG_READ,)) -> APIClient:
    api_client = ApiClientFactory()
    if workshop is not None:
        workshop_api_client_bind(workshop_id=workshop.pk, api_client=api_client)
    issued = issue_api_key(client=api_client, scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    return client



# --- The figures -------------------------------------------------------------------------------

def test_delivered_price_is_the_price_plus_the_cheapest_quote_and_the_days_skip_sunday_and_christmas(buyer):
    offer, _ = offer_in_stock(price=150_000, weight_g=800, lead_time_days=1)

    (estimate,) = services.offer_delivery_estimates(actor=buyer.user, offer_ids=[offer.pk],
                                                    now=CHRISTMAS_EVE).values()

    assert (estimate.quantity, estimate.quantity_is_minimum, estimate.reason) == (1, False, "")
    cheapest = estimate.cheapest
    assert (cheapest.carrier_code, cheapest.cost, cheapest.eta_days) == ("anteraja", 16_000, 4)
    assert (estimate.fastest.carrier_code, estimate.fastest.service_level, estimate.fastest.cost,
            estimate.fastest.eta_days) == ("sicepat", "BEST", 32_000, 2)
    assert estimate.delivered_price == 150_000 + 16_000
    # Shipped on Saturday the 26th (1 working day; the 25th is Christmas), then the courier's days
    # skip Sunday the 27th: 4 working days → Thursday the 31st; 2 → Tuesday the 29th.
    assert estimate.cheapest.arrives_on == dt.date(2026, 12, 31)
    assert estimate.fastest.arrives_on == dt.date(2026, 12, 29)
    assert estimate.cheapest.arrives_on == arrival_date(lead_time_days=1, courier_days=4, now=CHRISTMAS_EVE)
    assert estimate.fastest.arrives_on == arrival_date(lead_time_days=1, courier_days=2, now=CHRISTMAS_EVE)


def test_the_figures_are_for_the_minimum_order_rounded_up_to_whole_packs(buyer):
    offer, _ = offer_in_stock(price=20_000, weight_g=500, min_order_qty=3, pack_size=2, on_hand=10)

    estimate = services.offer_delivery_estimates(actor=buyer.user, offer_ids=[offer.pk])[offer.pk]

    assert (estimate.quantity, estimate.quantity_is_minimum) == (4, True)
    two_kilos = shipping_quotes(origin=courier_area(place=offer.stocks.get().warehouse),
                                destination=courier_area(place=buyer.address), weight_g=2_000)[0]
    assert estimate.cheapest.cost == two_kilos.cost == 29_000  # AnterAja: (8.000 + 6.500) × 2
    assert estimate.delivered_price == 4 * 20_000 + 29_000


def test_the_origin_is_the_warehouse_checkout_ships_from(buyer):
    """The destination's province first: a Bekasi workshop is served from Bekasi, not Jakarta."""
    offer, _ = offer_in_stock(price=50_000, weight_g=500)
    bekasi = WarehouseFactory(supplier=offer.supplier, province="Jawa Barat", city="Kota Bekasi",
                              district="Bekasi Selatan", postal_code="17148", region_code="32.75.04")
    StockFactory(offer=offer, warehouse=bekasi, on_hand=5)

    estimate = services.offer_delivery_estimates(actor=buyer.user, offer_ids=[offer.pk])[offer.pk]

    assert (estimate.cheapest.cost, estimate.cheapest.eta_days) == (8_000, 3)  # same city: AnterAja's base rate


def test_an_offer_no_warehouse_can_serve_has_no_figures(buyer):
    offer, _ = offer_in_stock(on_hand=1, min_order_qty=2)

    estimate = services.offer_delivery_estimates(actor=buyer.user, offer_ids=[offer.pk])[offer.pk]

    assert (estimate.delivered_price, estimate.cheapest, estimate.reason) == (None, None, "not_in_stock")


# --- The quote cache ---------------------------------------------------------------------------

def test_offers_that_share_a_route_ask_once_and_a_second_render_asks_nobody(client, buyer, fake_courier):
    warehouse = WarehouseFactory()
    first, _ = offer_in_stock(warehouse=warehouse, price=100_000, weight_g=500)
    for price in (110_000, 120_000):  # the same part, warehouse and weight: the same route
        StockFactory(offer=OfferFactory(part=first.part, price=price), warehouse=WarehouseFactory(), on_hand=5)
    client.force_login(buyer.user)
    before = fake_courier.calls("rates")

    page = client.get(reverse("orders:part", args=[first.part_id]))

    assert page.status_code == 200
    assert page.content.decode().count('data-testid="delivered-price"') == 3
    assert fake_courier.calls("rates") == before + 1
    again = client.get(reverse("orders:part", args=[first.part_id]))
    assert again.status_code == 200 and again.content.decode().count('data-testid="delivered-price"') == 3
    assert fake_courier.calls("rates") == before + 1


def test_a_page_waits_on_a_slow_courier_one_timeout_and_the_late_answers_are_kept(buyer, fake_courier, settings):
    """16 routes (16 weights) on 8 threads, each answered in 0.7 s: two rounds would take 1.4 s;
    the estimates stop waiting at the 1 s timeout, and the late answers serve the next page."""
    settings.PARTNER_HTTP_TIMEOUT_SECONDS = 1.0
    offers = [offer_in_stock(weight_g=1_000 * (index + 1))[0] for index in range(16)]
    fake_courier.set_faults(latency_ms=700)
    before = fake_courier.calls("rates")

    started = time.monotonic()
    first = services.offer_delivery_estimates(actor=buyer.user, offer_ids=[o.pk for o in offers])
    waited = time.monotonic() - started

    assert waited < 1.35
    reasons = [first[o.pk].reason for o in offers]
    assert "courier_unavailable" in reasons and "" in reasons
    time.sleep(1.0)  # the late answers arrive and are cached
    again = services.offer_delivery_estimates(actor=buyer.user, offer_ids=[o.pk for o in offers])
    assert all(again[o.pk].delivered_price is not None for o in offers)
    assert fake_courier.calls("rates") == before + 16


# --- A courier that is down --------------------------------------------------------------------

def test_with_the_courier_down_the_page_and_the_api_show_the_offer_without_figures(client, buyer, fake_courier):
    offer, _ = offer_in_stock(price=75_000)
    fake_courier.set_faults(fail_next=5)
    client.force_login(buyer.user)

    page = client.get(reverse("orders:part", args=[offer.part_id]))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="offer"' in html and "Rp 75.000" in html
    assert 'data-testid="delivery-unavailable"' in html and "Ongkir belum tersedia" in html
    [row] = key_client(workshop=buyer.workshop).get(offers_url(offer.part_id)).json()
    assert row["price"] == 75_000
    assert row["delivery"]["delivered_price"] is None and row["delivery"]["cheapest"] is None
    assert row["delivery"]["reason"] in {"courier_unavailable", "courier_circuit_open"}


def test_a_destination_the_courier_refuses_is_said(client, buyer, fake_courier):
    offer, _ = offer_in_stock()
    fake_courier.set_faults(reject_destination_postal_prefix="17")  # Bekasi

    [row] = key_client(workshop=buyer.workshop).get(offers_url(offer.part_id)).json()

    assert (row["delivery"]["delivered_price"], row["delivery"]["reason"]) == (None, "courier_rejected")


# --- Sort and filter (API and page) ------------------------------------------------------------

@pytest.fixture
def three_offers(buyer):
    """One part, three suppliers: cheap but slow and far, dear and near, middling."""
    cheap_far, _ = offer_in_stock(price=100_000, weight_g=500, lead_time_days=5)
    far = cheap_far.stocks.get().warehouse
    for field, value in MAKASSAR_AREA.items():
        setattr(far, field, value)
    far.save()
    dear_near, _ = offer_in_stock(price=125_000, lead_time_days=0,
                                  warehouse=WarehouseFactory(province="Jawa Barat", city="Kota Bekasi",
                                                             district="Bekasi Selatan", postal_code="17148",
                                                             region_code="32.75.04"))
    middle, _ = offer_in_stock(price=110_000, lead_time_days=2)
    for offer in (dear_near, middle):
        offer.part = cheap_far.part
        offer.save()
    return cheap_far, dear_near, middle


def test_the_api_sorts_by_delivered_price_and_by_arrival_and_filters(buyer, three_offers):
    cheap_far, dear_near, middle = three_offers
    client = key_client(workshop=buyer.workshop)
    url = offers_url(cheap_far.part_id)

    rows = client.get(url, {"sort": "delivered_price"}).json()
    delivered = [row["delivery"]["delivered_price"] for row in rows]
    assert delivered == sorted(delivered) and len(rows) == 3
    # Makassar → Bekasi: off Java, 3.5 × AnterAja's Rp 8.000; Bekasi → Bekasi: Rp 8.000.
    assert {row["offer_id"]: row["delivery"]["delivered_price"] for row in rows} == {
        cheap_far.pk: 100_000 + 28_000, dear_near.pk: 125_000 + 8_000, middle.pk: 110_000 + 16_000}
    assert [row["offer_id"] for row in rows] == [middle.pk, cheap_far.pk, dear_near.pk]

    by_arrival = client.get(url, {"sort": "arrival"}).json()
    arrivals = [dt.date.fromisoformat(row["delivery"]["fastest"]["arrives_on"]) for row in by_arrival]
    assert arrivals == sorted(arrivals)
    assert [row["offer_id"] for row in by_arrival] == [dear_near.pk, middle.pk, cheap_far.pk]

    latest = dt.date.fromisoformat(by_arrival[1]["delivery"]["fastest"]["arrives_on"])
    soon = client.get(url, {"arrives_by": latest.isoformat(), "sort": "arrival"}).json()
    assert [row["offer_id"] for row in soon] == [row["offer_id"] for row in by_arrival[:2]]
    cheap = client.get(url, {"max_delivered_price": 128_000}).json()
    assert {row["offer_id"] for row in cheap} == {cheap_far.pk, middle.pk}
    assert client.get(url).json()[0]["offer_id"] == cheap_far.pk  # the ranking: in stock, then price


@pytest.mark.parametrize(("params", "field"), [
    ({"sort": "cheapest"}, "sort"),
    ({"arrives_by": "31-12-2026"}, "arrives_by"),
    ({"max_delivered_price": "-5"}, "max_delivered_price"),
    ({"max_delivered_price": "12.5"}, "max_delivered_price"),
])
def test_a_bad_sort_or_filter_is_a_problem_naming_the_field(buyer, three_offers, params, field):
    response = key_client(workshop=buyer.workshop).get(offers_url(three_offers[0].part_id), params)

    body = assert_problem(response, 400, "invalid_field")
    assert body["field"] == field


def test_the_part_page_sorts_filters_and_says_a_bad_parameter(client, buyer, three_offers):
    cheap_far, dear_near, middle = three_offers
    client.force_login(buyer.user)
    url = reverse("orders:part", args=[cheap_far.part_id])

    page = client.get(url, {"sort": "delivered_price"})
    assert [row.offer.offer_id for row in page.context["offers"]] == [middle.pk, cheap_far.pk, dear_near.pk]
    by_arrival = client.get(url, {"sort": "arrival"}).context["offers"]
    assert [row.offer.offer_id for row in by_arrival] == [dear_near.pk, middle.pk, cheap_far.pk]
    filtered = client.get(url, {"max_delivered_price": "1000"})
    assert filtered.context["offers"] == [] and 'data-testid="offers-filtered-out"' in filtered.content.decode()

    bad = client.get(url, {"sort": "nope"})
    assert bad.status_code == 200
    assert len(bad.context["offers"]) == 3
    assert any("sort" in str(m) for m in bad.context["messages"])


# --- Who sees which address --------------------------------------------------------------------

def test_a_workshops_key_sees_delivery_to_its_own_default_address_only(buyer, three_offers):
    cheap_far = three_offers[0]
    other = WorkshopMemberFactory()
    AddressFactory(workshop=other.workshop, **MAKASSAR_AREA)  # the other workshop's default: Makassar
    AddressFactory(workshop=buyer.workshop, is_default=False, **MAKASSAR_AREA)  # not the buyer's default

    mine = {row["offer_id"]: row["delivery"] for row in key_client(workshop=buyer.workshop)
            .get(offers_url(cheap_far.part_id)).json()}
    theirs = {row["offer_id"]: row["delivery"] for row in key_client(workshop=other.workshop)
              .get(offers_url(cheap_far.part_id)).json()}

    assert mine[cheap_far.pk]["cheapest"]["cost"] == 28_000  # Makassar → Bekasi
    assert theirs[cheap_far.pk]["cheapest"]["cost"] == 8_000  # Makassar → Makassar


def test_who_is_no_workshop_gets_no_figures(client, buyer, three_offers, fake_courier):
    part_id = three_offers[0].part_id
    before = fake_courier.calls("rates")
    unbound = key_client(workshop=None).get(offers_url(part_id)).json()
    client.force_login(SupplierMemberFactory().user)
    supplier = client.get(offers_url(part_id))

    for rows in (unbound, supplier.json()):
        assert len(rows) == 3
        assert all(row["delivery"]["delivered_price"] is None and row["delivery"]["cheapest"] is None
                   and row["delivery"]["reason"] == "not_a_workshop" for row in rows)
    assert fake_courier.calls("rates") == before  # nobody's address was quoted


def test_a_workshop_without_a_default_address_is_told_to_choose_one(client, buyer, three_offers):
    buyer.address.is_default = False
    buyer.address.save()
    client.force_login(buyer.user)

    rows = key_client(workshop=buyer.workshop).get(offers_url(three_offers[0].part_id)).json()
    page = client.get(reverse("orders:part", args=[three_offers[0].part_id]))

    assert {row["delivery"]["reason"] for row in rows} == {"no_default_address"}
    assert page.status_code == 200 and 'data-testid="delivery-unavailable"' in page.content.decode()


def test_the_parts_list_shows_the_best_offers_delivery(client, buyer, fake_courier):
    offer, _ = offer_in_stock(price=90_000, weight_g=500)
    client.force_login(buyer.user)

    page = client.get(reverse("workshops:parts"), {"q": offer.part.number})

    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="delivery"' in html
    assert "Rp 106.000" in html  # Rp 90.000 + AnterAja's Rp 16.000
