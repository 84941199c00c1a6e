"""The operations pages (/ops/): operators only, every page renders, a bad period is said on the
page with a 400, the CSV export holds the figure's rows, and re-drive needs an operator and CSRF."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import translation

from analytics.figure_export import csv_filename, figure_csv, figure_json, period_slug
from analytics.figures import Column, Figure
from analytics.pages import SECTIONS
from analytics.periods import period_parse
from analytics.selectors.dashboard import dashboard_headlines
from orders import services
from orders.models import OrderEvent, OrderStatus
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place
from tests.platform.factories import OperatorFactory, UserFactory
from tests.suppliers.factories import SupplierMemberFactory
from tests.workshops.factories import WorkshopMemberFactory

pytestmark = pytest.mark.django_db

PAGES = ["/ops/", *[f"/ops/{section.slug}/" for section in SECTIONS], "/ops/stalled/", "/ops/security/",
         "/ops/load/?route=orders:detail", "/ops/workflow/?period=1h", "/ops/business/?start=2026-11-01&end=2026-11-30"]


@pytest.fixture
def operator_client():
    client = Client()
    client.force_login(OperatorFactory())
    return client


def in_english(client: Client) -> Client:
    """The language switch's cookie (the browser's Accept-Language is ignored: okto88.language)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def placed_order():
    carriers_ensure()
    buyer = buyer_make()
    offer, _stock = offer_in_stock()
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    return place(buyer=buyer)


@pytest.mark.parametrize("path", PAGES)
def test_an_operator_sees_every_page(operator_client, path):
    response = operator_client.get(path)
    assert response.status_code == 200, response.content[:500]
    assert b'class="ops-sections"' in response.content


def test_the_order_timeline_page_answers_for_an_order_and_404_for_none(operator_client):
    order = placed_order()
    assert operator_client.get(f"/ops/orders/{order.number}/").status_code == 200
    assert operator_client.get("/ops/orders/NO-SUCH-ORDER/").status_code == 404


@pytest.mark.parametrize("member", ["workshop", "supplier", "no role"])
@pytest.mark.parametrize("path", ["/ops/", "/ops/workflow/", "/ops/stalled/"])
def test_members_of_workshops_and_suppliers_get_403(path, member):
    user = {"workshop": lambda: WorkshopMemberFactory().user, "supplier": lambda: SupplierMemberFactory().user,
            "no role": UserFactory}[member]()
    client = Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 403
    assert b"You do not have access" in response.content or b"tidak punya akses" in response.content


@pytest.mark.parametrize("path", ["/ops/", "/ops/integrations/", "/ops/stalled/"])
def test_anonymous_is_sent_to_the_login_page(path):
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith(f"/accounts/login/?next={path}")


def test_the_operator_navigation_links_the_dashboard_and_the_dashboard_the_stalled_orders(operator_client):
    page = operator_client.get("/").content.decode()
    assert 'href="/ops/"' in page
    dashboard = operator_client.get("/ops/").content.decode()
    assert 'href="/ops/stalled/"' in dashboard
    for section in SECTIONS:
        assert f'href="/ops/{section.slug}/"' in dashboard


def test_a_workshop_member_has_no_analytics_entry():
    client = Client()
    client.force_login(WorkshopMemberFactory().user)
    assert 'href="/ops/"' not in client.get("/").content.decode()


@pytest.mark.parametrize(("query", "english", "indonesian"), [
    ("period=2w", "Unknown period", "Periode"),
    ("start=2026-13-01&end=2026-12-01", "YYYY-MM-DD", "YYYY-MM-DD"),
    ("start=2026-12-05&end=2026-12-01", "before the start", "sebelum"),
    ("start=2026-01-01&end=2026-12-01", "at most", "paling"),
])
def test_a_bad_period_is_said_on_the_page_with_400(operator_client, query, english, indonesian):
    response = operator_client.get(f"/ops/workflow/?{query}")
    assert response.status_code == 400 and indonesian in response.content.decode()
    response = in_english(operator_client).get(f"/ops/workflow/?{query}")
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode() and english in response.content.decode()
    operator_client.post("/i18n/setlang/", {"language": "id", "next": "/"})
    response = operator_client.get(f"/ops/workflow/?{query}")
    assert response.status_code == 400 and indonesian in response.content.decode()


def test_a_route_too_long_is_said_on_the_page_with_400(operator_client):
    response = in_english(operator_client).get("/ops/load/?route=" + "x" * 201)
    assert response.status_code == 400 and "at most 200 characters" in response.content.decode()


def test_the_csv_export_holds_the_figure_rows_under_the_readers_labels(operator_client):
    order = placed_order()
    assert order.status == OrderStatus.PAID
    response = in_english(operator_client).get("/ops/?csv=headlines")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="okto88-dashboard-headlines-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    with translation.override("en"):
        figure = dashboard_headlines(stalled_count=0, stalled_limit=200)
        expected = [[str(row["measure"]), str(row["value"])] for row in figure.rows]
    assert table[0] == ["Measure", "Orders"]
    assert table[1:] == expected
    assert ["Paid or being prepared", "1"] in table[1:]


def test_the_csv_of_a_figure_the_page_has_not_is_404(operator_client):
    assert operator_client.get("/ops/?csv=nothing-here").status_code == 404
    assert operator_client.get("/ops/workflow/?csv=nothing-here").status_code == 404


SAMPLE = Figure(
    key="sample", title="Sample", chart="line", x="at", series=("p95",), secondary=("rate",),
    columns=(Column("at", "At", "datetime"), Column("p95", "p95", "ms"), Column("rate", "Failure rate", "percent"),
             Column("gmv", "GMV", "money"), Column("query", "Query", "text"), Column("orders", "Orders", "int")),
    rows=[{"at": dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC), "p95": Decimal("1234.5"), "rate": 12.25,
           "gmv": 1250000, "query": "=HYPERLINK(1)", "orders": 1234},
          {"at": dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC), "p95": None, "rate": 0, "gmv": 0,
           "query": "-5", "orders": 0}],
)


def test_figure_json_is_json_safe_with_times_in_jakarta():
    body = figure_json(SAMPLE)
    assert body["rows"][0] == {"at": "2026-12-01T10:00:00+07:00", "p95": 1234.5, "rate": 12.25, "gmv": 1250000,
                               "query": "=HYPERLINK(1)", "orders": 1234}
    assert body["columns"][1] == {"key": "p95", "label": "p95", "kind": "ms"}
    assert body["secondary"] == ["rate"] and body["chart"] == "line" and body["x"] == "at"


def test_figure_csv_writes_the_same_values_and_defuses_formulas():
    table = list(csv.reader(io.StringIO(figure_csv(SAMPLE).decode("utf-8-sig"))))
    assert table == [["At", "p95", "Failure rate", "GMV", "Query", "Orders"],
                     ["2026-12-01T10:00:00+07:00", "1234.5", "12.25", "1250000", "'=HYPERLINK(1)", "1234"],
                     ["2026-12-01T11:00:00+07:00", "", "0", "0", "'-5", "0"]]


@pytest.mark.parametrize(("language", "cells"), [
    ("id", ["1 Des 2026 10:00:00", "1.234 ms", "12,2 %", "Rp 1.250.000", "=HYPERLINK(1)", "1.234"]),
    ("en", ["1 Dec 2026 10:00:00", "1,234 ms", "12.2 %", "Rp 1.250.000", "=HYPERLINK(1)", "1,234"]),
])
def test_the_table_formats_values_by_column_kind_in_the_readers_language(language, cells):
    request = RequestFactory().get("/ops/workflow/?period=7d")
    with translation.override(language):
        html = Template("{% load ops_figures %}{% ops_figure figure %}").render(
            Context({"figure": SAMPLE, "request": request}))
    for cell in cells:
        assert f">{cell}</td>" in html, (cell, html)
    assert 'href="/ops/workflow/?period=7d&amp;csv=sample"' in html
    assert 'id="figure-data-sample" type="application/json"' in html and 'data-figure-json="figure-data-sample"' in html
    assert "<script>" not in html  # only the JSON data block; the chart is drawn by a static file


def test_redrive_needs_an_operator_and_a_csrf_token():
    order = placed_order()
    path = f"/ops/orders/{order.number}/redrive/"
    assert Client().post(path).status_code == 302  # anonymous: to the login page
    member = Client(enforce_csrf_checks=True)
    member.force_login(WorkshopMemberFactory().user)
    member.get("/")
    assert member.post(path, {"csrfmiddlewaretoken": member.cookies["csrftoken"].value}).status_code == 403

    operator = Client(enforce_csrf_checks=True)
    operator.force_login(OperatorFactory())
    assert operator.post(path).status_code == 403  # no CSRF token
    assert not OrderEvent.objects.filter(order=order, kind="workflow_redriven").exists()
    operator.get("/ops/stalled/")
    response = operator.post(path, {"csrfmiddlewaretoken": operator.cookies["csrftoken"].value})
    assert response.status_code == 302 and response["Location"] == "/ops/stalled/"
    assert OrderEvent.objects.filter(order=order, kind="workflow_redriven").exists()
    assert operator.get("/ops/orders/NO-SUCH/redrive/").status_code == 405
    assert operator.post("/ops/orders/NO-SUCH/redrive/",
                         {"csrfmiddlewaretoken": operator.cookies["csrftoken"].value}).status_code == 404




def test_the_stalled_table_carries_a_redrive_form_per_order_with_its_csrf_token():
    figure = Figure(key="stalled", title="Stalled orders",
                    columns=(Column("number", "Order", "text"), Column("since", "Since", "datetime"),
                             Column("timeline", "Timeline", "link")),
                    rows=[{"number": "OK-2612-AAAAAA", "since": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                           "timeline": "/ops/orders/OK-2612-AAAAAA/"},
                          {"number": "OK-2612-BBBBBB", "since": None, "redrive": "commit_stock"},
                          {"number": "OK-2612-CCCCCC", "since": None, "redrive": ""}])
    html = Template("{% load ops_figures %}{% ops_figure figure redrive=True %}").render(
        Context({"figure": figure, "request": RequestFactory().get("/ops/stalled/"), "csrf_token": "t0ken"}))
    for number in ("OK-2612-AAAAAA", "OK-2612-BBBBBB"):
        assert f'<form method="post" action="/ops/orders/{number}/redrive/"' in html
    assert html.count('name="csrfmiddlewaretoken" value="t0ken"') == 2
    assert "/ops/orders/OK-2612-CCCCCC/redrive/" not in html  # nothing a re-drive would do: no button
    assert ">–</td>" in html  # no time: a dash, not "None"
    assert '<a href="/ops/orders/OK-2612-AAAAAA/">Buka</a>' in html


def test_the_csv_file_is_named_for_its_section_figure_and_period():
    now = dt.datetime(2026, 12, 6, 4, 30, tzinfo=dt.UTC)
    preset = period_parse({"period": "7d"}, now=now)
    ranged = period_parse({"start": "2026-11-01", "end": "2026-11-30"})
    assert period_slug(preset) == "7d-20261206-1130"
    assert period_slug(ranged) == "20261101-20261130"
    assert csv_filename(section="workflow", figure=SAMPLE, period_text=period_slug(ranged)) == \
        "okto88-workflow-sample-20261101-20261130.csv"
    assert csv_filename(section="order-OK/1 2", figure=SAMPLE, period_text="x") == "okto88-order-OK-1-2-sample-x.csv"


def test_the_workflow_defines_one_order_redrive():
    """The re-drive button calls orders.workflow.order_redrive; two definitions (a merge keeping a
    placeholder beside the real one) would let the later one win silently."""
    source = (Path(settings.BASE_DIR) / "orders" / "workflow.py").read_text(encoding="utf-8")
    assert source.count("\ndef order_redrive(") == 1
