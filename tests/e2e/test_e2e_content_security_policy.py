"""Every kind of page works under the Content-Security-Policy (okto88/settings.py, docs/security.md):
a workshop member, a supplier member, an operator and a visitor walk their pages in Chromium, and
the browser reports no `securitypolicyviolation` (no inline script, style or handler refused, nothing
loaded from elsewhere). The scripts the CSP moved out of the templates still do their work."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.pages import SECTIONS
from orders import services
from orders.models import Order, OrderStatus, SupplierOrder, SupplierOrderStatus
from tests.e2e.test_e2e_accounts import log_in
from tests.orders.factories import place
from tests.orders.ui_data import shop_make
from tests.platform.factories import OperatorFactory
from tests.suppliers.factories import SupplierMemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-Passw0rd"  # tests.platform.factories.UserFactory's
# Runs in every document before its own scripts: the browser's report of each refusal.
LISTEN = """document.addEventListener('securitypolicyviolation', e => {
    (window.__cspViolations = window.__cspViolations || []).push(
        [e.violatedDirective, e.blockedURI, e.sourceFile + ':' + e.lineNumber, e.sample].join(' '));
});"""


class Walker:
    """One browser context (one signed-in person) that records every CSP refusal it meets."""

    def __init__(self, page, live_server):
        self.page, self.live_server, self.violations = page, live_server, []
        page.context.add_init_script(LISTEN)
        page.on("console", lambda message: self.violations.append(f"console: {message.text}")
                if "Content Security Policy" in message.text else None)

    def visit(self, path: str, *, ready: str | None = None) -> None:
        response = self.page.goto(f"{self.live_server.url}{path}")
        assert response is not None and response.status < 500, (path, response and response.status)
        assert "content-security-policy" in response.headers, path
        if ready:
            self.page.wait_for_selector(ready)
        self.page.wait_for_load_state("networkidle")
        self.collect(path)

    def collect(self, where: str) -> None:
        found = self.page.evaluate("window.__cspViolations || []")
        self.page.evaluate("window.__cspViolations = []")
        self.violations += [f"{where}: {violation}" for violation in found]


@pytest.fixture
def marketplace(settings, fake_courier, fake_gateway):
    """A workshop's order waiting for its supplier, the supplier's member and an operator."""
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{fake_gateway.url}/_sink"
    shop = shop_make()
    offer = shop.pad.offers.get(supplier__legal_name="PT Sinar Jaya Parts")
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=2)
    order = place(buyer=shop.buyer)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.IN_FULFILMENT)
    order.supplier_orders.update(status=SupplierOrderStatus.PENDING)
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=1)  # a cart with a line
    member = SupplierMemberFactory(supplier=offer.supplier).user
    return shop, order, offer, member, OperatorFactory()


def test_a_workshop_member_meets_no_refusal(new_page, live_server, marketplace):
    shop, order, *_ = marketplace
    walker = Walker(new_page("desktop"), live_server)
    walker.visit("/accounts/login/")
    log_in(walker.page, live_server, shop.buyer.user.email)
    walker.page.wait_for_url(f"{live_server.url}/")
    walker.collect("after login")
    walker.visit("/")
    # The header badges load by htmx after the page: htmx runs under the policy.
    walker.visit("/bengkel/parts/?q=kampas", ready="[data-testid=cart-badge] .badge")
    assert walker.page.get_by_test_id("cart-badge").inner_text().strip().endswith("1")
    # The sort select submits its form by itself (okto88.js, no onchange="…" any more).
    walker.page.select_option("#id_sort", index=1)
    walker.page.wait_for_url("**sort=*")
    walker.collect("sorted parts")
    for path in (f"/bengkel/parts/{shop.pad.pk}/", "/bengkel/cart/", "/bengkel/orders/",
                 f"/bengkel/orders/{order.number}/", "/bengkel/notifications/", "/bengkel/garage/"):
        walker.visit(path)
    assert walker.violations == []


def test_a_supplier_member_meets_no_refusal_in_the_supplier_admin(new_page, live_server, marketplace):
    _, order, offer, member, _ = marketplace
    walker = Walker(new_page("desktop"), live_server)
    walker.visit("/supplier-admin/login/")
    walker.page.fill("input[name=username]", member.email)
    walker.page.fill("input[name=password]", PASSWORD)
    walker.page.click("input[type=submit]")
    walker.page.wait_for_url(f"{live_server.url}/supplier-admin/")
    walker.collect("after login")
    supplier_order = SupplierOrder.objects.get(order=order)
    for path in ("/supplier-admin/", "/supplier-admin/suppliers/offer/",
                 f"/supplier-admin/suppliers/offer/{offer.pk}/change/",
                 "/supplier-admin/orders/supplierorder/",
                 f"/supplier-admin/orders/supplierorder/{supplier_order.pk}/change/",
                 "/supplier-admin/suppliers/feedimport/", "/supplier-admin/suppliers/feedimport/add/",
                 "/supplier-admin/platform/auditentry/"):
        walker.visit(path)
    # The bulk price change (an admin action with its own page and its own stylesheet).
    walker.visit("/supplier-admin/suppliers/offer/")
    walker.page.check(f"input[name=_selected_action][value='{offer.pk}']")
    walker.page.select_option("select[name=action]", "change_prices")
    walker.page.click("button[name=index]")
    walker.page.fill("input[name=percent]", "10")
    walker.page.get_by_role("button", name="Pratinjau harga baru").click()
    walker.page.wait_for_selector("#price-preview")
    # admin.css reached the page: the preview's table scrolls inside its own box.
    assert walker.page.eval_on_selector(".price-change .price-table", "e => getComputedStyle(e).overflowX") == "auto"
    walker.collect("price change")
    walker.visit(reverse("supplier_admin:analytics_salesday_changelist"), ready=".ops-chart canvas")
    # The export page: "Select all" still unticks every field without its inline onchange.
    walker.visit("/supplier-admin/suppliers/offer/export/", ready="input.select-toggle")
    ticked = "document.querySelectorAll('.selectable-field-export-row input[type=checkbox]:checked').length"
    assert walker.page.evaluate(ticked) > 0
    walker.page.uncheck("input.select-toggle")
    assert walker.page.evaluate(ticked) == 0
    walker.collect("export")
    assert walker.violations == []


def test_an_operator_meets_no_refusal_in_admin_ops_and_the_api_docs(new_page, live_server, marketplace):
    _, order, offer, _, operator = marketplace
    walker = Walker(new_page("desktop"), live_server)
    walker.visit("/admin/login/")
    walker.page.fill("input[name=username]", operator.email)
    walker.page.fill("input[name=password]", PASSWORD)
    walker.page.click("input[type=submit]")
    walker.page.wait_for_url(f"{live_server.url}/admin/")
    walker.collect("after login")
    for path in ("/admin/", "/admin/platform/user/", "/admin/platform/user/add/",
                 f"/admin/platform/user/{operator.pk}/change/", "/admin/suppliers/offer/",
                 f"/admin/suppliers/offer/{offer.pk}/change/", "/admin/orders/order/",
                 "/ops/", "/ops/stalled/", f"/ops/orders/{order.number}/", "/admin-tools/catalog/import/",
                 "/admin/platform/auditentry/", "/admin/platform/apikey/", "/admin/analytics/securityalert/",
                 "/ops/security/"):
        walker.visit(path)
    for section in SECTIONS:
        walker.visit(f"/ops/{section.slug}/", ready=".ops-figure")
    # Swagger UI, from drf-spectacular-sidecar's static files, draws the API.
    walker.visit("/api/v1/docs/", ready="#swagger-ui .information-container")
    assert walker.violations == []


def test_a_visitor_meets_no_refusal(new_page, live_server, marketplace):
    walker = Walker(new_page("phone"), live_server)
    for path in ("/", "/accounts/login/", "/accounts/password_reset/", "/no-such-page/", "/admin/login/"):
        walker.visit(path)
    # The lockout page (django-axes' 429), reached by wrong passwords.
    statuses = []
    for _ in range(5):
        walker.visit("/accounts/login/")
        walker.page.fill("input[name=username]", "nobody@bengkel.test")
        walker.page.fill("input[name=password]", "wrong")
        with walker.page.expect_response(lambda response: response.request.method == "POST") as posted:
            walker.page.press("input[name=password]", "Enter")
        statuses.append(posted.value.status)
        walker.page.wait_for_load_state("networkidle")
    assert statuses[-1] == 429 and walker.page.locator("p.message--error[role=alert]").count() == 1
    walker.collect("lockout page")
    assert walker.violations == []
