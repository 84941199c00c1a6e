"""The offer limits (suppliers.offer_limits) are one definition: the feed import, the API, the
admin forms and the services refuse the same out-of-range values and accept the limit itself."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.test import APIClient

from okto88.errors import InvalidField
from suppliers import offer_limits, services
from suppliers.admin import OfferForm, StockForm
from suppliers.errors import InvalidPrice
from suppliers.models import FeedStatus, Offer
from tests.suppliers.factories import OfferFactory, StockFactory
from tests.suppliers_feeds.conftest import HEADER, csv_upload, run_feed

pytestmark = pytest.mark.django_db
TOO_LONG_SKU = "S" * (offer_limits.SKU_MAX_LENGTH + 1)
TOO_HIGH_PRICE = offer_limits.PRICE_MAX + 1
TOO_LONG_LEAD_TIME = offer_limits.LEAD_TIME_MAX_DAYS + 1
TOO_MUCH_STOCK = offer_limits.STOCK_MAX + 1


def feed_refusals(world, *rows: str) -> set[tuple[int, str]]:
    feed = run_feed(world.supplier, csv_upload("\n".join([HEADER, *rows]) + "\n"), actor=world.member)
    assert feed.status == FeedStatus.PARTIAL, feed.error
    with feed.errors_report.open("rb") as handle:
        report = list(csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")))
    return {(int(r["row"]), r["column"]) for r in report}


def offer_form(world, **data) -> OfferForm:
    fields = {"supplier": world.supplier.pk, "part": world.pad.pk, "sku": "OK-1", "price": 100_000,
              "min_order_qty": 1, "pack_size": 1, "lead_time_days": 2, "is_active": True, **data}
    return OfferForm(data=fields)


def test_the_feed_refuses_each_value_past_a_limit_and_takes_the_limit_itself(world):
    refused = feed_refusals(
        world,
        f"{TOO_LONG_SKU},Toyota,04465-0K240,100000,2,1,",
        f"BR-2,Toyota,04465-0K240,{TOO_HIGH_PRICE},2,1,",
        f"BR-3,Toyota,04465-0K240,100000,{TOO_LONG_LEAD_TIME},1,",
        f"BR-4,Toyota,04465-0K240,100000,2,{TOO_MUCH_STOCK},",
        f"{'L' * offer_limits.SKU_MAX_LENGTH},Toyota,43512-0K090,{offer_limits.PRICE_MAX},"
        f"{offer_limits.LEAD_TIME_MAX_DAYS},{offer_limits.STOCK_MAX},",
    )
    assert refused == {(2, "sku"), (3, "price"), (4, "lead_time_days"), (5, "stock_JKT1")}
    at_limits = Offer.objects.get(part=world.disc)
    assert (at_limits.price, at_limits.lead_time_days) == (offer_limits.PRICE_MAX, offer_limits.LEAD_TIME_MAX_DAYS)


@pytest.mark.parametrize(("field", "value"), [("sku", TOO_LONG_SKU), ("price", TOO_HIGH_PRICE),
                                              ("lead_time_days", TOO_LONG_LEAD_TIME)])
def test_the_admin_form_and_the_services_refuse_the_same_offer_values(world, field, value):
    form = offer_form(world, **{field: value})
    assert not form.is_valid() and field in form.errors

    kwargs = {"sku": "OK-1", "price": 100_000, "lead_time_days": 2, field: value}
    with pytest.raises((InvalidField, InvalidPrice)):
        services.offer_create(supplier=world.supplier, part=world.pad, **kwargs)
    assert not Offer.objects.filter(supplier=world.supplier).exists()


def test_the_admin_form_and_the_services_accept_the_limits(world):
    limits = {"sku": "L" * offer_limits.SKU_MAX_LENGTH, "price": offer_limits.PRICE_MAX,
              "lead_time_days": offer_limits.LEAD_TIME_MAX_DAYS}
    assert offer_form(world, **limits).is_valid()
    offer = services.offer_create(supplier=world.supplier, part=world.pad, **limits)
    services.offer_update(offer=offer, data={"lead_time_days": offer_limits.LEAD_TIME_MIN_DAYS})
    with pytest.raises(InvalidField):
        services.offer_update(offer=offer, data={"lead_time_days": TOO_LONG_LEAD_TIME})


def test_the_api_and_the_admin_refuse_the_same_stock_count(world):
    offer = OfferFactory(supplier=world.supplier, sku="BR-1", part=world.pad)
    stock = StockFactory(offer=offer, warehouse=world.jkt, on_hand=1)
    client = APIClient()
    client.force_login(world.member)
    for on_hand, status in [(TOO_MUCH_STOCK, 400), (offer_limits.STOCK_MAX, 200)]:
        response = client.put("/api/v1/suppliers/me/stock/",
                              {"rows": [{"sku": "BR-1", "warehouse": "JKT1", "on_hand": on_hand}]}, format="json")
        assert response.status_code == status, response.content

    form = StockForm(data={"offer": offer.pk, "warehouse": world.jkt.pk, "set_on_hand": TOO_MUCH_STOCK},
                     instance=stock)
    assert not form.is_valid() and "set_on_hand" in form.errors
