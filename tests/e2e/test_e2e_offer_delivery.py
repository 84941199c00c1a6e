"""The part page in a browser: each offer's delivered price and arrival day to the workshop's
default address (orders.services.delivery, quotes from the fake courier), the sort by them, and
the parts list's best offer with its delivery; on a phone (375 px) nothing scrolls sideways."""

from __future__ import annotations

import re

import pytest

from okto88.working_hours import arrival_date
from tests.e2e.test_e2e_accounts import log_in
from tests.orders.ui_data import shop_make

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def shop(settings, live_server, fake_courier):
    settings.COURIER_URL = fake_courier.url
    fake_courier.set_faults()
    return shop_make(extra_parts=1)


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_part_page_shows_each_offers_delivered_price_and_arrival_day(new_page, device, live_server, shop,
                                                                        screenshot):
    page = new_page(device)
    log_in(page, live_server, shop.buyer.user.email)
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/bengkel/parts/{shop.pad.pk}/")
    offers = page.get_by_test_id("offer")
    assert offers.count() == 2
    # Jakarta Selatan → Bekasi: AnterAja REG, Rp 16.000 in 4 working days, is the cheapest service.
    prices = page.get_by_test_id("delivered-price").all_inner_texts()
    assert prices == ["Rp 188.500", "Rp 201.000"]  # ranking: PT Maju Motor's Rp 172.500 first
    text = page.locator(".offers").inner_text()
    assert "Ongkir termurah" in text and "Pengiriman tercepat" in text and "AnterAja" in text
    days = [page.get_by_test_id("arrives-on").nth(i).locator("time").get_attribute("datetime") for i in range(2)]
    assert days == [arrival_date(lead_time_days=3, courier_days=4).isoformat(),
                    arrival_date(lead_time_days=1, courier_days=4).isoformat()]
    assert page.evaluate(NO_SIDEWAYS), f"{page.url} scrolls sideways"
    screenshot(page, f"workshop-part-delivery-{device}")

    # Sorted by arrival: PT Sinar Jaya Parts ships in 1 day, PT Maju Motor in 3.
    page.locator("#id_sort").select_option("arrival")
    page.get_by_role("button", name="Terapkan").click()
    page.wait_for_url(re.compile(r"sort=arrival"))
    assert page.locator(".offer__supplier strong").all_inner_texts() == ["PT Sinar Jaya Parts", "PT Maju Motor"]

    # The parts list: the best offer with its delivered price.
    page.goto(f"{live_server.url}/bengkel/parts/?q={shop.pad.number}")
    best = page.get_by_test_id("delivery").first.inner_text()
    assert "Rp 188.500" in best and "sampai tujuan" in best
    assert page.evaluate(NO_SIDEWAYS), f"{page.url} scrolls sideways"
    screenshot(page, f"workshop-parts-delivery-{device}")
