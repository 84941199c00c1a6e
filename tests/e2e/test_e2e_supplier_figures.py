"""A supplier member's sales figures in the supplier admin, in the browser: reached from the
admin's index, its own numbers, readable on a desktop and on a phone (charts drawn; no page-wide
sideways scroll: a wide table scrolls inside its own box)."""

from __future__ import annotations

import pytest

from analytics.services import sales_days_refresh_changed
from tests.analytics.sales_data import sales_data_make
from tests.e2e.test_e2e_ops import WIDER
from tests.suppliers.factories import SupplierMemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-Passw0rd"  # tests.platform.factories.UserFactory's


@pytest.fixture
def member(settings, fake_courier, fake_gateway):
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{fake_gateway.url}/_sink"
    data = sales_data_make()
    sales_days_refresh_changed()
    return SupplierMemberFactory(supplier=data.a).user


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_member_reads_its_sales_figures(new_page, live_server, screenshot, member, device):
    page = new_page(device)
    page.goto(f"{live_server.url}/supplier-admin/login/")
    page.fill("input[name=username]", member.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.get_by_role("link", name="Angka penjualan").first.click()
    page.wait_for_selector("#figure-sales_by_day")
    page.click("#figure-sales_by_day summary")  # 30 days: the long table folds under its chart
    assert page.get_by_text("Rp 222.000").first.is_visible() or device == "phone"
    assert "Rp 277.500" not in page.content()
    page.select_option("select[name=period]", "7d")
    page.get_by_role("button", name="Tampilkan").click()
    page.wait_for_selector("#figure-top_parts")
    # Every chart drawn by static/js/ops-charts.js, as on the operators' pages.
    page.wait_for_function("document.querySelectorAll('.ops-chart').length > 0 && "
                           "Array.from(document.querySelectorAll('.ops-chart')).every(b => b.opsChart)")
    page.wait_for_timeout(600)  # the first animation frame
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    screenshot(page, f"supplier-figures-{device}")
    assert width[0] <= width[1] + 1, (width, page.evaluate(WIDER))
