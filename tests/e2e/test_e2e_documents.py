"""The faktur link on a workshop's order page at phone width: shown once the supplier accepted,
it opens the PDF in the member's session."""

from __future__ import annotations

import pytest

from orders.models import SupplierOrderStatus
from tests.e2e.test_e2e_accounts import log_in
from tests.orders.documents_data import order_with_supplier_order, supplier_order_set, supplier_with_warehouse
from tests.orders.factories import buyer_make, carriers_ensure

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def partners(settings, fake_courier, fake_gateway):
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{fake_gateway.url}/_sink"
    fake_courier.set_faults()
    carriers_ensure()


def test_the_faktur_link_on_the_order_page_opens_the_pdf(new_page, live_server, partners, screenshot):
    buyer = buyer_make()
    order, supplier_order = order_with_supplier_order(buyer=buyer, supplier=supplier_with_warehouse())
    supplier_order_set(supplier_order, status=SupplierOrderStatus.ACCEPTED)
    page = new_page("phone")
    log_in(page, live_server, buyer.user.email)
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/bengkel/orders/{order.number}/")
    link = page.get_by_role("link", name="Faktur (PDF)")
    href = link.get_attribute("href")
    assert href == f"/bengkel/orders/{order.number}/invoices/{supplier_order.number}.pdf"
    assert page.evaluate(NO_SIDEWAYS)
    link.scroll_into_view_if_needed()
    screenshot(page, "workshop-order-faktur-link-phone")

    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
