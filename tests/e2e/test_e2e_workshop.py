"""A workshop member in a real browser: picks the vehicle (selector or VIN), finds brake pads,
compares two suppliers, adds to the cart from both, checks out on terms and sees the order."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings

from logistics.fake_courier import start_fake_courier
from tests.e2e.test_e2e_accounts import log_in
from tests.orders.factories import buyer_make
from tests.orders.ui_data import shop_make

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AVANZA_VIN = "MHFM1BA3JK1234567"  # MHF: Toyota Indonesia; K: model year 2019


@pytest.fixture(scope="module")
def fake_courier():
    server = start_fake_courier(api_key=django_settings.COURIER_API_KEY,
                                webhook_secret=django_settings.COURIER_WEBHOOK_SECRET)
    yield server
    server.stop()


@pytest.fixture
def shop(settings, fake_courier):
    settings.COURIER_URL = fake_courier.url
    return shop_make()


def pick_avanza_2019(page, variant) -> None:
    page.locator("#id_make").select_option(label="Toyota")
    page.locator("#id_model").select_option(label="Avanza")
    page.locator("#id_year").select_option(label="2019")
    page.locator("#id_variant").select_option(value=str(variant.pk))
    page.locator("#vehicle-selector button[type=submit]").click()
    page.get_by_test_id("chosen-vehicle").wait_for()


def add_offer(page, index: int, expected_badge: str) -> None:
    offer = page.get_by_test_id("offer").nth(index)
    offer.locator("button[type=submit]").click()
    page.locator("#cart-add-result .message--success").wait_for()
    # attached, not visible: on a phone the header badges sit in the folded menu
    page.get_by_test_id("cart-badge").locator(".badge", has_text=expected_badge).wait_for(state="attached")


def test_find_brake_pads_by_the_selector_compare_add_and_check_out_on_terms(page, live_server, shop, screenshot):
    log_in(page, live_server, shop.buyer.user.email)
    page.wait_for_url(f"{live_server.url}/")
    page.locator(".mainnav a", has_text=re.compile("Find parts|Cari part")).first.click()
    page.wait_for_url(re.compile(r"/bengkel/parts/"))
    screenshot(page, "workshop-parts-empty-desktop")

    pick_avanza_2019(page, shop.variant)
    assert "Toyota Avanza 1.3 G M/T" in page.get_by_test_id("chosen-vehicle").inner_text()
    screenshot(page, "workshop-parts-vehicle-desktop")

    page.locator("#id_q").fill("kampas rem")
    page.locator("#id_q").press("Enter")
    page.get_by_role("link", name="Kampas Rem Depan").click()
    page.wait_for_url(re.compile(rf"/bengkel/parts/{shop.pad.pk}/"))
    assert page.get_by_test_id("offer").count() == 2
    text = page.locator(".offers").inner_text()
    assert "Rp 172.500" in text and "Rp 185.000" in text
    add_offer(page, 0, "1")
    add_offer(page, 1, "2")
    screenshot(page, "workshop-part-desktop")

    page.get_by_test_id("cart-badge").click()
    page.wait_for_url(re.compile(r"/bengkel/cart/"))
    assert page.locator("section.group").count() == 2
    cheapest_total = page.get_by_test_id("grand-total").inner_text()
    page.locator("section.group").first.locator("input[type=radio]").last.check()  # a dearer courier
    page.wait_for_function("t => document.querySelector('[data-testid=grand-total]').innerText !== t",
                           arg=cheapest_total)  # recomputed by htmx, no reload
    page.locator("input[name=payment_method][value=terms]").check()
    screenshot(page, "workshop-cart-desktop")
    page.locator(".checkout button[type=submit]").click()
    page.wait_for_url(re.compile(r"/bengkel/orders/OK-"))
    assert page.get_by_test_id("order-status").is_visible()
    assert page.locator(".timeline li").count() >= 1
    screenshot(page, "workshop-order-desktop")


def test_on_a_phone_by_vin_to_an_order_that_another_workshop_cannot_open(phone_page, live_server, shop,
                                                                          screenshot):
    page = phone_page
    log_in(page, live_server, shop.buyer.user.email)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/bengkel/parts/")
    page.locator("#id_vin").fill(AVANZA_VIN)
    page.locator("#id_vin").press("Enter")
    page.locator("#vin-result input[type=radio]").first.wait_for()
    screenshot(page, "workshop-vin-phone")
    page.locator("#vin-result button[type=submit]").click()
    page.get_by_test_id("chosen-vehicle").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "workshop-parts-phone")

    page.get_by_role("link", name="Kampas Rem Depan").click()
    add_offer(page, 0, "1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "workshop-part-phone")
    page.goto(f"{live_server.url}/bengkel/cart/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "workshop-cart-phone")
    page.locator(".checkout button[type=submit]").click()
    page.wait_for_url(re.compile(r"/bengkel/orders/OK-"))
    order_url = page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "workshop-order-phone")

    page.goto(f"{live_server.url}/bengkel/orders/")
    screenshot(page, "workshop-orders-phone")

    other = buyer_make()
    page.context.clear_cookies()
    log_in(page, live_server, other.user.email)
    page.wait_for_url(f"{live_server.url}/")
    response = page.goto(order_url)
    assert response.status == 404
