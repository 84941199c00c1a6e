"""The cart optimiser in a real browser at phone width (375 px): the cart holds the brake pad from
the far supplier (cheaper) and another part from the near one; "Optimalkan keranjang" shows that
one parcel from the near supplier saves money, "Terapkan" puts that plan in the cart."""

from __future__ import annotations

import pytest

from orders import services
from orders.models import CartLine
from tests.e2e.test_e2e_accounts import log_in
from tests.orders.ui_data import shop_make

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def shop(settings, fake_courier):
    settings.COURIER_URL = fake_courier.url
    fake_courier.set_faults()
    shop = shop_make()
    far = shop.pad.offers.get(supplier__legal_name="PT Maju Motor")
    other = shop.parts[1].offers.get()
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=far.pk, quantity=1)
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=other.pk, quantity=1)
    return shop


def test_optimise_see_the_saving_apply_and_the_cart_shows_the_new_lines(new_page, live_server, shop, screenshot):
    page = new_page("phone")
    log_in(page, live_server, shop.buyer.user.email)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/bengkel/cart/")
    assert page.get_by_role("heading", name="PT Maju Motor").is_visible()
    page.get_by_test_id("optimise-link").click()  # the panel sits below checkout: the top of the page links to it
    page.wait_for_url(f"{live_server.url}/bengkel/cart/#optimise")
    page.get_by_test_id("optimise-submit").click()
    saving = page.get_by_test_id("optimise-saving")
    saving.wait_for()
    assert "Anda hemat" in saving.inner_text()
    assert "Pemasok lain" in page.get_by_test_id("optimise-changes").inner_text()
    assert page.evaluate(NO_SIDEWAYS)
    screenshot(page, "cart-optimiser-plan-phone")

    page.get_by_test_id("optimise-apply").click()
    page.wait_for_url(f"{live_server.url}/bengkel/cart/")
    assert page.get_by_text("Keranjang kini berisi rencana yang dioptimalkan.").is_visible()
    assert page.get_by_role("heading", name="PT Sinar Jaya Parts").is_visible()
    assert page.get_by_role("heading", name="PT Maju Motor").count() == 0
    assert page.evaluate(NO_SIDEWAYS)
    screenshot(page, "cart-optimiser-applied-phone")
    suppliers = set(CartLine.objects.filter(cart__workshop=shop.buyer.workshop)
                    .values_list("offer__supplier__legal_name", flat=True))
    assert suppliers == {"PT Sinar Jaya Parts"}
