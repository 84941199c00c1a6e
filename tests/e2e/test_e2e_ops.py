"""The operations view in a real browser, at desktop and phone width (375 px).

Two parts. First, every chart kind the view draws (lines with a right axis, bars, horizontal
bars, a funnel, a timeline of floating bars) rendered by the `ops_figure` tag from fixed figures
into a static page that a local http.server serves with the project's own static files: each
chart is drawn on a canvas of non-zero size and the page never scrolls sideways. Second, an
operator walks every /ops/ page of the live server after orders went through the real workflow
(a Celery worker process with the fake courier and gateway): every page renders its figures'
charts and tables, with no sideways scrolling; a workshop member is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import shutil
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from analytics.figures import Column, Figure
from analytics.pages import SECTIONS
from orders import services
from orders.models import Order, OrderStatus
from tests.celery_worker import CeleryWorkerProcess, partner_worker_env
from tests.e2e.test_e2e_accounts import log_in
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place
from tests.platform.factories import OperatorFactory
from tests.workshops.factories import WorkshopMemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# Per chart box: the canvas's drawn size, whether Chart.js made a chart there, and how many
# pixels are painted (a blank canvas has none).
CHARTS = """() => Array.from(document.querySelectorAll('.ops-chart')).map(box => {
    const canvas = box.querySelector('canvas');
    const context = canvas.getContext('2d');
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { painted++; } }
    return {figure: box.closest('.ops-figure').id, width: canvas.clientWidth, height: canvas.clientHeight,
            drawn: Boolean(box.opsChart), painted: painted};
})"""
TABLES = """() => Array.from(document.querySelectorAll('.ops-figure')).map(figure => {
    const wrap = figure.querySelector('.ops-table-wrap');
    const box = wrap.getBoundingClientRect();
    return {figure: figure.id, rows: wrap.querySelectorAll('tbody tr').length,
            inside: box.left >= 0 && box.right <= document.documentElement.clientWidth + 0.5};
})"""

# What sticks out on the right, for the failure message.
WIDER = """() => Array.from(document.querySelectorAll('body *')).filter(e => !e.closest('.ops-table-wrap') &&
    e.getBoundingClientRect().right >
    document.documentElement.clientWidth + 0.5).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' +
    Math.round(e.getBoundingClientRect().right))"""

T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
KINDS_FIGURES = [
    Figure(key="load", title="Requests and latency", chart="line", x="minute", series=("p50", "p95"),
           secondary=("requests",), note="p50 and p95 on the left, requests per minute on the right.",
           columns=(Column("minute", "Minute", "datetime"), Column("p50", "p50", "ms"), Column("p95", "p95", "ms"),
                    Column("requests", "Requests per minute", "int")),
           rows=[{"minute": T0 + dt.timedelta(minutes=i), "p50": 40 + i % 7, "p95": 120 + (i * 13) % 90,
                  "requests": 200 + (i * 37) % 150} for i in range(60)]),
    Figure(key="gmv", title="GMV by day", chart="bar", x="day", series=("gmv",), secondary=("orders",),
           columns=(Column("day", "Day", "date"), Column("gmv", "GMV", "money"), Column("orders", "Orders", "int")),
           rows=[{"day": (T0 + dt.timedelta(days=i)).date(), "gmv": 15_000_000 + i * 1_250_000, "orders": 40 + i}
                 for i in range(14)]),
    Figure(key="partners", title="Partner p95", chart="hbar", x="partner", series=("p95",),
           columns=(Column("partner", "Partner", "text"), Column("p95", "p95", "ms"),
                    Column("errors", "Error rate", "percent")),
           rows=[{"partner": "courier · book", "p95": 830.5, "errors": 4.2},
                 {"partner": "gateway · charge", "p95": 310, "errors": 0.4},
                 {"partner": "courier · quote", "p95": 120, "errors": 0}]),
    Figure(key="funnel", title="Order funnel", chart="funnel", x="stage", series=("orders",),
           columns=(Column("stage", "Stage", "text"), Column("orders", "Orders", "int"),
                    Column("lost", "Lost", "int")),
           rows=[{"stage": stage, "orders": count, "lost": lost} for stage, count, lost in [
               ("placed", 1000, 0), ("paid", 930, 70), ("stock committed", 910, 20), ("shipments booked", 880, 30),
               ("shipped", 860, 20), ("delivered", 845, 15)]]),
    # The shape of analytics.selectors.workflow.order_timeline_figures: a lane per step (its title on
    # the axis), a wait bar and a run bar per attempt; a failed or retrying run is marked.
    Figure(key="timeline", title="Order timeline", chart="timeline", x="lane_title",
           columns=(Column("lane_title", "Step", "text"), Column("lane", "Step code", "text"),
                    Column("kind", "Bar", "text"), Column("start_ms", "From", "ms"), Column("end_ms", "To", "ms"),
                    Column("status", "Status", "text")),
           rows=[{"lane_title": title, "lane": lane, "kind": kind, "start_ms": start, "end_ms": end, "status": status}
                 for title, lane, kind, start, end, status in [
                     ("Commit stock", "commit_stock", "wait", 0, 40, "succeeded"),
                     ("Commit stock", "commit_stock", "run", 40, 95, "succeeded"),
                     ("Book the courier", "request_shipments", "wait", 95, 130, "retrying"),
                     ("Book the courier", "request_shipments", "run", 130, 1130, "retrying"),
                     ("Book the courier", "request_shipments", "wait", 3130, 3180, "succeeded"),
                     ("Book the courier", "request_shipments", "run", 3180, 3600, "succeeded"),
                     ("Notify", "notify", "wait", 3600, 3620, "failed"),
                     ("Notify", "notify", "run", 3620, 3700, "failed")]],
           extra={"marked_statuses": ["retrying", "failed", "running"]}),
    # A period without sales: no tick of the rupiah axis may repeat another's text.
    Figure(key="gmv_none", title="GMV by day, none yet", chart="line", x="day", series=("gmv",),
           columns=(Column("day", "Day", "date"), Column("gmv", "GMV", "money")),
           rows=[{"day": (T0 + dt.timedelta(days=i)).date(), "gmv": 0} for i in range(7)]),
    Figure(key="codes", title="Failures by code", columns=(Column("code", "Code", "text"), Column("n", "Count", "int")),
           rows=[{"code": "courier_unavailable", "n": 12}, {"code": "out_of_stock", "n": 3}]),
]

PAGE = """{% load static ops_figures %}<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/css/okto88.css"><link rel="stylesheet" href="/static/css/ops.css">
<script src="/static/vendor/chartjs/chart.umd.min.js" defer></script>
<script src="/static/js/ops-charts.js" defer></script></head>
<body><main class="container">{% for figure in figures %}{% ops_figure figure %}{% endfor %}</main></body></html>"""


@pytest.fixture(scope="module")
def chart_kinds_site(tmp_path_factory):
    """The static page of every chart kind and the project's static files, over local HTTP."""
    root = tmp_path_factory.mktemp("ops-charts")
    shutil.copytree(Path(django_settings.BASE_DIR) / "static", root / "static")
    with translation.override("en"):
        html = Template(PAGE).render(Context({"figures": KINDS_FIGURES,
                                              "request": RequestFactory().get("/ops/kinds/")}))
    (root / "index.html").write_text(html, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


def charts_ready(page, expected: int) -> list[dict]:
    page.wait_for_function(f"document.querySelectorAll('.ops-chart').length === {expected} && "
                           "Array.from(document.querySelectorAll('.ops-chart')).every(b => b.opsChart)")
    page.wait_for_timeout(600)  # the first animation frame (none when reduced motion is asked for)
    return page.evaluate(CHARTS)


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_every_chart_kind_is_drawn_and_fits_the_screen(new_page, chart_kinds_site, screenshot, device):
    page = new_page(device)
    page.emulate_media(reduced_motion="reduce")
    page.goto(chart_kinds_site)
    charts = charts_ready(page, expected=6)
    assert [c["figure"] for c in charts] == ["figure-load", "figure-gmv", "figure-partners", "figure-funnel",
                                             "figure-timeline", "figure-gmv_none"]
    for chart in charts:
        assert chart["width"] > 200 and chart["height"] > 100 and chart["painted"] > 2000, chart
    assert page.evaluate(NO_SIDEWAYS)
    for figure in ("gmv", "gmv_none"):
        ticks = page.evaluate(f"() => document.querySelector('#figure-{figure} .ops-chart').opsChart.scales.y.ticks"
                              ".map(t => t.label)")
        assert len(ticks) >= 2 and len(set(ticks)) == len(ticks), ticks
    tables = page.evaluate(TABLES)
    assert len(tables) == len(KINDS_FIGURES) and all(t["inside"] and t["rows"] for t in tables), tables
    assert page.locator("#figure-codes .ops-chart").count() == 0  # "none": a table only
    screenshot(page, f"ops-chart-kinds-{device}")


# The stalled orders' shape (analytics.selectors.workflow.stalled_orders_figure): wider than a desktop's box.
STALLED_FIGURE = Figure(
    key="stalled", title="Stalled orders",
    columns=(Column("number", "Order"), Column("status_title", "Status"), Column("status", "Status code"),
             Column("since", "Waiting since", "datetime"), Column("deadline", "Deadline", "datetime"),
             Column("overdue_minutes", "Overdue (minutes)", "number"),
             Column("redrive_title", "A re-drive would"), Column("redrive", "Re-drive code"),
             Column("timeline", "Timeline", "link")),
    rows=[{"number": f"OK-2612-STALL{i}", "status_title": "Paid", "status": "paid", "since": T0, "deadline": T0,
           "overdue_minutes": 12841.3, "redrive_title": "Restart from: Notify the workshop and suppliers",
           "redrive": "notify", "timeline": f"/ops/orders/OK-2612-STALL{i}/"} for i in range(3)])


@pytest.fixture(scope="module")
def stalled_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("ops-stalled")
    shutil.copytree(Path(django_settings.BASE_DIR) / "static", root / "static")
    page = PAGE.replace("{% ops_figure figure %}", "{% ops_figure figure redrive=True %}")
    with translation.override("en"):
        html = Template(page).render(Context({"figures": [STALLED_FIGURE], "csrf_token": "x",
                                              "request": RequestFactory().get("/ops/stalled/")}))
    (root / "index.html").write_text(html, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_re_drive_button_is_in_sight_beside_a_table_wider_than_the_screen(new_page, stalled_site, screenshot,
                                                                             device):
    page = new_page(device)
    page.goto(stalled_site)
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll('form.ops-redrive button')).map(b => {
        const wrap = b.closest('.ops-table-wrap').getBoundingClientRect(), box = b.getBoundingClientRect();
        return {wide: b.closest('.ops-table-wrap').scrollWidth > b.closest('.ops-table-wrap').clientWidth,
                inside: box.left >= wrap.left && box.right <= wrap.right + 0.5};
    })""")
    assert len(boxes) == 3 and all(box["inside"] for box in boxes), boxes
    assert boxes[0]["wide"]  # the columns scroll; the button does not
    assert page.evaluate(NO_SIDEWAYS)
    page.locator("form.ops-redrive button").first.click(trial=True)  # visible, not covered
    screenshot(page, f"ops-stalled-re-drive-{device}")


# --- the live pages, after real orders -----------------------------------------------------------

@pytest.fixture(scope="module")
def ops_worker(django_db_setup, live_server, fake_courier, fake_gateway, tmp_path_factory):
    worker = CeleryWorkerProcess(
        log_dir=tmp_path_factory.mktemp("e2e-ops-worker"),
        extra_env=partner_worker_env(live_server=live_server, fake_courier=fake_courier, fake_gateway=fake_gateway),
    )
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def order_history(settings, live_server, fake_courier, fake_gateway, ops_worker):
    """Orders through the real services and workflow: three run their steps; one is placed while
    its chain goes to a queue nobody reads (the order the reconciler would find stalled)."""
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{live_server.url}/api/v1/payments/notifications/"
    settings.COURIER_NOTIFICATION_URL = f"{live_server.url}/api/v1/logistics/notifications/"
    fake_courier.set_faults()
    fake_gateway.set_faults()
    carriers_ensure()
    buyer = buyer_make()
    placed = []
    with ops_worker.routed():
        for _ in range(3):
            offer, _stock = offer_in_stock()
            services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
            placed.append(place(buyer=buyer))
    with ops_worker.paused():
        offer, _stock = offer_in_stock()
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
        stalled = place(buyer=buyer)
    deadline = time.monotonic() + 60
    while Order.objects.filter(pk__in=[o.pk for o in placed], status=OrderStatus.PAID).exists():
        assert time.monotonic() < deadline, "the workflow did not move the orders on"
        time.sleep(0.5)
    return {"orders": placed, "stalled": stalled}


def ops_paths(order_number: str) -> list[str]:
    return ["/ops/", *[f"/ops/{s.slug}/" for s in SECTIONS], "/ops/workflow/?period=1h", "/ops/load/?period=1h",
            "/ops/stalled/", f"/ops/orders/{order_number}/"]


def check_page(page, url: str) -> dict:
    page.goto(url)
    page.wait_for_load_state("load")
    expected = page.locator(".ops-chart").count()
    charts = charts_ready(page, expected) if expected else []
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 100 and chart["drawn"] and chart["painted"], (url, chart)
    tables = page.evaluate(TABLES)
    assert all(t["inside"] for t in tables), (url, tables)
    assert page.locator(".ops-figure").count() == page.locator(".ops-figure table").count()
    assert page.evaluate(NO_SIDEWAYS), (url, page.evaluate(WIDER))
    return {"charts": len(charts), "tables": len(tables)}


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_an_operator_reads_every_ops_page(new_page, live_server, order_history, screenshot, device):
    OperatorFactory(email="ops@okto88.id")
    page = new_page(device)
    page.emulate_media(reduced_motion="reduce")
    log_in(page, live_server, "ops@okto88.id")
    page.wait_for_url(f"{live_server.url}/")
    seen = {}
    number = order_history["orders"][0].number
    for path in ops_paths(number):
        seen[path] = check_page(page, live_server.url + path)
        name = path.removeprefix("/ops/").replace(number, "order").strip("/").replace("/", "-").replace("?", "-")
        screenshot(page, f"ops-{name.replace('=', '-') or 'dashboard'}-{device}")
    assert seen["/ops/"]["charts"] == 1 and seen["/ops/"]["tables"] == 1  # the headline counts
    assert page.locator("html").get_attribute("lang") == "id"


def test_the_dashboard_links_and_a_workshop_member_is_refused(new_page, live_server, screenshot):
    OperatorFactory(email="ops@okto88.id")
    member = WorkshopMemberFactory()
    page = new_page("desktop")
    log_in(page, live_server, "ops@okto88.id")
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("navigation", name="Navigasi utama").get_by_role("link", name="Analitik").click()
    page.wait_for_url(f"{live_server.url}/ops/")
    page.get_by_role("link", name="Pesanan macet").first.click()
    page.wait_for_url(f"{live_server.url}/ops/stalled/")
    page.get_by_role("button", name="EN").click()
    page.wait_for_url(f"{live_server.url}/ops/stalled/")
    assert page.get_by_role("heading", level=1).inner_text() == "Stalled orders"
    assert page.get_by_text("No order is stalled now.").is_visible()
    page.goto(f"{live_server.url}/ops/workflow/?period=2w")
    assert "Unknown period" in page.get_by_role("alert").inner_text()
    screenshot(page, "ops-bad-period-english-desktop")

    other = new_page("phone")
    log_in(other, live_server, member.user.email)
    other.wait_for_url(f"{live_server.url}/**")
    response = other.goto(f"{live_server.url}/ops/")
    assert response.status == 403
    screenshot(other, "ops-refused-workshop-member-phone")
