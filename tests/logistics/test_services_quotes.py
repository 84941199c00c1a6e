"""Rate quotes from the courier (the fake courier over real HTTP)."""

from __future__ import annotations

import pytest

from logistics import services
from logistics.errors import CourierRejected, CourierUnavailable, InvalidShipmentRequest
from logistics.models import Carrier
from tests.logistics.factories import BANDUNG, JAKARTA_SELATAN, JAKARTA_TIMUR, JAYAPURA, MAKASSAR

pytestmark = pytest.mark.django_db


def test_quotes_list_every_active_carrier_and_service_cheapest_first(carriers):
    quotes = services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=2_500)

    assert {(q.carrier_code, q.service_level) for q in quotes} == {
        ("jne", "REG"), ("jne", "YES"), ("sicepat", "REG"), ("sicepat", "BEST"), ("jnt", "EZ"), ("anteraja", "REG")}
    assert [q.cost for q in quotes] == sorted(q.cost for q in quotes)
    assert all(isinstance(q.cost, int) and q.cost > 0 and q.cost % 500 == 0 for q in quotes)
    assert all(q.eta_days >= 1 for q in quotes)
    jne_reg = next(q for q in quotes if (q.carrier_code, q.service_level) == ("jne", "REG"))
    assert jne_reg.carrier_name == "JNE"


def test_nearer_and_lighter_is_cheaper(carriers):
    def jne_reg(destination, weight_g=1_000):
        quotes = services.shipping_quotes(origin=JAKARTA_SELATAN, destination=destination, weight_g=weight_g)
        return next(q for q in quotes if (q.carrier_code, q.service_level) == ("jne", "REG"))

    same_province, java, other_island = jne_reg(JAKARTA_TIMUR), jne_reg(BANDUNG), jne_reg(MAKASSAR)
    assert same_province.cost < java.cost < other_island.cost
    assert same_province.eta_days <= other_island.eta_days
    assert jne_reg(BANDUNG, weight_g=5_000).cost > java.cost


def test_a_carrier_switched_off_by_an_operator_is_not_offered(carriers):
    Carrier.objects.filter(code="jnt").update(is_active=False)

    quotes = services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)

    assert quotes and "jnt" not in {q.carrier_code for q in quotes}


def test_a_destination_the_courier_does_not_serve_is_rejected(carriers, fake_courier):
    fake_courier.set_faults(reject_destination_postal_prefix="99")

    with pytest.raises(CourierRejected, match="destination not served") as caught:
        services.shipping_quotes(origin=JAKARTA_SELATAN, destination=JAYAPURA, weight_g=1_000)
    assert caught.value.code == "courier_rejected"


@pytest.mark.parametrize("faults", [{"fail_next": 1}, {"timeout_next": 1, "timeout_seconds": 1.5}])
def test_a_courier_that_fails_or_does_not_answer_is_unavailable(carriers, fake_courier, faults):
    fake_courier.set_faults(**faults)

    with pytest.raises(CourierUnavailable) as caught:
        services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)
    assert caught.value.code == "courier_unavailable"
    assert services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)


def test_a_courier_nobody_listens_on_is_unavailable(carriers, settings):
    settings.COURIER_URL = "http://127.0.0.1:9"

    with pytest.raises(CourierUnavailable):
        services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)


@pytest.mark.parametrize(("origin", "weight_g", "field"), [
    ({**JAKARTA_SELATAN, "district": ""}, 1_000, "origin.district"),
    ({**JAKARTA_SELATAN, "postal_code": "1211"}, 1_000, "origin.postal_code"),
    ("Jakarta", 1_000, "origin"),
    (JAKARTA_SELATAN, 0, "weight_g"),
])
def test_incomplete_input_is_refused_before_asking_the_courier(carriers, origin, weight_g, field):
    with pytest.raises(InvalidShipmentRequest) as caught:
        services.shipping_quotes(origin=origin, destination=BANDUNG, weight_g=weight_g)
    assert caught.value.extra["field"] == field


def test_a_rate_is_kept_so_checkout_charges_what_the_cart_showed(carriers, fake_courier):
    shown = services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)
    fake_courier.set_faults(fail_next=1)

    assert services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000) == shown
    with pytest.raises(CourierUnavailable):  # another route is not in the cache: the courier is asked
        services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=2_000)


def test_with_no_rate_cache_every_quote_asks_the_courier(carriers, fake_courier, settings):
    settings.SHIPPING_QUOTE_CACHE_SECONDS = 0
    services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)
    fake_courier.set_faults(fail_next=1)

    with pytest.raises(CourierUnavailable):
        services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)


def test_several_routes_are_answered_each_on_its_own(carriers, fake_courier):
    fake_courier.set_faults(reject_destination_postal_prefix="99")
    routes = [
        services.QuoteRoute(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000),
        services.QuoteRoute(origin=JAKARTA_SELATAN, destination=JAYAPURA, weight_g=1_000),
        services.QuoteRoute(origin=BANDUNG, destination=MAKASSAR, weight_g=3_000),
        services.QuoteRoute(origin={**BANDUNG, "district": ""}, destination=MAKASSAR, weight_g=3_000),
    ]

    bandung, jayapura, makassar, incomplete = services.shipping_quotes_many(routes=routes)

    assert bandung == services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)
    assert isinstance(jayapura, CourierRejected)
    assert makassar and makassar[0].cost > bandung[0].cost
    assert isinstance(incomplete, InvalidShipmentRequest) and incomplete.extra["field"] == "origin.district"
    fake_courier.set_faults()  # a refusal is not kept: asked again, the courier now serves Jayapura
    assert services.shipping_quotes_many(routes=routes[1:2])[0]


def test_the_active_carriers_are_read_with_one_statement_by_code(carriers, django_assert_num_queries):
    from logistics.selectors import carrier_names_active

    Carrier.objects.filter(code="jnt").update(is_active=False)
    Carrier.objects.filter(code="jne").update(name="JNE Express")

    with django_assert_num_queries(1):
        names = carrier_names_active()

    assert list(names) == sorted(Carrier.objects.filter(is_active=True).values_list("code", flat=True))
    assert "jnt" not in names and names["jne"] == "JNE Express"
    quotes = services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)
    assert {q.carrier_name for q in quotes if q.carrier_code == "jne"} == {"JNE Express"}
