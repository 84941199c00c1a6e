"""A workshop member in a real browser, end to end: picks Toyota Avanza 2019 by VIN and by the
selector, finds brake pads, compares two suppliers, adds to the cart from both, checks out
with a virtual account, pays on the fake gateway's own "pay now" page and watches the order
page move to shipped; a member of another workshop gets a 404 for that order. Once on a
desktop and once at phone width (375 px).

Everything runs for real: pytest-django's live server, a Celery worker *process* on the
queue of this module, the fake gateway and courier as HTTP servers calling back into the
live server. The tests are transactional (django_db(transaction=True)): the rows are
committed to the test database, so the worker process, which connects to that database by
URL, sees what the browser did, as in tests/orders/test_workflow.py. (A plain `db` test
would keep them in one uncommitted transaction that only the test's own connection sees.)
"""

from __future__ import annotations

import re
import time

import pytest

from orders import services
from orders.models import Order, OrderStatus, SupplierOrder
from tests.celery_worker import CeleryWorkerProcess, partner_worker_env
from tests.e2e.test_e2e_accounts import log_in
from tests.orders.factories import buyer_make, place
from tests.orders.ui_data import shop_make

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AVANZA_VIN = "MHFM1BA3JK1234567"  # MHF: Toyota Indonesia; K: model year 2019
# Screen readers and keyboard users get the same page; sighted phone users must not scroll sideways.
NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def workflow_worker(django_db_setup, live_server, fake_courier, fake_gateway, tmp_path_factory):
    """The order workflow's worker: talks to the fakes, which call back into the live server."""
    worker = CeleryWorkerProcess(
        log_dir=tmp_path_factory.mktemp("e2e-worker"),
        extra_env=partner_worker_env(live_server=live_server, fake_courier=fake_courier, fake_gateway=fake_gateway),
    )
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def shop(settings, live_server, fake_courier, fake_gateway, workflow_worker):
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{live_server.url}/api/v1/payments/notifications/"
    settings.COURIER_NOTIFICATION_URL = f"{live_server.url}/api/v1/logistics/notifications/"
    fake_courier.set_faults()
    fake_gateway.set_faults()
    with workflow_worker.routed():
        yield shop_make()


def wait_until(predicate, *, worker, what: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{worker.log_text()[-3000:]}")
        time.sleep(0.2)


def pick_by_vin(page, variant) -> None:
    page.get_by_label("VIN").fill(AVANZA_VIN)
    page.get_by_label("VIN").press("Enter")
    page.locator(f"#vin-result input[type=radio][value='{variant.pk}']").check()
    page.locator("#vin-result button[type=submit]").click()
    page.get_by_test_id("chosen-vehicle").wait_for()


def pick_by_selector(page, variant) -> None:
    # By label, as a screen reader user would; each choice reloads the next list by htmx.
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
    page.get_by_test_id("cart-badge").locator(".badge", has_text=expected_badge).wait_for()



def assert_fits(page) -> None:
    assert page.evaluate(NO_SIDEWAYS), f"{page.url} scrolls sideways"


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_from_vin_and_selector_to_a_paid_shipped_order_that_another_workshop_cannot_open(
        new_page, device, live_server, shop, fake_gateway, fake_courier, workflow_worker, screenshot):
    page = new_page(device)
    log_in(page, live_server, shop.buyer.user.email)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/bengkel/parts/")
    if device == "phone":
        # The folded menu opens from the keyboard too, and says so.
        toggle = page.locator(".nav-toggle__button")
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.locator(".mainnav a", has_text=re.compile("Pesanan|Orders")).is_visible()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "false"

    # --- Words without a vehicle: no filters, so the results take the whole width --------
    page.goto(f"{live_server.url}/bengkel/parts/?q=kampas+rem")
    assert page.locator(".results .result").count() >= 1
    assert page.locator(".facets").count() == 0
    layout_width = page.locator(".results-layout").bounding_box()["width"]
    assert page.locator(".results").bounding_box()["width"] >= 0.95 * layout_width
    page.goto(f"{live_server.url}/bengkel/parts/")

    # --- The vehicle: by VIN, then again by the selector -----------------------------
    pick_by_vin(page, shop.variant)
    assert "Toyota Avanza 1.3 G M/T" in page.get_by_test_id("chosen-vehicle").inner_text()
    page.get_by_role("button", name=re.compile("Ganti kendaraan|Change vehicle")).click()
    page.locator("#id_make").wait_for()
    pick_by_selector(page, shop.variant)
    assert "Toyota Avanza 1.3 G M/T" in page.get_by_test_id("chosen-vehicle").inner_text()
    # The unread-notification badge is in the header itself, not in the folded menu.
    page.get_by_test_id("notification-badge").wait_for()
    assert_fits(page)

    # --- Brake pads, narrowed by the position facet ------------------------------------
    page.get_by_label(re.compile("Nomor part atau kata|Part number or words")).fill("kampas rem")
    page.get_by_label(re.compile("Nomor part atau kata|Part number or words")).press("Enter")
    page.wait_for_url(re.compile(r"q=kampas"))
    facet = page.locator("details.facet", has=page.locator("summary", has_text=re.compile("Posisi|Position")))
    if device == "phone":
        facet.locator("summary").click()  # folded on a phone until used
    facet.get_by_role("link", name=re.compile("Depan|Front")).click()
    page.wait_for_url(re.compile(r"position=front"))
    assert page.locator("#id_q").input_value() == "kampas rem"  # the facet keeps the search
    assert page.locator(".results .result").count() == 1
    assert_fits(page)
    screenshot(page, f"workshop-parts-{device}")

    # --- A part number with the vehicle chosen says whether the part fits it ----------
    page.goto(f"{live_server.url}/bengkel/parts/?q={shop.pad.number}")
    assert page.get_by_test_id("fits-vehicle").first.inner_text() in ("cocok untuk kendaraan ini", "fits this vehicle")
    assert_fits(page)
    page.go_back()
    page.wait_for_url(re.compile(r"position=front"))

    # --- Compare two suppliers and buy from both ---------------------------------------
    page.get_by_role("link", name="Kampas Rem Depan").click()
    page.wait_for_url(re.compile(rf"/bengkel/parts/{shop.pad.pk}/"))
    assert page.get_by_test_id("offer").count() == 2
    offers = page.locator(".offers").inner_text()
    assert "PT Sinar Jaya Parts" in offers and "PT Maju Motor" in offers
    assert "Rp 172.500" in offers and "Rp 185.000" in offers
    add_offer(page, 0, "1")
    add_offer(page, 1, "2")
    assert_fits(page)
    screenshot(page, f"workshop-part-{device}")

    # --- Cart and checkout with a virtual account --------------------------------------
    page.get_by_test_id("cart-badge").click()
    page.wait_for_url(re.compile(r"/bengkel/cart/"))
    assert page.locator("section.group").count() == 2
    assert_fits(page)
    screenshot(page, f"workshop-cart-{device}")
    cheapest_total = page.get_by_test_id("grand-total").inner_text()
    page.locator("section.group").first.locator("input[type=radio]").last.check()  # a dearer courier
    page.wait_for_function("t => document.querySelector('[data-testid=grand-total]').innerText !== t",
                           arg=cheapest_total)  # recomputed by htmx, no reload
    total = page.get_by_test_id("grand-total").inner_text()
    page.locator("input[name=payment_method][value=virtual_account]").check()
    page.locator(".checkout").scroll_into_view_if_needed()
    screenshot(page, f"workshop-checkout-{device}")
    page.locator(".checkout button[type=submit]").click()
    page.wait_for_url(re.compile(r"/bengkel/orders/OK-"))
    order_url = page.url
    number = order_url.rstrip("/").rsplit("/", 1)[-1]
    status = page.get_by_test_id("order-status")
    assert re.search("Menunggu pembayaran|Waiting for payment", status.inner_text())
    va_number = page.get_by_test_id("va-number").inner_text().strip()
    assert re.fullmatch(r"\d{8,}", va_number)
    assert page.get_by_test_id("copy-va").is_visible()
    assert total in page.locator("#payment").inner_text()
    assert_fits(page)
    screenshot(page, f"workshop-order-pending-{device}")

    # --- Pay on the gateway's page; the order page notices by itself ------------------
    gateway_page = page.context.new_page()
    gateway_page.goto(f"{fake_gateway.url}/pay/{number}")
    assert va_number in gateway_page.locator(".va").inner_text()
    gateway_page.get_by_role("button", name=re.compile("Bayar sekarang")).click()
    gateway_page.locator(".paid").wait_for()
    screenshot(gateway_page, f"gateway-paid-{device}")
    gateway_page.close()

    # The payment panel polls every few seconds; once paid, htmx reloads the whole page.
    page.locator("#payment .ok").wait_for(timeout=45_000)
    assert re.search("Dibayar pada|Paid on", page.locator("#payment").inner_text())
    assert not re.search("Menunggu pembayaran|Waiting for payment", status.inner_text())
    assert not page.get_by_test_id("va-number").count()

    # --- Sent to the suppliers; each answers, packs, ships: the page follows without a reload ---
    page.get_by_test_id("accept-by").first.wait_for(timeout=45_000)
    assert page.get_by_test_id("accept-by").count() == 2
    order = Order.objects.get(number=number)
    first, second = SupplierOrder.objects.filter(order=order).order_by("pk")
    services.supplier_order_reject(supplier_order=second, reason="out_of_stock")
    page.get_by_test_id("rejected-line").first.wait_for(timeout=20_000)
    page.get_by_test_id("refunded").wait_for()
    assert second.supplier.legal_name in page.locator(".timeline").inner_text()
    services.supplier_order_accept(supplier_order=first)
    page.get_by_test_id("supplier-order-status").filter(has_text=re.compile("Diterima|Accepted")).wait_for(
        timeout=20_000)
    wait_until(lambda: first.step_runs.filter(step="commit_stock", status="succeeded").exists(),
               worker=workflow_worker, what="stock committed")
    services.supplier_order_mark_ready(supplier_order=first)
    page.get_by_test_id("waybill").wait_for(timeout=45_000)
    assert page.get_by_test_id("waybill").count() == 1
    timeline = page.locator(".timeline").inner_text()
    assert first.supplier.legal_name in timeline
    assert not re.search("commit_stock|book_courier|open_for_acceptance", timeline), "no internal step names"
    assert_fits(page)
    screenshot(page, f"workshop-order-answered-{device}")

    waybill = SupplierOrder.objects.select_related("shipment").get(pk=first.pk).shipment.waybill
    assert page.get_by_test_id("waybill").inner_text() == waybill
    fake_courier.advance(waybill, "picked_up")
    status.filter(has_text=re.compile("Dikirim|Shipped")).wait_for(timeout=45_000)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED  # the rest was rejected: what is still going has shipped
    assert_fits(page)
    screenshot(page, f"workshop-order-shipped-{device}")

    # --- The notices in the header, read ---------------------------------------------------
    badge = page.get_by_test_id("notification-badge")
    page.reload()
    unread = int(badge.locator(".badge").inner_text())
    assert unread >= 4  # paid, rejected, accepted, packed (and shipped, once its event is applied)
    badge.click()
    page.wait_for_url(re.compile(r"/bengkel/notifications/"))
    assert page.get_by_test_id("notification").count() == unread
    assert number in page.locator("main").inner_text()
    screenshot(page, f"workshop-notifications-{device}")
    page.get_by_test_id("mark-all-read").click()
    badge.locator(".badge", has_text="0").wait_for()
    assert not page.get_by_test_id("mark-all-read").count()

    # --- A member of another workshop cannot open it --------------------------------------
    other = buyer_make()
    page = new_page(device)
    log_in(page, live_server, other.user.email)
    page.wait_for_url(f"{live_server.url}/")
    response = page.goto(order_url)
    assert response.status == 404
    page.goto(f"{live_server.url}/bengkel/orders/")
    assert number not in page.locator("main").inner_text()


def test_qris_instructions_show_a_scannable_code(new_page, live_server, shop, screenshot):
    services.cart_line_add(workshop=shop.buyer.workshop, offer_id=shop.pad.offers.first().pk, quantity=1)
    order = place(buyer=shop.buyer, payment_method="qris")
    page = new_page("phone")
    log_in(page, live_server, shop.buyer.user.email)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/bengkel/orders/{order.number}/")
    code = page.get_by_role("img", name=re.compile("Kode pembayaran QRIS|QRIS payment code"))
    box = code.bounding_box()
    assert box["width"] >= 150 and abs(box["width"] - box["height"]) < 1  # square, big enough to scan
    assert_fits(page)
    page.locator("#payment").scroll_into_view_if_needed()
    screenshot(page, "workshop-order-qris-phone")
